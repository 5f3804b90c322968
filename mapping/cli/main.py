"""The ``mapping`` command: a thin shell over the package, one sub-command per job.

The commands of the analyses live beside this module (``cli_gaps``, ``cli_lots``,
``cli_spend``) and register themselves on :func:`main` when it is imported.

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
from mapping.errors import MappingError, Problem, ValidationError
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


def show_problems(problems: list[Problem], report: Path | None) -> None:
    """Print the first problems (file, row, field, reason) and write them all to ``report``."""
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
            show_problems(exc.problems, kwargs.get("report"))
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


def column_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    """Give ``--map SOURCE=COLUMN`` pairs as a dict; a pair without ``=`` is a usage error."""
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
                               mapping=column_mapping(mapping), encoding=encoding,
                               boundary=_boundary(store))
        advance("written")
    click.echo(result.summary())
    if result.problems:
        show_problems(result.problems, report)


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
                                  mapping=column_mapping(mapping), encoding=encoding)
    click.echo(result.summary())
    if result.problems:
        show_problems(result.problems, report)


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


# The commands of each analysis live beside this module; importing them registers them.
from mapping import cli_gaps, cli_lots, cli_spend  # noqa: E402, F401
