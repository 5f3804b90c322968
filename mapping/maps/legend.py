"""What the map's colours and symbols mean: ownership colours, choropleth classes, category symbols.

Areas are shaded by a measure (:data:`MEASURES`: population, 65+, IMD decile…) in
quantile classes (:func:`choropleth_classes`); each asset category gets a short symbol
(:func:`category_glyphs`) from the category labels in ``data/categories.csv``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd

from mapping import schema
from mapping.errors import Problem, ValidationError

#: Marker colour for each ownership class (schema.OWNERSHIP_CLASSES), CLES's three classes
#: and "not yet classified".
OWNERSHIP_COLOURS: Final[dict[str, str]] = {
    "generative": "#2e7d32",
    "extractive": "#c62828",
    "in-house": "#1565c0",
    "unknown": "#757575",
}


@dataclass(frozen=True)
class Measure:
    """An area attribute that the map can shade areas by."""

    column: str
    """Column of the area layer (``schema.POPULATION`` ...)."""
    label: str
    """Name shown in the legend, the tooltips and the page."""
    unit: str
    """Unit after a value in a tooltip ("people"); empty for none."""
    kind: str
    """``"quantiles"`` (classes with about as many areas each) or ``"deciles"`` (IMD)."""
    note: str
    """One line under the legend's title saying how to read the classes."""


#: The measures a page may choose, by query value. Decile 1 is the most deprived tenth of
#: LSOAs in England (IMD 2019), so the darkest colour goes to it.
MEASURES: Final[dict[str, Measure]] = {
    "population": Measure(
        schema.POPULATION, "Population", "people", "quantiles",
        "People per area; classes of about equal numbers of areas (quantiles)",
    ),
    "population_65_plus": Measure(
        schema.POPULATION_65_PLUS, "People aged 65 and over", "people aged 65+", "quantiles",
        "People aged 65+ per area; classes of about equal numbers of areas (quantiles)",
    ),
    "imd_decile": Measure(
        schema.IMD_DECILE, "IMD 2019 decile", "", "deciles",
        "Index of Multiple Deprivation 2019: 1 = most deprived 10% of areas in England",
    ),
}


#: Query value for "outlines only".
NO_MEASURE: Final = "none"


#: The measure a map page shows unless told otherwise.
DEFAULT_MEASURE: Final = "population"


#: Number of classes for quantile measures.
QUANTILE_CLASSES: Final = 5


# ColorBrewer "Purples" (Brewer, Harrower & Penn State, 2002): a sequential ramp that keeps
# clear of the markers' green, red and blue.
_RAMP: Final = ("#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f",
                "#3f007d")


@dataclass(frozen=True)
class ChoroplethClass:
    """One class of a choropleth: values from ``lower`` to ``upper`` (both included)."""

    lower: float
    upper: float
    colour: str
    label: str


def _ramp(n: int) -> list[str]:
    """Give ``n`` colours from light to dark, spread evenly along :data:`_RAMP`."""
    anchors = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in _RAMP], dtype=float)
    at = np.linspace(0, len(_RAMP) - 1, n) if n > 1 else np.array([len(_RAMP) - 1.0])
    rgb = np.column_stack(
        [np.interp(at, np.arange(len(_RAMP)), anchors[:, channel]) for channel in range(3)]
    )
    return ["#" + "".join(f"{round(v):02x}" for v in row) for row in rgb]


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def choropleth_classes(
    values: pd.Series | Sequence[float], measure: Measure | str, *, classes: int = QUANTILE_CLASSES
) -> list[ChoroplethClass]:
    """Give the classes of a choropleth, lightest first: quantile breaks, or IMD's ten deciles.

    Quantiles (equal-count classification): ``classes`` classes with breaks at the
    quantiles of the values, rounded to whole numbers (the measures are counts of people)
    and merged where they coincide, so there may be fewer classes; a class runs from one
    more than the upper value of the class before it. Deciles: always the ten classes 1 to
    10, darkest first, since decile 1 is the most deprived. Missing values are left out;
    with none left there are no classes.

    Parameters
    ----------
    values
        The measure's values over the areas shown.
    measure
        A :class:`Measure` or a key of :data:`MEASURES`.
    classes
        Number of quantile classes wanted.
    """
    if isinstance(measure, str):
        if measure not in MEASURES:
            raise ValidationError([Problem(f"unknown measure '{measure}'", field="measure")])
        measure = MEASURES[measure]
    if measure.kind == "deciles":
        colours = _ramp(10)[::-1]
        labels = {1: "1 most deprived", 10: "10 least deprived"}
        return [ChoroplethClass(d, d, colours[d - 1], labels.get(d, str(d))) for d in range(1, 11)]
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").dropna()
    if numbers.empty:
        return []
    edges = np.unique(np.round(np.quantile(numbers.to_numpy(float), np.linspace(0, 1, classes + 1))))
    uppers = edges[1:] if len(edges) > 1 else edges
    colours = _ramp(len(uppers))
    out = []
    lower = float(edges[0])
    for upper, colour in zip(uppers, colours, strict=True):
        label = _number(upper) if lower == upper else f"{_number(lower)}–{_number(upper)}"
        out.append(ChoroplethClass(lower, float(upper), colour, label))
        lower = float(upper) + 1
    return out


