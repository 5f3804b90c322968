"""What each lot contains, two designs side by side, and the lotting rules.

Profiles count people and places per lot: area, residents and people aged 65+
(the borough's population table), the IMD 2019 mix, sites by category and by ownership class
(CLES), the generative share, providers with an office inside the lot, and people
in gap areas per category (:mod:`mapping.access.analysis`). Rules are the
patch-based homecare lotting rules (DESIGN.md "Patches and lots"): one lot per provider,
an office in the borough, the living wage (the London Living Wage in London, the Real
Living Wage elsewhere: :func:`mapping.boroughs.settings.living_wage_rule`) and UNISON's
ethical care charter. Pure functions; :func:`profile_inputs_from_store` does the reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.places.areas import area_km2, lookup_by_location, require_crs
from mapping.places.postcodes import PostcodeIndex

#: The lotting rules checked, as reports name them.
RULES: Final = {
    "one_lot": "one lot per provider",
    S.OFFICE_IN_BOROUGH: "office in the borough",
    S.LIVING_WAGE: "pays the Real Living Wage",
    S.ETHICAL_CARE_CHARTER: "follows UNISON's ethical care charter",
}
#: Column of an allocation file naming the lot.
LOT: Final = "lot"
IMD_QUINTILES: Final = ("1 (most deprived)", "2", "3", "4", "5 (least deprived)")


#: The profile columns a page shows unless more are asked for.
DEFAULT_COLUMNS: Final = ("areas", "area_km2", S.POPULATION, S.POPULATION_65_PLUS,
                          "share_65_plus", "imd_q1", "imd_mean_decile", "generative_share",
                          "providers_with_office")
_FIXED: Final = {  # column: (heading with its unit, how a value is shown, group)
    "areas": ("Areas (number)", "count", "Size"),
    "area_km2": ("Land area (km²)", "km2", "Size"),
    S.POPULATION: ("Residents (people)", "count", "People"),
    S.POPULATION_65_PLUS: ("Aged 65 and over (people)", "count", "People"),
    "share_65_plus": ("Aged 65 and over (% of residents)", "share", "People"),
    "imd_q1": ("In the most deprived fifth of England (people)", "count", "Deprivation"),
    "imd_q2": ("In the second most deprived fifth (people)", "count", "Deprivation"),
    "imd_q3": ("In the middle fifth (people)", "count", "Deprivation"),
    "imd_q4": ("In the second least deprived fifth (people)", "count", "Deprivation"),
    "imd_q5": ("In the least deprived fifth (people)", "count", "Deprivation"),
    "imd_mean_decile": ("Mean IMD decile (1 = most deprived)", "decile", "Deprivation"),
    "owner_generative": ("Sites of generative owners (number)", "count", "Ownership"),
    "owner_extractive": ("Sites of extractive owners (number)", "count", "Ownership"),
    "owner_in-house": ("Sites run in-house (number)", "count", "Ownership"),
    "owner_unknown": ("Sites whose owner's class is unknown (number)", "count", "Ownership"),
    "generative_share": ("Generative share (% of sites whose owner's class is known)", "share",
                         "Ownership"),
    "providers_with_office": ("Providers with an office in the lot (number)", "count",
                              "Providers"),
    "provider_names": ("Providers with an office in the lot (names)", "text", "Providers"),
}


def profile_columns(columns: Iterable[str], labels: Mapping[str, str] | None = None
                    ) -> list[dict[str, object]]:
    """Give each profile column as a page shows it: ``code``, ``heading`` (plain words with
    the unit), ``kind`` (count, km2, share, decile or text), ``group`` and ``default``
    (shown unless more are asked for). ``labels`` names the categories (code → label)."""
    labels = labels or {}
    out: list[dict[str, object]] = []
    for code in columns:
        if code in _FIXED:
            heading, kind, group = _FIXED[code]
        elif code.startswith("sites_"):
            what = labels.get(code.removeprefix("sites_"), code.removeprefix("sites_"))
            heading, kind, group = f"{what}: sites (number)", "count", "Sites by category"
        elif code.startswith("gap_people_"):
            what = labels.get(code.removeprefix("gap_people_"), code.removeprefix("gap_people_"))
            heading, kind, group = f"{what}: people in gap areas", "count", "Gaps"
        else:
            heading, kind, group = code.replace("_", " ").capitalize(), "count", "Other"
        out.append({"code": code, "heading": heading, "kind": kind, "group": group,
                    "default": code in DEFAULT_COLUMNS})
    return out


@dataclass
class ProfileInputs:
    """What a lot profile reads: small areas with people and IMD, the register, offices, gaps."""

    small_areas: gpd.GeoDataFrame
    assets: gpd.GeoDataFrame
    offices: gpd.GeoDataFrame
    """Organisations located at their postcode (``external_id``, ``name``, points)."""
    gaps: dict[str, pd.DataFrame]
    """Category → per small area ``code``, ``people``, ``gap`` (may be empty)."""
    gap_method: str = ""


def _small_area_lots(small_areas: gpd.GeoDataFrame, lots: gpd.GeoDataFrame) -> pd.Series:
    """Give each small area's lot: its own code's lot, else the lot holding its inside point."""
    codes = small_areas[S.AREA_CODE].astype(str)
    members = lots[[S.PATCH, "area_codes"]].explode("area_codes")
    direct = members.set_index("area_codes")[S.PATCH]
    if codes.isin(direct.index).all():
        return pd.Series(codes.map(direct).to_numpy(), index=codes.to_numpy())
    by_point = lookup_by_location(small_areas, lots, zone_column=S.PATCH).set_index(S.AREA_CODE)
    return pd.Series(codes.map(by_point[S.PATCH]).to_numpy(), index=codes.to_numpy())


def _points_in_lots(points: gpd.GeoDataFrame, lots: gpd.GeoDataFrame) -> pd.Series:
    """Give each point's lot (``None`` outside every lot), indexed like ``points``."""
    if points.empty:
        return pd.Series([], dtype=object)
    joined = gpd.sjoin(points[["geometry"]].to_crs(S.METRIC_CRS),
                       lots[[S.PATCH, "geometry"]].to_crs(S.METRIC_CRS),
                       how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined[S.PATCH].reindex(points.index)


def lot_profile(lots: gpd.GeoDataFrame, inputs: ProfileInputs) -> pd.DataFrame:
    """Give one row per lot: people, IMD mix, sites, ownership, offices, people in gap areas.

    Parameters
    ----------
    lots
        A design's or patch set's lots: ``patch``, ``area_codes``, outlines.
    inputs
        :class:`ProfileInputs`. Small areas (2021 LSOAs) count in the lot that
        holds them (by code when the lots are made of them, else by inside point);
        sites and offices by the lot their point falls in.

    Notes
    -----
    ``generative_share`` is generative sites ÷ sites whose owner's class is known
    (generative, extractive or in-house), as in CLES's benchmarking; it is empty
    when no site's owner is known. ``imd_q1`` … are residents by IMD 2019 quintile
    (q1 the most deprived fifth of England).
    """
    require_crs(lots, what="lots")
    names = lots[S.PATCH].astype(str).tolist()
    out = pd.DataFrame(index=pd.Index(names, name=LOT))
    out["areas"] = lots["area_codes"].map(len).to_numpy()
    out["area_km2"] = area_km2(lots).round(2).to_numpy()
    small = inputs.small_areas
    lot_of = _small_area_lots(small, lots)
    table = small.drop(columns="geometry").assign(_lot=lot_of.to_numpy())
    for column in (S.POPULATION, S.POPULATION_65_PLUS):
        if column in table.columns:
            out[column] = pd.to_numeric(table[column], errors="coerce").groupby(
                table["_lot"]).sum().reindex(names).fillna(0).round().astype(int)
    if S.POPULATION in out.columns and S.POPULATION_65_PLUS in out.columns:
        out["share_65_plus"] = (out[S.POPULATION_65_PLUS] / out[S.POPULATION]).round(3)
    if S.IMD_DECILE in table.columns and S.POPULATION in table.columns:
        decile = pd.to_numeric(table[S.IMD_DECILE], errors="coerce")
        quintile = np.ceil(decile / 2)
        people = pd.to_numeric(table[S.POPULATION], errors="coerce").fillna(0)
        for q in range(1, 6):
            out[f"imd_q{q}"] = people.where(quintile == q, 0).groupby(
                table["_lot"]).sum().reindex(names).fillna(0).round().astype(int)
        out["imd_mean_decile"] = ((decile * people).groupby(table["_lot"]).sum()
                                  / people.where(decile.notna(), 0).groupby(table["_lot"]).sum()
                                  ).reindex(names).round(2)
    assets = inputs.assets
    site_lot = _points_in_lots(assets, lots)
    for category, rows in assets.groupby(S.CATEGORY, sort=True):
        out[f"sites_{category}"] = site_lot[rows.index].value_counts().reindex(
            names).fillna(0).astype(int)
    for cls in S.OWNERSHIP_CLASSES:
        mask = assets[S.OWNERSHIP_CLASS].fillna("unknown") == cls
        out[f"owner_{cls}"] = site_lot[mask].value_counts().reindex(names).fillna(0).astype(int)
    known = out["owner_generative"] + out["owner_extractive"] + out["owner_in-house"]
    out["generative_share"] = (out["owner_generative"] / known.where(known > 0)).round(3)
    office_lot = _points_in_lots(inputs.offices, lots)
    offices = inputs.offices.assign(_lot=office_lot)
    out["providers_with_office"] = offices.groupby("_lot").size().reindex(names).fillna(
        0).astype(int)
    out["provider_names"] = offices.groupby("_lot")[S.NAME].agg(
        lambda s: "; ".join(sorted(map(str, s)))).reindex(names).fillna("")
    for category, gaps in sorted(inputs.gaps.items()):
        gap_people = gaps.assign(_lot=gaps[S.AREA_CODE].astype(str).map(lot_of))
        flagged = gap_people["people"].where(gap_people["gap"].fillna(False).astype(bool), 0)
        out[f"gap_people_{category}"] = flagged.groupby(gap_people["_lot"]).sum().reindex(
            names).fillna(0).round().astype(int)
    return out


def compare_designs(a: pd.DataFrame, b: pd.DataFrame, *, label_a: str, label_b: str
                    ) -> pd.DataFrame:
    """Give two designs' profiles summed up side by side: one row per figure, a column each.

    For each numeric profile column: the smallest and largest lot, and for people
    the largest deviation from an equal share, so balance and spread compare at a glance.
    When the labels are the same (a set beside itself), ``label_b`` gets " (2)" so both
    columns stay.
    """
    if label_b == label_a:
        label_b = f"{label_b} (2)"
    rows: list[dict[str, object]] = [{"figure": "lots", label_a: len(a), label_b: len(b)}]
    columns = [c for c in a.columns if c in b.columns and c != "provider_names"
               and pd.api.types.is_numeric_dtype(a[c]) and pd.api.types.is_numeric_dtype(b[c])]
    for column in columns:
        for how in ("smallest", "largest"):
            pick = (lambda s: s.min()) if how == "smallest" else (lambda s: s.max())
            rows.append({"figure": f"{column}: {how} lot", label_a: pick(a[column]),
                         label_b: pick(b[column])})
        if column in (S.POPULATION, S.POPULATION_65_PLUS):
            rows.append({"figure": f"{column}: largest deviation from an equal share",
                         label_a: _deviation(a[column]), label_b: _deviation(b[column])})
    return pd.DataFrame(rows).set_index("figure")


def figure_words(figure: str, headings: Mapping[str, str]) -> str:
    """Give a :func:`compare_designs` figure with its column's heading: "Residents (people):
    smallest lot" for "population: smallest lot"."""
    column, _, how = str(figure).partition(": ")
    return f"{headings.get(column, column)}: {how}" if how else headings.get(column, column)


def _deviation(values: pd.Series) -> float:
    mean = float(values.mean())
    return round(float((values / mean - 1).abs().max()), 4) if mean else float("nan")


def read_allocation(frame: pd.DataFrame, *, file: str = "allocation",
                    lots: Iterable[str] | None = None) -> pd.DataFrame:
    """Give a provider → lot allocation (``organisation_external_id``, ``lot``), checked.

    Every row needs an organisation id and a lot; with ``lots``, each lot must be
    one of them. All problems are raised together, naming file, row and field.
    """
    org_column = next((c for c in (S.ORGANISATION_ID, S.EXTERNAL_ID) if c in frame.columns), None)
    problems = []
    if org_column is None:
        problems.append(Problem(f"no '{S.ORGANISATION_ID}' column", field=S.ORGANISATION_ID,
                                file=file))
    if LOT not in frame.columns:
        problems.append(Problem(f"no '{LOT}' column", field=LOT, file=file))
    if problems:
        raise ValidationError(problems, summary=f"{file}: not an allocation of providers to lots")
    orgs = frame[org_column].astype("string").str.strip()
    lot = frame[LOT].astype("string").str.strip()
    allowed = set(lots) if lots is not None else None
    for i in range(len(frame)):
        if pd.isna(orgs.iloc[i]) or not orgs.iloc[i]:
            problems.append(Problem("organisation id is empty", row=i + 1, field=org_column,
                                    file=file))
        if pd.isna(lot.iloc[i]) or not lot.iloc[i]:
            problems.append(Problem("lot is empty", row=i + 1, field=LOT, file=file))
        elif allowed is not None and lot.iloc[i] not in allowed:
            problems.append(Problem(f"lot '{lot.iloc[i]}' is not in the design (lots: "
                                    f"{', '.join(sorted(allowed))})", row=i + 1, field=LOT,
                                    file=file))
    if problems:
        raise ValidationError(problems, summary=f"{file}: the allocation is not valid")
    return pd.DataFrame({S.ORGANISATION_ID: orgs.astype(str), LOT: lot.astype(str)})


def check_lot_rules(organisations: pd.DataFrame, allocation: pd.DataFrame | None = None, *,
                    living_wage_rule: str = RULES[S.LIVING_WAGE]
                    ) -> pd.DataFrame:
    """Give every breach of the lotting rules: organisation, rule, ``violation`` or ``unknown``.

    Parameters
    ----------
    organisations
        The register's organisations (``organisations_frame``): ``external_id``,
        ``name`` and the flags ``office_in_borough``, ``living_wage``,
        ``ethical_care_charter`` (True, False or empty).
    allocation
        Which provider delivers which lot (:func:`read_allocation`). Only allocated
        providers are checked; without one, every organisation's flags are checked
        and "one lot per provider" cannot be.

    Returns
    -------
    pandas.DataFrame
        ``organisation_external_id``, ``organisation``, ``rule``, ``status`` and
        ``detail``. A flag that is False is a ``violation``; an empty flag is
        ``unknown`` (never assumed either way).
    """
    orgs = organisations.set_index(S.EXTERNAL_ID, drop=False)
    rows: list[dict[str, object]] = []
    if allocation is not None:
        unknown = sorted(set(allocation[S.ORGANISATION_ID]) - set(orgs.index))
        if unknown:
            raise ValidationError([Problem(f"organisation '{o}' is not in the register",
                                           field=S.ORGANISATION_ID) for o in unknown],
                                  summary="the allocation names organisations not in the register")
        checked = list(dict.fromkeys(allocation[S.ORGANISATION_ID]))
        for org, lots in allocation.groupby(S.ORGANISATION_ID, sort=True)[LOT]:
            distinct = sorted(set(lots))
            if len(distinct) > 1:
                rows.append({S.ORGANISATION_ID: org, "organisation": orgs.at[org, S.NAME],
                             "rule": RULES["one_lot"], "status": "violation",
                             "detail": f"allocated {len(distinct)} lots: {', '.join(distinct)}"})
    else:
        checked = list(orgs.index)
    for org in checked:
        for flag in (S.OFFICE_IN_BOROUGH, S.LIVING_WAGE, S.ETHICAL_CARE_CHARTER):
            value = orgs.at[org, flag] if flag in orgs.columns else None
            if value is None or pd.isna(value):
                status, detail = "unknown", "not recorded: ask the provider"
            elif not bool(value):
                status, detail = "violation", "recorded as no"
            else:
                continue
            rows.append({S.ORGANISATION_ID: org, "organisation": orgs.at[org, S.NAME],
                         "rule": living_wage_rule if flag == S.LIVING_WAGE else RULES[flag],
                         "status": status, "detail": detail})
    out = pd.DataFrame(rows, columns=[S.ORGANISATION_ID, "organisation", "rule", "status",
                                      "detail"])
    order = {"violation": 0, "unknown": 1}
    return out.sort_values(["status", "organisation", "rule"],
                           key=lambda s: s.map(order) if s.name == "status" else s
                           ).reset_index(drop=True)


def offices_from_organisations(organisations: pd.DataFrame, *, index: PostcodeIndex | None = None
                               ) -> gpd.GeoDataFrame:
    """Give organisations located at their postcode (OS Code-Point Open, then any further
    source ``index`` has); those without a known postcode are left out."""
    from mapping.places.geocode import geocode_frame

    frame = organisations[[S.EXTERNAL_ID, S.NAME, S.POSTCODE]].copy()
    located = geocode_frame(frame[frame[S.POSTCODE].notna()], index=index)
    located = located[located["problem"].isna()]
    return gpd.GeoDataFrame(located[[S.EXTERNAL_ID, S.NAME]].reset_index(drop=True),
                            geometry=gpd.points_from_xy(located[S.LON], located[S.LAT]),
                            crs=S.STORAGE_CRS)


def profile_inputs_from_store(session: Session, *, gaps: bool = True) -> ProfileInputs:
    """Give the profile inputs: the small areas, active sites, offices and (``gaps``) the gap
    analysis of every category with sites, at its default options."""
    from mapping.access.analysis import GapOptions, analyse_gaps, inputs_from_store
    from mapping.places.postcode_store import stored_index
    from mapping.register.records import organisations_frame

    base = inputs_from_store(session)
    offices = offices_from_organisations(organisations_frame(session), index=stored_index(session))
    found: dict[str, pd.DataFrame] = {}
    method = ""
    if gaps:
        for category in sorted(base.assets[S.CATEGORY].dropna().unique()):
            result = analyse_gaps(base.areas, base.assets, options=GapOptions(category=category),
                                  patches=base.patches, patch_source=base.patch_source)
            found[str(category)] = pd.DataFrame(result.areas[[S.AREA_CODE, "people", "gap"]])
            method = result.method
    return ProfileInputs(small_areas=base.areas, assets=base.assets, offices=offices,
                         gaps=found, gap_method=method)
