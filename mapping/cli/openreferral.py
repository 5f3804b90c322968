"""The ``mapping`` commands for Open Referral UK (HSDS-UK 3.0): export the register as a
data package, and import another directory's feed (a saved file, or its URL when online)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import click

from mapping.cli._common import Context, handles_errors, pass_context
from mapping.errors import DataMissingError, Problem


def get_json(url: str) -> Any:
    """GET a URL's JSON (an HSDS feed is open: no keys)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json",
                                                   "User-Agent": "community-asset-mapping"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (http(s) only)
            return json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise DataMissingError(f"cannot read {url}: {exc}") from exc


@click.command("export-openreferral")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--feed-url", default="http://127.0.0.1:5000/openreferral", show_default=True,
              help="Where the feed is served, for the taxonomies' URIs.")
@pass_context
@handles_errors
def export_openreferral_cmd(context: Context, directory: Path, feed_url: str) -> None:
    """Export the register's public records as an HSDS-UK 3.0 data package (CSV tables,
    datapackage.json, and services.ndjson fully nested)."""
    from mapping.boroughs.settings import borough_for
    from mapping.openreferral import load_feed
    from mapping.openreferral.export import export_package

    store = context.ready_store()
    with store.session() as session:
        borough = borough_for(session, context.settings)
        data = load_feed(session, region=borough.region if borough else None)
    publisher = (borough.full_name or borough.name) if borough else "the council"
    counts = export_package(data, directory, publisher=publisher, feed_url=feed_url.rstrip("/"))
    click.echo(f"Wrote {directory}: " + ", ".join(f"{n} {path}" for path, n in counts.items()))


@click.command("import-openreferral")
@click.argument("source")
@click.option("--licence", help="Licence of records that do not say theirs (e.g. 'OGL v3').")
@click.option("--attribution", help="Attribution of records that do not say theirs.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every problem (file, row, field, reason) to this CSV.")
@pass_context
@handles_errors
def import_openreferral_cmd(context: Context, source: str, licence: str | None,
                            attribution: str | None, report: Path | None) -> None:
    """Import an HSDS-UK 3.0 feed: a saved JSON/NDJSON file, or a feed's http(s) URL.
    All or nothing; records match on their HSDS ids, so importing again updates them."""
    from mapping.openreferral.importer import fetch_feed, import_feed, read_feed
    from mapping.places.postcode_store import stored_index
    from mapping.places.roles import borough_outline

    store = context.ready_store()
    with store.session() as session:
        index, boundary = stored_index(session), borough_outline(session)
    defaults = {"licence": licence, "attribution": attribution}
    problems: list[Problem] = []
    if source.startswith(("http://", "https://")):
        records, name = fetch_feed(source, get_json), source
    else:
        path = Path(source)
        if not path.is_file():
            raise click.BadParameter(f"no file '{source}'", param_hint="SOURCE")
        records, problems = read_feed(path.read_text(encoding="utf-8"), file=path.name)
        name = path.name
    result = import_feed(store, records, file=name, problems=problems, defaults=defaults,
                         index=index, boundary=boundary)
    a, o = result.assets, result.organisations
    click.echo(f"{name}: {result.records} records read; assets {a.inserted} added, {a.updated} "
               f"updated, {a.unchanged} unchanged; organisations {o.inserted} added, {o.updated} "
               f"updated, {o.unchanged} unchanged")
    if result.unplaced:
        click.echo(f"{len(result.unplaced)} service(s) with no physical location were not added "
                   "(the register maps places): " + "; ".join(result.unplaced))

COMMANDS = (export_openreferral_cmd, import_openreferral_cmd)
