"""Keeping area layers, their attributes and patch sets in the store."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.errors import NotFoundError
from mapping.store.models import Area, AreaLayer, LotDesignRecord, Patch, PatchSet


def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def save_area_layer(
    session: Session,
    name: str,
    areas: gpd.GeoDataFrame,
    *,
    title: str | None = None,
    source: str | None = None,
    licence: str | None = None,
    attribution: str | None = None,
) -> int:
    """Store a layer (replacing one of the same name); give its number of areas.

    Columns other than code, name and geometry are kept as the areas' attributes.
    """
    layer = session.scalar(select(AreaLayer).where(AreaLayer.name == name))
    if layer is None:
        layer = AreaLayer(name=name, title=title or name)
        session.add(layer)
    else:
        session.execute(delete(Area).where(Area.layer_id == layer.id))
        layer.title = title or layer.title
        _bump(session, layer)
    layer.source, layer.licence, layer.attribution = source, licence, attribution
    session.flush()
    extra = [c for c in areas.columns if c not in (S.AREA_CODE, S.AREA_NAME, "geometry")]
    wkb = shapely.to_wkb(areas.to_crs(S.STORAGE_CRS).geometry.values)
    rows = [
        {"layer_id": layer.id, "code": code, "name": name_,
         "geometry_wkb": geom, "attributes": {c: _json_value(v) for c, v in zip(extra, vals,
                                                                               strict=True)}}
        for code, name_, geom, vals in zip(areas[S.AREA_CODE], areas[S.AREA_NAME], wkb,
                                           areas[extra].itertuples(index=False), strict=True)
    ]
    session.execute(insert(Area), rows)
    return len(rows)


def add_area_attributes(session: Session, layer_name: str, table: pd.DataFrame, *,
                        code_column: str) -> tuple[int, list[str]]:
    """Join a table's columns onto a stored layer's areas by code; give (areas matched, codes not found)."""
    layer = _layer(session, layer_name)
    areas = {a.code: a for a in session.scalars(select(Area).where(Area.layer_id == layer.id))}
    keyed = table.drop_duplicates(code_column).set_index(code_column)
    matched = 0
    for code, values in keyed.iterrows():
        area = areas.get(str(code))
        if area is None:
            continue
        area.attributes = {**(area.attributes or {}),
                           **{str(k): _json_value(v) for k, v in values.items()}}
        matched += 1
    unmatched = sorted(set(map(str, keyed.index)) - set(areas))
    if matched:
        _bump(session, layer)
    return matched, unmatched


def _bump(session: Session, layer: AreaLayer) -> None:
    """Add one to the layer's version in the database itself, so two writers never both write N+1."""
    session.execute(update(AreaLayer).where(AreaLayer.id == layer.id)
                    .values(version=AreaLayer.version + 1))


def layer_stamps(session: Session, names: list[str]) -> dict[str, str]:
    """Give per layer name a text that changes whenever the layer or its areas are written.

    For caches; a name with no layer stored gives "none".
    """
    found = {name: f"{id_}.{version}" for name, id_, version in session.execute(
        select(AreaLayer.name, AreaLayer.id, AreaLayer.version).where(AreaLayer.name.in_(names)))}
    return {name: found.get(name, "none") for name in names}


def _layer(session: Session, name: str) -> AreaLayer:
    layer = session.scalar(select(AreaLayer).where(AreaLayer.name == name))
    if layer is None:
        known = ", ".join(session.scalars(select(AreaLayer.name))) or "none yet"
        raise NotFoundError(f"no area layer called '{name}' (layers: {known})")
    return layer


def list_layers(session: Session) -> pd.DataFrame:
    """Give the stored layers: name, title, source, licence, attribution, number of areas."""
    rows = []
    for layer in session.scalars(select(AreaLayer).order_by(AreaLayer.name)):
        count = len(session.scalars(select(Area.id).where(Area.layer_id == layer.id)).all())
        rows.append({"name": layer.name, "title": layer.title, "source": layer.source,
                     "licence": layer.licence, "attribution": layer.attribution, "areas": count})
    return pd.DataFrame(rows, columns=["name", "title", "source", "licence", "attribution",
                                       "areas"])


def load_area_layer(session: Session, name: str) -> gpd.GeoDataFrame:
    """Give a stored layer as a GeoDataFrame (EPSG:4326) with its attributes as columns."""
    layer = _layer(session, name)
    areas = session.execute(
        select(Area.code, Area.name, Area.geometry_wkb, Area.attributes)
        .where(Area.layer_id == layer.id).order_by(Area.code)
    ).all()
    attrs = pd.DataFrame([a.attributes or {} for a in areas])
    frame = pd.DataFrame({S.AREA_CODE: [a.code for a in areas],
                          S.AREA_NAME: [a.name for a in areas]})
    frame = pd.concat([frame, attrs], axis=1)
    geometry = shapely.from_wkb([a.geometry_wkb for a in areas])
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=S.STORAGE_CRS)


