"""Area layers (boundaries), their attribute tables, and patches made of areas.

Pure functions: GeoDataFrame in, new GeoDataFrame out, inputs unchanged.
Layers are kept in EPSG:4326; areas are measured in EPSG:27700.
"""

from __future__ import annotations

import re

import geopandas as gpd
import networkx as nx
import pandas as pd
import shapely

from mapping import schema as S
from mapping.errors import CRSError, Problem, ValidationError
from mapping.tables import blank, rows_where

GSS_CODE = re.compile(r"^[EWSNK]\d{8}$")


def require_crs(frame: gpd.GeoDataFrame, *, what: str = "layer") -> None:
    """Raise :class:`CRSError` unless ``frame`` has a CRS."""
    if not isinstance(frame, gpd.GeoDataFrame):
        raise TypeError(f"{what} must be a GeoDataFrame, got {type(frame).__name__}")
    if frame.crs is None:
        raise CRSError(f"{what} has no coordinate reference system; set one (e.g. EPSG:27700)")


def guess_code_and_name(frame: pd.DataFrame) -> tuple[str | None, str | None]:
    """Give the likeliest GSS-code column and name column of a boundary file (ONS naming first)."""
    code = name = None
    for column in frame.columns:
        if column == "geometry":
            continue
        text = frame[column].astype("string")
        if code is None and text.str.fullmatch(GSS_CODE.pattern).fillna(False).mean() > 0.9:
            code = str(column)
    for column in frame.columns:
        upper = str(column).upper()
        if column != code and (upper.endswith("NM") or upper in {"NAME", "AREA_NAME"}):
            name = str(column)
            break
    return code, name


