"""Keeping lot designs in the store: a patch set (so the map and the gap roll-up see it)
plus how it was made (method, measure, seed, tolerance, imbalance)."""

from __future__ import annotations

import re
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.errors import NotFoundError, Problem, ValidationError
from mapping.lots.design import LotDesign
from mapping.lots.measures import measure_values
from mapping.places.roles import layer_roles
from mapping.places.store import load_patches, patch_set_layer, save_patch_set
from mapping.store.models import LotDesignRecord, PatchSet

#: Longest name a saved design may have (the patch set's name column).
MAX_NAME = 100


def check_design_name(name: str) -> str:
    """Give the name stripped, or raise :class:`ValidationError` saying what a name must be."""
    clean = (name or "").strip()
    if not clean or len(clean) > MAX_NAME:
        raise ValidationError([Problem(f"give the design a name of 1 to {MAX_NAME} characters",
                                       field="name")])
    return clean


def save_lot_design(session: Session, name: str, layer_name: str, design: LotDesign, *,
                    created_by: str | None = None, replace: bool = False) -> int:
    """Store a design as the patch set ``name`` with its making; give its number of lots.

    A name already taken is refused (:class:`ValidationError` on ``name``): an imported
    patch set (a council's lookup) is never replaced, and a saved design only with
    ``replace`` (in the caller's transaction).
    """
    name = check_design_name(name)
    existing = session.scalar(select(PatchSet).where(PatchSet.name == name))
    if existing is not None:
        designed = session.scalar(select(LotDesignRecord.id).where(
            LotDesignRecord.patch_set_id == existing.id))
        if designed is None:
            raise ValidationError([Problem(
                f"'{name}' is the name of an imported patch set (not a design made here), "
                "which a design cannot replace: choose another name", field="name")],
                summary="the design was not saved")
        if not replace:
            raise ValidationError([Problem(
                f"a design called '{name}' is already saved: tick “replace” to "
                "replace it, or choose another name", field="name")],
                summary="the design was not saved")
    count = save_patch_set(session, name, layer_name, design.lots,
                           source=f"lot design: {design.method}", keep_default=False)
    patch_set = session.scalar(select(PatchSet).where(PatchSet.name == name))
    if patch_set is None:  # just saved
        raise NotFoundError(f"no patch set called '{name}'")
    session.add(LotDesignRecord(
        patch_set_id=patch_set.id, method=design.method, measure=design.measure, k=design.k,
        tolerance=design.tolerance, seed=design.seed, imbalance=design.imbalance,
        cut_edges=design.cut_edges, keep_whole=design.keep_whole, created_by=created_by,
        notes=list(design.notes)))
    return count


def lot_design_info(session: Session, name: str) -> dict[str, Any] | None:
    """Give how a saved design was made (layer, method, measure, k, tolerance, seed,
    imbalance, cut edges, kept whole, by, when), or ``None`` for a patch set not designed here."""
    row = session.execute(
        select(LotDesignRecord, PatchSet).join(PatchSet,
                                               PatchSet.id == LotDesignRecord.patch_set_id)
        .where(PatchSet.name == name)).first()
    if row is None:
        return None
    record, patch_set = row
    return {"name": patch_set.name, "method": record.method, "measure": record.measure,
            "k": record.k, "tolerance": record.tolerance, "seed": record.seed,
            "imbalance": record.imbalance, "cut_edges": record.cut_edges,
            "keep_whole": record.keep_whole, "created_by": record.created_by,
            "created_at": record.created_at, "notes": list(record.notes or [])}


def lot_order(names: pd.Series) -> pd.Series:
    """Give sort keys putting lot names in number order: "Lot 2" before "Lot 10"."""
    return names.astype(str).map(lambda n: tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
        for part in re.split(r"(\d+)", n) if part))


def load_lots(session: Session, name: str) -> gpd.GeoDataFrame:
    """Give a stored patch or lot set (:func:`mapping.places.store.load_patches`) in lot number
    order, so colours, legend, tables and chart rows agree: Lot 1, Lot 2, …, Lot 10."""
    lots = load_patches(session, name)
    return lots.sort_values(S.PATCH, key=lot_order, kind="stable").reset_index(drop=True)


