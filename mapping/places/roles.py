"""Which stored layer plays which part: the small areas, the wards and the borough outline.

A borough's manifest (or ``mapping set-layers``) names them, and the store keeps the names
with the borough (:class:`~mapping.store.models.BoroughRecord`). A store that was never
told is read by the layers' own ONS GSS codes: small areas are LSOAs (``E01``/``W01``),
wards are electoral wards (``E05``/``W05``) and the outline is a local authority
(``E06``-``E09``/``W06``); where two layers could play one part, the one with the most
areas is taken, and :attr:`LayerRoles.guessed` says the part was guessed. Without an
outline layer, the outline is dissolved from the wards or the small areas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import geopandas as gpd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.errors import NotFoundError, Problem, ValidationError
from mapping.places.store import load_area_layer
from mapping.store.models import Area, AreaLayer, BoroughRecord

ROLES: Final = ("small_areas", "wards", "outline")
#: The GSS entity codes (first three characters) of each part, England and Wales.
ROLE_ENTITIES: Final = {
    "small_areas": ("E01", "W01"),
    "wards": ("E05", "W05"),
    "outline": ("E06", "E07", "E08", "E09", "W06"),
}
#: The column of :class:`~mapping.store.models.BoroughRecord` that names each part's layer.
ROLE_COLUMNS: Final = {"small_areas": "small_area_layer", "wards": "ward_layer",
                       "outline": "outline_layer"}
#: What each part is called on pages and in messages.
ROLE_LABELS: Final = {"small_areas": "small areas (LSOAs)", "wards": "wards",
                      "outline": "the borough outline"}


@dataclass(frozen=True)
class LayerRoles:
    """The layer that plays each part (``None``: no such layer), and which parts were guessed."""

    small_areas: str | None
    """The small-area layer the gap analysis and the demand run on (LSOAs)."""
    wards: str | None
    """The ward layer: the roll-up without a patch set, and what "keep wards whole" keeps."""
    outline: str | None
    """The borough outline, for flagging points outside the borough."""
    guessed: tuple[str, ...] = ()
    """The parts read from the layers' GSS codes because the store was not told."""

    def require(self, role: str) -> str:
        """Give the layer of ``role``, or raise a message that says how to load or set one."""
        layer = getattr(self, role)
        if layer is None:
            raise NotFoundError(
                f"no layer of {ROLE_LABELS[role]} is loaded: load the borough with "
                f"'mapping load-borough MANIFEST' (its [layers] say which is which), or, once a "
                f"borough is loaded, name one with 'mapping set-layers --{role.replace('_', '-')}'")
        return str(layer)


def _layer_sizes(session: Session) -> dict[str, tuple[str, int]]:
    """Give each stored layer's first code and number of areas."""
    rows = session.execute(
        select(AreaLayer.name, func.min(Area.code), func.count(Area.id))
        .join(Area, Area.layer_id == AreaLayer.id).group_by(AreaLayer.name))
    return {name: (str(code), int(count)) for name, code, count in rows}


def layer_roles(session: Session) -> LayerRoles:
    """Give the layer of each part: the store's borough says, else the layers' GSS codes."""
    record = session.scalar(select(BoroughRecord).order_by(BoroughRecord.id))
    sizes = _layer_sizes(session)
    chosen: dict[str, str | None] = {}
    guessed = []
    for role in ROLES:
        named = getattr(record, ROLE_COLUMNS[role]) if record is not None else None
        if named:
            chosen[role] = named
            continue
        candidates = sorted((count, name) for name, (code, count) in sizes.items()
                            if code[:3] in ROLE_ENTITIES[role])
        chosen[role] = candidates[-1][1] if candidates else None
        if candidates:
            guessed.append(role)
    return LayerRoles(chosen["small_areas"], chosen["wards"], chosen["outline"], tuple(guessed))


def set_layer_roles(session: Session, **layers: str | None) -> LayerRoles:
    """Name the layers that play each part (``small_areas=``, ``wards=``, ``outline=``).

    Raises
    ------
    ValidationError
        If a part is unknown or a named layer is not stored; nothing is changed then.
    NotFoundError
        If the store has no borough yet (load one with ``mapping load-borough``).
    """
    stored = set(session.scalars(select(AreaLayer.name)))
    problems = [Problem(f"'{role}' is not a part a layer can play ({', '.join(ROLES)})",
                        field=role) for role in layers if role not in ROLES]
    problems += [Problem(f"there is no layer '{name}' (layers: {', '.join(sorted(stored)) or 'none'})",
                         field=role) for role, name in layers.items()
                 if role in ROLES and name and name not in stored]
    if problems:
        raise ValidationError(problems, summary="the layers were not set")
    record = session.scalar(select(BoroughRecord).order_by(BoroughRecord.id))
    if record is None:
        raise NotFoundError("the store has no borough yet: load one with 'mapping load-borough "
                            "MANIFEST' first")
    for role, name in layers.items():
        if name is not None:
            setattr(record, ROLE_COLUMNS[role], name or None)
    session.flush()
    return layer_roles(session)


def borough_outline(session: Session) -> gpd.GeoDataFrame | None:
    """Give the borough outline, or ``None`` when no layer gives one (points are then not flagged).

    The outline layer when there is one; else the wards, or the small areas, dissolved.
    """
    roles = layer_roles(session)
    for role in ("outline", "wards", "small_areas"):
        name = getattr(roles, role)
        if name is None:
            continue
        try:
            layer = load_area_layer(session, name)
        except NotFoundError:
            continue
        if role == "outline" or layer.empty:
            return layer
        return gpd.GeoDataFrame({S.AREA_CODE: ["dissolved"], S.AREA_NAME: [f"outline of {name}"]},
                                geometry=[layer.union_all()], crs=layer.crs)
    return None