def areas_from_frame(
    frame: gpd.GeoDataFrame,
    *,
    code_field: str | None = None,
    name_field: str | None = None,
    file: str = "layer",
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Give a clean area layer (``code``, ``area_name``, polygon geometry, EPSG:4326) and its problems.

    Invalid geometry is repaired with ``shapely.make_valid`` where the result is
    still polygonal (reported as a note with the reason), otherwise rejected.
    Codes must be present and unique.
    """
    require_crs(frame, what=file)
    guessed_code, guessed_name = guess_code_and_name(frame)
    code_field = code_field or guessed_code
    name_field = name_field or guessed_name or code_field
    problems: list[Problem] = []
    for wanted, label in ((code_field, "code"), (name_field, "name")):
        if wanted is None or wanted not in frame.columns:
            problems.append(Problem(
                f"no {label} column {'named ' + repr(wanted) if wanted else 'found'}; "
                f"columns are {', '.join(map(str, frame.columns))}", field=label, file=file))
    if problems:
        raise ValidationError(problems, summary=f"{file}: cannot import the layer")
    data = frame.reset_index(drop=True)
    codes = data[code_field].astype("string").str.strip()
    names = data[name_field].astype("string").str.strip()
    geoms = data.geometry
    out_geoms = geoms.copy()
    for i in rows_where(blank(data[code_field]).to_numpy()):
        problems.append(Problem("area code is empty", row=i + 1, field=code_field, file=file))
    dup = codes.duplicated(keep="first") & codes.notna()
    for i in rows_where(dup.to_numpy()):
        problems.append(Problem(f"area code '{codes.iloc[i]}' appears more than once", row=i + 1,
                                field=code_field, file=file))
    missing = geoms.isna() | geoms.is_empty
    for i in rows_where(missing.to_numpy()):
        problems.append(Problem("geometry is empty", row=i + 1, field="geometry", file=file))
    invalid = ~missing & ~geoms.is_valid
    for i in rows_where(invalid.to_numpy()):
        reason = shapely.is_valid_reason(geoms.iloc[i])
        fixed = shapely.make_valid(geoms.iloc[i])
        polygonal = shapely.get_parts(fixed)
        polygonal = [g for g in polygonal if g.geom_type in ("Polygon", "MultiPolygon")]
        if polygonal and shapely.union_all(polygonal).area > 0:
            out_geoms.iloc[i] = shapely.union_all(polygonal)
        else:
            problems.append(Problem(f"invalid geometry that cannot be repaired ({reason})",
                                    row=i + 1, field="geometry", file=file))
    kinds = out_geoms.geom_type
    wrong = ~missing & ~kinds.isin(["Polygon", "MultiPolygon"])
    for i in rows_where(wrong.to_numpy()):
        problems.append(Problem(f"geometry is a {kinds.iloc[i]}; areas must be polygons",
                                row=i + 1, field="geometry", file=file))
    out = gpd.GeoDataFrame(
        {S.AREA_CODE: codes.astype(object), S.AREA_NAME: names.fillna(codes).astype(object)},
        geometry=gpd.GeoSeries(out_geoms.values, crs=frame.crs).to_crs(S.STORAGE_CRS).values,
        crs=S.STORAGE_CRS,
    )
    return out, problems


def repaired_rows(frame: gpd.GeoDataFrame) -> list[int]:
    """Give the 1-based rows whose geometry is invalid (and would be repaired on import)."""
    geoms = frame.geometry
    return [int(i) + 1 for i in rows_where((~geoms.isna() & ~geoms.is_empty & ~geoms.is_valid).to_numpy())]


def join_attributes(
    areas: gpd.GeoDataFrame, table: pd.DataFrame, *, code_column: str
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Give areas with the table's columns joined on the area code, and the table codes not found.

    Area codes absent from the table get missing values; table codes absent from
    the layer are returned so the caller can report them.
    """
    if code_column not in table.columns:
        raise ValidationError([Problem(f"no column '{code_column}' in the table",
                                       field=code_column)])
    keyed = table.drop_duplicates(code_column).set_index(code_column)
    keyed = keyed.drop(columns=[c for c in keyed.columns if c in (S.AREA_NAME, "geometry")])
    joined = areas.join(keyed, on=S.AREA_CODE)
    unmatched = sorted(set(keyed.index.astype(str)) - set(areas[S.AREA_CODE].astype(str)))
    return joined, unmatched


def patches_from_lookup(
    areas: gpd.GeoDataFrame,
    lookup: pd.DataFrame,
    *,
    code_column: str = S.AREA_CODE,
    patch_column: str = S.PATCH,
    file: str = "lookup",
    require_complete: bool = True,
    require_contiguous: bool = False,
) -> gpd.GeoDataFrame:
    """Give patches dissolved from a lookup of area code → patch name.

    Every area must be in exactly one patch: codes missing from the layer,
    areas in two patches, and (with ``require_complete``) areas in no patch
    are all reported together as one :class:`ValidationError`. With
    ``require_contiguous`` (lots), each patch must also be one piece by
    adjacency (:func:`adjacency_graph`: areas sharing a boundary line), and a
    patch in several pieces is reported with the areas of each piece.
    """
    require_crs(areas, what="area layer")
    problems = [Problem(f"column '{c}' is missing", field=c, file=file)
                for c in (code_column, patch_column) if c not in lookup.columns]
    if problems:
        raise ValidationError(problems, summary=f"{file}: not a patch lookup")
    codes = lookup[code_column].astype("string").str.strip()
    patches = lookup[patch_column].astype("string").str.strip()
    known = set(areas[S.AREA_CODE])
    for i in rows_where((~codes.isin(known)).to_numpy()):
        problems.append(Problem(f"area '{codes.iloc[i]}' is not in the layer", row=i + 1,
                                field=code_column, file=file))
    for i in rows_where(blank(lookup[patch_column]).to_numpy()):
        problems.append(Problem("patch name is empty", row=i + 1, field=patch_column, file=file))
    first: dict[str, int] = {}
    for i, code in enumerate(codes):
        if code in first:
            problems.append(Problem(f"area '{code}' is already in a patch on row {first[code]}",
                                    row=i + 1, field=code_column, file=file))
        else:
            first[code] = i + 1
    if require_complete:
        for code in sorted(known - set(codes.dropna())):
            problems.append(Problem(f"area '{code}' is in no patch", field=code_column, file=file))
    if problems:
        raise ValidationError(problems, summary=f"{file}: the patches do not cover the layer "
                              "exactly once")
    members = pd.DataFrame({S.AREA_CODE: codes, S.PATCH: patches})
    if require_contiguous:
        graph = adjacency_graph(areas)
        for patch, pieces in patch_pieces(graph, members).items():
            if len(pieces) > 1:
                listed = "; ".join(", ".join(sorted(p)[:6]) + (" …" if len(p) > 6 else "")
                                   for p in pieces)
                problems.append(Problem(
                    f"patch '{patch}' is in {len(pieces)} separate pieces ({listed}); a lot "
                    "must be one contiguous piece: move the areas of the smaller pieces into "
                    "a neighbouring patch", field=patch_column, file=file))
        if problems:
            raise ValidationError(problems, summary=f"{file}: not every patch is contiguous")
    merged = areas[[S.AREA_CODE, "geometry"]].merge(members, on=S.AREA_CODE)
    dissolved = merged.dissolve(by=S.PATCH, as_index=False, aggfunc={S.AREA_CODE: list})
    return gpd.GeoDataFrame(
        {S.PATCH: dissolved[S.PATCH], "area_codes": dissolved[S.AREA_CODE]},
        geometry=dissolved.geometry.values, crs=areas.crs,
    )


def area_km2(frame: gpd.GeoDataFrame) -> pd.Series:
    """Give each polygon's area in square kilometres, measured in EPSG:27700."""
    require_crs(frame)
    return frame.geometry.to_crs(S.METRIC_CRS).area / 1e6


def lookup_by_location(areas: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, *,
                       zone_column: str = S.AREA_NAME) -> pd.DataFrame:
    """Give a ``code`` → ``patch`` lookup: each area goes to the zone holding its inside point.

    Used to roll small areas up to wards when no patch set is loaded (the
    representative point is always inside its area, so each area gets one zone).
    Areas whose point falls in no zone are left out.
    """
    require_crs(areas, what="areas")
    require_crs(zones, what="zones")
    points = gpd.GeoDataFrame({S.AREA_CODE: areas[S.AREA_CODE].to_numpy()},
                              geometry=areas.to_crs(S.METRIC_CRS).representative_point().values,
                              crs=S.METRIC_CRS)
    joined = gpd.sjoin(points, zones[[zone_column, "geometry"]].to_crs(S.METRIC_CRS),
                       how="inner", predicate="within")
    joined = joined.drop_duplicates(S.AREA_CODE)
    return pd.DataFrame({S.AREA_CODE: joined[S.AREA_CODE].to_numpy(),
                         S.PATCH: joined[zone_column].astype(str).to_numpy()})


#: Boundaries closer than this (metres, EPSG:27700) count as the same line: it absorbs
#: rounding and reprojection, so areas meeting at a T-junction without a shared vertex match.
ADJACENCY_SNAP_M = 0.01
#: Shortest shared boundary (metres) that makes two areas neighbours. Areas meeting only
#: at a corner share about 2 × :data:`ADJACENCY_SNAP_M`; Newham's shortest real shared
#: boundary between 2021 LSOAs is about 0.4 m.
ADJACENCY_MIN_SHARED_M = 0.1


def adjacency_graph(areas: gpd.GeoDataFrame) -> nx.Graph:
    """Give the areas' adjacency graph: a node per area code, an edge where two share a boundary.

    Two areas are neighbours when a length of one's boundary above
    :data:`ADJACENCY_MIN_SHARED_M` lies within :data:`ADJACENCY_SNAP_M` of the
    other, measured in EPSG:27700. Unlike PySAL's ``Rook`` this needs no shared
    vertices (an area beside two stacked areas neighbours both), and areas
    touching at a single point are still not neighbours, since a lot joined only
    at a corner is not one piece on the ground. Candidate pairs come from a
    spatial index; the lengths are computed for all pairs at once.
    """
    require_crs(areas, what="area layer")
    codes = areas[S.AREA_CODE].astype(str).to_numpy()
    graph: nx.Graph = nx.Graph()
    graph.add_nodes_from(codes.tolist())
    if len(codes) < 2:
        return graph
    geoms = areas.to_crs(S.METRIC_CRS).geometry.to_numpy()
    near = shapely.buffer(geoms, ADJACENCY_SNAP_M)
    left, right = shapely.STRtree(geoms).query(near, predicate="intersects")
    pair = left != right
    left, right = left[pair], right[pair]
    shared = shapely.length(shapely.intersection(shapely.boundary(geoms[right]), near[left]))
    keep = shared > ADJACENCY_MIN_SHARED_M
    graph.add_edges_from(zip(codes[left[keep]].tolist(), codes[right[keep]].tolist(),
                             strict=True))
    return graph


def patch_pieces(graph: nx.Graph, lookup: pd.DataFrame) -> dict[str, list[set[str]]]:
    """Give each patch's connected pieces (sets of area codes), largest first, by adjacency."""
    out: dict[str, list[set[str]]] = {}
    for patch, rows in lookup.groupby(S.PATCH, sort=True):
        members = [c for c in rows[S.AREA_CODE].astype(str) if c in graph]
        pieces = sorted((set(c) for c in nx.connected_components(graph.subgraph(members))),
                        key=lambda p: (-len(p), sorted(p)))
        out[str(patch)] = pieces
    return out
