"""The ``mapping`` sub-commands for gaps and micro-fund plans (added to :func:`mapping.cli.main.main`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mapping.cli._common import Context, handles_errors, pass_context, steps
from mapping.errors import DataMissingError

_gap_options = [
    click.option("--category", required=True, help="Service category code, e.g. gp_practice."),
    click.option("--measure", type=click.Choice(["population", "population_65_plus"]),
                 default="population", show_default=True, help="Demand: all residents or 65+."),
    click.option("--imd", is_flag=True, help="Weight demand by deprivation (IMD 2019)."),
    click.option("--generative-only", is_flag=True,
                 help="Count only locally generative providers' sites as supply."),
    click.option("--cutoff", type=float, default=15.0, show_default=True,
                 help="Walking minutes beyond which a site does not serve an area."),
    click.option("--walk-speed", type=float, default=80.0, show_default=True,
                 help="Walking speed in metres a minute (about 70 for people over 65)."),
    click.option("--patches", help="The stored patch set to roll up to (default: the first "
                                    "imported by name; without any, wards)."),
    click.option("--osm", "osm_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                 help="A local .osm file with the borough's streets (default: the "
                      "MAPPING_WALKING_NETWORK setting; without either, straight line × 1.3)."),
]


def gap_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_gap_options):
        func = option(func)
    return func


def _run_gaps(context: Context, advance: Callable[[str], None], *, category: str, measure: str,
              imd: bool, generative_only: bool, cutoff: float, walk_speed: float,
              osm_file: Path | None, patches: str | None = None, method: str = "e2sfca",
              add_site: tuple[tuple[float, float], ...] = ()) -> tuple[Any, Any, Any]:
    from mapping.access.analysis import GapOptions, analyse_gaps, inputs_from_store
    from mapping.access.walk_graph import walking_graph_from_xml

    options = GapOptions(category=category, measure=measure, imd_weighting=imd,
                         generative_only=generative_only, cutoff_min=cutoff,
                         walk_speed_m_per_min=walk_speed, method=method, proposed=add_site)
    options.check()
    with context.ready_store().transaction() as session:
        inputs = inputs_from_store(session, patch_set=patches)
    advance(f"read {len(inputs.areas)} areas and {len(inputs.assets)} active assets")
    graph = None
    from_setting = osm_file is None and context.settings.walking_network_path is not None
    osm_file = osm_file or context.settings.walking_network_path
    if osm_file is not None:
        try:
            graph = walking_graph_from_xml(osm_file,
                                           cache_dir=context.settings.instance_dir / "cache")
        except DataMissingError as exc:
            if from_setting:
                raise DataMissingError(f"{exc} (the MAPPING_WALKING_NETWORK setting); correct "
                                       "the setting, or give --osm FILE") from exc
            raise
        advance(f"walking network: {graph.number_of_nodes()} nodes")
    else:
        advance("no street network: straight-line distance × 1.3 (labelled in every output)")
    analysis = analyse_gaps(inputs.areas, inputs.assets, options=options,
                            patches=inputs.patches, patch_source=inputs.patch_source, graph=graph)
    advance(f"access and gaps computed ({analysis.method})")
    return analysis, inputs, graph


def _echo_notes(analysis: Any) -> None:
    """Print the analysis's notes (no sites of the category, points off the walking network)."""
    for note in analysis.notes:
        click.echo(f"Note: {note}")


def _lon_lat(_ctx: click.Context, _param: click.Parameter,
             values: tuple[str, ...]) -> tuple[tuple[float, float], ...]:
    points = []
    for value in values:
        try:
            lon, lat = (float(v) for v in value.split(","))
        except ValueError:
            raise click.BadParameter(f"give LON,LAT as two numbers, got '{value}'") from None
        points.append((lon, lat))
    return tuple(points)


@click.command("analyse-gaps")
@gap_options
@click.option("--method", type=click.Choice(["e2sfca", "2sfca"]), default="e2sfca",
              show_default=True, help="Access measure: E2SFCA (stepped weights) or 2SFCA.")
@click.option("--add-site", multiple=True, callback=_lon_lat, metavar="LON,LAT",
              help="A proposed site (EPSG:4326) to see the change it makes; repeatable, "
                   "at most 10.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the areas with scores and flags (.csv or .geojson).")
