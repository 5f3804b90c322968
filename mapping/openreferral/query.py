"""The feed's filters: which published services a query asks for, in what order.

Semantics, parameter by parameter (HSDS-UK 3.0 defines the names, not all the details):

- ``search``: name, description, organisation name or category label contains it, any case;
- ``taxonomy_term_id``: linked to that term (any taxonomy); ``taxonomy_id``: linked to any
  term of that taxonomy. Both must be UUIDs; an unknown one matches nothing;
- ``minimum_age`` / ``maximum_age``: a recorded minimum age of at least, or maximum age of
  at most, the value. The register records no ages, so these match nothing yet;
- ``day``, ``start_time``, ``end_time``: one weekly schedule on that day (``MO``... or a day
  name) that opens at or after ``start_time`` and closes at or before ``end_time``
  (``HH:MM`` or ``HH:MM:SS``);
- ``modified_after``: changed at or after that time (ISO 8601; a date means its midnight UTC);
- ``postcode`` (service_at_locations): nearest first, straight-line distance from the
  postcode's centroid; with ``proximity``, only those within that many metres.

Results are ordered by name (then by id, so pages never overlap), or nearest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.openreferral import taxonomy as T
from mapping.openreferral.ids import is_uuid
from mapping.openreferral.records import TERM_COLUMNS, FeedData
from mapping.openreferral.schedules import day_code, parse_time, weekly_hours
from mapping.register.directory import assets_near
from mapping.register.taxonomy import load_categories


@dataclass(frozen=True)
class FeedQuery:
    """A checked feed query (see the module docstring for what each filter means)."""

    search: str | None = None
    taxonomy_term_id: str | None = None
    taxonomy_id: str | None = None
    minimum_age: float | None = None
    maximum_age: float | None = None
    start_time: str | None = None
    end_time: str | None = None
    day: str | None = None
    modified_after: pd.Timestamp | None = None


def _timestamp(text: str) -> pd.Timestamp | None:
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        return None
    if stamp is pd.NaT:
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def feed_query(parsed: dict[str, Any]) -> FeedQuery:
    """Give the checked query from parsed parameters; one :class:`ValidationError` names
    every parameter in the wrong form (a UUID, a time, a day, a date and time)."""
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for name in ("taxonomy_term_id", "taxonomy_id"):
        value = parsed.get(name)
        if value is not None and not is_uuid(value):
            problems.append(Problem(f"must be a UUID, got '{value}'", field=name))
        out[name] = value.lower() if value else None
    for name in ("start_time", "end_time"):
        value = parsed.get(name)
        out[name] = parse_time(value) if value is not None else None
        if value is not None and out[name] is None:
            problems.append(Problem(f"must be a time HH:MM or HH:MM:SS, got '{value}'", field=name))
    day = parsed.get("day")
    out["day"] = day_code(day) if day is not None else None
    if day is not None and out["day"] is None:
        problems.append(Problem(f"must be a day: MO, TU, WE, TH, FR, SA, SU or its name, got "
                                f"'{day}'", field="day"))
    modified = parsed.get("modified_after")
    out["modified_after"] = _timestamp(modified) if modified is not None else None
    if modified is not None and out["modified_after"] is None:
        problems.append(Problem(f"must be a date and time (ISO 8601), got '{modified}'",
                                field="modified_after"))
    if problems:
        raise ValidationError(problems, summary="invalid query parameters")
    return FeedQuery(search=parsed.get("search"), minimum_age=parsed.get("minimum_age"),
                     maximum_age=parsed.get("maximum_age"), **out)


def _open_then(text: Any, query: FeedQuery) -> bool:
    for hours in weekly_hours(text if isinstance(text, str) else None) or []:
        if query.day is not None and query.day not in hours.byday:
            continue
        if query.start_time is not None and hours.opens_at < query.start_time:
            continue
        if query.end_time is not None and hours.closes_at > query.end_time:
            continue
        return True
    return False


def select_services(data: FeedData, query: FeedQuery, *, origin: Point | None = None,
                    proximity_m: float | None = None) -> pd.DataFrame:
    """Give the published assets the query asks for, in the feed's order (a new frame)."""
    frame = data.assets
    keep = pd.Series(True, index=frame.index)
    if query.search:
        needle = query.search.casefold()
        text = frame[S.NAME].fillna("")
        for column in (S.DESCRIPTION, "organisation_name", "category_label"):
            text = text + "\n" + frame[column].fillna("").astype(str)
        keep &= text.str.casefold().str.contains(needle, regex=False)
    if query.taxonomy_term_id is not None:
        wanted = {query.taxonomy_term_id}
        term = data.term_by_id.get(query.taxonomy_term_id)
        if term is not None and term["term"].startswith("group:"):  # a category group
            groups = load_categories()["group"]
            in_group = groups.index[groups == term["term"].removeprefix("group:")]
            wanted |= {T.term_id(T.CATEGORY, c) for c in in_group}
        linked = pd.Series(False, index=frame.index)
        for column in TERM_COLUMNS.values():
            linked |= frame[column + "_id"].isin(list(wanted))
        keep &= linked
    if query.taxonomy_id is not None:
        keys = [k for k in T.TAXONOMY_BY_KEY if T.taxonomy_id(k) == query.taxonomy_id]
        keep &= frame[TERM_COLUMNS[keys[0]]].notna() if keys else False
    if query.minimum_age is not None or query.maximum_age is not None:
        keep &= False  # the register records no age limits (see the module docstring)
    if query.day or query.start_time or query.end_time:
        keep &= frame[S.OPENING_TIMES].map(lambda t: _open_then(t, query)).astype(bool)
    if query.modified_after is not None:
        changed = pd.to_datetime(frame["updated_at"], utc=True)
        keep &= changed >= query.modified_after
    found = frame[keep.to_numpy()]
    if origin is None:
        order = found.assign(_name=found[S.NAME].str.casefold()).sort_values(
            ["_name", S.EXTERNAL_ID], kind="stable")
        return order.drop(columns="_name")
    points = gpd.GeoDataFrame(found, geometry=gpd.points_from_xy(found[S.LON], found[S.LAT]),
                              crs=S.STORAGE_CRS)
    near = assets_near(points, origin, radius_m=proximity_m)
    return pd.DataFrame(near.drop(columns="geometry"))
