"""The ``mapping`` command: a thin shell over the package, one sub-command per job.

Every command exits non-zero with a plain message (and, for bad input, every
problem with its file, row, field and reason) instead of a stack trace.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from mapping.config import Settings, load_settings
from mapping.errors import DataMissingError, MappingError, Problem, ValidationError
from mapping.store import Store

MAX_PROBLEMS_SHOWN = 50


class Context:
    """What every command needs: the settings and, lazily, the store."""

    def __init__(self, settings: Settings, overrides: dict[str, Any] | None = None) -> None:
        self.settings = settings
        #: The settings given on the command line (the web app layers them over its files).
        self.overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.settings.resolved_database_url)
        return self._store

    def ready_store(self) -> Store:
        self.store.check_ready()
        return self.store


def _show_problems(problems: list[Problem], report: Path | None) -> None:
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        click.echo(f"  - {problem}", err=True)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        hint = f"all of them are in {report}" if report else "use --report FILE to get them all"
        click.echo(f"  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more ({hint})", err=True)
    if report:
        import pandas as pd

        from mapping.spreadsheets import write_safe_csv

        frame = pd.DataFrame([p.as_dict() for p in problems], columns=["file", "row", "field", "reason"])
        write_safe_csv(frame, report)


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our errors into a clear message and exit code 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            click.echo(f"Error: {exc.summary}", err=True)
            _show_problems(exc.problems, kwargs.get("report"))
            sys.exit(1)
        except MappingError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)

    return wrapper


@contextmanager
def steps(total: int, desc: str) -> Iterator[Callable[[str], None]]:
    """Give a callback that advances a progress bar by one named step."""
    with tqdm(total=total, desc=desc, unit="step", file=sys.stderr,
              disable=None, leave=True) as bar:
        def advance(message: str) -> None:
            bar.set_postfix_str(message[:60])
            bar.update(1)
            tqdm.write(message, file=sys.stderr)
        yield advance


@click.group()
@click.option("--database-url", envvar="MAPPING_DATABASE_URL", default=None,
              help="SQLAlchemy URL of the store (default: SQLite in the instance folder).")
@click.option("--data-dir", envvar="MAPPING_DATA_DIR", default=None,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the shared open data (default: ../shared/data).")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, data_dir: Path | None) -> None:
    """Community asset and provision-gap mapping."""
    given = {"database_url": database_url, "data_dir": data_dir}
    ctx.obj = Context(load_settings(given), given)


pass_context = click.make_pass_decorator(Context)


@main.command("init-db")
@pass_context
@handles_errors
def init_db(context: Context) -> None:
    """Create the database, or bring its schema up to date."""
    revision = context.store.upgrade()
    click.echo(f"Database ready at schema revision {revision}: {context.store.url}")


@main.command("migrate")
@pass_context
@handles_errors
def migrate(context: Context) -> None:
    """Apply any schema migrations this version brings (Alembic upgrade to head)."""
    before = context.store.current_revision()
    after = context.store.upgrade()
    click.echo(f"Schema revision {before or 'none'} -> {after}")


def _column_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"'{pair}' is not SOURCE=COLUMN", param_hint="--map")
        source, target = pair.split("=", 1)
        out[source.strip()] = target.strip()
    return out


_import_options = [
    click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
    click.option("--skip-invalid", is_flag=True,
                 help="Write the valid rows and report the rest (default: all or nothing)."),
    click.option("--map", "mapping", multiple=True, metavar="SOURCE=COLUMN",
                 help="Map a header in the file to one of our columns (repeatable)."),
    click.option("--encoding", default="utf-8", show_default=True,
                 help="Text encoding of a CSV file (e.g. cp1252 for older Excel)."),
    click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
                 help="Write every problem (file, row, field, reason) to this CSV."),
]


def import_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_import_options):
        func = option(func)
    return func


@main.command("import-assets")
@import_options
@pass_context
@handles_errors
def import_assets_cmd(context: Context, path: Path, skip_invalid: bool, mapping: tuple[str, ...],
                      encoding: str, report: Path | None) -> None:
    """Import assets from CSV, GeoJSON or GeoPackage (matched on external_id)."""
    from mapping.importers import import_assets

    store = context.ready_store()
    with steps(1, "import") as advance:
        result = import_assets(store, path, skip_invalid=skip_invalid,
                               mapping=_column_mapping(mapping), encoding=encoding,
                               boundary=_boundary(store))
        advance("written")
    click.echo(result.summary())
    if result.problems:
        _show_problems(result.problems, report)


def _boundary(store: Store) -> Any:
    from mapping.area_store import borough_outline

    with store.transaction() as session:
        return borough_outline(session)


@main.command("import-organisations")
@import_options
@pass_context
@handles_errors
def import_organisations_cmd(context: Context, path: Path, skip_invalid: bool,
                             mapping: tuple[str, ...], encoding: str,
                             report: Path | None) -> None:
    """Import organisations (providers) with their legal forms from CSV, GeoJSON or GeoPackage."""
    from mapping.importers import import_organisations

    result = import_organisations(context.ready_store(), path, skip_invalid=skip_invalid,
                                  mapping=_column_mapping(mapping), encoding=encoding)
    click.echo(result.summary())
    if result.problems:
        _show_problems(result.problems, report)


@main.command("import-areas")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layer", required=True, help="Name to store the layer under, e.g. wards.")
@click.option("--code-field", help="Column holding the GSS code (guessed if not given).")
@click.option("--name-field", help="Column holding the area name (guessed if not given).")
@click.option("--title", help="Title shown in the app.")
@click.option("--licence", help="Licence of the boundaries, e.g. 'OGL v3'.")
@click.option("--attribution", help="Attribution text shown in the app.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every problem to this CSV.")
@pass_context
@handles_errors
def import_areas_cmd(context: Context, path: Path, layer: str, code_field: str | None,
                     name_field: str | None, title: str | None, licence: str | None,
                     attribution: str | None, report: Path | None) -> None:
    """Import a layer of areas from GeoJSON, GeoPackage or Shapefile, in any CRS."""
    from mapping.area_store import save_area_layer
    from mapping.areas import areas_from_frame, repaired_rows
    from mapping.tables import read_table

    store = context.ready_store()
    raw = read_table(path)
    areas, problems = areas_from_frame(raw, code_field=code_field, name_field=name_field,
                                       file=path.name)
    if problems:
        raise ValidationError(problems, summary=f"{path.name}: nothing imported")
    with store.transaction() as session:
        count = save_area_layer(session, layer, areas, title=title, source=path.name,
                                licence=licence, attribution=attribution)
    import shapely
    fixed = [f"{r} ({shapely.is_valid_reason(raw.geometry.iloc[r - 1])})" for r in repaired_rows(raw)]
    click.echo(f"Layer '{layer}': {count} areas" + (
        f"; invalid geometry repaired on rows {', '.join(fixed)}" if fixed else ""))


@main.command("import-table")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layer", required=True, help="Stored layer to join the table onto.")
@click.option("--code-column", required=True, help="Column of the table holding the area code.")
@click.option("--encoding", default="utf-8", show_default=True)
@pass_context
@handles_errors
def import_table_cmd(context: Context, path: Path, layer: str, code_column: str,
                     encoding: str) -> None:
    """Join an attribute table (population, IMD...) onto a layer's areas by code."""
    from mapping.area_store import add_area_attributes
    from mapping.tables import parse_numbers, read_table

    table = read_table(path, encoding=encoding)
    if code_column not in table.columns:
        raise ValidationError([Problem(f"no column '{code_column}'", field=code_column,
                                       file=path.name)])
    for column in table.columns:
        if column != code_column:
            values, problems = parse_numbers(table[column], field=column, file=path.name)
            if not problems:
                table[column] = values
    with context.ready_store().transaction() as session:
        matched, unmatched = add_area_attributes(session, layer, table, code_column=code_column)
    click.echo(f"{matched} areas of '{layer}' got {len(table.columns) - 1} columns")
    if unmatched:
        click.echo(f"{len(unmatched)} codes in the table are not in the layer: "
                   f"{', '.join(unmatched[:10])}{' ...' if len(unmatched) > 10 else ''}", err=True)


