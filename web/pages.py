"""Public pages: the map, the data sources and their licences, and a health check."""

from __future__ import annotations

from typing import Any, cast

from branca.element import Figure
from flask import Blueprint, render_template, request, url_for

from mapping import schema as S
from mapping.area_store import list_layers, list_patch_sets, load_area_layer, load_patches
from mapping.demo import demo_sources
from mapping.register import assets_frame
from mapping.render import asset_map
from web.db import get_session, get_settings, get_store

bp = Blueprint("pages", __name__)

DEFAULT_LAYER = "wards_2023"


@bp.get("/")
def index() -> Any:
    """The map: areas, patches (when a patch set exists) and assets coloured by ownership."""
    get_store().check_ready()
    session = get_session()
    layers = list_layers(session)
    layer = request.args.get("layer", DEFAULT_LAYER)
    if layer not in set(layers["name"]):
        layer = str(layers["name"].iloc[0]) if len(layers) else ""
    areas = load_area_layer(session, layer) if layer else None
    patch_sets = list_patch_sets(session)
    patches = load_patches(session, patch_sets[0]) if patch_sets else None
    assets = assets_frame(session, status=["active"])
    settings = get_settings()
    m = asset_map(areas, assets, patches=patches, tile_url=settings.tile_url,
                  tile_attribution=settings.tile_attribution,
                  vendor_url=url_for("vendor.serve", filename="").rstrip("/"),
                  detail_url="/assets/{id}")
    root = cast(Figure, m.get_root())  # a folium map always sits in a Figure
    root.render()
    return render_template(
        "index.html",
        map_header=root.header.render(), map_html=root.html.render(),
        map_script=root.script.render(), layers=layers.to_dict("records"), layer=layer,
        asset_count=len(assets), by_class=assets[S.OWNERSHIP_CLASS].value_counts().to_dict(),
        patch_set=patch_sets[0] if patch_sets else None,
    )


@bp.get("/sources")
def sources() -> Any:
    """Where every piece of data comes from, and its licence and attribution."""
    session = get_session()
    get_store().check_ready()
    return render_template("sources.html", sources=demo_sources().to_dict("records"),
                           layers=list_layers(session).to_dict("records"))


@bp.get("/health")
def health() -> Any:
    """Say whether the store is reachable and at the newest schema."""
    store = get_store()
    try:
        store.check_ready()
    except Exception as exc:  # any failure here is the answer, not a crash
        return {"status": "not ready", "detail": str(exc)}, 503
    return {"status": "ok", "schema": store.current_revision()}
