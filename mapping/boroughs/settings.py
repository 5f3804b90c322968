"""The borough a store is set up for: its name, codes, funder, living-wage rule and wording.

A borough's manifest writes them into the store (:func:`save_borough`) and every page,
command and export reads them from there (:func:`store_borough`), so nothing in the code
is fixed to one council. The living-wage rule follows the region: the London Living Wage
in London, the Real Living Wage elsewhere, with the rate from ``data/living_wage.csv``
(Living Wage Foundation) unless the manifest names another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Final

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mapping.config import REFERENCE_DIR, Settings
from mapping.errors import MappingError, Problem, ValidationError
from mapping.store.models import BoroughRecord, DataSource

LONDON: Final = "London"
LONDON_LIVING_WAGE: Final = "London Living Wage"
REAL_LIVING_WAGE: Final = "Real Living Wage"
#: The wording keys a manifest may set, and what they are shown for.
WORDING_KEYS: Final = {
    "no_patches": "said wherever the roll-up is by ward because no patch set is loaded",
    "lot_rules": "the lotting rules, as the council words them",
}
_GSS_BOROUGH: Final = ("E06", "E07", "E08", "E09", "W06")


class BoroughMismatchError(MappingError, ValueError):
    """A manifest or setting names another borough than the one the store was loaded for."""


@dataclass(frozen=True)
class Borough:
    """Who the store is for. Only ``code`` and ``name`` are needed; the rest has defaults."""

    code: str
    """ONS GSS code of the local authority, e.g. E09000025."""
    name: str
    """Short name shown in the app, e.g. Newham."""
    full_name: str | None = None
    """Formal name, e.g. London Borough of Newham (default: the name)."""
    region: str | None = None
    """ONS region, e.g. London: it decides the living-wage rule."""
    funder_org_id: str | None = None
    """The council's org-id for 360Giving (org-id.guide list GB-LAE), e.g. GB-LAE-NWM."""
    funder_name: str | None = None
    """The funder's name in 360Giving files (default: the formal name)."""
    living_wage: str | None = None
    """The living wage the lot rules ask for (default: by region)."""
    wording: Mapping[str, str] = field(default_factory=dict)
    """Council-specific sentences (:data:`WORDING_KEYS`)."""
    manifest: str | None = None
    """The manifest the store was loaded from."""

    def __post_init__(self) -> None:
        problems = []
        if not self.code or self.code[:3] not in _GSS_BOROUGH or len(self.code) != 9:
            problems.append(Problem(f"'{self.code}' is not the ONS GSS code of a local authority "
                                    "(E06, E07, E08, E09 or W06 and six digits)", field="code"))
        if not self.name.strip():
            problems.append(Problem("the borough needs a name", field="name"))
        unknown = sorted(set(self.wording) - set(WORDING_KEYS))
        if unknown:
            problems.append(Problem(f"unknown wording keys {unknown}; known: "
                                    f"{sorted(WORDING_KEYS)}", field="wording"))
        if problems:
            raise ValidationError(problems, summary="the borough is not valid")

    @property
    def formal_name(self) -> str:
        """Give the formal name, or the short one."""
        return self.full_name or self.name

    @property
    def living_wage_name(self) -> str:
        """Give the living wage the rules ask for: the manifest's, else by region."""
        return self.living_wage or (LONDON_LIVING_WAGE if self.region == LONDON else REAL_LIVING_WAGE)

    def text(self, key: str, default: str) -> str:
        """Give the council's own sentence for ``key``, or ``default``."""
        return self.wording.get(key) or default


@cache
def living_wage_rates() -> pd.DataFrame:
    """Give the published living-wage rates (``data/living_wage.csv``), newest year first."""
    table = pd.read_csv(REFERENCE_DIR / "living_wage.csv", dtype=str, keep_default_na=False)
    return table.sort_values("year", ascending=False, kind="stable").reset_index(drop=True)


