"""The council's ONSPD rows in the store: a real ODS record Code-Point Open cannot place is placed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from mapping import schema as S
from mapping.places.postcode_store import stored_index
from mapping.places.postcodes import default_index
from mapping.register.records import assets_frame
from mapping.store.database import Store
from tests.mapping.cli.test_main import run

ONSPD = "newham/postcodes/onspd_nov2025_newham_postcodes.csv"
ODS = "newham/assets/nhs_ods_epraccur_newham_postcodes.csv"


def _ods_args(data_dir: Path, code: str) -> list[str]:
    return ["import-assets", str(data_dir / ODS), "--category", "gp_practice",
            "--where", f"org_code={code}", "--map", "org_code=external_id"]


def test_an_ods_record_only_onspd_places_is_located_and_says_so(runner: CliRunner, store: Store,
                                                                 data_dir: Path) -> None:
    ods = pd.read_csv(data_dir / ODS, dtype=str)
    active = ods[ods["status_code"] == "A"]
    missing = active[default_index().lookup(active["postcode"])["lon"].isna().to_numpy()]
    # In Newham's file every active GP practice (prescribing setting 4) is in Code-Point Open;
    # the one active ODS record that is not is a clinic, E13 9EH.
    assert missing["org_code"].tolist() == ["Y04092"]
    result = run(runner, store, *_ods_args(data_dir, "Y04092"))
    assert result.exit_code == 1 and "not in OS Code-Point Open" in result.output

    result = run(runner, store, "import-postcodes", str(data_dir / ONSPD), "--label",
                 "ONSPD Nov 2025", "--local-authority", "E09000025")
    assert result.exit_code == 0, result.output
    assert "7617 postcodes stored as 'ONSPD Nov 2025'" in result.output
    result = run(runner, store, *_ods_args(data_dir, "Y04092"))
    assert result.exit_code == 0, result.output
    with store.session() as session:
        got = assets_frame(session).iloc[0]
    assert got[S.EXTERNAL_ID] == "Y04092"
    assert got[S.LOCATED_BY] == "postcode (ONSPD Nov 2025)"
    onspd = pd.read_csv(data_dir / ONSPD).set_index("pcds").loc["E13 9EH"]
    assert abs(got[S.LON] - onspd["lon"]) < 1e-6 and abs(got[S.LAT] - onspd["lat"]) < 1e-6


def test_code_point_open_still_places_what_it_has(runner: CliRunner, store: Store,
                                                  data_dir: Path) -> None:
    refused = run(runner, store, "import-postcodes", str(data_dir / ONSPD), "--label", "ONSPD")
    assert refused.exit_code == 2 and "the store has no borough yet" in refused.output
    result = run(runner, store, "import-postcodes", str(data_dir / ONSPD), "--label",
                 "ONSPD Nov 2025", "--all")
    assert result.exit_code == 0, result.output
    with store.session() as session:
        index = stored_index(session)
    found = index.lookup(pd.Series(["E6 2RA", "E13 9EH"]))
    assert found["source"].tolist() == ["OS Code-Point Open", "ONSPD Nov 2025"]