@main.command("import-patches")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layer", required=True, help="Stored layer whose areas the patches group.")
@click.option("--name", "set_name", required=True, help="Name of the patch set, e.g. lots-2024.")
@click.option("--code-column", default="code", show_default=True)
@click.option("--patch-column", default="patch", show_default=True)
@pass_context
@handles_errors
def import_patches_cmd(context: Context, path: Path, layer: str, set_name: str,
                       code_column: str, patch_column: str) -> None:
    """Make patches from a lookup file (area code -> patch name), dissolved."""
    count = _import_lookup(context, path, layer, set_name, code_column, patch_column, contiguous=False)
    click.echo(f"Patch set '{set_name}': {count} patches over layer '{layer}'")


def _import_lookup(context: Context, path: Path, layer: str, set_name: str, code_column: str,
                   group_column: str, *, contiguous: bool) -> int:
    """Save a patch set made from a lookup file, in one transaction; give the number of groups."""
    from mapping.area_store import load_area_layer, save_patch_set
    from mapping.areas import patches_from_lookup
    from mapping.tables import read_table

    lookup = read_table(path)
    with context.ready_store().transaction() as session:
        areas = load_area_layer(session, layer)
        groups = patches_from_lookup(areas, lookup, code_column=code_column,
                                     patch_column=group_column, file=path.name,
                                     require_contiguous=contiguous)
        return save_patch_set(session, set_name, layer, groups, source=path.name)


