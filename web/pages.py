"""Public pages: the map, the data sources and their licences, and a health check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from mapping import schema as S
from mapping.boroughs.sources import register_sources, sources_frame
from mapping.maps.asset_map import asset_map, map_parts
from mapping.maps.legend import DEFAULT_MEASURE, MEASURES, NO_MEASURE, available_measures, choropleth_classes
from mapping.places.postcodes import CODEPOINT_ATTRIBUTION
from mapping.places.store import (
    list_layers,
    list_patch_sets,
    load_area_layer,
    load_patches,
    public_patch_set,
)
from mapping.register.directory import filter_assets
from mapping.register.records import assets_frame
from mapping.register.taxonomy import category_lookup, load_categories
from mapping.spend.store import datasets_frame
from web.auth import visible_statuses
from web.db import get_roles, get_session, get_settings, get_store

bp = Blueprint("pages", __name__)

DEFAULT_STATUS = ("active",)
ANY_STATUS = "any"


def _chosen(values: Sequence[str], known: Mapping[str, str], what: str,
            notices: list[str]) -> list[str]:
    """Give the known values asked for (``known`` maps a casefolded spelling to the value)."""
    out: list[str] = []
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        found = known.get(value.casefold())
        if found is None:
            notices.append(f"There is no {what} called “{value}”, so it was left out.")
        elif found not in out:
            out.append(found)
    return out


#: The map's "No patches" choice (an empty value means "the default grouping").
NO_PATCHES = "(none)"


def _one(args: MultiDict[str, str], name: str, known: Sequence[str], default: str, what: str,
         notices: list[str], *, where: str = "") -> str:
    """Give the query value ``name`` if it is known, else ``default`` (saying so if asked)."""
    value = args.get(name, "").strip()
    if not value:
        return default
    if value not in known:
        then = f"; showing “{default}” instead" if default else ", so it was left out"
        notices.append(f"There is no {what} called “{value}”{where}{then}.")
        return default
    return value


def _status_words(status: Sequence[str]) -> str:
    return " or ".join(status) if status else ""


@bp.get("/")
def index() -> Any:
    """The map: filters from the query string, areas (a choropleth), patches and assets.

    Every choice is a query parameter, so a view's address reproduces it: ``category``
    and ``ownership`` (repeatable), ``status`` (repeatable, ``any``; default active),
    ``patch_set`` and ``patch``, ``layer`` and ``measure`` (``none`` for outlines). Values
    that are not known are left out with a plain message on the page.
    """
    get_store().check_ready()
    session = get_session()
    args = request.args
    notices: list[str] = []

    categories = load_categories()
    category = _chosen(args.getlist("category"), category_lookup(), "category", notices)
    ownership = _chosen(args.getlist("ownership"), {c: c for c in S.OWNERSHIP_CLASSES},
                        "ownership class", notices)
    asked_status = [s for s in args.getlist("status") if s.strip()]
    visible = visible_statuses()
    status: list[str] = []
    if not any(s.strip().casefold() == ANY_STATUS for s in asked_status):
        status = _chosen(asked_status, {s: s for s in S.ASSET_STATUSES}, "status", notices)
        status = status or list(DEFAULT_STATUS)
    if set(status or S.ASSET_STATUSES) - set(visible):
        if len(visible) < len(S.ASSET_STATUSES):
            notices.append("Proposed and closed assets are shown to signed-in staff only.")
        status = [s for s in (status or S.ASSET_STATUSES) if s in visible]

    layers = list_layers(session)
    titles = dict(zip(layers["name"], layers["title"], strict=True))
    small = get_roles().small_areas
    default_layer = small if small is not None and small in titles else next(iter(titles), "")
    layer = _one(args, "layer", list(titles), default_layer, "area layer", notices)
    areas = load_area_layer(session, layer) if layer else None
    measure = _one(args, "measure", [*MEASURES, NO_MEASURE], DEFAULT_MEASURE, "measure", notices)
    shaded = measure if measure in available_measures(areas) else NO_MEASURE
    outline_note = None
    if measure != NO_MEASURE and shaded == NO_MEASURE and layer:
        has = [MEASURES[m].label.lower() for m in available_measures(areas)]
        outline_note = (
            f"The “{titles[layer]}” layer has no {MEASURES[measure].label.lower()} figures, so "
            "its areas are drawn as outlines only. "
            + (f"It has {', '.join(has)}." if has else
               "Choose a layer of small areas with population and deprivation figures "
               "(such as the small areas with their population table) to shade areas.")
        )

    patch_sets = list_patch_sets(session)
    # A saved lot design is drawn only when asked for, or made the default by an officer.
    patch_set = ("" if args.get("patch_set") == NO_PATCHES else
                 _one(args, "patch_set", patch_sets, public_patch_set(session) or "",
                      "patch set", notices))
    patches = load_patches(session, patch_set) if patch_set else None
    patch_names = [] if patches is None else [str(p) for p in patches[S.PATCH]]
    patch = _one(args, "patch", patch_names, "", "patch", notices,
                 where=f" in “{patch_set}”" if patch_set else " (no patch set is loaded)")
    within = None
    if patch and patches is not None:
        within = patches.geometry[(patches[S.PATCH] == patch).to_numpy()].iloc[0]

    # The store narrows by status (cheap in SQL); filter_assets applies every filter.
    register = assets_frame(session, status=status or None)
    assets = filter_assets(register, category=category or None,
                           ownership_class=ownership or None, status=status or None,
                           within=within)
    settings = get_settings()
    m = asset_map(areas, assets, patches=patches, measure=shaded,
                  areas_title=titles.get(layer, "Areas"), focus_patch=patch or None,
                  tile_url=settings.tile_url, tile_attribution=settings.tile_attribution,
                  vendor_url=url_for("vendor.serve", filename="").rstrip("/"),
                  detail_url="/assets/{id}")
    parts = map_parts(m)
    counts = assets[S.OWNERSHIP_CLASS].value_counts()
    classes = [] if shaded == NO_MEASURE or areas is None else choropleth_classes(
        areas[MEASURES[shaded].column], shaded)
    return render_template(
        "index.html",
        map_header=parts["header"], map_html=parts["html"],
        map_script=parts["script"], layers=layers.to_dict("records"), layer=layer,
        measures=[(key, spec.label) for key, spec in MEASURES.items()], measure=measure,
        shaded=MEASURES.get(shaded), classes=classes, outline_note=outline_note,
        categories=categories.to_dict("records"), category=category,
        ownership_classes=S.OWNERSHIP_CLASSES, ownership=ownership,
        statuses=visible, status=status, any_status=ANY_STATUS,
        status_words=_status_words(status),
        patch_sets=patch_sets, patch_set=patch_set, patch_names=patch_names, patch=patch,
        notices=notices, asset_count=len(assets),
        by_class={c: int(counts[c]) for c in S.OWNERSHIP_CLASSES if counts.get(c, 0)},
        category_names=[str(categories.at[c, "label"]) for c in category],
    )


@bp.get("/sources")
def sources() -> Any:
    """Where every piece of data comes from, and its licence and attribution."""
    session = get_session()
    get_store().check_ready()
    spend = datasets_frame(session)[["name", "file", "publisher", "licence", "attribution"]]
    network = get_settings().walking_network_path
    unread = current_app.extensions.get("walking_network", {}).get("note") is not None
    return render_template("sources.html", sources=sources_frame(session).to_dict("records"),
                           register=register_sources(session).to_dict("records"),
                           walking_network=network.name if network else None,
                           walking_network_unread=unread,
                           codepoint_attribution=CODEPOINT_ATTRIBUTION,
                           layers=list_layers(session).to_dict("records"),
                           spend=spend.astype(object).where(spend.notna(), "").to_dict("records"))


@bp.get("/health")
def health() -> Any:
    """Say whether the store is reachable and at the newest schema."""
    store = get_store()
    try:
        store.check_ready()
    except Exception as exc:  # any failure here is the answer, not a crash
        return {"status": "not ready", "detail": str(exc)}, 503
    return {"status": "ok", "schema": store.current_revision()}
