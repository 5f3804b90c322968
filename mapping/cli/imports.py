"""The ``mapping`` commands that bring data in and out: assets, organisations, areas,
tables, patches and lots, OpenStreetMap, the demo, exports and postcode look-ups."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from mapping.cli._common import Context, column_mapping, handles_errors, pass_context, show_problems, steps
from mapping.errors import Problem, ValidationError
from mapping.store.database import Store

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


def with_options(options: list[Callable[..., Any]]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a decorator that adds ``options`` to a command, first option first in its help."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            func = option(func)
        return func
    return decorate


import_options = with_options(_import_options)


def where_pairs(pairs: tuple[str, ...]) -> list[tuple[str, str]]:
    """Give ``--where COLUMN=VALUE`` filters as pairs; a filter without ``=`` is a usage error."""
    return list(column_mapping(pairs, option="--where", shape="COLUMN=VALUE").items())


@click.command("import-assets")
@import_options
@click.option("--category", help="Give every row this category (a code of data/categories.csv).")
@click.option("--where", multiple=True, metavar="COLUMN=VALUE",
              help="Import only the rows where COLUMN is VALUE (repeatable; all must hold), "
                   "e.g. --where status_code=A --where prescribing_setting=4.")
@pass_context
@handles_errors
def import_assets_cmd(context: Context, path: Path, skip_invalid: bool, mapping: tuple[str, ...],
                      encoding: str, report: Path | None, category: str | None,
                      where: tuple[str, ...]) -> None:
    """Import assets from CSV, GeoJSON or GeoPackage (matched on external_id)."""
    from mapping.places.postcode_store import stored_index
    from mapping.register.importers import import_assets

    store = context.ready_store()
    with steps(1, "import") as advance:
        with store.session() as session:
            index = stored_index(session)
        result = import_assets(store, path, skip_invalid=skip_invalid,
                               mapping=column_mapping(mapping), encoding=encoding,
                               boundary=_boundary(store), where=where_pairs(where),
                               category=category, index=index)
        advance("written")
    click.echo(result.summary())
    if result.problems:
        show_problems(result.problems, report)


def _boundary(store: Store) -> Any:
    from mapping.places.roles import borough_outline

    with store.transaction() as session:
        return borough_outline(session)


@click.command("import-organisations")
@import_options
@pass_context
@handles_errors
def import_organisations_cmd(context: Context, path: Path, skip_invalid: bool,
                             mapping: tuple[str, ...], encoding: str,
                             report: Path | None) -> None:
    """Import organisations (providers) with their legal forms from CSV, GeoJSON or GeoPackage."""
    from mapping.register.importers import import_organisations

    result = import_organisations(context.ready_store(), path, skip_invalid=skip_invalid,
                                  mapping=column_mapping(mapping), encoding=encoding)
    click.echo(result.summary())
    if result.problems:
        show_problems(result.problems, report)


@click.command("import-postcodes")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--label", required=True, help="The edition, as records will name it, e.g. 'ONSPD Nov 2025'.")
@click.option("--local-authority", "authorities", multiple=True, metavar="GSS",
              help="Keep these local authorities' postcodes (repeatable; default: the store's "
                   "borough; --all keeps every one).")
@click.option("--all", "keep_all", is_flag=True, help="Keep every postcode in the file.")
@pass_context
@handles_errors
def import_postcodes_cmd(context: Context, path: Path, label: str, authorities: tuple[str, ...],
                         keep_all: bool) -> None:
    """Add the council's own ONSPD rows as a geocoding source after OS Code-Point Open."""
    from mapping.boroughs.settings import store_borough
    from mapping.boroughs.sources import record_source
    from mapping.places.onspd import ONSPD_ATTRIBUTION, ONSPD_LICENCE, read_onspd
    from mapping.places.postcode_store import save_postcodes

    store = context.ready_store()
    with store.transaction() as session:
        borough = store_borough(session)
        keep = None if keep_all else (authorities or ((borough.code,) if borough else None))
        if keep is None and not keep_all:
            raise click.UsageError("the store has no borough yet: give --local-authority GSS "
                                   "(or --all to keep every postcode in the file)")
        read = read_onspd(path, local_authorities=keep)
        count = save_postcodes(session, read, label=label)
        record_source(session, key="postcodes", kind="postcodes", title=label, file=path.name,
                      publisher="Office for National Statistics", licence=ONSPD_LICENCE,
                      attribution=ONSPD_ATTRIBUTION, rows=count,
                      note="a geocoding source after OS Code-Point Open")
    click.echo(f"{count} postcodes stored as '{label}' ({read.without_location} without a "
               f"location and {read.elsewhere} elsewhere left out)")
    if not read.has_termination_dates:
        click.echo("The file has no termination dates (doterm): a postcode only it places is "
                   "located with a warning that it may have been terminated.", err=True)


@click.command("import-cqc")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--local-authority", help="Keep the locations CQC files under this local "
              "authority (e.g. Knowsley), for a national file.")
@click.option("--category", "categories", multiple=True,
              help="Keep only these categories (repeatable), e.g. homecare, supported_living.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every problem (file, row, field, reason) to this CSV.")
