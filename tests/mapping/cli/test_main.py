"""The `mapping` command, run in-process with click's runner against real files."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mapping.cli.main import main
from mapping.register.records import assets_frame
from mapping.store.database import Store


def run(runner: CliRunner, store: Store, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(main, ["--database-url", store.url, *args], catch_exceptions=False)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_every_command_has_help(runner: CliRunner) -> None:
    names = ["init-db", "migrate", "import-areas", "import-table", "import-patches",
             "import-assets", "import-organisations", "import-osm", "export-assets", "geocode",
             "load-demo", "create-user", "serve"]
    assert set(names) <= set(main.commands)
    for name in names:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, name


def test_init_db_creates_the_schema(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    result = runner.invoke(main, ["--database-url", url, "init-db"])
    assert result.exit_code == 0, result.output
    store = Store(url)
    assert f"schema revision {store.head_revision()}" in result.output
    store.check_ready()


def test_commands_refuse_an_uninitialised_store(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    csv = write(tmp_path / "a.csv", "id,name,category,postcode\na1,Hall,community_space,E15 4EH\n")
    result = runner.invoke(main, ["--database-url", url, "import-assets", str(csv)])
    assert result.exit_code == 1
    assert "mapping migrate" in result.output
    assert "Traceback" not in result.output


def test_import_assets_then_export_geojson(runner: CliRunner, store: Store, tmp_path: Path) -> None:
    csv = write(tmp_path / "assets.csv",
                "id,Site name,category,Post Code\n"
                "a1,Memory café at St Marks,memory_cafe,E6 5YA\n"
                "a2,Peer group,peer_group,e154eh\n")
    result = run(runner, store, "import-assets", str(csv))
    assert result.exit_code == 0, result.output
    assert "2 added" in result.output
    out = tmp_path / "out.geojson"
    result = run(runner, store, "export-assets", str(out))
    assert result.exit_code == 0 and "2 assets written" in result.output
    features = json.loads(out.read_text())["features"]
    assert {f["properties"]["external_id"] for f in features} == {"a1", "a2"}
    assert {f["properties"]["postcode"] for f in features} == {"E6 5YA", "E15 4EH"}


def test_a_bad_file_exits_1_listing_rows_and_writes_nothing(runner: CliRunner, store: Store,
                                                            tmp_path: Path) -> None:
    csv = write(tmp_path / "bad.csv",
                "id,name,category,postcode\n"
                "a1,Good,peer_group,E15 4EH\n"
                "a2,Bad postcode,peer_group,ZZ99 9ZZ\n"
                "a3,Bad category,knitting,E15 4EH\n")
    report = tmp_path / "problems.csv"
    result = run(runner, store, "import-assets", str(csv), "--report", str(report))
    assert result.exit_code == 1
    assert "bad.csv, row 2, field 'postcode'" in result.output
    assert "bad.csv, row 3, field 'category'" in result.output
    assert "Traceback" not in result.output
    assert report.read_text().count("\n") == 3  # header + 2 problems
    with store.transaction() as session:
        assert len(assets_frame(session)) == 0


def test_skip_invalid_writes_the_good_rows(runner: CliRunner, store: Store, tmp_path: Path) -> None:
    csv = write(tmp_path / "bad.csv",
                "id,name,category,postcode\na1,Good,peer_group,E15 4EH\n"
                "a2,Bad,peer_group,ZZ99 9ZZ\n")
    result = run(runner, store, "import-assets", str(csv), "--skip-invalid")
    assert result.exit_code == 0
    assert "1 added" in result.output and "1 invalid rows skipped" in result.output
    assert "row 2" in result.output


def test_import_areas_table_and_patches(runner: CliRunner, store: Store, data_dir: Path,
                                        tmp_path: Path) -> None:
    wards = data_dir / "newham/boundaries/wards_2023.geojson"
    result = run(runner, store, "import-areas", str(wards), "--layer", "wards",
                 "--licence", "OGL v3")
    assert result.exit_code == 0, result.output
    assert "24 areas" in result.output
    table = write(tmp_path / "t.csv", "ward,score\nE05013904,1.5\nE05013905,2\nE09999999,3\n")
    result = run(runner, store, "import-table", str(table), "--layer", "wards",
                 "--code-column", "ward")
    assert result.exit_code == 0
    assert "2 areas of 'wards' got 1 columns" in result.output
    assert "E09999999" in result.output
    # An incomplete lookup is refused with the areas left out.
    lookup = write(tmp_path / "lookup.csv", "code,patch\nE05013904,North\nE05013905,North\n")
    result = run(runner, store, "import-patches", str(lookup), "--layer", "wards",
                 "--name", "lots")
    assert result.exit_code == 1
    assert "is in no patch" in result.output


def test_geocode_prints_coordinates_and_fails_on_unknown(runner: CliRunner) -> None:
    result = runner.invoke(main, ["geocode", "E15 4EH"])
    assert result.exit_code == 0
    postcode, lon, lat, easting, northing = result.output.strip().split("\t")
    assert postcode == "E15 4EH" and 51.5 < float(lat) < 51.6 and 0 < float(lon) < 0.1
    result = runner.invoke(main, ["geocode", "E15 4EH", "nonsense"])
    assert result.exit_code == 1
    assert "not a valid UK postcode" in result.output


def test_create_user_hashes_the_password(runner: CliRunner, store: Store) -> None:
    from sqlalchemy import select

    from mapping.store.models import User

    result = runner.invoke(main, ["--database-url", store.url, "create-user", "amina",
                                  "--role", "officer"],
                           env={"MAPPING_NEW_USER_PASSWORD": "correct horse battery"})
    assert result.exit_code == 0, result.output
    with store.transaction() as session:
        user = session.scalar(select(User))
        assert user.username == "amina" and user.role == "officer"
        assert "correct horse" not in user.password_hash
    result = runner.invoke(main, ["--database-url", store.url, "create-user", "bob",
                                  "--role", "officer"], env={"MAPPING_NEW_USER_PASSWORD": "short"})
    assert result.exit_code == 1
    assert "at least 10 characters" in result.output


@pytest.mark.parametrize("args", [["import-osm"], ["import-osm", "--file", "x", "--place", "y"]])
def test_import_osm_needs_exactly_one_source(runner: CliRunner, store: Store, args) -> None:
    result = runner.invoke(main, ["--database-url", store.url, *args])
    assert result.exit_code == 2


def test_analyse_gaps_and_plan_microfund_on_the_demo(runner: CliRunner, demo_store: Store,
                                                     tmp_path: Path) -> None:
    import csv

    out, plan = tmp_path / "areas.csv", tmp_path / "plan.csv"
    result = run(runner, demo_store, "analyse-gaps", "--category", "gp_practice",
                 "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "straight line × 1.3" in result.output and "Roll-up by wards" in result.output
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 185 and {r["method"] for r in rows} == {"straight line × 1.3"}
    gaps = sum(r["gap"] == "True" for r in rows)
    assert f"{gaps} of 185 areas are gaps" in result.output

    package = tmp_path / "plan.json"
    result = run(runner, demo_store, "plan-microfund", "--category", "gp_practice",
                 "--budget", "1499", "--out", str(plan), "--json", str(package))
    assert result.exit_code == 0, result.output
    assert "2 grants of £500" in result.output
    grants = json.loads(package.read_text())["grants"]
    assert len(grants) == 2 and sum(g["amountAwarded"] for g in grants) == 1000


def test_analyse_gaps_refuses_an_unknown_category(runner: CliRunner, demo_store: Store) -> None:
    result = run(runner, demo_store, "analyse-gaps", "--category", "knitting")
    assert result.exit_code == 1
    assert "unknown category 'knitting'" in result.output and "Traceback" not in result.output


def test_serve_builds_the_app_with_the_instance_file(runner: CliRunner, demo_store: Store,
                                                     tmp_path: Path, monkeypatch) -> None:
    import waitress

    served = {}
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: served.update(app=app, **kw))
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("BOROUGH_NAME = 'Knowsley'\n")
    result = runner.invoke(main, ["--database-url", demo_store.url, "serve", "--port", "5001"],
                           env={"MAPPING_INSTANCE_DIR": str(instance),
                                "MAPPING_SECRET_KEY": "k"})
    assert result.exit_code == 0, result.output
    settings = served["app"].config["MAPPING_SETTINGS"]
    assert settings.borough_name == "Knowsley" and settings.database_url == demo_store.url
    assert served["port"] == 5001
