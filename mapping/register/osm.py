"""Seed community assets from OpenStreetMap features, read with osmnx.

Two small wrappers fetch OSM features and hand them to one core function:

- :func:`assets_from_osm_xml` reads a local ``.osm`` XML file (offline, no network);
- :func:`assets_from_place` geocodes a place name and queries Overpass (online);
- :func:`assets_from_osm_features` maps an osmnx features frame to the asset schema.

Which OSM tags count as which service category is data, not code: the tag table
``data/osm_tags.csv`` (columns ``key,value,category,note``). ``value`` is one OSM
value, or ``*`` for any value of ``key``; ``category`` is a ``code`` of
``data/categories.csv``.

**Precedence: the first matching row, in file order, wins.** A feature gets the
category of the first row whose ``key`` it carries with that ``value`` (an OSM
value list such as ``community_centre;library`` matches each of its parts).
So specific rows go above general ones: ``social_facility=day_care`` (day
opportunities) sits above ``amenity=social_facility`` (other), and the food-bank
rows sit above ``amenity=place_of_worship``, so a church tagged as hosting a food
bank is counted as the food bank. Features that match no row are dropped.

Features without a ``name`` tag are kept, named ``"Unnamed <category label>"``
(e.g. "Unnamed place of worship"): an unnamed church is still a place of
worship on the ground, and a social growth officer can name it when verifying
the record. Polygons and lines are reduced to a representative point (a point
guaranteed to lie on the geometry), computed in EPSG:27700 and returned in
EPSG:4326; nodes keep their exact OSM coordinates.

OpenStreetMap data is ODbL 1.0; every asset carries the licence and the
attribution "© OpenStreetMap contributors".

osmnx keeps global settings; this module never changes them. The online
wrapper uses osmnx's HTTP cache (``osmnx.settings.cache_folder``, by default
``./cache`` under the working directory): set it once at start-up. The offline
wrapper neither caches nor touches the network.

References
----------
Boeing, G. (2025). Modeling and Analyzing Urban Networks and Amenities with
OSMnx. *Geographical Analysis*, 57(4), 567-577. https://doi.org/10.1111/gean.70009

OpenStreetMap Wiki, "Map features" (the tag meanings used in the tag table):
https://wiki.openstreetmap.org/wiki/Map_features
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final
from xml.etree.ElementTree import ParseError
from xml.sax import SAXException

import geopandas as gpd
import numpy as np
import osmnx as ox
import pandas as pd
from osmnx._errors import InsufficientResponseError
from shapely.geometry import MultiPolygon, Polygon

from mapping.errors import CRSError, DataMissingError, NotFoundError, Problem, ValidationError
from mapping.osm_files import check_osm_root, osm_file_error
from mapping.register.osm_tags import (
    _categorise,
    _lower_first,
    _osmnx_tags,
    _read_category_labels,
    _read_tag_rules,
    _TagRule,
)
from mapping.schema import (
    ACCESSIBILITY,
    ADDRESS,
    ASSET_COLUMNS,
    ATTRIBUTION,
    CAPACITY,
    CATEGORY,
    CONTACT,
    DESCRIPTION,
    EXTERNAL_ID,
    GEOMETRY,
    LAT,
    LICENCE,
    LON,
    METRIC_CRS,
    NAME,
    OPENING_TIMES,
    POSTCODE,
    SOURCE,
    STATUS,
    STORAGE_CRS,
    WEBSITE,
)

OSM_SOURCE: Final = "osm"
OSM_LICENCE: Final = "ODbL 1.0"
OSM_ATTRIBUTION: Final = "© OpenStreetMap contributors"

_NUMERIC_COLUMNS: Final = frozenset({LON, LAT, CAPACITY})


def assets_from_osm_xml(
    path: Path,
    *,
    polygon: Polygon | MultiPolygon | gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    tag_table: Path | None = None,
) -> gpd.GeoDataFrame:
    """Give the community assets found in a local OSM XML file, as points in EPSG:4326.

    Offline: reads the file with ``osmnx.features_from_xml`` (plain, ``.gz`` or
    ``.bz2``) and reaches no network. See the module docstring for how tags
    become categories.

    Parameters
    ----------
    path
        The ``.osm`` XML file.
    polygon
        Keep only features that intersect this area. A shapely (Multi)Polygon in
        lon/lat (EPSG:4326), or a GeoSeries/GeoDataFrame with a CRS (its union is
        used). ``None`` keeps everything in the file.
    tag_table
        The tag table CSV; ``None`` means ``data/osm_tags.csv`` in the project.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per asset with the asset columns (:data:`mapping.schema.ASSET_COLUMNS`)
        and point geometry; empty, with the same columns, when nothing matches.

    Raises
    ------
    DataMissingError
        If ``path`` is not a file.
    ValidationError
        If the file is not readable OSM XML (the message names the file), or the
        tag table is not valid.
    TypeError, CRSError
        If ``polygon`` is of the wrong type or not in lon/lat.
    """
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"No OSM XML file at {path}")
    area = _lonlat_polygon(polygon)
    labels = _read_category_labels()
    rules = _read_tag_rules(tag_table, labels)
    try:
        features = ox.features_from_xml(path, polygon=area, tags=_osmnx_tags(rules))
    except InsufficientResponseError:
        # osmnx's way of saying "no matching features"; but an XML file that is not
        # OSM at all also has no features, and that must not pass as "no assets".
        check_osm_root(path)
        return _empty_assets()
    except (ParseError, SAXException, UnicodeDecodeError, EOFError, OSError) as exc:
        raise osm_file_error(path, str(exc)) from exc
    except (KeyError, TypeError, ValueError) as exc:
        # osmnx's XML handler fails this way on elements without required
        # attributes (a <tag> with no k, a node with no lat, ...).
        raise osm_file_error(path, f"not valid OSM XML ({type(exc).__name__}: {exc})") from exc
    return _assets_from_features(features, rules, labels)


def assets_from_place(place: str, *, tag_table: Path | None = None) -> gpd.GeoDataFrame:
    """Give the community assets OpenStreetMap has inside a named place, as points in EPSG:4326.

    Online: geocodes ``place`` to a boundary with Nominatim
    (``osmnx.geocode_to_gdf``), then fetches the features inside it from Overpass
    (``osmnx.features_from_polygon``). This is what ``osmnx.features_from_place``
    does, in two steps so that "no such place" and "no matching features" can be
    told apart. Uses osmnx's global settings (cache folder, user agent, timeouts).

    Parameters
    ----------
    place
        A place name Nominatim knows with a boundary, e.g.
        ``"London Borough of Newham, London, England"``.
    tag_table
        The tag table CSV; ``None`` means ``data/osm_tags.csv`` in the project.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`assets_from_osm_xml`; empty, with the asset columns, when
        nothing matches.

    Raises
    ------
    NotFoundError
        If Nominatim finds no (Multi)Polygon boundary for ``place``.
    TypeError, ValueError
        If ``place`` is not a non-empty string.

    Notes
    -----
    Network and HTTP errors from osmnx/requests are not wrapped.
    """
    if not isinstance(place, str):
        raise TypeError(f"place must be a str, got {type(place).__name__}")
    if not place.strip():
        raise ValueError("place must not be empty")
    labels = _read_category_labels()
    rules = _read_tag_rules(tag_table, labels)
    try:
        boundary = ox.geocode_to_gdf(place).union_all()
    except (InsufficientResponseError, TypeError) as exc:
        raise NotFoundError(
            f"OpenStreetMap's geocoder found no boundary polygon for place {place!r}"
        ) from exc
    try:
        features = ox.features_from_polygon(boundary, tags=_osmnx_tags(rules))
    except InsufficientResponseError:
        return _empty_assets()
    return _assets_from_features(features, rules, labels)


def assets_from_osm_features(
    features: gpd.GeoDataFrame, *, tag_table: Path | None = None
) -> gpd.GeoDataFrame:
    """Give the assets in an osmnx features frame, mapped to the asset schema as points.

    Each feature gets the category of the first tag-table row it matches (see the
    module docstring); features that match none are dropped. Columns filled:
    ``external_id`` (``"osm:<element>/<id>"``), ``name`` (``"Unnamed <category
    label>"`` when the feature has none), ``category``, ``description``,
    ``address`` (``addr:housename``, ``addr:housenumber`` + ``addr:street`` or
    ``addr:place``, ``addr:city``), ``postcode`` (``addr:postcode``, upper case),
    ``lon``/``lat``, ``opening_times`` (``opening_hours``), ``website``
    (``website``, ``contact:website`` or ``url``), ``contact`` (``phone`` or
    ``contact:phone``), ``accessibility`` (``"wheelchair: <value>"``),
    ``source`` = "osm", ``licence`` = "ODbL 1.0", ``attribution`` =
    "© OpenStreetMap contributors", ``status`` = "active"; the other asset
    columns are empty. The input is not changed.

    Parameters
    ----------
    features
        Features as osmnx 2.x returns them: indexed by ``(element, id)``, one
        column per OSM tag, any geometry type, with a CRS.
    tag_table
        The tag table CSV; ``None`` means ``data/osm_tags.csv`` in the project.

    Returns
    -------
    geopandas.GeoDataFrame
        The asset columns plus point geometry, in EPSG:4326, with a fresh
        RangeIndex, in the input's row order; empty, with the same columns, when
        nothing matches.

    Raises
    ------
    TypeError
        If ``features`` is not a GeoDataFrame.
    CRSError
        If a non-empty ``features`` has no CRS.
    ValidationError
        If the index is not osmnx's ``(element, id)``, or the tag table is not valid.

    Notes
    -----
    One OSM object is one asset. A place mapped twice (a node for the church and a
    polygon for its building) gives two assets; they are not merged here, because
    nothing in the tags says reliably that they are the same place. The
    representative point is computed on the British National Grid (EPSG:27700),
    which suits Great Britain, the area this service is for.
    """
    labels = _read_category_labels()
    return _assets_from_features(features, _read_tag_rules(tag_table, labels), labels)


# --- the core --------------------------------------------------------------------------


def _assets_from_features(
    features: gpd.GeoDataFrame, rules: Sequence[_TagRule], labels: Mapping[str, str]
) -> gpd.GeoDataFrame:
    if not isinstance(features, gpd.GeoDataFrame):
        raise TypeError(f"features must be a GeoDataFrame, got {type(features).__name__}")
    if len(features) == 0:
        return _empty_assets()
    if features.crs is None:
        raise CRSError("features have no CRS; osmnx gives EPSG:4326 (lon/lat)")
    if list(features.index.names) != ["element", "id"]:
        raise ValidationError(
            [Problem(f"index must be osmnx's (element, id), got {list(features.index.names)}")],
            summary="Not an osmnx features frame",
        )

    category = _categorise(features, rules)
    keep = category != ""
    if not keep.any():
        return _empty_assets()
    # Positional index from here on: the text helpers align on it.
    found = features.loc[keep].reset_index()
    codes = pd.Series(category[keep], dtype="str")

    points = _representative_points(found.geometry)
    unnamed = "Unnamed " + codes.map(lambda code: _lower_first(labels[code]))
    street_line = _join([_tag(found, "addr:housenumber"), _tag(found, "addr:street", "addr:place")])
    wheelchair = _tag(found, "wheelchair")

    values: dict[str, pd.Series | str] = {
        EXTERNAL_ID: "osm:" + found["element"].astype("str") + "/" + found["id"].astype("str"),
        NAME: _tag(found, "name").fillna(unnamed),
        DESCRIPTION: _tag(found, "description"),
        CATEGORY: codes,
        ADDRESS: _join(
            [_tag(found, "addr:housename"), street_line, _tag(found, "addr:city")], sep=", "
        ),
        POSTCODE: _tag(found, "addr:postcode").str.upper().str.replace(r"\s+", " ", regex=True),
        LON: pd.Series(points.x, dtype="float64"),
        LAT: pd.Series(points.y, dtype="float64"),
        OPENING_TIMES: _tag(found, "opening_hours"),
        CONTACT: _tag(found, "phone", "contact:phone"),
        WEBSITE: _tag(found, "website", "contact:website", "url"),
        ACCESSIBILITY: ("wheelchair: " + wheelchair).where(wheelchair.notna()),
        STATUS: "active",
        SOURCE: OSM_SOURCE,
        LICENCE: OSM_LICENCE,
        ATTRIBUTION: OSM_ATTRIBUTION,
    }
    return _asset_frame(values, points)


def _representative_points(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    """Give a point on each geometry: nodes as they are, others via EPSG:27700."""
    geometry = geometry.to_crs(STORAGE_CRS)
    is_point = (geometry.geom_type == "Point").to_numpy()
    if is_point.all():
        return gpd.GeoSeries(geometry.to_numpy(), index=geometry.index, crs=STORAGE_CRS)
    # representative_point is planar; do it in metres on the British National Grid.
    others = geometry[~is_point].to_crs(METRIC_CRS).representative_point().to_crs(STORAGE_CRS)
    out = geometry.to_numpy().copy()
    out[~is_point] = others.to_numpy()
    return gpd.GeoSeries(out, index=geometry.index, crs=STORAGE_CRS)


def _tag(features: pd.DataFrame, *keys: str) -> pd.Series:
    """Give the first non-blank value among the tags ``keys`` for each feature."""
    out = pd.Series(np.nan, index=features.index, dtype="str")
    for key in keys:
        if key in features.columns:
            column = features[key]
            text = column.astype("str").where(column.notna()).str.strip()
            out = out.fillna(text.where(text != ""))
    return out


def _join(parts: Sequence[pd.Series], sep: str = " ") -> pd.Series:
    """Join the non-missing values of ``parts`` row by row; missing where all are missing."""
    frame = pd.concat(list(parts), axis=1, ignore_index=True)
    joined = frame.stack().dropna().groupby(level=0).agg(sep.join)
    return pd.Series(joined.reindex(frame.index), dtype="str")


def _asset_frame(values: Mapping[str, pd.Series | str], points: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """Give a frame with exactly the asset columns (same dtypes whether empty or not)."""
    index = pd.RangeIndex(len(points))
    columns: dict[str, pd.Series] = {}
    for name in ASSET_COLUMNS:
        dtype = "float64" if name in _NUMERIC_COLUMNS else "str"
        value = values.get(name, np.nan)
        if isinstance(value, pd.Series):
            columns[name] = pd.Series(value.to_numpy(), index=index, dtype=dtype)
        else:
            columns[name] = pd.Series(value, index=index, dtype=dtype)
    geometry = gpd.GeoSeries(points.to_numpy(), index=index, crs=STORAGE_CRS, name=GEOMETRY)
    return gpd.GeoDataFrame(columns, geometry=geometry, crs=STORAGE_CRS)


def _empty_assets() -> gpd.GeoDataFrame:
    return _asset_frame({}, gpd.GeoSeries([], crs=STORAGE_CRS))


# --- inputs: tag table, categories, polygon, XML -----------------------------------


def _lonlat_polygon(
    polygon: Polygon | MultiPolygon | gpd.GeoSeries | gpd.GeoDataFrame | None,
) -> Polygon | MultiPolygon | None:
    """Give ``polygon`` as a shapely (Multi)Polygon in lon/lat, or ``None``."""
    if polygon is None:
        return None
    if isinstance(polygon, gpd.GeoSeries | gpd.GeoDataFrame):
        if polygon.crs is None:
            raise CRSError("polygon has no CRS; give it one (e.g. EPSG:4326)")
        polygon = polygon.to_crs(STORAGE_CRS).union_all()
    if not isinstance(polygon, Polygon | MultiPolygon):
        raise TypeError(
            f"polygon must be a shapely Polygon or MultiPolygon, got {type(polygon).__name__}"
        )
    west, south, east, north = polygon.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise CRSError(f"polygon bounds {polygon.bounds} are not lon/lat; give it in EPSG:4326")
    return polygon