@click.option("--patches-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the patch roll-up as CSV.")
@pass_context
@handles_errors
def analyse_gaps_cmd(context: Context, out: Path | None, patches_out: Path | None,
                     **kwargs: Any) -> None:
    """Find where people are left without a service category: E2SFCA access per small area."""
    import pandas as pd

    with steps(3, "gaps") as advance:
        analysis, _inputs, _graph = _run_gaps(context, advance, **kwargs)
    areas = analysis.areas.assign(method=analysis.method)
    flagged = areas[areas["gap"].fillna(False).astype(bool)]
    click.echo(f"{kwargs['category']}: {len(flagged)} of {len(areas)} areas are gaps "
               f"({int(flagged['people'].sum()):,} people); access: {analysis.measure}; "
               f"distances: {analysis.method}")
    _echo_notes(analysis)
    if analysis.what_if_line():
        click.echo(analysis.what_if_line())
    click.echo(f"Roll-up by {analysis.patch_source}:")
    table = analysis.rollup[["areas", "people", "mean_normalised", "people_in_gap_areas",
                             "people_beyond_cutoff", "sites"]]
    click.echo(table.round(2).to_string())
    from mapping.spreadsheets import write_safe_csv

    if out is not None:
        if out.suffix.lower() == ".geojson":
            areas.to_file(out, driver="GeoJSON", engine="pyogrio")
        else:
            write_safe_csv(pd.DataFrame(areas.drop(columns="geometry")), out)
        click.echo(f"areas written to {out}")
    if patches_out is not None:
        write_safe_csv(analysis.rollup.assign(method=analysis.method), patches_out, index=True)
        click.echo(f"patch roll-up written to {patches_out}")


@click.command("plan-microfund")
@gap_options
@click.option("--budget", type=float, required=True, help="Money to spend, in pounds.")
@click.option("--grant", type=float, default=500.0, show_default=True,
              help="Size of one grant, in pounds.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the plan as CSV.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the funded rows as 360Giving-shaped JSON (a plan, not awards).")
@click.option("--funder-org-id", default=None,
              help="The council's org-id (org-id.guide list GB-LAE); default: the borough's, as "
                   "its manifest gives it.")
@pass_context
@handles_errors
def plan_microfund_cmd(context: Context, budget: float, grant: float, out: Path | None,
                       json_out: Path | None, funder_org_id: str | None, **kwargs: Any) -> None:
    """Rank gaps by unmet demand and suggest host community spaces for micro-grants (MCLP)."""
    import datetime as dt
    import json

    from mapping.access.analysis import plan_for
    from mapping.boroughs.settings import borough_for, funder
    from mapping.funding.giving360 import grants_to_360giving
    from mapping.funding.plan import FundingSettings, plan_to_csv

    with steps(4, "micro-fund plan") as advance:
        analysis, inputs, graph = _run_gaps(context, advance, **kwargs)
        plan = plan_for(analysis, inputs.areas, inputs.assets,
                        settings=FundingSettings(budget_gbp=budget, grant_size_gbp=grant),
                        patches=inputs.patches, graph=graph)
        advance("host sites chosen")
    funded = plan[plan["grants"] > 0]
    click.echo(f"{len(funded)} grants of £{grant:,.0f} (budget £{budget:,.0f}); distances: "
               f"{analysis.method}")
    _echo_notes(analysis)
    for note in plan.attrs.get("notes", []):
        click.echo(f"Note: {note}")
    click.echo(funded[["rank", "patch", "unmet_demand", "host_site_name",
                       "newly_covered_people"]].to_string(index=False))
    if out is not None:
        plan_to_csv(plan, out)
        click.echo(f"plan written to {out}")
    if json_out is not None and len(funded):
        with context.ready_store().session() as session:
            org_id, name = funder(borough_for(session, context.settings), id_prefix="plan")
        package = grants_to_360giving(plan, funder_org_id=funder_org_id or org_id,
                                      funder_name=name, award_date=dt.date.today(),
                                      id_prefix="plan")
        json_out.write_text(json.dumps(package, indent=2), encoding="utf-8")
        click.echo(f"360Giving-shaped plan written to {json_out}")


COMMANDS = (analyse_gaps_cmd, plan_microfund_cmd)
