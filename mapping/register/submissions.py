"""Community submissions: residents propose an asset or an idea; officers approve or reject it.

This is co-production ("come to us with your ideas", CLES): anyone may send the
public form, and what they send waits in a pending queue that nothing public
reads. An officer then either

- **approves** it: it becomes an asset through the same validation and write
  path as a file import (:func:`mapping.importers.prepare_assets` on a one-row
  frame, then :func:`mapping.register.upsert_records`), with ``source``
  ``"submission"``, external id ``submission:<id>``, a licence and attribution
  saying a resident contributed it, and a history row with action ``approve``;
- or **rejects** it with a reason.

Deciding twice is refused with :class:`SubmissionDecidedError` (HTTP 409). The
submitter's contact is for officers only: it is copied into the asset only when
the officer asks for it (``overrides={"contact": ...}``). No IP address is
stored; :func:`address_hash` gives a keyed hash for abuse handling instead.

No Flask here. The caller owns the transaction (``Store.transaction()``). The
maps (a location picker for the form and the officers' queue map) are built
with folium and load nothing from the internet (:func:`mapping.render.localise_assets`).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.template import Template
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.errors import NotFoundError, Problem, StaleEditError, ValidationError
from mapping.geocode import PostcodeIndex, default_index, normalise_postcode, points_from_lonlat
from mapping.importers import prepare_assets
from mapping.models import Asset, Submission, utcnow
from mapping.register import upsert_records
from mapping.render import js_literal, localise_assets
from mapping.taxonomy import category_lookup

KINDS: Final = ("asset", "idea")
PENDING: Final = "pending"
APPROVED: Final = "approved"
REJECTED: Final = "rejected"
STATUSES: Final = (PENDING, APPROVED, REJECTED)

#: Longest text accepted per field, in characters (the column sizes, or a sane bound for Text).
MAX_CHARS: Final[dict[str, int]] = {
    "name": 300, "description": 4000, "who_runs_it": 300, "contact": 300, "postcode": 10,
    "reason": 2000,
}
#: Licence and attribution of an asset made from a submission.
SUBMISSION_LICENCE: Final = "OGL v3 (contributed to the council)"
SUBMISSION_ATTRIBUTION: Final = "Community submission"
#: Fields an officer may set on approval instead of the submitted values.
OVERRIDABLE: Final = (S.NAME, S.DESCRIPTION, S.CONTACT)
#: The asset status an approved submission gets: an idea is something that does not exist yet.
ASSET_STATUS_BY_KIND: Final = {"asset": "active", "idea": "proposed"}
#: The field of a problem with the location as a whole (no place given, a bad map click).
LOCATION: Final = "location"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SubmissionDecidedError(StaleEditError):
    """The submission was already approved or rejected (perhaps by another officer)."""


# --- validating and saving ----------------------------------------------------------------


def _text(value: object, *, multiline: bool = False) -> str | None:
    """Give stripped text without control characters, ``None`` when blank."""
    if value is None:
        return None
    text = _CONTROL.sub("", str(value))
    if not multiline:
        text = " ".join(text.split())
    text = text.strip()
    return text or None


def validate_submission(
    fields: Mapping[str, object], *, index: PostcodeIndex | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """Give a submission's clean values and every problem with them.

    Parameters
    ----------
    fields
        As typed into the form: ``kind`` (``asset`` or ``idea``), ``name``,
        ``description``, ``category`` (a code or label of ``data/categories.csv``;
        optional), ``postcode``, ``lon``/``lat`` (EPSG:4326, from a click on the
        map), ``who_runs_it`` and ``contact``. Other keys are ignored.
    index
        Where postcodes are looked up (OS Code-Point Open); ``None`` for the default.

    Returns
    -------
    tuple
        The clean values (the keys above; ``lon``/``lat`` resolved from the map
        click if there is one, else from the postcode) and the problems, each
        naming its field (``location`` for the place as a whole).
    """
    problems: list[Problem] = []
    clean: dict[str, Any] = {}
    kind = _text(fields.get("kind"))
    if kind not in KINDS:
        problems.append(Problem(f"choose one of: {', '.join(KINDS)}", field="kind"))
    clean["kind"] = kind
    for name in ("name", "description", "who_runs_it", "contact"):
        value = _text(fields.get(name), multiline=name == "description")
        if value is not None and len(value) > MAX_CHARS[name]:
            problems.append(Problem(f"is too long ({len(value)} characters; at most "
                                    f"{MAX_CHARS[name]})", field=name))
        clean[name] = value
    if clean["name"] is None:
        problems.append(Problem("is required: what is it called, or what is your idea?",
                                field="name"))

    category = _text(fields.get("category"))
    clean["category"] = None
    if category is not None:
        clean["category"] = category_lookup().get(category.casefold())
        if clean["category"] is None:
            problems.append(Problem(f"unknown category '{category}'", field="category"))

    clean["postcode"], clean["lon"], clean["lat"] = None, None, None
    postcode = _text(fields.get("postcode"))
    postcode_point: tuple[float, float] | None = None
    if postcode is not None:
        canonical = normalise_postcode(postcode)
        if canonical is None:
            problems.append(Problem(f"'{postcode}' is not a UK postcode (for example E15 4EH)",
                                    field="postcode"))
        else:
            found = (index or default_index()).lookup(pd.Series([canonical])).iloc[0]
            if found["problem"] is not None:
                problems.append(Problem(str(found["problem"]), field="postcode"))
            else:
                postcode_point = (float(found[S.LON]), float(found[S.LAT]))
            clean["postcode"] = canonical
    lon, lat = _text(fields.get("lon")), _text(fields.get("lat"))
    if lon is not None or lat is not None:
        point = points_from_lonlat(pd.Series([lon], dtype=object), pd.Series([lat], dtype=object))
        if point["problem"].iloc[0] is not None:
            problems.append(Problem(f"the place marked on the map is not usable: "
                                    f"{point['problem'].iloc[0]}", field=LOCATION))
        else:
            clean["lon"], clean["lat"] = float(point[S.LON].iloc[0]), float(point[S.LAT].iloc[0])
    elif postcode_point is not None:
        clean["lon"], clean["lat"] = postcode_point
    if postcode is None and lon is None and lat is None:
        problems.append(Problem("give a postcode, or click on the map to mark the place",
                                field=LOCATION))
    return clean, problems


def address_hash(address: str, *, key: str) -> str:
    """Give a keyed hash (HMAC-SHA256, hex) of a sender's IP address, for abuse handling.

    The same address gives the same hash under the same key, so officers can
    see that several submissions came from one sender; without the key (the
    app's secret key) the address cannot be recovered by trying all addresses.
    """
    return hmac.new(key.encode(), address.encode(), hashlib.sha256).hexdigest()


def save_submission(
    session: Session,
    fields: Mapping[str, object],
    *,
    submitter_ip_hash: str | None = None,
    index: PostcodeIndex | None = None,
) -> Submission:
    """Validate a submission and add it to the pending queue; give the new row.

    Raises
    ------
    ValidationError
        With every problem (see :func:`validate_submission`); nothing is saved.
    """
    clean, problems = validate_submission(fields, index=index)
    if problems:
        raise ValidationError(problems, summary="the submission was not saved")
    submission = Submission(**clean, status=PENDING, submitter_ip_hash=submitter_ip_hash,
                            created_at=utcnow())
    session.add(submission)
    session.flush()
    return submission


# --- the queue ------------------------------------------------------------------------------


def pending(session: Session) -> list[Submission]:
    """Give the submissions waiting for a decision, oldest first."""
    query = select(Submission).where(Submission.status == PENDING).order_by(Submission.id)
    return list(session.scalars(query))


def decided(session: Session, *, limit: int = 50) -> list[Submission]:
    """Give the latest decided submissions (approved or rejected), most recent decision first."""
    query = (select(Submission).where(Submission.status != PENDING)
             .order_by(Submission.decided_at.desc(), Submission.id.desc()).limit(limit))
    return list(session.scalars(query))


def get_submission(session: Session, submission_id: int) -> Submission:
    """Give one submission, or raise :class:`NotFoundError`."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFoundError(f"submission {submission_id} does not exist")
    return submission


def check_pending(submission: Submission) -> None:
    """Raise :class:`SubmissionDecidedError` unless the submission still awaits a decision."""
    if submission.status != PENDING:
        when = f" on {submission.decided_at:%d %B %Y at %H:%M}" if submission.decided_at else ""
        raise SubmissionDecidedError(
            f"submission {submission.id} was already {submission.status} by "
            f"{submission.decided_by or 'someone'}{when}; it cannot be decided again"
        )


def _decide(session: Session, submission: Submission, **values: Any) -> None:
    """Record the decision unless another one got there first (checked in the UPDATE itself)."""
    result = session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.status == PENDING)
        .values(**values, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.expire(submission)
        check_pending(submission)
        raise SubmissionDecidedError(f"submission {submission.id} was decided by someone else")
    session.expire(submission)


def _officer(officer: str) -> str:
    name = officer.strip()
    if not name:
        raise ValidationError([Problem("is required", field="officer")],
                              summary="a decision needs the officer's name")
    return name


def approve(
    session: Session,
    submission_id: int,
    *,
    officer: str,
    category: str,
    overrides: Mapping[str, str | None] | None = None,
    index: PostcodeIndex | None = None,
    boundary: gpd.GeoDataFrame | None = None,
) -> int:
    """Make a pending submission an asset (``source = "submission"``); give the asset's id.

    The asset goes through the import path: :func:`~mapping.importers.prepare_assets` on
    a one-row frame (category, location and every other check an import makes) and
    :func:`~mapping.register.upsert_records` with ``changed_by=officer``. Its creation
    row in the history has action ``approve`` and names the submission. A submitted
    asset becomes ``active``, an idea ``proposed``. The submitter's contact is *not*
    copied unless ``overrides`` sets ``contact``.

    Parameters
    ----------
    session
        A session inside the caller's transaction; on any error the caller rolls back.
    submission_id
        The pending submission.
    officer
        Who approves it (recorded as ``decided_by`` and in the history). Approval is not a
        visit: the asset stays unverified until an officer verifies it.
    category
        The asset's category (a code or label of ``data/categories.csv``).
    overrides
        Values the officer chose instead of the submitted ones: any of ``name``,
        ``description`` and ``contact``.
    index
        Where postcodes are looked up; ``None`` for the default.
    boundary
        The borough outline; when given, the asset's ``in_borough`` flag is set.

    Raises
    ------
    NotFoundError
        No such submission.
    SubmissionDecidedError
        It was already approved or rejected.
    ValidationError
        The asset would not be valid (an unknown category, say), or ``overrides`` names
        a field that cannot be overridden.
    """
    officer = _officer(officer)
    submission = get_submission(session, submission_id)
    check_pending(submission)
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ValidationError([Problem(f"cannot be set on approval (only {', '.join(OVERRIDABLE)})",
                                       field=k) for k in unknown])
    external_id = f"submission:{submission.id}"
    row = {
        S.EXTERNAL_ID: external_id,
        S.NAME: overrides.get(S.NAME, submission.name),
        S.DESCRIPTION: overrides.get(S.DESCRIPTION, default_description(submission)),
        S.CATEGORY: category,
        S.POSTCODE: submission.postcode,
        S.LON: repr(submission.lon),
        S.LAT: repr(submission.lat),
        S.CONTACT: overrides.get(S.CONTACT),
        S.STATUS: ASSET_STATUS_BY_KIND.get(submission.kind, "proposed"),
        S.SOURCE: "submission",
        S.LICENCE: SUBMISSION_LICENCE,
        S.ATTRIBUTION: SUBMISSION_ATTRIBUTION,
    }
    prepared, problems = prepare_assets(pd.DataFrame([row], dtype=object),
                                        file=f"submission {submission.id}", index=index,
                                        boundary=boundary)
    if problems:
        # One record, not a file: "row 1" would only confuse.
        raise ValidationError([Problem(p.reason, field=p.field) for p in problems],
                              summary=f"submission {submission.id} cannot be approved as it is")
    upsert_records(session, "asset", prepared.drop(columns=[S.ORGANISATION_ID]),
                   changed_by=officer, create_action="approve",
                   note={"submission_id": submission.id})
    asset_id = session.scalar(select(Asset.id).where(Asset.external_id == external_id))
    if asset_id is None:  # pragma: no cover - upsert_records has just written it
        raise NotFoundError(f"the asset {external_id} was not written")
    _decide(session, submission, status=APPROVED, decided_by=officer, asset_id=asset_id)
    return int(asset_id)


def reject(session: Session, submission_id: int, *, officer: str, reason: str) -> None:
    """Reject a pending submission, with the reason (required), so it never becomes public.

    Raises
    ------
    ValidationError
        The reason is empty or too long.
    NotFoundError, SubmissionDecidedError
        As for :func:`approve`.
    """
    officer = _officer(officer)
    submission = get_submission(session, submission_id)
    check_pending(submission)
    text = _text(reason, multiline=True)
    if text is None:
        raise ValidationError([Problem("is required: say why the submission is rejected",
                                       field="reason")], summary="cannot reject without a reason")
    if len(text) > MAX_CHARS["reason"]:
        raise ValidationError([Problem(f"is too long (at most {MAX_CHARS['reason']} characters)",
                                       field="reason")])
    _decide(session, submission, status=REJECTED, decided_by=officer, reason=text)


def default_description(submission: Submission) -> str | None:
    """Give the asset description an approval proposes: the submitted one, and who runs it."""
    parts = [submission.description or ""]
    if submission.who_runs_it:
        parts.append(f"Run by: {submission.who_runs_it}")
    text = "\n\n".join(p for p in parts if p)
    return text or None


# --- maps -----------------------------------------------------------------------------------

#: Marker colour of each kind of submission on the officers' map.
KIND_COLOURS: Final = {"asset": "#6a1b9a", "idea": "#ef6c00"}
_AREA_STYLE: Final = {"color": "#5f6b73", "weight": 1, "fillColor": "#9aa5ad", "fillOpacity": 0.08}
_MAX_ZOOM: Final = 19


def submissions_frame(submissions: Sequence[Submission]) -> gpd.GeoDataFrame:
    """Give submissions as points (EPSG:4326): ``id``, ``kind``, ``name``, ``status``."""
    frame = pd.DataFrame({
        "id": [s.id for s in submissions], "kind": [s.kind for s in submissions],
        S.NAME: [s.name for s in submissions], S.STATUS: [s.status for s in submissions],
    })
    geometry = gpd.points_from_xy([s.lon for s in submissions], [s.lat for s in submissions],
                                  crs=S.STORAGE_CRS)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=S.STORAGE_CRS)