@pass_context
@handles_errors
def import_cqc_cmd(context: Context, path: Path, local_authority: str | None,
                   categories: tuple[str, ...], report: Path | None) -> None:
    """Import CQC care locations (HSCA active locations CSV, or the CQC API's location JSON):
    each a site, its provider an organisation; deregistered locations are kept as closed."""
    from mapping.boroughs.layouts import AssetSource
    from mapping.boroughs.loader import write_register
    from mapping.places.postcode_store import stored_index
    from mapping.register.cqc import ATTRIBUTION, LICENCE, cqc_locations

    read = cqc_locations(path, local_authority=local_authority)
    assets, orgs = read.assets, read.organisations
    if categories:
        assets = assets[assets["category"].isin(categories)].reset_index(drop=True)
        orgs = orgs[orgs["external_id"].isin(assets["organisation_external_id"])]
    store = context.ready_store()
    src = AssetSource(key=f"cqc:{path.name}", layout="cqc", path=path.name, title=path.name,
                      publisher="Care Quality Commission", licence=LICENCE, attribution=ATTRIBUTION)
    with store.transaction() as session:
        written = write_register(session, [(src, orgs, assets)], boundary=_boundary(store),
                                 index=stored_index(session), label=path.name,
                                 changed_by="import", progress=lambda _m: None)
    for result in written.assets.values():
        click.echo(result.summary())
        if result.problems:
            show_problems(result.problems, report)
    click.echo(f"{written.organisations} providers")


@click.command("import-areas")
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
    from mapping.places.areas import areas_from_frame, repaired_rows
    from mapping.places.store import save_area_layer
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


@click.command("import-table")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layer", required=True, help="Stored layer to join the table onto.")
@click.option("--code-column", required=True, help="Column of the table holding the area code.")
@click.option("--map", "mapping", multiple=True, metavar="SOURCE=COLUMN",
              help="Name a header's column in the store, e.g. 'Aged 65 years and over="
                   "population_65_plus' (repeatable; data/table_aliases.csv knows the usual ONS "
                   "and MHCLG headers).")
@click.option("--encoding", default="utf-8", show_default=True)
@pass_context
@handles_errors
def import_table_cmd(context: Context, path: Path, layer: str, code_column: str,
                     mapping: tuple[str, ...], encoding: str) -> None:
    """Join an attribute table (population, IMD...) onto a layer's areas by code."""
    from mapping.config import REFERENCE_DIR
    from mapping.places.store import add_area_attributes
    from mapping.tables import map_columns, parse_numbers, read_table

    table = map_columns(read_table(path, encoding=encoding), mapping=column_mapping(mapping),
                        file=path.name, aliases_path=REFERENCE_DIR / "table_aliases.csv")
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


def lookup_options(one: str, many: str, group_option: str
                   ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give the options of a command that makes a set of ``many`` (a ``one`` set) from a lookup file."""
    return with_options([
        click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--layer", required=True, help=f"Stored layer whose areas the {many} group."),
        click.option("--name", "set_name", required=True,
                     help=f"Name of the {one} set, e.g. lots-2024."),
        click.option("--code-column", default="code", show_default=True),
        click.option(group_option, default="patch", show_default=True),
    ])


@click.command("import-patches")
@lookup_options("patch", "patches", "--patch-column")
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
    from mapping.places.areas import patches_from_lookup
    from mapping.places.store import load_area_layer, save_patch_set
    from mapping.tables import read_table

    lookup = read_table(path)
    with context.ready_store().transaction() as session:
        areas = load_area_layer(session, layer)
        groups = patches_from_lookup(areas, lookup, code_column=code_column,
                                     patch_column=group_column, file=path.name,
                                     require_contiguous=contiguous)
        return save_patch_set(session, set_name, layer, groups, source=path.name)


@click.command("import-osm")
@click.option("--file", "osm_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A local .osm XML file (works offline).")
@click.option("--place", help="A place name to query OpenStreetMap for (needs internet).")
@click.option("--skip-invalid", is_flag=True, help="Write the valid rows and report the rest.")
@pass_context
@handles_errors
def import_osm_cmd(context: Context, osm_file: Path | None, place: str | None,
                   skip_invalid: bool) -> None:
    """Seed assets from OpenStreetMap (tags mapped to categories by data/osm_tags.csv)."""
    from mapping.register.importers import prepare_assets, write_assets
    from mapping.register.osm import assets_from_osm_xml, assets_from_place

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


@click.command("export-assets")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--status", multiple=True, help="Only these statuses (repeatable).")
@click.option("--category", multiple=True, help="Only these categories (repeatable).")
@pass_context
@handles_errors
def export_assets_cmd(context: Context, path: Path, status: tuple[str, ...],
                      category: tuple[str, ...]) -> None:
    """Export assets to .csv, .geojson or .gpkg (the same columns an import reads)."""
    from mapping.register.importers import export_assets
    from mapping.register.records import assets_frame

    with context.ready_store().transaction() as session:
        assets = assets_frame(session, status=status or None, category=category or None)
    click.echo(f"{export_assets(assets, path)} assets written to {path}")


@click.command("geocode")
@click.argument("postcodes", nargs=-1, required=True)
@handles_errors
def geocode_cmd(postcodes: tuple[str, ...]) -> None:
    """Print lon/lat and eastings/northings for UK postcodes (offline, OS Code-Point Open)."""
    import pandas as pd

    from mapping.places.postcodes import PostcodeIndex

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


@click.command("import-lots")
@lookup_options("lot", "lots", "--lot-column")
@pass_context
@handles_errors
def import_lots_cmd(context: Context, path: Path, layer: str, set_name: str,
                    code_column: str, lot_column: str) -> None:
    """Make lots from a lookup file (area code -> lot): every area in exactly one lot, each
    lot one contiguous piece."""
    count = _import_lookup(context, path, layer, set_name, code_column, lot_column, contiguous=True)
    click.echo(f"Lot set '{set_name}': {count} contiguous lots over layer '{layer}'")


COMMANDS = (import_postcodes_cmd, import_cqc_cmd, import_assets_cmd, import_organisations_cmd,
            import_areas_cmd, import_table_cmd, import_patches_cmd, import_osm_cmd,
            export_assets_cmd, geocode_cmd, import_lots_cmd)