@main.command("import-osm")
@click.option("--file", "osm_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A local .osm XML file (works offline).")
@click.option("--place", help="A place name to query OpenStreetMap for (needs internet).")
@click.option("--skip-invalid", is_flag=True, help="Write the valid rows and report the rest.")
@pass_context
@handles_errors
def import_osm_cmd(context: Context, osm_file: Path | None, place: str | None,
                   skip_invalid: bool) -> None:
    """Seed assets from OpenStreetMap (tags mapped to categories by data/osm_tags.csv)."""
    from mapping.importers import prepare_assets, write_assets
    from mapping.osm import assets_from_osm_xml, assets_from_place

    if bool(osm_file) == bool(place):
        raise click.UsageError("give exactly one of --file or --place")
    store = context.ready_store()
    with steps(2, "osm") as advance:
        found = assets_from_osm_xml(osm_file) if osm_file else assets_from_place(str(place))
        advance(f"{len(found)} features matched the tag table")
        label = osm_file.name if osm_file else f"OSM place '{place}'"
        frame = found.drop(columns="geometry").astype({"lon": str, "lat": str})
        prepared, problems = prepare_assets(frame, file=label, boundary=_boundary(store))
        result = write_assets(store, prepared, problems, file=label, rows=len(frame),
                              skip_invalid=skip_invalid, changed_by="osm import")
        advance("written")
    click.echo(result.summary())


@main.command("export-assets")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--status", multiple=True, help="Only these statuses (repeatable).")
@click.option("--category", multiple=True, help="Only these categories (repeatable).")
@pass_context
@handles_errors
def export_assets_cmd(context: Context, path: Path, status: tuple[str, ...],
                      category: tuple[str, ...]) -> None:
    """Export assets to .csv, .geojson or .gpkg (the same columns an import reads)."""
    from mapping.importers import export_assets
    from mapping.register import assets_frame

    with context.ready_store().transaction() as session:
        assets = assets_frame(session, status=status or None, category=category or None)
    click.echo(f"{export_assets(assets, path)} assets written to {path}")


