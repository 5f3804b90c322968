"""Reading council spend files: header after preamble, totals, repairs, reconciliation."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from mapping.errors import ValidationError
from mapping.spend.layout import LINE_STATUSES, column_from_label, column_label
from mapping.spend.reading import pounds, read_spend, whole_pounds
from mapping.spend.repairs import repair_row
from mapping.spend.store import get_dataset, import_spend, lines_frame, payments_frame
from mapping.store.database import Store
from mapping.tables import parse_money

LAMBETH = Path("spend") / "lambeth"
COLUMNS = {0: "body", 1: "department", 2: "supplier_name", 3: "paid_on", 4: "amount", 5: "service"}


def write(tmp_path: Path, text: str, name: str = "spend.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_lambeth_june_2012_every_line_accounted_for_and_reconciles_to_the_penny(
        data_dir: Path) -> None:
    spend = read_spend(data_dir / LAMBETH / "lambeth_payments_over_500_2012-06_raw.csv")
    counts = spend.counts
    assert sum(counts.values()) == spend.total_lines == 3171
    assert counts["preamble"] == 9 and counts["header"] == 1 and counts["total"] == 1
    assert counts["rejected"] == 0
    assert counts["imported"] + counts["repaired"] == len(spend.payments) == 3155
    rec = spend.reconciliation()
    assert rec.stated_pence == 40_292_334_84
    assert rec.imported_pence == 40_292_334_84
    assert rec.status == "reconciled"
    assert spend.header_line == 10
    assert spend.mapping["Invoice Nett Amount"] == "amount"


def test_lambeth_amounts_and_supplier_names_run_into_the_date_are_repaired(
        data_dir: Path) -> None:
    spend = read_spend(data_dir / LAMBETH / "lambeth_payments_over_500_2012-06_raw.csv")
    by_line = spend.payments.set_index("line")
    guest = by_line.loc[19]  # A A GuestHouses,25/06/2012900
    assert guest["supplier_name"] == "A A GuestHouses"
    assert str(guest["paid_on"]) == "2012-06-25" and guest["amount_pence"] == 900_00
    assert "amount run into the date" in guest["repairs"]
    # The note a person reads names our columns in words, never by their codes.
    assert guest["repairs"] == ("amount run into the date: '25/06/2012900' read as payment date "
                                "'25/06/2012', amount '900'")
    catch = by_line.loc[441]  # Catch2212/06/2012,8755.20
    assert (catch["supplier_name"], str(catch["paid_on"]), catch["amount_pence"]) == (
        "Catch22", "2012-06-12", 8755_20)
    both = by_line.loc[1382]  # Inter High Education/Academy2129/05/2012740
    assert both["supplier_name"] == "Inter High Education/Academy21"
    assert both["amount_pence"] == 740_00 and str(both["paid_on"]) == "2012-05-29"
    repaired = spend.lines[spend.lines["status"] == "repaired"]
    assert len(repaired) == spend.counts["repaired"]
    assert repaired.set_index("line").loc[441, "raw"].endswith(
        "Catch2212/06/2012,8755.20,SUPPORTED HOUSING - PRIVATE")
    assert not spend.payments["service"].str.contains("\u2020").any()


def test_lambeth_may_2012_supplier_totals_reconcile_to_the_grand_total(data_dir: Path) -> None:
    spend = read_spend(data_dir / LAMBETH / "lambeth_supplier_totals_2012-05_raw.csv")
    assert spend.mapping == {"Supplier Name": "supplier_name", "Total": "amount"}
    rec = spend.reconciliation()
    assert rec.stated_pence == rec.imported_pence == 43_292_721_79
    assert len(spend.payments) == 945
    assert sum(spend.counts.values()) == spend.total_lines


def test_repair_refuses_an_ambiguous_reading() -> None:
    # With single-digit days allowed, "Catch2212/06/2012" reads as Catch22 + 12/06 or Catch221 + 2/06.
    cells = ["Lambeth", "Adults", "Catch2212/06/2012", "100.00", "X"]
    fixed, note = repair_row(cells, 6, COLUMNS, date_shape="d/m/yyyy")
    assert fixed is None and note.startswith("ambiguous")
    fixed, note = repair_row(cells, 6, COLUMNS, date_shape="dd/mm/yyyy")
    assert fixed == ["Lambeth", "Adults", "Catch22", "12/06/2012", "100.00", "X"]


def test_repair_refuses_an_impossible_date_and_a_comma_in_a_name() -> None:
    fixed, note = repair_row(["L", "A", "Foo", "31/02/2012900", "X"], 6, COLUMNS)
    assert fixed is None and "no unambiguous repair" in note
    fixed, note = repair_row(["L", "A", "Foo", "Bar", "01/02/2012", "9.00", "X"], 6, COLUMNS)
    assert fixed is None and "unquoted comma" in note
    fixed, note = repair_row(["L", "A", "Foo", "01/02/2012", "9.00", "X", "", ""], 6, COLUMNS)
    assert fixed == ["L", "A", "Foo", "01/02/2012", "9.00", "X"] and "2 empty" in note


def test_currency_strings_parse_to_exact_pence() -> None:
    pence, problems = parse_money(pd.Series(["£1,234.56", "(123.00)", "1234.5", "-12", "7 CR",
                                             "12.345", "ten"]), field="amount", file="f.csv")
    assert pence.tolist()[:5] == [123456, -12300, 123450, -1200, -700]
    assert [p.row for p in problems] == [6, 7]
    assert "not an amount of money" in problems[0].reason


def test_header_aliases_preamble_totals_and_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "Council spend\nPeriod: June\n\n"
                 "Directorate,Payee,Date Paid,Sum Paid (£),Expense Type\n"
                 "Adults,Acme Ltd,01/06/2024,\"£1,000.00\",Homecare\n"
                 "Adults,Beta CIC,02/06/2024,(50.00),Day care\n"
                 "Grand Total,,,950.00,\n")
    with pytest.raises(ValidationError, match="no header row"):
        read_spend(path)
    spend = read_spend(path, mapping={"Sum Paid (£)": "amount"})
    both = write(tmp_path, "Supplier,Amount,Total\nAcme,1.00,2.00\n", "both.csv")
    header = read_spend(both).lines.set_index("status").loc["header", "reason"]
    assert "'Total' also means amount: 'Amount' is used" in header
    assert read_spend(both, mapping={"Total": "amount"}).payments["amount_pence"].tolist() == [200]
    assert spend.payments["amount_pence"].tolist() == [100000, -5000]
    assert spend.reconciliation().status == "reconciled"
    assert spend.counts["preamble"] == 3 and spend.counts["total"] == 1


def test_rejected_lines_explain_the_difference_and_block_the_import(tmp_path: Path,
                                                                    store: Store) -> None:
    path = write(tmp_path, "Supplier,Date,Amount\nAcme Ltd,01/06/2024,100.00\n"
                 ",02/06/2024,25.00\nBeta,03/06/2024,abc\nTotal,,125.00\n")
    spend = read_spend(path)
    assert [(p.row, p.field) for p in spend.problems] == [(3, "supplier_name"), (4, "amount")]
    rec = spend.reconciliation()
    assert rec.difference_pence == 2500 and rec.rejected_lines == [3, 4]
    assert rec.status == "explained" and "rejected lines 3, 4" in rec.describe()
    with pytest.raises(ValidationError, match="nothing imported") as caught:
        import_spend(store, path, name="june", imported_by="test")
    assert "row 3" in str(caught.value.problems[0])
    with store.transaction() as session:
        assert session.execute(__import__("sqlalchemy").text(
            "select count(*) from spend_datasets")).scalar() == 0
    result = import_spend(store, path, name="june", imported_by="test", skip_invalid=True)
    with store.transaction() as session:
        assert payments_frame(session, result.dataset_id)["amount_pence"].sum() == 10000
        lines = lines_frame(session, result.dataset_id)
    assert lines[lines["status"] == "rejected"]["line"].tolist() == [3, 4]
    assert set(lines["status"]) <= set(LINE_STATUSES)


def test_import_stores_payments_and_refuses_a_duplicate_name(data_dir: Path,
                                                             store: Store) -> None:
    path = data_dir / LAMBETH / "lambeth_payments_over_500_2012-06_raw.csv"
    result = import_spend(store, path, name="Lambeth June 2012", imported_by="test")
    with store.transaction() as session:
        payments = payments_frame(session, result.dataset_id)
        dataset = get_dataset(session, result.dataset_id)
        assert dataset.licence == "OGL v3"  # from data/spend_sources.csv: the app shows it
        assert "London Borough of Lambeth" in (dataset.attribution or "")
        assert dataset.line_counts["repaired"] == 731
    assert int(payments["amount_pence"].sum()) == 40_292_334_84
    assert payments["supplier_key"].str.contains("limited").any()
    with pytest.raises(ValidationError, match="exists"):
        import_spend(store, path, name="Lambeth June 2012", imported_by="test")
    again = import_spend(store, path, name="Lambeth June 2012", imported_by="test", replace=True)
    with store.transaction() as session:
        assert len(payments_frame(session, again.dataset_id)) == 3155


def test_pounds() -> None:
    assert pounds(-123456) == "-£1,234.56" and pounds(5) == "£0.05"
    assert whole_pounds(-123456) == "-£1,235" and whole_pounds(123449) == "£1,234"
    assert whole_pounds(49) == "£0" and whole_pounds(50) == "£1"


def test_our_columns_by_their_plain_names(tmp_path: Path) -> None:
    assert column_label("paid_on") == "payment date" and column_label("other") == "other"
    assert [column_from_label(t) for t in ("Payment Date", "paid_on", "paid on", "supplier",
                                           "nonsense")] == [
        "paid_on", "paid_on", "paid_on", "supplier_name", None]
    path = tmp_path / "odd.csv"
    path.write_text("Who,When,How much\nAcme,01/06/2024,5.00\n", encoding="utf-8")
    spend = read_spend(path, mapping={"Who": "supplier", "When": "payment date",
                                      "How much": "amount"})
    assert spend.mapping == {"Who": "supplier_name", "When": "paid_on", "How much": "amount"}
    with pytest.raises(ValidationError, match="'nonsense' is not one of our columns; use one "
                                              "of body, department, service, supplier"):
        read_spend(path, mapping={"Who": "nonsense"})
    stages: list[str] = []
    read_spend(path, mapping={"Who": "supplier", "How much": "amount"}, stage=stages.append)
    assert stages == ["reading", "repairing"]


def test_cli_import_spend_and_spend_report(data_dir: Path, store: Store, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mapping.cli.main import main

    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, ["--database-url", store.url, *args], catch_exceptions=False)

    cleaning = tmp_path / "cleaning.csv"
    result = run("import-spend", str(data_dir / LAMBETH / "lambeth_payments_over_500_2012-06_raw.csv"),
                 "--name", "June", "--licence", "OGL v3", "--cleaning-report", str(cleaning))
    assert result.exit_code == 0, result.output
    assert "£40,292,334.84 = the file's own total £40,292,334.84, to the penny" in result.output
    assert len(pd.read_csv(cleaning)) == 3171 - 2424  # every line not imported cleanly
    bad = write(tmp_path, "Supplier,Amount\nAcme,1.00\nBeta,lots\n", "bad.csv")
    refused = run("import-spend", str(bad), "--name", "bad", "--report", str(tmp_path / "p.csv"))
    assert refused.exit_code == 1
    assert "bad.csv, row 3, field 'amount'" in refused.output
    assert pd.read_csv(tmp_path / "p.csv")["row"].tolist() == [3]
    chart, out = tmp_path / "figure2.png", tmp_path / "subsectors.csv"
    report = run("spend-report", "--name", "June", "--chart", str(chart), "--out", str(out))
    assert report.exit_code == 0, report.output
    assert "Lambeth Living Ltd" in report.output and "under £5k" in report.output
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert pd.read_csv(out)["total_pence"].sum() == 40_292_334_84
    missing = run("spend-report", "--name", "nope")
    assert missing.exit_code == 1 and "no spend dataset called 'nope'" in missing.output


@pytest.mark.parametrize(("text", "expected"), [
    ("Supplier,Date,Amount\n", "header (line 1) but no payment lines"),
    ("Supplier,Amount\n,\n\n", "header (line 1) but no payment lines"),
])
def test_a_file_with_no_payments_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(expected)):
        read_spend(write(tmp_path, text))


def test_every_line_rejected_and_other_delimiters(tmp_path: Path) -> None:
    spend = read_spend(write(tmp_path, "Supplier,Date,Amount\nAcme,bad\n"))
    assert spend.payments.empty and [p.row for p in spend.problems] == [2]
    assert spend.reconciliation().imported_pence == 0
    semicolons = read_spend(write(tmp_path, "\ufeffSupplier;Amount\nA;1,00\nB;\"£1,000.50\"\n"))
    assert semicolons.payments["amount_pence"].tolist() == [100050]
    assert [p.row for p in semicolons.problems] == [2]  # "1,00" is not read as £100


def _cli(store: Store):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from mapping.cli.main import main

    runner = CliRunner()
    return lambda *args: runner.invoke(main, ["--database-url", store.url, *args],
                                       catch_exceptions=False)


def test_a_blank_amount_is_a_line_problem_not_a_crash(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path, "Supplier,Date,Amount\nAcme,01/06/2024,10.00\nBeta,02/06/2024,\n"
                 "Gamma,03/06/2024,  \n")
    spend = read_spend(path)
    assert [(p.file, p.row, p.field, p.reason) for p in spend.problems] == [
        ("spend.csv", 3, "amount", "the amount is blank"),
        ("spend.csv", 4, "amount", "the amount is blank")]
    assert spend.payments["amount_pence"].tolist() == [1000]
    with pytest.raises(ValidationError, match="row 3, field 'amount': the amount is blank"):
        import_spend(store, path, name="blank", imported_by="test")
    result = import_spend(store, path, name="blank", imported_by="test", skip_invalid=True)
    with store.transaction() as session:
        assert lines_frame(session, result.dataset_id)["status"].tolist() == [
            "header", "rejected", "rejected"]
    refused = _cli(store)("import-spend", str(path), "--name", "cli")
    assert refused.exit_code == 1 and "spend.csv, row 4, field 'amount'" in refused.output


def test_an_unknown_encoding_is_a_validation_error(tmp_path: Path) -> None:
    path = write(tmp_path, "Supplier,Amount\nAcme,1.00\n")
    for encoding in ("no-such-encoding", "base64", "rot13"):
        with pytest.raises(ValidationError, match="not a text encoding"):
            read_spend(path, encoding=encoding)
    assert read_spend(path, encoding="cp1252").payments["amount_pence"].tolist() == [100]


def test_cells_longer_than_the_store_keeps_are_line_problems(tmp_path: Path,
                                                             store: Store) -> None:
    path = write(tmp_path, "Supplier,Company Number,Transaction ID,Amount\n"
                 f"{'A' * 301},01234567,T1,1.00\n"
                 f"Acme,{'1' * 21},T2,2.00\n"
                 f"Beta,01234567,{'T' * 101},3.00\n"
                 f"{'co ' * 90}co,,T4,4.00\n"  # 269 characters; its key spells out "company"
                 f"{'B' * 300},01234567,T5,5.00\n")
    spend = read_spend(path)
    assert [(p.row, p.field) for p in spend.problems] == [
        (2, "supplier_name"), (3, "company_number"), (4, "transaction_id"), (5, "supplier_name")]
    assert "301 characters, longer than the 300" in spend.problems[0].reason
    assert spend.payments["amount_pence"].tolist() == [500]
    result = import_spend(store, path, name="long", imported_by="test", skip_invalid=True)
    with store.transaction() as session:
        assert payments_frame(session, result.dataset_id)["supplier_name"].tolist() == ["B" * 300]
    with pytest.raises(ValidationError, match="longer than the 300 kept"):
        import_spend(store, path, name="long 2", imported_by="test", skip_invalid=True,
                     publisher="P" * 301)


def test_the_cleaning_report_keeps_whole_pence(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path, "Spend\nSupplier,Amount\nAcme,1234.56\nBeta,abc\nTotal,1234.56\n")
    result = import_spend(store, path, name="pence", imported_by="test", skip_invalid=True)
    with store.transaction() as session:
        lines = lines_frame(session, result.dataset_id)
    assert str(lines["amount_pence"].dtype) == "Int64"
    assert "123456.0" not in lines.to_csv(index=False)
    assert lines.set_index("status").loc["total", "amount_pence"] == 123456


def test_only_a_labelled_row_with_no_supplier_is_a_total(tmp_path: Path) -> None:
    path = write(tmp_path, "Department,Supplier,Date,Amount,Service\n"
                 "Adults,Acme Ltd,01/06/2024,100.00,Total\n"  # a payment, whatever its service
                 "Adults,Beta CIC,02/06/2024,50.00,Sub-total\n"
                 "Sub-total,,,150.00,\n"
                 "Children,Gamma,03/06/2024,25.00,Care\n"
                 "Sub-total,,,25.00,\n"
                 "Grand Total,,,175.00,\n")
    spend = read_spend(path)
    assert spend.payments["line"].tolist() == [2, 3, 5]
    statuses = spend.lines.set_index("line")["status"]
    assert statuses[[4, 6, 7]].tolist() == ["subtotal", "subtotal", "total"]
    assert spend.counts["subtotal"] == 2 and spend.counts["total"] == 1
    assert sum(spend.counts.values()) == spend.total_lines
    assert spend.reconciliation().stated_pence == 175_00
    assert spend.reconciliation().status == "reconciled"
    # Sub-totals but no total row: the sub-totals added up, never the last one alone.
    subs = read_spend(write(tmp_path, path.read_text().rsplit("Grand", 1)[0], "subs.csv"))
    rec = subs.reconciliation()
    assert (rec.stated_pence, rec.status) == (175_00, "reconciled")
    assert "sub-totals added up" in rec.describe()
    assert "no total row" in subs.lines.set_index("line").loc[4, "reason"]


def test_cli_csv_files_are_spreadsheet_safe(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path, "Supplier,Amount\n\"=HYPERLINK(\"\"http://x\"\")\",1.00\n"
                 "@SUM(A1),1O.00\n")
    run = _cli(store)
    cleaning, suppliers = tmp_path / "cleaning.csv", tmp_path / "suppliers.csv"
    result = run("import-spend", str(path), "--name", "formula", "--skip-invalid",
                 "--cleaning-report", str(cleaning))
    assert result.exit_code == 0, result.output
    assert pd.read_csv(cleaning).set_index("line").loc[3, "raw"] == "'@SUM(A1),1O.00"
    report = run("spend-report", "--name", "formula", "--suppliers-out", str(suppliers))
    assert report.exit_code == 0, report.output
    assert pd.read_csv(suppliers)["supplier_name"].tolist() == ['\'=HYPERLINK("http://x")']
