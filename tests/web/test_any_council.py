"""Another council, loaded from its own manifest: no page and no command says Newham or London.

The boundaries are real ONS files (from the data folder, named by code so that no area
name says where they are); the borough, its wording and its assets are another council's,
and the assets are SYNTHETIC, labelled so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mapping.boroughs.loader import load_borough
from mapping.cli.main import main
from mapping.config import Settings
from mapping.store.database import Store
from tests.web.conftest import signed_in

FORBIDDEN = re.compile(r"Newham|London", re.IGNORECASE)
PAGES = ("/", "/gaps?category=community_space", "/gaps/plan?category=community_space",
         "/lots", "/sources", "/directory/", "/api/patches", "/tell-us", "/spend/")


@pytest.fixture
def other_store(tmp_path: Path, data_dir: Path) -> Iterator[Store]:
    assets = tmp_path / "sites.csv"
    assets.write_text("site,lon,lat\n"
                      "SYNTHETIC hall one,0.0300,51.5200\n"
                      "SYNTHETIC hall two,0.0500,51.5400\n", encoding="utf-8")
    manifest = tmp_path / "knowsley.toml"
    manifest.write_text(f'''
[borough]
code = "E08000011"
name = "Knowsley"
full_name = "Knowsley Metropolitan Borough Council"
region = "North West"

[layers]
small_areas = "small"
wards = "wards"

[[boundaries]]
layer = "wards"
path = "newham/boundaries/wards_2013.geojson"
name_field = "WD13CD"
licence = "OGL v3"

[[boundaries]]
layer = "small"
path = "newham/boundaries/lsoa_2011.geojson"
code_field = "LSOA11CD"
name_field = "LSOA11CD"
licence = "OGL v3"

[[tables]]
layer = "small"
path = "newham/population/lsoa2011_mid2020_population_by_age.csv"
code_column = "LSOA11CD"
columns = {{ "Persons_All-Ages" = "population", "Persons_65+" = "population_65_plus" }}

[[assets]]
key = "halls"
layout = "csv"
path = "{assets}"
category = "community_space"
id_prefix = "synthetic-halls"
description = "SYNTHETIC test record"
columns = {{ site = "name", lon = "lon", lat = "lat" }}
''', encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    load_borough(store, manifest, data_dir, progress=lambda _m: None)
    yield store
    store.dispose()


def test_no_page_of_another_council_says_newham_or_london(other_store: Store, tmp_path: Path,
                                                          data_dir: Path) -> None:
    from web import create_app

    app = create_app({"TESTING": True, "MAPPING_SETTINGS": Settings(
        data_dir=data_dir, instance_dir=tmp_path / "instance", database_url=other_store.url,
        secret_key="test")})
    client = signed_in(app.test_client(), other_store, "officer")
    for url in PAGES:
        response = client.get(url)
        text = response.get_data(as_text=True)
        assert response.status_code == 200, (url, text[:500])
        assert not FORBIDDEN.search(text), (url, FORBIDDEN.findall(text)[:5])
    assert "Knowsley" in client.get("/").get_data(as_text=True)
    assert "Real Living Wage" in client.get("/lots").get_data(as_text=True)


def test_no_command_for_another_council_says_newham_or_london(other_store: Store,
                                                              tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--database-url", other_store.url]
    plan = tmp_path / "plan.json"
    for args in (["analyse-gaps", "--category", "community_space"],
                 ["plan-microfund", "--category", "community_space", "--budget", "1000", "--json",
                  str(plan)],
                 ["design-lots", "-k", "4"], ["check-lot-rules"], ["set-layers"]):
        result = runner.invoke(main, [*base, *args])
        assert result.exit_code == 0, (args, result.output)
        assert not FORBIDDEN.search(result.output), (args, result.output)
    package = json.loads(plan.read_text(encoding="utf-8"))
    assert not FORBIDDEN.search(json.dumps(package))
    assert package["grants"][0]["fundingOrganization"][0]["name"] == \
        "Knowsley Metropolitan Borough Council"


def test_a_store_for_another_borough_than_the_setting_is_refused_plainly(other_store: Store,
                                                                        tmp_path: Path,
                                                                        data_dir: Path) -> None:
    from web import create_app

    app = create_app({"TESTING": True, "MAPPING_SETTINGS": Settings(
        data_dir=data_dir, instance_dir=tmp_path / "instance", database_url=other_store.url,
        secret_key="test", borough_code="E09000030")})
    client = app.test_client()
    for url in ("/", "/directory/", "/gaps?category=community_space", "/sources"):
        response = client.get(url)
        text = response.get_data(as_text=True)
        assert response.status_code == 503, url
        assert "MAPPING_BOROUGH_CODE is E09000030" in text and "Knowsley (E08000011)" in text
        assert "Traceback" not in text
    assert client.get("/health").status_code == 200
    result = CliRunner().invoke(main, ["--database-url", other_store.url, "load-demo"],
                                env={"MAPPING_BOROUGH_CODE": "E09000030"})
    assert result.exit_code == 1 and "MAPPING_BOROUGH_CODE is E09000030" in result.output