def lots_with_balance(session: Session, name: str, measure: str
                      ) -> gpd.GeoDataFrame:
    """Give a stored set's lots (:func:`load_lots`) with each lot's total of ``measure`` and
    its ``deviation`` from the mean lot, recomputed from the areas of the set's layer (as
    :func:`design_inputs` gives them to a design); without those columns when the layer
    cannot give the measure."""
    lots = load_lots(session, name)
    try:
        areas, _groups, _start = design_inputs(session, patch_set_layer(session, name))
        values = measure_values(areas, measure)
    except (NotFoundError, ValidationError):
        return lots
    lot_of = lookup_of(session, name).set_index(S.AREA_CODE)[S.PATCH]
    per_area = pd.Series(values.to_numpy(), index=areas[S.AREA_CODE].astype(str).to_numpy())
    totals = per_area.groupby(per_area.index.map(lot_of)).sum()
    lot_totals = lots[S.PATCH].map(totals).fillna(0.0).astype(float)
    mean = float(lot_totals.mean())
    return lots.assign(**{measure: lot_totals.to_numpy(),
                          "deviation": (lot_totals / mean - 1).to_numpy() if mean else 0.0})


def patch_set_stamp(session: Session, name: str) -> str:
    """Give a text that changes whenever the patch set ``name`` is saved again (for caches)."""
    row = session.execute(select(PatchSet.id, PatchSet.created_at)
                          .where(PatchSet.name == name)).first()
    if row is None:
        raise NotFoundError(f"no patch set called '{name}'")
    return f"{row.id}@{row.created_at.isoformat()}"


def lookup_of(session: Session, name: str) -> pd.DataFrame:
    """Give a stored patch set (or lot design) as a ``code`` → ``patch`` lookup."""
    patches = load_patches(session, name)
    return (patches[[S.PATCH, "area_codes"]].explode("area_codes")
            .rename(columns={"area_codes": S.AREA_CODE})[[S.AREA_CODE, S.PATCH]]
            .sort_values(S.AREA_CODE).reset_index(drop=True))


_SUMMED = (S.POPULATION, S.POPULATION_65_PLUS, S.IMD_DECILE, "demand_estimate",
           "homecare_hours")


def design_inputs_stamp(session: Session, layer: str, *, keep_whole: str | None = None,
                        start: str | None = None) -> tuple[str, ...]:
    """Give a text per store item :func:`design_inputs` reads; any of them written again changes it.

    For caches of designs: the layer, the small areas whose totals it may borrow, the
    layer kept whole and the starting patch set.
    """
    from mapping.places.store import layer_stamps

    small = layer_roles(session).small_areas
    layers = layer_stamps(session, [layer, *([small] if small else []),
                                    *([keep_whole] if keep_whole else [])])
    stamps = [f"{name}={stamp}" for name, stamp in layers.items()]
    if start:
        stamps.append(f"start={patch_set_stamp(session, start)}")
    return tuple(stamps)


def design_inputs(session: Session, layer: str, *, keep_whole: str | None = None,
                  start: str | None = None
                  ) -> tuple[Any, pd.DataFrame | None, pd.DataFrame | None]:
    """Give what :func:`mapping.lots.design.design_lots` needs from the store.

    Returns the layer's areas (a layer without population figures, such as the
    wards, gets the sums of its LSOAs by inside point:
    :func:`mapping.lots.measures.with_small_area_totals`), the ``code`` → group lookup of
    the layer ``keep_whole`` (areas by inside point), and the lookup of the patch
    set ``start`` (which must be over the same layer).
    """
    from mapping.lots.measures import measure_values, with_small_area_totals
    from mapping.places.areas import lookup_by_location
    from mapping.places.store import load_area_layer

    areas = load_area_layer(session, layer)
    small_layer = layer_roles(session).small_areas
    if small_layer is not None and layer != small_layer and S.POPULATION not in areas.columns:
        small = load_area_layer(session, small_layer)
        if S.POPULATION_65_PLUS in small.columns and S.IMD_DECILE in small.columns:
            # Weighted per LSOA, then summed: a ward's mean decile would blur it.
            small = small.assign(demand_estimate=measure_values(small, "demand_estimate"))
        areas = with_small_area_totals(areas, small, [c for c in _SUMMED if c in small.columns])
    groups = None
    if keep_whole:
        if keep_whole == layer:
            raise ValidationError([Problem("the layer to keep whole must be a coarser layer "
                                           "than the one designed on", field="keep_whole")])
        zones = load_area_layer(session, keep_whole)
        groups = lookup_by_location(areas, zones.assign(_zone=zones[S.AREA_CODE]),
                                    zone_column="_zone")
        # The groups' names ride along, so notes name a ward as a person knows it.
        groups[S.AREA_NAME] = groups[S.PATCH].map(
            dict(zip(zones[S.AREA_CODE].astype(str), zones[S.AREA_NAME].astype(str),
                     strict=True)))
    start_lookup = None
    if start:
        start_layer = patch_set_layer(session, start)
        if start_layer != layer:
            raise ValidationError([Problem(
                f"patch set '{start}' is made of '{start_layer}', not '{layer}': start from a "
                f"layout over the same layer", field="start")])
        start_lookup = lookup_of(session, start)
    return areas, groups, start_lookup
