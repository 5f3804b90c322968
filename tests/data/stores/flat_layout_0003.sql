-- SYNTHETIC store, made by the flat mapping/ layout (commit d0644e7): mapping init-db, two
-- synthetic areas and two synthetic assets imported, one officer, then downgraded to
-- schema revision 0003. tests/mapping/store/test_database.py upgrades it with today's code.
BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('0003');
CREATE TABLE area_layers (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	title VARCHAR(300) NOT NULL, 
	source TEXT, 
	licence VARCHAR(200), 
	attribution VARCHAR(500), 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name)
);
INSERT INTO "area_layers" VALUES(1,'small_areas','small_areas','areas.geojson',NULL,NULL,'2026-12-03 12:41:34.362410');
CREATE TABLE areas (
	id INTEGER NOT NULL, 
	layer_id INTEGER NOT NULL, 
	code VARCHAR(20) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	geometry_wkb BLOB NOT NULL, 
	attributes JSON NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(layer_id) REFERENCES area_layers (id) ON DELETE CASCADE, 
	CONSTRAINT uq_areas_layer_code UNIQUE (layer_id, code)
);
INSERT INTO "areas" VALUES(1,1,'X00000001','SYNTHETIC west',X'010300000001000000050000000000000000000000A4703D0AD7C349407B14AE47E17A943FA4703D0AD7C349407B14AE47E17A943F6666666666C6494000000000000000006666666666C649400000000000000000A4703D0AD7C34940','{}');
INSERT INTO "areas" VALUES(2,1,'X00000002','SYNTHETIC east',X'010300000001000000050000007B14AE47E17A943FA4703D0AD7C349407B14AE47E17AA43FA4703D0AD7C349407B14AE47E17AA43F6666666666C649407B14AE47E17A943F6666666666C649407B14AE47E17A943FA4703D0AD7C34940','{}');
CREATE TABLE assets (
	id INTEGER NOT NULL, 
	external_id VARCHAR(200) NOT NULL, 
	name VARCHAR(300) NOT NULL, 
	description TEXT, 
	category VARCHAR(60) NOT NULL, 
	organisation_id INTEGER, 
	address TEXT, 
	postcode VARCHAR(10), 
	lon FLOAT NOT NULL, 
	lat FLOAT NOT NULL, 
	in_borough BOOLEAN, 
	capacity FLOAT, 
	opening_times TEXT, 
	contact VARCHAR(300), 
	website VARCHAR(500), 
	accessibility TEXT, 
	status VARCHAR(20) NOT NULL, 
	verified_by VARCHAR(100), 
	verified_at DATETIME, 
	source VARCHAR(20) NOT NULL, 
	licence VARCHAR(200), 
	attribution VARCHAR(500), 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(organisation_id) REFERENCES organisations (id) ON DELETE SET NULL
);
INSERT INTO "assets" VALUES(1,'asset:315a565ce0c4a7c9','SYNTHETIC test café','Synthetic record for a migration test','community_space',NULL,NULL,'E15 4BQ',2.69070867171764503689e-03,5.15409442935914370326e+01,NULL,NULL,NULL,NULL,NULL,NULL,'active',NULL,NULL,'import',NULL,NULL,'2026-12-03 12:41:36.750429','2026-12-03 12:41:36.750429',1);
INSERT INTO "assets" VALUES(2,'asset:906d807893b44e5b','SYNTHETIC test hall','Synthetic record for a migration test','community_space',NULL,NULL,'E16 2QU',4.72600952921961858788e-02,5.15077022146397354171e+01,NULL,NULL,NULL,NULL,NULL,NULL,'active',NULL,NULL,'import',NULL,NULL,'2026-12-03 12:41:36.750429','2026-12-03 12:41:36.750429',1);
CREATE TABLE lot_designs (
	id INTEGER NOT NULL, 
	patch_set_id INTEGER NOT NULL, 
	method TEXT NOT NULL, 
	measure VARCHAR(60) NOT NULL, 
	k INTEGER NOT NULL, 
	tolerance FLOAT NOT NULL, 
	seed INTEGER, 
	imbalance FLOAT NOT NULL, 
	cut_edges INTEGER, 
	keep_whole VARCHAR(100), 
	created_by VARCHAR(100), 
	created_at DATETIME NOT NULL, 
	notes JSON NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(patch_set_id) REFERENCES patch_sets (id) ON DELETE CASCADE, 
	UNIQUE (patch_set_id)
);
CREATE TABLE organisations (
	id INTEGER NOT NULL, 
	external_id VARCHAR(200) NOT NULL, 
	name VARCHAR(300) NOT NULL, 
	legal_form VARCHAR(200), 
	legal_form_key VARCHAR(100) NOT NULL, 
	ownership_model VARCHAR(60), 
	ownership_class VARCHAR(20) NOT NULL, 
	company_number VARCHAR(20), 
	charity_number VARCHAR(20), 
	national_footprint BOOLEAN, 
	office_in_borough BOOLEAN, 
	living_wage BOOLEAN, 
	ethical_care_charter BOOLEAN, 
	cqc_provider_id VARCHAR(40), 
	cqc_rating VARCHAR(40), 
	address TEXT, 
	postcode VARCHAR(10), 
	website VARCHAR(500), 
	source VARCHAR(20) NOT NULL, 
	licence VARCHAR(200), 
	attribution VARCHAR(500), 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE patch_sets (
	id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	layer_id INTEGER NOT NULL, 
	source TEXT, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(layer_id) REFERENCES area_layers (id) ON DELETE CASCADE, 
	UNIQUE (name)
);
CREATE TABLE patches (
	id INTEGER NOT NULL, 
	patch_set_id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	area_codes JSON NOT NULL, 
	geometry_wkb BLOB NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(patch_set_id) REFERENCES patch_sets (id) ON DELETE CASCADE, 
	CONSTRAINT uq_patches_set_name UNIQUE (patch_set_id, name)
);
CREATE TABLE record_history (
	id INTEGER NOT NULL, 
	record_type VARCHAR(20) NOT NULL, 
	record_id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	action VARCHAR(20) NOT NULL, 
	changed_by VARCHAR(100) NOT NULL, 
	changed_at DATETIME NOT NULL, 
	changes JSON NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "record_history" VALUES(1,'asset',1,1,'create','import','2026-12-03 12:41:36.750429','{}');
INSERT INTO "record_history" VALUES(2,'asset',2,1,'create','import','2026-12-03 12:41:36.750429','{}');
CREATE TABLE submissions (
	id INTEGER NOT NULL, 
	kind VARCHAR(10) NOT NULL, 
	name VARCHAR(300) NOT NULL, 
	description TEXT, 
	category VARCHAR(60), 
	postcode VARCHAR(10), 
	lon FLOAT NOT NULL, 
	lat FLOAT NOT NULL, 
	who_runs_it VARCHAR(300), 
	contact VARCHAR(300), 
	status VARCHAR(20) NOT NULL, 
	reason TEXT, 
	created_at DATETIME NOT NULL, 
	decided_by VARCHAR(100), 
	decided_at DATETIME, 
	asset_id INTEGER, 
	submitter_ip_hash VARCHAR(64), 
	PRIMARY KEY (id), 
	FOREIGN KEY(asset_id) REFERENCES assets (id) ON DELETE SET NULL
);
CREATE TABLE users (
	id INTEGER NOT NULL, 
	username VARCHAR(100) NOT NULL, 
	password_hash VARCHAR(300) NOT NULL, 
	role VARCHAR(20) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (username)
);
INSERT INTO "users" VALUES(1,'officer1','scrypt:32768:8:1$dER5wsKPL8R4AcdU$d4bc7c1ddca70b5bd220fc18bc56a692659af65bc9f6446ef5294f699f08930266ebf799b5244a8065cf6a9cac1a79faf703387aeef342d0f027db0cccc326ae','officer','2026-12-03 12:41:38.310753');
CREATE INDEX ix_organisations_charity_number ON organisations (charity_number);
CREATE INDEX ix_organisations_company_number ON organisations (company_number);
CREATE UNIQUE INDEX ix_organisations_external_id ON organisations (external_id);
CREATE INDEX ix_organisations_name ON organisations (name);
CREATE INDEX ix_organisations_ownership_class ON organisations (ownership_class);
CREATE INDEX ix_record_history_record ON record_history (record_type, record_id);
CREATE INDEX ix_assets_category ON assets (category);
CREATE UNIQUE INDEX ix_assets_external_id ON assets (external_id);
CREATE INDEX ix_assets_name ON assets (name);
CREATE INDEX ix_assets_organisation_id ON assets (organisation_id);
CREATE INDEX ix_assets_status ON assets (status);
CREATE INDEX ix_submissions_status ON submissions (status);
CREATE INDEX ix_submissions_submitter_ip_hash ON submissions (submitter_ip_hash);
COMMIT;
