"""Layer roles: named by the borough, else read from the layers' GSS codes; the outline dissolved."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from mapping import schema as S
from mapping.boroughs.settings import Borough, save_borough
from mapping.errors import NotFoundError, ValidationError
from mapping.places.roles import borough_outline, layer_roles, set_layer_roles
from mapping.places.store import save_area_layer
from mapping.store.database import Store


def _layer(store: Store, name: str, codes: list[str]) -> None:
    frame = gpd.GeoDataFrame({S.AREA_CODE: codes, S.AREA_NAME: codes},
                             geometry=[box(0.01 * i, 51.5, 0.01 * (i + 1), 51.51)
                                       for i in range(len(codes))], crs=S.STORAGE_CRS)
    with store.transaction() as session:
        save_area_layer(session, name, frame, title=name)


def test_roles_are_read_from_gss_codes_when_not_named(store: Store) -> None:
    _layer(store, "small", ["E01000001", "E01000002", "E01000003"])
    _layer(store, "old_small", ["E01000009"])
    _layer(store, "w", ["E05000001", "E05000002"])
    with store.transaction() as session:
        roles = layer_roles(session)
        assert (roles.small_areas, roles.wards, roles.outline) == ("small", "w", None)
        assert roles.guessed == ("small_areas", "wards")
        outline = borough_outline(session)
    assert outline is not None and len(outline) == 1  # dissolved from the wards
    assert outline.geometry.iloc[0].equals(box(0, 51.5, 0.02, 51.51).normalize()) or \
        abs(outline.geometry.iloc[0].area - box(0, 51.5, 0.02, 51.51).area) < 1e-12


def test_named_roles_win_and_bad_names_are_refused(store: Store) -> None:
    _layer(store, "small", ["E01000001", "E01000002"])
    _layer(store, "old_small", ["E01000009"])
    with store.transaction() as session:
        with pytest.raises(NotFoundError, match="load-borough"):
            set_layer_roles(session, small_areas="old_small")
        save_borough(session, Borough(code="E08000011", name="Knowsley"))
        roles = set_layer_roles(session, small_areas="old_small")
        assert roles.small_areas == "old_small" and "small_areas" not in roles.guessed
        with pytest.raises(ValidationError) as info:
            set_layer_roles(session, wards="nope", colour="x")
        assert {p.field for p in info.value.problems} == {"wards", "colour"}
        with pytest.raises(NotFoundError, match="set-layers --wards"):
            layer_roles(session).require("wards")
