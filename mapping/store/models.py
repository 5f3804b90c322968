"""The store's tables, as SQLAlchemy 2.x declarative models.

Types are portable between SQLite (the embedded default) and PostgreSQL:
points are ``lon``/``lat`` columns in EPSG:4326, area polygons are WKB blobs
(EPSG:4326), free-form attribute tables are JSON. The schema is created and
changed only through the Alembic migrations in ``mapping/store/migrations``; these
models must match the latest migration (a test checks that).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Give the current time in UTC, timezone-aware."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every table."""


class _RegisterRecord:
    """The columns every register record has: where it came from, its licence, and its
    edit stamps (``version`` is the optimistic lock: an edit names the version it read)."""

    source: Mapped[str] = mapped_column(String(20), default="import")
    licence: Mapped[str | None] = mapped_column(String(200))
    attribution: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Organisation(_RegisterRecord, Base):
    """A community or care organisation (a provider) and how it is owned."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    legal_form: Mapped[str | None] = mapped_column(String(200))
    legal_form_key: Mapped[str] = mapped_column(String(100), default="unknown")
    ownership_model: Mapped[str | None] = mapped_column(String(60))
    ownership_class: Mapped[str] = mapped_column(String(20), default="unknown", index=True)
    company_number: Mapped[str | None] = mapped_column(String(20), index=True)
    charity_number: Mapped[str | None] = mapped_column(String(20), index=True)
    national_footprint: Mapped[bool | None] = mapped_column(Boolean)
    office_in_borough: Mapped[bool | None] = mapped_column(Boolean)
    living_wage: Mapped[bool | None] = mapped_column(Boolean)
    ethical_care_charter: Mapped[bool | None] = mapped_column(Boolean)
    cqc_provider_id: Mapped[str | None] = mapped_column(String(40))
    cqc_rating: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(10))
    website: Mapped[str | None] = mapped_column(String(500))


class Asset(_RegisterRecord, Base):
    """A community asset or care site/service, located at a point."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(60), index=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(10))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    in_borough: Mapped[bool | None] = mapped_column(Boolean)
    capacity: Mapped[float | None] = mapped_column(Float)
    opening_times: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(500))
    accessibility: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    cqc_location_id: Mapped[str | None] = mapped_column(String(40), index=True)
    cqc_rating: Mapped[str | None] = mapped_column(String(40))
    cqc_rating_date: Mapped[date | None] = mapped_column(Date)
    registered_on: Mapped[date | None] = mapped_column(Date)
    deregistered_on: Mapped[date | None] = mapped_column(Date)
    located_by: Mapped[str | None] = mapped_column(String(120))
    verified_by: Mapped[str | None] = mapped_column(String(100))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RecordHistory(Base):
    """One change to an asset or organisation: who, when, what changed (old and new values)."""

    __tablename__ = "record_history"
    __table_args__ = (Index("ix_record_history_record", "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AreaLayer(Base):
    """A named layer of polygons (wards, LSOAs, an upload) and where it came from."""

    __tablename__ = "area_layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(String(200))
    attribution: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """Goes up by one whenever the layer's areas or their attributes are written (for caches)."""


class Area(Base):
    """One polygon of a layer, with its GSS code and its joined attribute table values."""

    __tablename__ = "areas"
    __table_args__ = (UniqueConstraint("layer_id", "code", name="uq_areas_layer_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("area_layers.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    geometry_wkb: Mapped[bytes] = mapped_column(LargeBinary)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PatchSet(Base):
    """A named set of patches (or lots): groups of areas of one layer."""

    __tablename__ = "patch_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("area_layers.id", ondelete="CASCADE"))
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    """True for the one set an officer chose as the default grouping of the gap roll-up and
    the public map (``set_default_patch_set``); a saved lot design is never it by itself."""


class Patch(Base):
    """One patch: its name, its member area codes and their dissolved outline."""

    __tablename__ = "patches"
    __table_args__ = (UniqueConstraint("patch_set_id", "name", name="uq_patches_set_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patch_set_id: Mapped[int] = mapped_column(ForeignKey("patch_sets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    area_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    geometry_wkb: Mapped[bytes] = mapped_column(LargeBinary)


class User(Base):
    """A person who can sign in, with a hashed password and one role."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Submission(Base):
    """A resident's proposal of an asset or an idea, held back until an officer decides on it.

    Nothing here is public: a submission reaches the map only when an officer
    approves it, which creates an asset (``asset_id``) through the import path.
    ``contact`` is the submitter's own contact, for officers only. No address
    is stored: ``submitter_ip_hash`` is an HMAC-SHA256 of the sender's IP
    address keyed with the app's secret key, so officers can see that several
    submissions came from one address (abuse handling) without the address
    itself being kept or recoverable.
    """

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(60))
    postcode: Mapped[str | None] = mapped_column(String(10))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    who_runs_it: Mapped[str | None] = mapped_column(String(300))
    contact: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    submitter_ip_hash: Mapped[str | None] = mapped_column(String(64), index=True)


class LotDesignRecord(Base):
    """How a saved lot design was made: its patch set, method, measure, seed and balance."""

    __tablename__ = "lot_designs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patch_set_id: Mapped[int] = mapped_column(
        ForeignKey("patch_sets.id", ondelete="CASCADE"), unique=True)
    method: Mapped[str] = mapped_column(Text)
    measure: Mapped[str] = mapped_column(String(60))
    k: Mapped[int] = mapped_column(Integer)
    tolerance: Mapped[float] = mapped_column(Float)
    seed: Mapped[int | None] = mapped_column(Integer)
    imbalance: Mapped[float] = mapped_column(Float)
    cut_edges: Mapped[int | None] = mapped_column(Integer)
    keep_whole: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)


class SpendDataset(Base):
    """One imported council spend file ("payments over £500"), with its cleaning totals."""

    __tablename__ = "spend_datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    file: Mapped[str] = mapped_column(String(300))
    publisher: Mapped[str | None] = mapped_column(String(300))
    licence: Mapped[str | None] = mapped_column(String(200))
    attribution: Mapped[str | None] = mapped_column(String(500))
    header_line: Mapped[int] = mapped_column(Integer)
    column_mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    line_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total_lines: Mapped[int] = mapped_column(Integer)
    stated_total_pence: Mapped[int | None] = mapped_column(BigInteger)
    imported_pence: Mapped[int] = mapped_column(BigInteger)
    reconciliation: Mapped[str] = mapped_column(Text)
    imported_by: Mapped[str] = mapped_column(String(100))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SpendPayment(Base):
    """One payment of a spend dataset, in exact pence, keyed to its supplier."""

    __tablename__ = "spend_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("spend_datasets.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(300))
    service: Mapped[str | None] = mapped_column(String(300))
    supplier_name: Mapped[str] = mapped_column(String(300))
    supplier_key: Mapped[str] = mapped_column(String(300), index=True)
    company_number: Mapped[str | None] = mapped_column(String(20))
    charity_number: Mapped[str | None] = mapped_column(String(20))
    transaction_id: Mapped[str | None] = mapped_column(String(100))
    paid_on: Mapped[date | None] = mapped_column(Date)
    amount_pence: Mapped[int] = mapped_column(BigInteger)
    repairs: Mapped[str | None] = mapped_column(Text)


class SpendLine(Base):
    """A line of a spend file that is not a cleanly imported payment: why, and what it said."""

    __tablename__ = "spend_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("spend_datasets.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)
    amount_pence: Mapped[int | None] = mapped_column(BigInteger)


class SupplierMatch(Base):
    """How a supplier (by normalised name) matches the register, and its legal form and class.

    Kept across imports: an officer's resolution (``method`` ``officer``) is reused
    by every later import instead of being matched again.
    """

    __tablename__ = "supplier_matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_key: Mapped[str] = mapped_column(String(300), unique=True)
    supplier_name: Mapped[str] = mapped_column(String(300))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    method: Mapped[str] = mapped_column(String(20), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    legal_form: Mapped[str] = mapped_column(String(100), default="unknown")
    ownership_class: Mapped[str] = mapped_column(String(20), default="unknown")
    class_source: Mapped[str] = mapped_column(String(20), default="none")
    evidence: Mapped[str | None] = mapped_column(Text)
    national_charity: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BoroughRecord(Base):
    """The borough a store was loaded for: who it is, which layers play which part, its wording."""

    __tablename__ = "boroughs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(100))
    funder_org_id: Mapped[str | None] = mapped_column(String(40))
    funder_name: Mapped[str | None] = mapped_column(String(300))
    living_wage: Mapped[str | None] = mapped_column(String(100))
    small_area_layer: Mapped[str | None] = mapped_column(String(100))
    ward_layer: Mapped[str | None] = mapped_column(String(100))
    outline_layer: Mapped[str | None] = mapped_column(String(100))
    wording: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    manifest: Mapped[str | None] = mapped_column(String(300))
    loaded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DataSource(Base):
    """One file a borough's manifest loaded: what it is, who published it, its licence."""

    __tablename__ = "data_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    file: Mapped[str] = mapped_column(String(300))
    publisher: Mapped[str | None] = mapped_column(String(300))
    licence: Mapped[str | None] = mapped_column(String(200))
    attribution: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int | None] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StoredPostcode(Base):
    """A postcode from the council's own ONSPD rows: a geocoding source beside Code-Point Open."""

    __tablename__ = "postcodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    postcode: Mapped[str] = mapped_column(String(8), unique=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    easting: Mapped[float | None] = mapped_column(Float)
    northing: Mapped[float | None] = mapped_column(Float)
    terminated: Mapped[date | None] = mapped_column(Date)
    local_authority: Mapped[str | None] = mapped_column(String(9))
    source: Mapped[str] = mapped_column(String(100))
    termination_known: Mapped[bool] = mapped_column(Boolean, default=False)