def _class_index(values: pd.Series, classes: Sequence[ChoroplethClass]) -> np.ndarray:
    """Give each value's class (0 = first), or -1 for a missing value."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
    uppers = np.array([c.upper for c in classes], dtype=float)
    index = np.searchsorted(uppers, numbers, side="left").clip(0, max(len(uppers) - 1, 0))
    return np.where(np.isnan(numbers) | (len(uppers) == 0), -1, index)


def available_measures(areas: gpd.GeoDataFrame | None) -> list[str]:
    """Give the keys of :data:`MEASURES` that ``areas`` have values for (none: empty list)."""
    if areas is None:
        return []
    return [key for key, m in MEASURES.items()
            if m.column in areas.columns and pd.to_numeric(areas[m.column], errors="coerce").notna().any()]


_GLYPH_STOPWORDS: Final = frozenset({"a", "an", "and", "for", "in", "of", "the", "to"})


def _glyph_candidates(code: str) -> Iterator[str]:
    words = [w for w in re.split(r"[^0-9A-Za-z]+", code) if w]
    words = [w for w in words if w.lower() not in _GLYPH_STOPWORDS] or words or ["?"]
    first = words[0][0].upper()
    if len(words) > 1:
        yield first + words[1][0].upper()
    for letter in "".join(words)[1:]:
        yield first + letter.lower()
    yield first
    for n in range(2, 1000):
        yield f"{first}{n}"


def category_glyphs(
    codes: Iterable[str], *, symbols: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Give a short symbol for each category code, different for every code.

    A symbol given in ``symbols`` (e.g. a ``symbol`` column of ``data/categories.csv``)
    is used as it is, cut to three characters. Otherwise it is derived from the code, in
    the order given so that earlier categories get the plainer symbols: the initials of
    its first two words (``place_of_worship`` → ``PW``, ``gp_practice`` → ``GP``; "of",
    "the", "for" ... are skipped), or for a one-word code its first two letters
    (``school`` → ``Sc``), then the first letter with each later letter in turn until the
    symbol is free, ignoring case (``respite`` → ``Rs`` after ``residential`` took ``Re``).

    Parameters
    ----------
    codes
        Category codes, in the taxonomy's order; repeats are ignored.
    symbols
        Chosen symbols by code; blank ones are ignored.
    """
    ordered = list(dict.fromkeys(codes))
    chosen = {code: str(symbols[code]).strip()[:3] for code in ordered
              if symbols and code in symbols and str(symbols[code] or "").strip()}
    taken = {g.casefold() for g in chosen.values()}
    out: dict[str, str] = {}
    for code in ordered:
        if code in chosen:
            out[code] = chosen[code]
            continue
        glyph = next(g for g in _glyph_candidates(code) if g.casefold() not in taken)
        taken.add(glyph.casefold())
        out[code] = glyph
    return out


def _category_tables(
    labels: Mapping[str, str] | None, symbols: Mapping[str, str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Give (label by code, chosen symbol by code), by default from ``data/categories.csv``."""
    if labels is not None:
        return dict(labels), dict(symbols or {})
    from mapping.register.taxonomy import load_categories

    table = load_categories()
    found = dict(zip(table["code"], table["label"], strict=True))
    if symbols is None and "symbol" in table.columns:
        symbols = dict(zip(table["code"], table["symbol"], strict=True))
    return found, dict(symbols or {})