def _base_map(areas: gpd.GeoDataFrame | None, points: gpd.GeoDataFrame | None, *,
              tile_url: str, tile_attribution: str) -> folium.Map:
    if tile_url and not tile_attribution:
        raise ValidationError([Problem("a tile server needs its attribution",
                                       field="tile_attribution")])
    m = folium.Map(location=None, tiles=None, control_scale=True)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution, max_zoom=_MAX_ZOOM,
                         max_native_zoom=18).add_to(m)
    else:
        m.options["max_zoom"] = _MAX_ZOOM
    boxes = []
    if areas is not None and len(areas):
        outlines = areas.to_crs(S.STORAGE_CRS)
        names = (outlines[S.AREA_NAME] if S.AREA_NAME in outlines.columns
                 else pd.Series("", index=outlines.index))
        shown = gpd.GeoDataFrame({"name": names.fillna("").astype(str).map(html.escape)},
                                 geometry=outlines.geometry.values, crs=S.STORAGE_CRS)
        folium.GeoJson(shown, name="Areas", style_function=lambda _f: _AREA_STYLE,
                       tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
                       zoom_on_click=False).add_to(m)
        boxes.append(tuple(outlines.total_bounds))
    if points is not None and len(points):
        boxes.append(tuple(points.to_crs(S.STORAGE_CRS).total_bounds))
    west, south, east, north = (
        (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
         max(b[3] for b in boxes)) if boxes else S.UK_BOUNDS_LONLAT)
    m.fit_bounds([[float(south), float(west)], [float(north), float(east)]], max_zoom=16)
    return m