@main.command("geocode")
@click.argument("postcodes", nargs=-1, required=True)
@handles_errors
def geocode_cmd(postcodes: tuple[str, ...]) -> None:
    """Print lon/lat and eastings/northings for UK postcodes (offline, OS Code-Point Open)."""
    import pandas as pd

    from mapping.geocode import PostcodeIndex

    found = PostcodeIndex().lookup(pd.Series(postcodes))
    failed = 0
    for given, row in zip(postcodes, found.itertuples(), strict=True):
        if row.problem:
            click.echo(f"{given}\t{row.problem}", err=True)
            failed += 1
        else:
            click.echo(f"{row.postcode}\t{row.lon:.6f}\t{row.lat:.6f}\t"
                       f"{int(row.easting)}\t{int(row.northing)}")
    if failed:
        sys.exit(1)


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
    from mapping.gap_analysis import GapOptions, analyse_gaps, inputs_from_store
    from mapping.walk_graph import walking_graph_from_xml

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


@main.command("analyse-gaps")
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


@main.command("plan-microfund")
@gap_options
@click.option("--budget", type=float, required=True, help="Money to spend, in pounds.")
@click.option("--grant", type=float, default=500.0, show_default=True,
              help="Size of one grant, in pounds.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the plan as CSV.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the funded rows as 360Giving-shaped JSON (a plan, not awards).")
@click.option("--funder-org-id", default="GB-LAE-NWM", show_default=True,
              help="The council's org-id (GB-LAE register; NWM is Newham).")
@pass_context
@handles_errors
def plan_microfund_cmd(context: Context, budget: float, grant: float, out: Path | None,
                       json_out: Path | None, funder_org_id: str, **kwargs: Any) -> None:
    """Rank gaps by unmet demand and suggest host community spaces for micro-grants (MCLP)."""
    import datetime as dt
    import json

    from mapping.funding import FundingSettings, plan_to_csv
    from mapping.gap_analysis import plan_for
    from mapping.giving360 import grants_to_360giving

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
        package = grants_to_360giving(plan, funder_org_id=funder_org_id,
                                      funder_name=f"London Borough of {context.settings.borough_name}",
                                      award_date=dt.date.today(), id_prefix="plan")
        json_out.write_text(json.dumps(package, indent=2), encoding="utf-8")
        click.echo(f"360Giving-shaped plan written to {json_out}")


@main.command("load-demo")
@pass_context
@handles_errors
def load_demo_cmd(context: Context) -> None:
    """Load the Newham demo from the shared open data (idempotent: run it again to refresh)."""
    from mapping.demo import load_demo

    store = context.store
    store.upgrade()
    with steps(11, "Newham demo") as advance:
        report = load_demo(store, context.settings.data_dir, progress=advance)
    total = sum(r.counts.inserted + r.counts.updated + r.counts.unchanged
                for r in report.assets.values())
    click.echo(f"Newham demo loaded: {len(report.layers)} layers, {report.organisations} "
               f"organisations, {total} assets")


@main.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["viewer", "officer", "admin"]), required=True)
@click.password_option(envvar="MAPPING_NEW_USER_PASSWORD",
                       help="Password (prompted if not given; or MAPPING_NEW_USER_PASSWORD).")
@pass_context
@handles_errors
def create_user_cmd(context: Context, username: str, role: str, password: str) -> None:
    """Create a user who can sign in (or reset their password and role)."""
    from mapping.users import create_user

    with context.ready_store().transaction() as session:
        create_user(session, username, password, role=role)
    click.echo(f"User '{username}' can now sign in as {role}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--dev", is_flag=True, help="Use Flask's debug server instead of waitress.")
@pass_context
@handles_errors
def serve_cmd(context: Context, host: str, port: int, dev: bool) -> None:
    """Serve the web app (waitress, a production WSGI server; --dev for Flask's)."""
    from web import create_app

    # The instance file applies too: only what was given on the command line is passed.
    app = create_app({k.upper(): str(v) for k, v in context.overrides.items()})
    context.ready_store()
    click.echo(f"Serving on http://{host}:{port}/ (Ctrl+C to stop)")
    if dev:
        app.run(host=host, port=port, debug=True)
    else:
        from waitress import serve

        serve(app, host=host, port=port, threads=8)


