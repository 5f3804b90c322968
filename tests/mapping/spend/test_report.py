"""The benchmark report: subsectors, CLES figure 2 shares, policy bands, drill-down totals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mapping.spend.report import (
    BANDS,
    LOCALITY,
    SEGMENTS,
    Cell,
    assign_subsectors,
    classify_payments,
    compare_shares,
    drill_down,
    locality_coverage,
    policy_band,
    policy_bands,
    shares_chart,
    subsector_shares,
    top_extractive,
)
from mapping.spend.service import report_for
from mapping.spend.store import import_spend
from mapping.store.database import Store

PAYMENTS = pd.DataFrame({
    "id": range(1, 8),
    "supplier_key": ["big care limited", "big care limited", "local coop", "council",
                     "charity x", "mystery", "local coop"],
    "supplier_name": ["Big Care Ltd", "Big Care Ltd", "Local Coop", "Council", "Charity X",
                      "Mystery", "Local Coop"],
    "department": ["Adults' Services"] * 6 + ["Children's Services"],
    "service": ["RESIDENTIAL CARE PRIVATE SPOT", "DOMICILIARY CARE PRIVATE SPOT",
                "DOMICILIARY CARE VOLUNTARY SPOT", "RESIDENTIAL CARE", "SUPPORTED HOUSING",
                "NURSING CARE", "PRIVATE RESIDENTIAL HOMES"],
    "amount_pence": [18_100_001, 5_000_00, 4_999_99, 1_000_00, 2_000_00, -300_00, 700_00],
})
MATCHES = pd.DataFrame({
    "supplier_key": ["big care limited", "local coop", "council", "charity x"],
    "ownership_class": ["extractive", "generative", "in-house", "generative"],
    "national_charity": [False, False, False, True],
    "office_in_borough": [False, True, True, None],
})


@pytest.fixture
def classified() -> pd.DataFrame:
    return classify_payments(PAYMENTS, MATCHES)


def test_policy_bands_at_their_boundaries() -> None:
    pence = pd.Series([-1, 0, 4_999_99, 5_000_00, 5_000_01, 181_000_00, 181_000_01])
    assert policy_band(pence).tolist() == [
        "credit", "under £5k", "under £5k", "£5k to £181k", "£5k to £181k", "£5k to £181k",
        "over £181k"]


def test_subsectors_from_the_editable_table(tmp_path: Path) -> None:
    assert assign_subsectors(PAYMENTS).tolist() == [
        "residential", "homecare", "homecare", "residential", "supported living", "nursing",
        "other"]  # children's residential homes are not an adult care subsector
    table = tmp_path / "subsectors.csv"
    table.write_text("department,service,subsector,note\n,residential,care homes,\n",
                     encoding="utf-8")
    assert assign_subsectors(PAYMENTS, path=table).tolist()[-1] == "care homes"


def test_classes_segments_and_locality(classified: pd.DataFrame) -> None:
    assert classified["segment"].tolist() == [
        "extractive", "extractive", "generative", "in-house", "national charity", "unknown",
        "generative"]
    assert classified["locality"].tolist() == [
        "not local", "not local", "local", "local", "not known", "not known", "local"]


def test_shares_per_subsector(classified: pd.DataFrame) -> None:
    shares = subsector_shares(classified).set_index("subsector")
    homecare = shares.loc["homecare"]
    assert homecare["total_pence"] == 9_999_99
    assert homecare["extractive"] == 5_000_00 and homecare["generative"] == 4_999_99
    assert homecare["extractive share"] == pytest.approx(5_000_00 / 9_999_99)
    assert homecare["local share"] == pytest.approx(4_999_99 / 9_999_99)
    assert shares.index[-1] == "other"
    for _name, row in shares.iterrows():
        assert sum(row[s] for s in SEGMENTS) == row["total_pence"]
    assert shares["total_pence"].sum() == PAYMENTS["amount_pence"].sum()


def test_every_figure_drills_down_to_rows_that_add_up_to_it(classified: pd.DataFrame) -> None:
    shares = subsector_shares(classified)
    for row in shares.to_dict("records"):
        rows = drill_down(classified, Cell(subsector=row["subsector"]))
        assert rows["amount_pence"].sum() == row["total_pence"]
        for segment in SEGMENTS:
            cell = Cell(subsector=row["subsector"], segment=segment)
            assert drill_down(classified, cell)["amount_pence"].sum() == row[segment]
        local = drill_down(classified, Cell(subsector=row["subsector"], locality="local"))
        assert local["amount_pence"].sum() == row["local_pence"]
    bands = policy_bands(classified)
    for row in bands.to_dict("records"):
        for locality in LOCALITY:
            rows = drill_down(classified, Cell(band=row["band"], locality=locality))
            assert rows["amount_pence"].sum() == row[f"{locality} pence"]
            assert len(rows) == row[f"{locality} payments"]
    assert bands.set_index("band").loc["over £181k", "not local pence"] == 18_100_001
    assert bands["redirectable"].tolist() == [b in BANDS[:2] for b in bands["band"]]
    for row in top_extractive(classified).to_dict("records"):
        rows = drill_down(classified, Cell(supplier_key=row["supplier_key"], segment="extractive"))
        assert rows["amount_pence"].sum() == row["total_pence"] == 18_600_001


def test_compare_and_chart(classified: pd.DataFrame) -> None:
    first = subsector_shares(classified)
    second = subsector_shares(classified[classified["segment"] != "extractive"])
    table = compare_shares(first, second, labels=("June", "July")).set_index("subsector")
    assert table.loc["homecare", "change in extractive share"] == pytest.approx(
        -5_000_00 / 9_999_99)
    svg = shares_chart([("June", first), ("July", second)])
    assert svg.startswith(b"<?xml") and b"homecare (July)" in svg
    assert shares_chart([("June", first)], fmt="png").startswith(b"\x89PNG")


def test_lambeth_report_drill_downs_equal_the_file_total(data_dir: Path, store: Store) -> None:
    result = import_spend(store, data_dir / "spend" / "lambeth" /
                          "lambeth_payments_over_500_2012-06_raw.csv",
                          name="Lambeth June 2012", imported_by="test")
    assert result.dataset_id is not None
    with store.transaction() as session:
        report = report_for(session, result.dataset_id)
    assert report.shares["total_pence"].sum() == 40_292_334_84
    nursing = report.shares.set_index("subsector").loc["nursing"]
    rows = drill_down(report.classified, Cell(subsector="nursing", segment="extractive"))
    assert rows["amount_pence"].sum() == nursing["extractive"] > 0
    assert set(rows["service"].str.contains("NURSING|RNCC|FNC")) == {True}


def test_chart_labels_are_shown_as_written(classified: pd.DataFrame) -> None:
    shares = subsector_shares(classified)
    shares.loc[0, "subsector"] = "$x^2$ care"
    svg = shares_chart([("Q1 $\\frac$", shares), ("Q2 $5", subsector_shares(classified))])
    assert svg.startswith(b"<?xml")
    assert shares_chart([("Q1 $\\frac$", shares)], fmt="png").startswith(b"\x89PNG")


def test_a_dataset_is_not_compared_with_itself(classified: pd.DataFrame) -> None:
    from mapping.errors import ValidationError

    shares = subsector_shares(classified)
    with pytest.raises(ValidationError, match="compared with itself"):
        compare_shares(shares, shares, labels=("June", "June"))


def test_a_dataset_with_no_payments_reports_and_compares(tmp_path: Path, store: Store,
                                                         classified: pd.DataFrame) -> None:
    path = tmp_path / "none.csv"
    path.write_text("Supplier,Amount\nAcme,abc\n,1.00\n", encoding="utf-8")
    result = import_spend(store, path, name="Nothing", imported_by="test", skip_invalid=True)
    assert result.dataset_id is not None
    with store.transaction() as session:
        report = report_for(session, result.dataset_id)
    assert report.shares.empty
    assert {f"{s} share" for s in SEGMENTS} | {"local_pence", "local share"} <= set(
        report.shares.columns)
    table = compare_shares(subsector_shares(classified), report.shares, labels=("June", "None"))
    assert table["None: total_pence"].sum() == 0
    assert shares_chart([("Nothing", report.shares)]).startswith(b"<?xml")
    assert report.bands["total pence"].sum() == 0 and report.top_extractive().empty


def test_top_extractive_narrowed_to_care_or_one_subsector() -> None:
    payments = pd.concat([PAYMENTS, pd.DataFrame({
        "id": [8], "supplier_key": ["fleet limited"], "supplier_name": ["Fleet Ltd"],
        "department": ["Highways"], "service": ["VEHICLES"], "amount_pence": [99_000_000_00]})],
        ignore_index=True)
    matches = pd.concat([MATCHES, pd.DataFrame({
        "supplier_key": ["fleet limited"], "ownership_class": ["extractive"],
        "national_charity": [False], "office_in_borough": [None]})], ignore_index=True)
    classified = classify_payments(payments, matches)
    assert top_extractive(classified)["supplier_name"].tolist() == ["Fleet Ltd", "Big Care Ltd"]
    care = top_extractive(classified, within="adult care")
    assert care["supplier_name"].tolist() == ["Big Care Ltd"]
    assert care["total_pence"].tolist() == [18_100_001 + 5_000_00]
    assert care["subsectors"].tolist() == ["homecare, residential"]
    homecare = top_extractive(classified, within="homecare")
    assert homecare["total_pence"].tolist() == [5_000_00]
    assert top_extractive(classified, within="other")["supplier_name"].tolist() == ["Fleet Ltd"]
    # The drill-down behind a narrowed figure adds up to it.
    rows = drill_down(classified, Cell(supplier_key="big care limited", segment="extractive",
                                       sector="adult care"))
    assert rows["amount_pence"].sum() == care["total_pence"].iloc[0]
    assert top_extractive(classified, within="respite").empty


def test_locality_coverage_says_how_much_is_known() -> None:
    matches = MATCHES.assign(organisation_id=[1, 2, None, 3],
                             office_in_borough=[False, True, None, None])
    classified = classify_payments(PAYMENTS, matches)
    coverage = locality_coverage(classified, matches)
    assert (coverage.suppliers, coverage.matched, coverage.located, coverage.local) == (5, 3, 2, 1)
    # council (no organisation), charity x (no office recorded) and mystery (unmatched)
    assert coverage.unknown_pence == 1_000_00 + 2_000_00 - 300_00
    assert coverage.total_pence == PAYMENTS["amount_pence"].sum()
    assert coverage.unknown_share == pytest.approx(2_700_00 / PAYMENTS["amount_pence"].sum())
    nothing = locality_coverage(classified[:0], matches)
    assert nothing.unknown_share == 0.0 and nothing.suppliers == 0


def test_the_chart_carries_pounds_as_text(classified: pd.DataFrame) -> None:
    svg = shares_chart([("June", subsector_shares(classified))]).decode()
    # residential: £181,000.01 + £10.00 in all, extractive 99.99% of it
    assert "£182,000</text>" in svg and "£181,000</text>" in svg
    assert "total (£)" in svg and "in whole pounds" in svg
