"""The read API's query parameters: parsed and documented from one table per endpoint.

The same table parses a request (every problem collected, then one
:class:`~mapping.errors.ValidationError` naming each parameter) and documents it
(:mod:`mapping.api.openapi`), so what is accepted and what is documented cannot drift
apart. Every invalid query parameter, or one the endpoint does not take, is a 422 with the
one error shape. Larger ``limit`` values are capped at :data:`MAX_LIMIT`, as OGC API -
Features asks, rather than refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.register.taxonomy import load_categories

API_VERSION = "1.0.0"


GEOJSON = "application/geo+json"


JSON = "application/json"


DEFAULT_LIMIT = 1000


MAX_LIMIT = 10_000


MAX_TEXT_LENGTH = 200


COORDINATE_DECIMALS = 6


#: Statuses an asset may have, and the word that asks for all of them.
STATUS_ALL = "all"


Kind = Literal["text", "integer", "number", "list", "bbox"]


@dataclass(frozen=True)
class Param:
    """One query parameter: how it is parsed, and what the OpenAPI document says of it."""

    name: str
    kind: Kind
    description: str
    example: Any = None
    choices: Callable[[], Sequence[str]] | None = None
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    requires: str | None = None

    def schema(self) -> dict[str, Any]:
        """Give the parameter's JSON Schema (OpenAPI 3.1)."""
        if self.kind == "list":
            items: dict[str, Any] = {"type": "string"}
            if self.choices is not None:
                items["enum"] = list(self.choices())
            out: dict[str, Any] = {"type": "array", "items": items}
            if self.default is not None:
                out["default"] = list(self.default)
            return out
        if self.kind == "bbox":
            return {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}
        out = {"type": "string", "maxLength": MAX_TEXT_LENGTH} if self.kind == "text" else {
            "type": self.kind}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.default is not None:
            out["default"] = self.default
        return out

    def document(self) -> dict[str, Any]:
        """Give the OpenAPI Parameter Object."""
        text = self.description
        if self.requires:
            text += f" Only together with `{self.requires}`."
        out: dict[str, Any] = {"name": self.name, "in": "query", "required": False,
                               "description": text, "schema": self.schema()}
        if self.kind in ("list", "bbox"):
            # Comma-separated; list parameters may also be repeated (parse_query joins them).
            out |= {"style": "form", "explode": self.kind == "list"}
        if self.example is not None:
            out["example"] = self.example
        return out

    def parse(self, values: list[str], problems: list[Problem]) -> Any:
        """Give the parsed value (or the default), adding any problem to ``problems``."""
        given = [v.strip() for v in values if v.strip()]
        if not given:
            return self.default
        if self.kind == "list":
            return self._parse_list(given, problems)
        if len(given) > 1:
            problems.append(Problem("give it once only", field=self.name))
            return self.default
        raw = given[0]
        if self.kind == "text":
            if len(raw) > MAX_TEXT_LENGTH:
                problems.append(Problem(f"must be at most {MAX_TEXT_LENGTH} characters",
                                        field=self.name))
            return raw
        if self.kind == "bbox":
            return _parse_bbox(raw, self.name, problems)
        return self._parse_number(raw, problems)

    def _parse_list(self, given: list[str], problems: list[Problem]) -> tuple[str, ...]:
        items = list(dict.fromkeys(i.strip() for v in given for i in v.split(",") if i.strip()))
        if self.choices is not None:
            allowed = list(self.choices())
            for item in items:
                if item not in allowed:
                    problems.append(Problem(f"unknown value '{item}' (use one of "
                                            f"{', '.join(allowed)})", field=self.name))
        return tuple(items)

    def _parse_number(self, raw: str, problems: list[Problem]) -> int | float | None:
        try:
            number: int | float = int(raw) if self.kind == "integer" else float(raw)
        except ValueError:
            what = "a whole number" if self.kind == "integer" else "a number"
            problems.append(Problem(f"must be {what}, got '{raw}'", field=self.name))
            return None
        if not math.isfinite(number):
            problems.append(Problem(f"must be a finite number, got '{raw}'", field=self.name))
            return None
        if self.minimum is not None and number < self.minimum:
            problems.append(Problem(f"must be {self.minimum:g} or more, got '{raw}'",
                                    field=self.name))
            return None
        if self.maximum is not None and number > self.maximum:
            return type(number)(self.maximum)  # capped, as OGC API - Features asks for limit
        return number


