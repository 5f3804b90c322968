"""The micro-fund plan's funded rows as a 360Giving Standard JSON package (a plan, not awards).

References
----------
360Giving (2024) The 360Giving Data Standard, https://standard.threesixtygiving.org/
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

import pandas as pd

from mapping import schema as S
from mapping.errors import Problem, ValidationError
from mapping.frames import is_missing, require_columns
from mapping.funding.plan import (
    AMOUNT_GBP,
    GRANTS,
    HOST_ORGANISATION_ID,
    HOST_ORGANISATION_NAME,
    HOST_SITE_ID,
    HOST_SITE_NAME,
    PEOPLE_IN_GAP_AREAS,
    RANK,
)

_ORG_ID = re.compile(r"^(?:[A-Z]{2}-[A-Z0-9]{2,10}|360G)-\S+$")
_GSS = re.compile(r"^[ENSW]\d{8}$")
_GEO_CODE_TYPES: Final = {
    "E00": "OA", "W00": "OA", "S00": "OA", "E01": "LSOA", "W01": "LSOA", "E02": "MSOA", "W02": "MSOA",
    "S01": "DZ", "E04": "PAR", "E05": "WD", "W05": "WD", "S13": "WD", "E06": "UA", "W06": "UA",
    "E07": "NMD", "E08": "MD", "E09": "LONB", "S12": "CA",
}


def grants_to_360giving(
    plan: pd.DataFrame,
    *,
    funder_org_id: str,
    funder_name: str,
    award_date: date | str,
    id_prefix: str,
    currency: str = "GBP",
    category_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Give the plan's funded rows as a 360Giving Standard package: ``{"grants": [...]}``.

    Each grant has the fields the 360Giving Standard requires: ``id``,
    ``title``, ``description``, ``currency``, ``amountAwarded``, ``awardDate``,
    ``recipientOrganization`` and ``fundingOrganization`` (each ``[{id,
    name}]``), and a ``beneficiaryLocation`` for the patch (with ``geoCode`` and
    ``geoCodeType`` when the patch is an ONS GSS code).

    Ids use the funder's registered 360Giving prefix: ``360G-<prefix>-...``
    (``id_prefix`` may be given with or without ``360G-``). A planned grant has
    no recipient yet. Until the new group is known, the recipient is the host
    site's organisation when there is one (its org-id if it has one in an
    org-id scheme such as GB-CHC, else ``360G-<prefix>-ORG-<id>``). Otherwise it
    is a placeholder named "To be awarded: ..." with id ``360G-<prefix>-TBA-...``.
    Replace it with the real group when the grant is awarded.

    Titles, descriptions and placeholders name the category by its label in
    ``category_labels`` (code → label, e.g. ``data/categories.csv``), so a reader sees
    "Memory café", not ``memory_cafe``; a code without a label is used as it is.
    Ids always use the code.

    Raises
    ------
    ValidationError
        If an argument is empty or malformed, or no row of the plan is funded
        (the package schema needs at least one grant).
    """
    local_prefix = re.sub(r"^360G-", "", str(id_prefix).strip(), flags=re.IGNORECASE)
    problems = [Problem("must not be empty", field=name) for name, value in
                (("funder_org_id", funder_org_id), ("funder_name", funder_name), ("id_prefix", local_prefix))
                if not str(value).strip()]
    if not re.fullmatch(r"[A-Z]{3}", currency):
        problems.append(Problem("must be an ISO 4217 code such as GBP", field="currency"))
    when = _iso_date(award_date, problems)
    require_columns(plan, [RANK, S.PATCH, S.CATEGORY, GRANTS, AMOUNT_GBP], "plan")
    funded = plan[plan[GRANTS] > 0]
    if funded.empty:
        problems.append(Problem("no row of the plan has a grant; a 360Giving package needs one"))
    if problems:
        raise ValidationError(problems, summary="cannot export 360Giving grants")

    prefix = f"360G-{local_prefix}"
    funder = [{"id": funder_org_id.strip(), "name": funder_name.strip()}]
    grants = []
    for row in funded.to_dict("records"):
        patch, code = str(row[S.PATCH]), str(row[S.CATEGORY])
        category = (category_labels or {}).get(code, code)
        local = f"{when}-{int(row[RANK]):03d}-{_slug(patch)}-{_slug(code)}"
        host_name = _text(row.get(HOST_SITE_NAME)) or _text(row.get(HOST_SITE_ID))
        description = f"Planned micro-grant to help a new {category} group start in {patch}"
        people = row.get(PEOPLE_IN_GAP_AREAS)
        if not is_missing(people):
            description += f", where {float(people):,.0f} people live in areas with a gap in provision"
        description += f" (rank {int(row[RANK])} of the micro-fund plan)."
        if host_name:
            description += f" Suggested host site: {host_name}."
        grant: dict[str, Any] = {
            "id": f"{prefix}-{local}",
            "title": f"Micro-grant: new {category} group in {patch}"[:140],
            "description": description,
            "currency": currency,
            "amountAwarded": float(row[AMOUNT_GBP]),
            "awardDate": when,
            "recipientOrganization": [_recipient(row, prefix, local, category, patch, host_name)],
            "fundingOrganization": funder,
            "beneficiaryLocation": [_location(patch)],
        }
        grants.append(grant)
    return {"grants": grants}


def _recipient(
    row: Mapping[str, Any], prefix: str, local: str, category: str, patch: str, host_name: str
) -> dict[str, str]:
    org_id = _text(row.get(HOST_ORGANISATION_ID))
    if org_id:
        name = _text(row.get(HOST_ORGANISATION_NAME)) or host_name or org_id
        return {"id": org_id if _ORG_ID.match(org_id) else f"{prefix}-ORG-{_slug(org_id)}", "name": name}
    where = f"meeting at {host_name}" if host_name else f"in {patch}"
    return {"id": f"{prefix}-TBA-{local}", "name": f"To be awarded: new {category} group {where}"}


def _location(patch: str) -> dict[str, str]:
    location = {"name": patch, "countryCode": "GB"}
    if _GSS.match(patch) and patch[:3] in _GEO_CODE_TYPES:
        location.update(geoCode=patch, geoCodeType=_GEO_CODE_TYPES[patch[:3]])
    return location


def _iso_date(value: date | str, problems: list[Problem]) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        problems.append(Problem(f"must be a date YYYY-MM-DD, got {value!r}", field="award_date"))
        return ""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "x"


def _text(value: Any) -> str:
    return "" if is_missing(value) else str(value).strip()