def save_patch_set(session: Session, name: str, layer_name: str, patches: gpd.GeoDataFrame, *,
                   source: str | None = None, keep_default: bool = True) -> int:
    """Store a patch set over a layer (replacing one of the same name); give its number of patches.

    A replaced set that was the default grouping stays the default (a council re-importing its
    lookup), unless ``keep_default`` is false (a lot design saved again: new lots never go
    public without an officer choosing them).
    """
    layer = _layer(session, layer_name)
    existing = session.scalar(select(PatchSet).where(PatchSet.name == name))
    # Re-importing a council's lookup keeps the officer's choice of default grouping.
    was_default = bool(keep_default and existing is not None and existing.is_default)
    if existing is not None:
        session.delete(existing)
        session.flush()
    patch_set = PatchSet(name=name, layer_id=layer.id, source=source, is_default=was_default)
    session.add(patch_set)
    session.flush()
    wkb = shapely.to_wkb(patches.to_crs(S.STORAGE_CRS).geometry.values)
    session.add_all(
        Patch(patch_set_id=patch_set.id, name=str(p), area_codes=list(codes), geometry_wkb=g)
        for p, codes, g in zip(patches[S.PATCH], patches["area_codes"], wkb, strict=True)
    )
    return len(patches)


def load_patches(session: Session, name: str) -> gpd.GeoDataFrame:
    """Give a stored patch set: ``patch``, ``area_codes`` and the dissolved outline."""
    patch_set = session.scalar(select(PatchSet).where(PatchSet.name == name))
    if patch_set is None:
        raise NotFoundError(f"no patch set called '{name}'")
    rows = session.scalars(select(Patch).where(Patch.patch_set_id == patch_set.id)
                           .order_by(Patch.name)).all()
    return gpd.GeoDataFrame(
        {S.PATCH: [p.name for p in rows], "area_codes": [p.area_codes for p in rows]},
        geometry=shapely.from_wkb([p.geometry_wkb for p in rows]), crs=S.STORAGE_CRS)


def list_patch_sets(session: Session) -> list[str]:
    """Give the names of the stored patch sets."""
    return list(session.scalars(select(PatchSet.name).order_by(PatchSet.name)))


def designed_sets(session: Session) -> set[str]:
    """Give the names of the patch sets that are lot designs saved here (not imported)."""
    return set(session.scalars(select(PatchSet.name).join(
        LotDesignRecord, LotDesignRecord.patch_set_id == PatchSet.id)))


def patch_set_layer(session: Session, name: str) -> str:
    """Give the name of the layer a patch set is made of."""
    layer = session.scalar(select(AreaLayer.name).join(PatchSet, PatchSet.layer_id == AreaLayer.id)
                           .where(PatchSet.name == name))
    if layer is None:
        raise NotFoundError(f"no patch set called '{name}'")
    return str(layer)


def default_patch_set(session: Session) -> str | None:
    """Give the patch set an officer chose as the default grouping, or ``None``."""
    return session.scalar(select(PatchSet.name).where(PatchSet.is_default.is_(True))
                          .order_by(PatchSet.name).limit(1))


def set_default_patch_set(session: Session, name: str | None) -> None:
    """Make the patch set ``name`` the default grouping (the only one), or with ``None`` make
    none the default again, so the roll-up goes back to a council's imported set or the wards."""
    if name is not None and session.scalar(select(PatchSet.id).where(PatchSet.name == name)) is None:
        raise NotFoundError(f"no patch set called '{name}'")
    session.execute(update(PatchSet).values(is_default=False))
    if name is not None:
        session.execute(update(PatchSet).where(PatchSet.name == name).values(is_default=True))


def public_patch_set(session: Session) -> str | None:
    """Give the patch set the public pages group by: the one an officer chose as the default,
    else the first by name of those imported (a council's lookup), else ``None`` (by ward).

    A lot design saved on the lots page is never this by itself: only when an officer makes
    it the default (:func:`set_default_patch_set`).
    """
    chosen = default_patch_set(session)
    if chosen is not None:
        return chosen
    designed = designed_sets(session)
    return next((s for s in list_patch_sets(session) if s not in designed), None)


def load_patches_over(session: Session, name: str, areas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give a stored patch set (:func:`load_patches`) whose ``area_codes`` are codes of
    ``areas`` (e.g. the 2021 LSOAs the gaps are counted on), whatever layer it is made of.

    A set made of ``areas``' own codes is given as stored. A set made of another layer (wards,
    say) gets each area of ``areas`` in the patch of the layer's area holding its inside point
    (:func:`mapping.places.areas.lookup_by_location`), as the roll-up by ward assigns them, so
    the patches' totals add up to the wards'. Areas whose point is in no patch are left out.
    """
    from mapping.places.areas import lookup_by_location

    patches = load_patches(session, name)
    codes = set(areas[S.AREA_CODE].astype(str))
    members = patches[[S.PATCH, "area_codes"]].explode("area_codes").dropna()
    if set(members["area_codes"].astype(str)) <= codes:
        return patches
    layer = load_area_layer(session, patch_set_layer(session, name))
    patch_of = dict(zip(members["area_codes"].astype(str), members[S.PATCH], strict=True))
    inside = lookup_by_location(areas, layer.assign(_zone=layer[S.AREA_CODE].astype(str)),
                                zone_column="_zone")
    inside = inside.assign(lot=inside[S.PATCH].map(patch_of)).dropna(subset=["lot"])
    by_patch = inside.groupby("lot")[S.AREA_CODE].agg(lambda c: sorted(map(str, c)))
    return patches.assign(area_codes=[list(by_patch.get(p, [])) for p in patches[S.PATCH]])