def _parse_bbox(raw: str, name: str, problems: list[Problem]
                ) -> tuple[float, float, float, float] | None:
    parts = raw.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(parts) != 4 or len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        problems.append(Problem(f"must be four numbers minLon,minLat,maxLon,maxLat, got '{raw}'",
                                field=name))
        return None
    min_lon, min_lat, max_lon, max_lat = numbers
    reasons = []
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        reasons.append("longitudes must be between -180 and 180")
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        reasons.append("latitudes must be between -90 and 90")
    if min_lon > max_lon or min_lat > max_lat:
        reasons.append("the minimum must not be greater than the maximum (minLon,minLat,maxLon,maxLat)")
    for reason in reasons:
        problems.append(Problem(f"{reason}, got '{raw}'", field=name))
    return None if reasons else (min_lon, min_lat, max_lon, max_lat)


def parse_query(params: Sequence[Param], pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Give every parameter's value (defaults filled in) from a query string's (name, value) pairs.

    A blank value counts as not given. List parameters may be repeated or
    comma-separated. Raises one :class:`ValidationError` listing every problem,
    each naming its parameter, including parameters the endpoint does not take.
    """
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        given.setdefault(name, []).append(value)
    known = {p.name: p for p in params}
    problems = [
        Problem("unknown parameter (this endpoint takes "
                f"{', '.join(known) if known else 'no query parameters'})", field=name)
        for name in given if name not in known
    ]
    out = {p.name: p.parse(given.get(p.name, []), problems) for p in params}
    for p in params:
        if p.requires and out[p.name] is not None and out[p.requires] is None:
            problems.append(Problem(f"only works together with '{p.requires}'", field=p.name))
    if problems:
        raise ValidationError(problems, summary="invalid query parameters")
    return out


def _category_codes() -> Sequence[str]:
    return tuple(load_categories()["code"])


LIMIT = Param("limit", "integer", f"Most items to return; values above {MAX_LIMIT} are capped "
              f"at {MAX_LIMIT}. 0 gives just the count (`numberMatched`).", example=100,
              default=DEFAULT_LIMIT, minimum=0, maximum=MAX_LIMIT)


OFFSET = Param("offset", "integer", "How many matching items to skip; follow the `next` and "
               "`prev` links rather than counting.", example=0, default=0, minimum=0)


OWNERSHIP_HELP = ("Ownership class as derived from legal form (CLES Appendix 1). Repeat the "
                  "parameter or separate values with commas; any of them matches.")


ASSET_PARAMS: tuple[Param, ...] = (
    Param("bbox", "bbox", "Only assets inside this box: `minLon,minLat,maxLon,maxLat` in "
          "EPSG:4326 (WGS 84 degrees), as in OGC API - Features.", example=(0.0, 51.53, 0.02, 51.55)),
    Param("category", "list", "Service category code (`data/categories.csv`). Repeat the "
          "parameter or separate codes with commas; any of them matches.", example=("school",),
          choices=_category_codes),
    Param("ownership", "list", OWNERSHIP_HELP + " Assets with no organisation are `unknown`.",
          example=("generative",), choices=lambda: S.OWNERSHIP_CLASSES),
    Param("status", "list", f"Record status; `{STATUS_ALL}` gives every status. Repeatable or "
          "comma-separated.", example=("active",), default=("active",),
          choices=lambda: (*S.ASSET_STATUSES, STATUS_ALL)),
    Param("patch", "text", "Only assets inside this patch's outline (a patch name from "
          "`/api/patches`). 422 if no such patch, or no patch set is loaded."),
    Param("patch_set", "text", "The patch set `patch` belongs to; default: the first patch "
          "set by name.", requires="patch"),
    Param("q", "text", "Text search: name or description contains this, any case.",
          example="library"),
    Param("near", "text", "A Great Britain postcode (OS Code-Point Open). Adds `distance_m` "
          "(straight line, labelled in `distance_method`) and sorts nearest first.",
          example="E15 4EH"),
    Param("within_m", "number", "Only assets at most this many metres (straight line) from "
          "`near`.", example=500, minimum=0, requires="near"),
    LIMIT, OFFSET,
)


ORGANISATION_PARAMS: tuple[Param, ...] = (
    Param("ownership", "list", OWNERSHIP_HELP, example=("generative",),
          choices=lambda: S.OWNERSHIP_CLASSES),
    Param("q", "text", "Text search: the name contains this, any case.", example="co-operative"),
    LIMIT, OFFSET,
)


PATCH_PARAMS: tuple[Param, ...] = (
    Param("set", "text", "Patch set name (see `patch_sets` in the answer); default: the first "
          "patch set by name."),
)