@main.command("import-lots")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layer", required=True, help="Stored layer whose areas the lots group.")
@click.option("--name", "set_name", required=True, help="Name of the lot set, e.g. lots-2024.")
@click.option("--code-column", default="code", show_default=True)
@click.option("--lot-column", default="patch", show_default=True)
@pass_context
@handles_errors
def import_lots_cmd(context: Context, path: Path, layer: str, set_name: str,
                    code_column: str, lot_column: str) -> None:
    """Make lots from a lookup file (area code -> lot): every area in exactly one lot, each
    lot one contiguous piece."""
    count = _import_lookup(context, path, layer, set_name, code_column, lot_column, contiguous=True)
    click.echo(f"Lot set '{set_name}': {count} contiguous lots over layer '{layer}'")


@main.command("design-lots")
@click.option("--layer", default="wards_2023", show_default=True,
              help="Stored layer to group into lots (wards_2023, lsoa_2021, ...).")
@click.option("-k", "--lots", "k", default=8, show_default=True, type=int, help="Number of lots.")
@click.option("--measure", default="population", show_default=True,
              help="Balance on: population, population_65_plus, demand_estimate, or a column "
                   "such as homecare_hours.")
@click.option("--tolerance", default=0.10, show_default=True, type=float,
              help="Largest deviation of a lot from the ideal total (0.1 = ±10%).")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Random seed: the same seed gives the same design.")
@click.option("--keep-whole", default=None, help="A coarser layer to keep whole, e.g. wards_2023 "
              "when designing from lsoa_2021.")
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
def design_lots_cmd(context: Context, layer: str, k: int, measure: str, tolerance: float,
                    seed: int, keep_whole: str | None, start: str | None,
                    save_name: str | None, replace: bool, max_seconds: float | None,
                    out: Path | None) -> None:
    """Design k contiguous lots balanced on a measure (ReCom short bursts, GerryChain)."""
    from mapping.lot_store import design_inputs, save_lot_design
    from mapping.lots import LotSettings, design_lots

    store = context.ready_store()
    with store.transaction() as session:
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
        click.echo(f"Saved as lot set '{save_name}' (it shows on the map; the gap roll-up uses "
                   "it only while no council patch set is imported)")


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


@main.command("lot-profile")
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
    from mapping.lot_profile import compare_designs, lot_profile, profile_inputs_from_store
    from mapping.lot_store import load_lots

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


@main.command("check-lot-rules")
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
    London Living Wage, ethical care charter (unknown flags listed as unknown)."""
    from mapping.area_store import load_patches
    from mapping.lot_profile import check_lot_rules, read_allocation
    from mapping.register import organisations_frame
    from mapping.tables import read_table

    with context.ready_store().transaction() as session:
        lots = (load_patches(session, lot_set)["patch"].astype(str).tolist()
                if lot_set else None)
        alloc = (read_allocation(read_table(allocation), file=allocation.name, lots=lots)
                 if allocation else None)
        found = check_lot_rules(organisations_frame(session), alloc)
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


@main.command("import-spend")
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

    from mapping.spend_store import import_spend

    store = context.ready_store()
    with steps(3, "import spend") as advance:
        result = import_spend(store, path, name=name, imported_by=getpass.getuser(),
                              mapping=_column_mapping(mapping), skip_invalid=skip_invalid,
                              encoding=encoding, publisher=publisher, licence=licence,
                              attribution=attribution, threshold=threshold, replace=replace,
                              progress=advance)
    click.echo(result.summary())
    if cleaning_report:
        from mapping.spreadsheets import write_safe_csv

        write_safe_csv(result.spend.lines, cleaning_report)
    if result.spend.problems:
        _show_problems(result.spend.problems, report)


@main.command("spend-report")
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
    from mapping.spend import pounds
    from mapping.spend_report import SEGMENTS, shares_chart
    from mapping.spend_service import report_for_name
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
