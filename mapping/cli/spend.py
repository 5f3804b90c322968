"""The ``mapping`` sub-commands for spend files and reports (added to :func:`mapping.cli.main.main`)."""

from __future__ import annotations

from pathlib import Path

import click

from mapping.cli._common import Context, column_mapping, handles_errors, pass_context, show_problems, steps


@click.command("import-spend")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Name of the dataset, e.g. 'Lambeth June 2012'.")
@click.option("--skip-invalid", is_flag=True,
              help="Write the valid payments and keep the rejected lines in the cleaning report "
                   "(default: all or nothing).")
@click.option("--map", "mapping", multiple=True, metavar="SOURCE=COLUMN",
              help="Map a header to a spend column (supplier_name, amount, paid_on, department, "
                   "service, body, company_number, charity_number, transaction_id).")
@click.option("--encoding", default="utf-8", show_default=True)
@click.option("--publisher", help="Who published the file, e.g. 'London Borough of Lambeth'.")
@click.option("--licence", help="The file's licence, e.g. 'OGL v3'.")
@click.option("--attribution", help="Attribution text shown with the report.")
@click.option("--threshold", type=float, default=90.0, show_default=True,
              help="Lowest fuzzy name-match score (rapidfuzz token_sort_ratio, 0-100).")
@click.option("--replace", is_flag=True, help="Replace a dataset of the same name.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every rejected line (file, row, field, reason) to this CSV.")
@click.option("--cleaning-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every line that was not imported cleanly (repaired, rejected, "
                   "preamble, totals...) to this CSV.")
@pass_context
@handles_errors
def import_spend_cmd(context: Context, path: Path, name: str, skip_invalid: bool,
                     mapping: tuple[str, ...], encoding: str, publisher: str | None,
                     licence: str | None, attribution: str | None, threshold: float,
                     replace: bool, report: Path | None, cleaning_report: Path | None) -> None:
    """Import a council spend file ("payments over £500"); match and class its suppliers."""
    import getpass

    from mapping.spend.store import import_spend

    store = context.ready_store()
    with steps(3, "import spend") as advance:
        result = import_spend(store, path, name=name, imported_by=getpass.getuser(),
                              mapping=column_mapping(mapping), skip_invalid=skip_invalid,
                              encoding=encoding, publisher=publisher, licence=licence,
                              attribution=attribution, threshold=threshold, replace=replace,
                              progress=advance)
    click.echo(result.summary())
    if cleaning_report:
        from mapping.spreadsheets import write_safe_csv

        write_safe_csv(result.spend.lines, cleaning_report)
    if result.spend.problems:
        show_problems(result.spend.problems, report)


@click.command("spend-report")
@click.option("--name", required=True, help="The dataset to report on.")
@click.option("--compare", "compare_name", help="A second dataset to set beside it.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the per-subsector table to this CSV.")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the CLES figure 2 chart to this .svg or .png file.")
@click.option("--suppliers-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every supplier's match, method, score, class and evidence to this CSV.")
@pass_context
@handles_errors
def spend_report_cmd(context: Context, name: str, compare_name: str | None, out: Path | None,
                     chart: Path | None, suppliers_out: Path | None) -> None:
    """Benchmark a spend dataset by ownership, per subsector (CLES figure 2)."""
    from mapping.spend.reading import pounds
    from mapping.spend.report import SEGMENTS, shares_chart
    from mapping.spend.service import report_for_name
    from mapping.spreadsheets import write_safe_csv

    store = context.ready_store()
    with store.transaction() as session:
        first = report_for_name(session, name)
        second = report_for_name(session, compare_name) if compare_name else None
    for report in (first, second):
        if report is None:
            continue
        click.echo(f"{report.dataset.name}: {report.dataset.reconciliation}")
        for row in report.shares.to_dict("records"):
            shares = "  ".join(f"{seg} {row[f'{seg} share']:.0%}" for seg in SEGMENTS)
            click.echo(f"  {row['subsector']:<20} {pounds(int(row['total_pence'])):>16}  {shares}")
        click.echo("  Top extractive suppliers:")
        for row in report.top_extractive(5).to_dict("records"):
            click.echo(f"    {row['supplier_name']:<40} {pounds(int(row['total_pence'])):>16}")
        for row in report.bands[report.bands["redirectable"]].to_dict("records"):
            click.echo(f"  {row['band']}: {pounds(int(row['not local pence']))} to suppliers "
                       f"without an office in the borough, {pounds(int(row['not known pence']))} "
                       "to suppliers whose locality is not known")
    if out:
        table = first.shares if second is None else first.compare(second)
        write_safe_csv(table, out)
    if chart:
        tables = [(first.dataset.name, first.shares)] + (
            [(second.dataset.name, second.shares)] if second else [])
        chart.write_bytes(shares_chart(tables, fmt=chart.suffix.lower().lstrip(".") or "svg"))
    if suppliers_out:
        write_safe_csv(first.matches, suppliers_out)


COMMANDS = (import_spend_cmd, spend_report_cmd)
