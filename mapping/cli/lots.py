"""The ``mapping`` sub-commands for designing and checking lots (added to :func:`mapping.cli.main.main`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mapping.cli._common import Context, handles_errors, pass_context, steps
from mapping.errors import Problem, ValidationError


@click.command("design-lots")
@click.option("--layer", default=None,
              help="Stored layer to group into lots (default: the borough's wards; "
                   "'mapping set-layers' shows them).")
@click.option("-k", "--lots", "k", default=8, show_default=True, type=int, help="Number of lots.")
@click.option("--measure", default="population", show_default=True,
              help="Balance on: population, population_65_plus, demand_estimate, or a column "
                   "such as homecare_hours.")
@click.option("--tolerance", default=0.10, show_default=True, type=float,
              help="Largest deviation of a lot from the ideal total (0.1 = ±10%).")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Random seed: the same seed gives the same design.")
@click.option("--keep-whole", default=None, help="A coarser layer to keep whole, e.g. the wards "
              "when designing from the small areas.")
@click.option("--start", default=None, help="A stored patch/lot set to start from.")
@click.option("--save", "save_name", default=None, help="Save the design as this lot set.")
@click.option("--replace", is_flag=True,
              help="With --save: replace a saved design of that name (an imported patch set "
                   "is never replaced).")
@click.option("--max-seconds", type=float, default=None,
              help="Stop the search after this many seconds with the best design so far "
                   "(default: no limit; a design cut short may differ from run to run).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the lots: .geojson (outlines) or .csv (code -> lot lookup).")
@pass_context
@handles_errors
def design_lots_cmd(context: Context, layer: str | None, k: int, measure: str, tolerance: float,
                    seed: int, keep_whole: str | None, start: str | None,
                    save_name: str | None, replace: bool, max_seconds: float | None,
                    out: Path | None) -> None:
    """Design k contiguous lots balanced on a measure (ReCom short bursts, GerryChain)."""
    from mapping.lots.design import LotSettings, design_lots
    from mapping.lots.store import design_inputs, save_lot_design
    from mapping.places.roles import layer_roles

    store = context.ready_store()
    with store.transaction() as session:
        layer = layer or layer_roles(session).require("wards")
        areas, groups, start_lookup = design_inputs(session, layer, keep_whole=keep_whole,
                                                    start=start)
    settings = LotSettings(max_seconds=max_seconds)
    with steps(settings.attempts, "designing lots") as advance:
        design = design_lots(areas, k=k, measure=measure, tolerance=tolerance, seed=seed,
                             start=start_lookup, keep_whole=groups, keep_whole_name=keep_whole,
                             settings=settings, progress=advance)
    table = design.lots[["patch", "areas", design.measure, "deviation"]]
    click.echo(table.to_string(index=False, formatters={"deviation": "{:+.1%}".format}))
    click.echo(design.summary())
    for note in design.notes:
        click.echo(f"Note: {note}", err=True)
    if out is not None:
        _write_lots(design.lots, design.lookup, out)
        click.echo(f"Wrote {out}")
    if save_name:
        with store.transaction() as session:
            save_lot_design(session, save_name, layer, design, created_by="cli",
                            replace=replace)
        click.echo(f"Saved as lot set '{save_name}' (the map and the gap roll-up use it when "
                   "chosen, e.g. /gaps?patches=NAME, or once an officer makes it the default "
                   "grouping on the lots page)")


def _write_lots(lots: Any, lookup: Any, out: Path) -> None:
    suffix = out.suffix.lower()
    if suffix == ".geojson":
        frame = lots.drop(columns=["area_codes"]).assign(
            area_codes=lots["area_codes"].map(lambda c: " ".join(c)))
        frame.to_crs("EPSG:4326").to_file(out, driver="GeoJSON")
    elif suffix == ".csv":
        from mapping.spreadsheets import write_safe_csv
        write_safe_csv(lookup, out)
    else:
        raise ValidationError([Problem("write to a .geojson or .csv file", field="--out", file=str(out))])


@click.command("lot-profile")
@click.argument("lot_set")
@click.option("--compare", default=None, help="Another lot/patch set to set beside it.")
@click.option("--no-gaps", is_flag=True, help="Leave out people in gap areas (faster).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the profile (or the comparison) as CSV.")
@pass_context
@handles_errors
def lot_profile_cmd(context: Context, lot_set: str, compare: str | None, no_gaps: bool,
                    out: Path | None) -> None:
    """Profile each lot of a stored set: people, IMD mix, sites, ownership, offices, gaps."""
    from mapping.lots.profile import compare_designs, lot_profile, profile_inputs_from_store
    from mapping.lots.store import load_lots

    with context.ready_store().transaction() as session:
        inputs = profile_inputs_from_store(session, gaps=not no_gaps)
        profile = lot_profile(load_lots(session, lot_set), inputs)
        other = (lot_profile(load_lots(session, compare), inputs)
                 if compare else None)
    result = (compare_designs(profile, other, label_a=lot_set, label_b=str(compare))
              if other is not None else profile)
    if inputs.gap_method:
        click.echo(f"People in gap areas: each category's default gap analysis; distances "
                   f"{inputs.gap_method}")
    click.echo(result.to_string())
    if out is not None:
        from mapping.spreadsheets import write_safe_csv
        write_safe_csv(result, out, index=True)
        click.echo(f"Wrote {out}")


@click.command("check-lot-rules")
@click.option("--allocation", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="CSV of organisation_external_id,lot (who delivers which lot).")
@click.option("--lot-set", default=None, help="The lot set the allocation refers to.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the violations as CSV.")
@pass_context
@handles_errors
def check_lot_rules_cmd(context: Context, allocation: Path | None, lot_set: str | None,
                        out: Path | None) -> None:
    """List breaches of the lotting rules: one lot per provider, office in the borough,
    the living wage (the London Living Wage in London), ethical care charter (unknown flags
    listed as unknown)."""
    from mapping.boroughs.settings import borough_for, living_wage_rule
    from mapping.lots.profile import check_lot_rules, read_allocation
    from mapping.places.store import load_patches
    from mapping.register.records import organisations_frame
    from mapping.tables import read_table

    with context.ready_store().transaction() as session:
        lots = (load_patches(session, lot_set)["patch"].astype(str).tolist()
                if lot_set else None)
        alloc = (read_allocation(read_table(allocation), file=allocation.name, lots=lots)
                 if allocation else None)
        rule = living_wage_rule(borough_for(session, context.settings))
        found = check_lot_rules(organisations_frame(session), alloc, living_wage_rule=rule)
    if found.empty:
        click.echo("No breaches of the lotting rules.")
    else:
        counts = found["status"].value_counts()
        click.echo(found.to_string(index=False))
        click.echo(f"{counts.get('violation', 0)} violations, {counts.get('unknown', 0)} unknown")
    if allocation is None:
        click.echo("'One lot per provider' needs --allocation (who delivers which lot).")
    if out is not None:
        from mapping.spreadsheets import write_safe_csv
        write_safe_csv(found, out)
        click.echo(f"Wrote {out}")


COMMANDS = (design_lots_cmd, lot_profile_cmd, check_lot_rules_cmd)