def living_wage_rule(borough: Borough | None) -> str:
    """Give the lot rule in words, with the newest published rate when the table has one.

    Without a borough (a store never told), the Real Living Wage.
    """
    wage = borough.living_wage_name if borough is not None else REAL_LIVING_WAGE
    rates = living_wage_rates()
    found = rates[rates["name"] == wage]
    rule = f"pays the {wage}"
    if found.empty:
        return rule
    row = found.iloc[0]
    return (f"{rule} (£{row['rate_gbp_per_hour']} an hour for {row['year']}, "
            f"{row['source']}, announced {row['announced']})")


def funder(borough: Borough | None, *, id_prefix: str) -> tuple[str, str]:
    """Give the 360Giving funder's org-id and name: the borough's, else a labelled placeholder.

    Without an org-id (org-id.guide list GB-LAE) the id is ``360G-<prefix>-LA-<GSS code>``,
    which says plainly that it is not a registered identifier.
    """
    code = borough.code if borough is not None else "unknown"
    org_id = (borough.funder_org_id if borough is not None else None) or f"360G-{id_prefix}-LA-{code}"
    name = ((borough.funder_name or borough.formal_name) if borough is not None
            else "the council (no borough is loaded)")
    return org_id, name


def _from_record(record: BoroughRecord) -> Borough:
    return Borough(code=record.code, name=record.name, full_name=record.full_name,
                   region=record.region, funder_org_id=record.funder_org_id,
                   funder_name=record.funder_name, living_wage=record.living_wage,
                   wording=dict(record.wording or {}), manifest=record.manifest)


def store_borough(session: Session) -> Borough | None:
    """Give the borough the store was loaded for, or ``None`` when it was never told."""
    record = session.scalar(select(BoroughRecord).order_by(BoroughRecord.id))
    return None if record is None else _from_record(record)


def save_borough(session: Session, borough: Borough, *, replace: bool = False) -> None:
    """Record ``borough`` as the store's (in the caller's transaction).

    Raises
    ------
    BoroughMismatchError
        If the store was loaded for another borough and ``replace`` is false.
    """
    record = session.scalar(select(BoroughRecord).order_by(BoroughRecord.id))
    if record is not None and record.code != borough.code and not replace:
        raise BoroughMismatchError(
            f"this store holds {record.name} ({record.code}), not {borough.name} "
            f"({borough.code}); use a new store for another council, or give --replace-borough "
            "to load it over this one")
    if record is None:
        record = BoroughRecord(code=borough.code, wording={})
        session.add(record)
    elif record.code != borough.code:
        # Another council: none of the old one's layer roles or loaded files speak for it.
        record.small_area_layer = record.ward_layer = record.outline_layer = None
        session.execute(delete(DataSource))
    record.code, record.name, record.full_name = borough.code, borough.name, borough.full_name
    record.region, record.funder_org_id = borough.region, borough.funder_org_id
    record.funder_name, record.living_wage = borough.funder_name, borough.living_wage
    record.wording, record.manifest = dict(borough.wording), borough.manifest
    record.loaded_at = datetime.now(UTC)
    session.flush()


def borough_for(session: Session, settings: Settings) -> Borough | None:
    """Give the store's borough, checked against ``MAPPING_BOROUGH_CODE`` when that is set.

    Raises
    ------
    BoroughMismatchError
        If the setting names another borough than the store holds.
    """
    borough = store_borough(session)
    if borough is not None and settings.borough_code and settings.borough_code != borough.code:
        raise BoroughMismatchError(
            f"MAPPING_BOROUGH_CODE is {settings.borough_code} but this store holds "
            f"{borough.name} ({borough.code}): unset it, or point MAPPING_DATABASE_URL at "
            f"the store for {settings.borough_code}")
    return borough


def borough_name(session: Session, settings: Settings) -> str:
    """Give the name to show: the store's borough, else ``MAPPING_BOROUGH_NAME``, else "the borough"."""
    borough = borough_for(session, settings)
    return borough.name if borough is not None else (settings.borough_name or "the borough")