def location_picker_map(
    areas: gpd.GeoDataFrame | None,
    *,
    vendor_url: str,
    tile_url: str = "",
    tile_attribution: str = "",
) -> folium.Map:
    """Give a small map of the borough's areas on which a resident clicks to mark a place.

    The click handling is the page's job (it knows its form fields); this map only
    shows area outlines (names HTML-escaped in the tooltips) and loads nothing from
    the internet.
    """
    m = _base_map(areas, None, tile_url=tile_url, tile_attribution=tile_attribution)
    return localise_assets(m, vendor_url=vendor_url)


class _SubmissionMarkers(MacroElement):
    """Circle markers for submissions, built in the browser from JSON as DOM text (no HTML)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var p = {{ this.payload }};
                var group = L.featureGroup();
                p.points.forEach(function (s) {
                    var marker = L.circleMarker([s.lat, s.lon], {
                        radius: 8, color: "#ffffff", weight: 1.5,
                        fillColor: p.colours[s.kind] || "#555555", fillOpacity: 0.95
                    });
                    marker.bindTooltip(function () {
                        var label = document.createElement("span");
                        label.textContent = "#" + s.id + " (" + s.kind + "): " + s.name;
                        return label;
                    });
                    marker.bindPopup(function () {
                        var box = document.createElement("div");
                        var title = document.createElement("strong");
                        title.textContent = s.name;
                        box.appendChild(title);
                        box.appendChild(document.createElement("br"));
                        var a = document.createElement("a");
                        a.href = p.link.join(encodeURIComponent(String(s.id)));
                        a.target = "_top";
                        a.textContent = "Submission #" + s.id;
                        box.appendChild(a);
                        return box;
                    });
                    marker.addTo(group);
                });
                group.addTo({{ this._parent.get_name() }});
            })();
        {% endmacro %}
        """
    )

    def __init__(self, payload: str) -> None:
        super().__init__()
        self._name = "SubmissionMarkers"
        self.payload = payload


def submissions_map(
    submissions: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame | None = None,
    *,
    vendor_url: str,
    detail_url: str = "/submissions/{id}",
    tile_url: str = "",
    tile_attribution: str = "",
) -> folium.Map:
    """Give the officers' map of submissions, coloured by kind, each linking to its page.

    Names travel as JSON and are shown as DOM text, so nothing a resident typed is
    ever read as HTML. ``submissions`` is a frame from :func:`submissions_frame`.
    """
    if submissions.crs is None:
        raise ValidationError([Problem("the submissions have no CRS", field="geometry")])
    points = submissions.to_crs(S.STORAGE_CRS)
    m = _base_map(areas, points, tile_url=tile_url, tile_attribution=tile_attribution)
    sentinel = "\x00"
    payload = {
        "points": [{"id": int(i), "kind": str(k), "name": str(n), "lon": float(g.x),
                    "lat": float(g.y)}
                   for i, k, n, g in zip(points["id"], points["kind"], points[S.NAME],
                                         points.geometry, strict=True)],
        "colours": KIND_COLOURS,
        "link": detail_url.format(id=sentinel).split(sentinel),
    }
    _SubmissionMarkers(js_literal(payload)).add_to(m)
    return localise_assets(m, vendor_url=vendor_url)
