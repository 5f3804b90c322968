"""The measures a lot design balances: population, 65+, a deprivation-weighted demand estimate, or any column.

:func:`measure_values` checks a measure per area (numbers, none negative);
:func:`with_small_area_totals` gives wards the sums of their LSOAs' figures, each LSOA
counted in the ward holding its inside point (2021 LSOAs do not nest exactly in the 2022
wards).
"""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import pandas as pd

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.places.areas import lookup_by_location

#: The balance measures a design offers by default, and how pages name them.
MEASURES: Final = {
    S.POPULATION: "population (the small areas' population table)",
    S.POPULATION_65_PLUS: "people aged 65+ (the same table)",
    "demand_estimate": "demand estimate: people aged 65+ weighted by deprivation "
                       "(IMD decile 1 counts double)",
    "homecare_hours": "current homecare hours (when a table of them is imported)",
}

#: The measures in a few words, for headings and sentences ("balanced on residents").
MEASURE_WORDS: Final = {
    S.POPULATION: "residents",
    S.POPULATION_65_PLUS: "people aged 65+",
    "demand_estimate": "the demand estimate (65+ weighted by deprivation)",
    "homecare_hours": "current homecare hours",
}


def measure_words(measure: str) -> str:
    """Give a measure in a few words (an imported column's name with spaces for underscores)."""
    return MEASURE_WORDS.get(measure, measure.replace("_", " "))


def measure_values(areas: pd.DataFrame, measure: str) -> pd.Series:
    """Give the balance measure per area (indexed like ``areas``), checked: numbers, none negative.

    ``demand_estimate`` is people aged 65+ weighted by deprivation
    (:func:`mapping.access.inputs.demand_from_areas` with IMD weighting); any other name
    is read from the column of that name (e.g. ``homecare_hours`` once imported).
    """
    if measure == "demand_estimate" and measure in areas.columns:
        values = pd.to_numeric(areas[measure], errors="coerce")
    elif measure == "demand_estimate":
        if S.POPULATION_65_PLUS not in areas.columns or S.IMD_DECILE not in areas.columns:
            raise ValidationError([Problem(
                f"the demand estimate needs '{S.POPULATION_65_PLUS}' and '{S.IMD_DECILE}' on the "
                "layer; design on LSOAs, or on wards with their LSOA totals", field="measure")])
        weight = 1 + (10 - pd.to_numeric(areas[S.IMD_DECILE], errors="coerce")) / 9
        values = pd.to_numeric(areas[S.POPULATION_65_PLUS], errors="coerce") * weight
    elif measure not in areas.columns:
        have = [c for c in areas.columns if c not in (S.AREA_CODE, S.AREA_NAME, "geometry")]
        raise ValidationError([Problem(
            f"the layer has no '{measure}' column (it has: {', '.join(map(str, have)) or 'none'});"
            " import a table of it with `mapping import-table`", field="measure")])
    else:
        values = pd.to_numeric(areas[measure], errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        codes = areas.loc[bad, S.AREA_CODE].astype(str).tolist()
        raise ValidationError(
            [Problem(f"area '{c}' has no {measure} value, or a negative one", field=measure)
             for c in codes], summary=f"{int(bad.sum())} areas cannot be balanced on {measure}")
    if float(values.sum()) <= 0:
        raise ValidationError([Problem(f"every area has {measure} 0", field=measure)])
    return values.astype(float)


def available_measures(areas: pd.DataFrame) -> list[str]:
    """Give the balance measures the layer can offer, in :data:`MEASURES` order."""
    out = [m for m in MEASURES if m in areas.columns]
    if "demand_estimate" not in out and S.POPULATION_65_PLUS in areas.columns \
            and S.IMD_DECILE in areas.columns:
        out.insert(min(2, len(out)), "demand_estimate")
    return out


def with_small_area_totals(zones: gpd.GeoDataFrame, small_areas: gpd.GeoDataFrame,
                           columns: list[str]) -> gpd.GeoDataFrame:
    """Give zones (e.g. wards) with the sums of small-area columns (e.g. LSOA population).

    Each small area counts wholly in the zone holding its representative point
    (:func:`mapping.places.areas.lookup_by_location`); 2021 LSOAs do not nest exactly in
    the 2022 wards, so a ward total is close to, not exactly, its own census count.
    ``imd_decile`` becomes the population-weighted mean decile, rounded.
    """
    zone_key = "_zone"
    lookup = lookup_by_location(small_areas, zones.assign(**{zone_key: zones[S.AREA_CODE]}),
                                zone_column=zone_key)
    table = small_areas.drop(columns="geometry").merge(lookup.rename(
        columns={S.PATCH: zone_key}), on=S.AREA_CODE)
    sums = table.groupby(zone_key)[[c for c in columns if c != S.IMD_DECILE]].sum()
    if S.IMD_DECILE in columns and S.POPULATION in table.columns:
        weighted = (table[S.IMD_DECILE].astype(float) * table[S.POPULATION]).groupby(
            table[zone_key]).sum() / table.groupby(zone_key)[S.POPULATION].sum()
        sums[S.IMD_DECILE] = weighted.round()
    out = zones.drop(columns=[c for c in columns if c in zones.columns]).join(
        sums, on=S.AREA_CODE)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=zones.crs)
