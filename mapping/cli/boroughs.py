"""The ``mapping`` commands that set a store up for a borough: load it from a manifest, the
Newham demo, and which layer plays which part."""

from __future__ import annotations

from pathlib import Path

import click

from mapping.boroughs.settings import BoroughMismatchError
from mapping.cli._common import Context, handles_errors, pass_context, steps


def _load(context: Context, manifest: Path, *, replace_borough: bool) -> None:
    from mapping.boroughs.loader import load_borough, steps_of
    from mapping.boroughs.manifest import read_manifest

    checked = read_manifest(manifest)
    wanted = context.settings.borough_code
    if wanted and wanted != checked.borough.code:
        raise BoroughMismatchError(
            f"MAPPING_BOROUGH_CODE is {wanted} but {manifest.name} is for {checked.borough.name} "
            f"({checked.borough.code}): unset it, or load the manifest for {wanted}")
    with steps(steps_of(checked), checked.borough.name) as advance:
        report = load_borough(context.store, checked, context.settings.data_dir, progress=advance,
                              replace_borough=replace_borough)
    total = sum(r.counts.inserted + r.counts.updated + r.counts.unchanged
                for r in report.assets.values())
    click.echo(f"{checked.borough.formal_name} loaded: {len(report.layers)} layers, "
               f"{report.organisations} organisations, {total} assets")


@click.command("load-borough")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace-borough", is_flag=True,
              help="Load it even though the store holds another borough (its records stay).")
@pass_context
@handles_errors
def load_borough_cmd(context: Context, manifest: Path, replace_borough: bool) -> None:
    """Load a borough from its manifest (boundaries, tables, IMD, assets) in one transaction;
    run it again to refresh. Paths in the manifest are under the data folder."""
    _load(context, manifest, replace_borough=replace_borough)


@click.command("load-demo")
@pass_context
@handles_errors
def load_demo_cmd(context: Context) -> None:
    """Load the Newham demo (data/boroughs/newham.toml) from the shared open data; run it again
    to refresh."""
    from mapping.boroughs.demo import DEMO_MANIFEST

    _load(context, DEMO_MANIFEST, replace_borough=False)


@click.command("set-layers")
@click.option("--small-areas", help="The layer of small areas (LSOAs) the gap analysis runs on.")
@click.option("--wards", help="The ward layer: the roll-up without patches, kept whole in lots.")
@click.option("--outline", help="The borough outline layer (flags points outside the borough).")
@pass_context
@handles_errors
def set_layers_cmd(context: Context, small_areas: str | None, wards: str | None,
                   outline: str | None) -> None:
    """Say which stored layer plays which part; without options, show them."""
    from mapping.places.roles import ROLE_LABELS, ROLES, set_layer_roles

    with context.ready_store().transaction() as session:
        given = {"small_areas": small_areas, "wards": wards, "outline": outline}
        if any(given.values()):
            roles = set_layer_roles(session, **{k: v for k, v in given.items() if v})
        else:
            from mapping.places.roles import layer_roles
            roles = layer_roles(session)
    for role in ROLES:
        name = getattr(roles, role)
        how = " (read from the layers' GSS codes)" if role in roles.guessed else ""
        click.echo(f"{ROLE_LABELS[role]}: {name or 'none'}{how}")


COMMANDS = (load_borough_cmd, load_demo_cmd, set_layers_cmd)
