"""Likely duplicates: the register records a resident's submission probably repeats.

The same café sent twice, or sent again once it is on the map, should not become two
assets. :func:`likely_duplicates` names, for each pending submission, the assets (active
or proposed) and the other pending submissions with a similar name (:func:`names_match`)
within :data:`DUPLICATE_RADIUS_M` metres or at the same postcode. Distances are measured
in EPSG:27700. No Flask here; the caller owns the session.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mapping import schema as S
from mapping.store.models import Asset, Submission

#: How near another record must be to count as a likely duplicate, in metres (EPSG:27700).
DUPLICATE_RADIUS_M: Final = 250.0
#: Share of their words two names must have in common (Jaccard) to mean the same place.
DUPLICATE_WORD_SHARE: Final = 0.6
#: How alike two words must be spelt (difflib ratio) to count as one ("centre", "center").
SAME_WORD_RATIO: Final = 0.8
#: The asset statuses a submission can repeat: a closed asset is history, not a duplicate.
DUPLICATE_STATUSES: Final = ("active", "proposed")
#: Words that say nothing about which place a name means.
FILLER_WORDS: Final = frozenset({"the", "a", "an", "and", "of", "at", "in", "on", "for"})
#: The status of a submission waiting for a decision (:mod:`mapping.register.submissions` uses it).
PENDING: Final = "pending"


@dataclass(frozen=True)
class LikelyDuplicate:
    """A record that a pending submission probably repeats (``record``: asset or submission)."""

    record: str
    id: int
    name: str
    status: str
    category: str | None
    distance_m: float  # straight line, from the submission
    same_postcode: bool

    def describe(self) -> str:
        """Give the record in words, e.g. ``asset #276 'Red Lion' (40 m away)``."""
        where = ("at the same point on the map" if self.distance_m < 1
                 else f"{self.distance_m:,.0f} m away")
        return (f"{self.record} #{self.id} '{self.name}' "
                f"({where}{', same postcode' if self.same_postcode else ''})")


def name_words(name: str) -> frozenset[str]:
    """Give a name's words as compared: no accents, case, punctuation or filler words ("the")."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"['\u2019`]", "", text.replace("&", " and "))  # St Mark's -> st marks
    return frozenset(w for w in re.sub(r"[\W_]+", " ", text).split() if w not in FILLER_WORDS)


def _same_word(a: str, b: str) -> bool:
    return a == b or (min(len(a), len(b)) >= 4
                      and difflib.SequenceMatcher(None, a, b).ratio() >= SAME_WORD_RATIO)


def names_match(a: str, b: str) -> bool:
    """Tell whether two names probably mean the same place.

    After :func:`name_words`, they match when every word of the shorter name is in the
    longer one ("Red Lion" and "The Red Lion Café"), or when they share at least
    :data:`DUPLICATE_WORD_SHARE` of their words (Jaccard). Words spelt nearly alike count
    as one (difflib ratio at least :data:`SAME_WORD_RATIO`, words of four letters or more).
    """
    words_a, words_b = name_words(a), name_words(b)
    if not words_a or not words_b:
        return False
    small, large = sorted((words_a, words_b), key=len)
    shared = sum(any(_same_word(w, v) for v in large) for w in small)
    return shared == len(small) or (
        shared / (len(words_a) + len(words_b) - shared) >= DUPLICATE_WORD_SHARE)


def _metric_xy(lon: Sequence[float], lat: Sequence[float]) -> np.ndarray:
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=S.STORAGE_CRS).to_crs(S.METRIC_CRS)
    return np.column_stack([points.x.to_numpy(), points.y.to_numpy()])


def likely_duplicates(
    session: Session,
    submissions: Sequence[Submission],
    *,
    radius_m: float = DUPLICATE_RADIUS_M,
    assets_only: bool = False,
    names: Mapping[int, Sequence[str]] | None = None,
) -> dict[int, list[LikelyDuplicate]]:
    """Give, per submission id, the records it probably repeats, assets first, nearest first.

    A record is a likely duplicate of a submission when the names match (:func:`names_match`)
    and it lies within ``radius_m`` metres (measured in EPSG:27700) or has the same postcode.
    The records are the assets that are active or proposed and, unless ``assets_only``, the
    other pending submissions. ``names`` gives other names to compare per submission id
    (an officer's new name on approval); the submitted name is always compared.
    """
    if not submissions:
        return {}
    rows: list[tuple[str, int, str, str, str | None, str | None, float, float]] = [
        ("asset", *r) for r in session.execute(
            select(Asset.id, Asset.name, Asset.status, Asset.category, Asset.postcode,
                   Asset.lon, Asset.lat).where(Asset.status.in_(DUPLICATE_STATUSES)))]
    if not assets_only:
        rows += [("submission", s.id, s.name, s.status, s.category, s.postcode, s.lon, s.lat)
                 for s in session.scalars(select(Submission).where(
                     Submission.status == PENDING).order_by(Submission.id))]
    found: dict[int, list[LikelyDuplicate]] = {s.id: [] for s in submissions}
    if not rows:
        return found
    there = _metric_xy([r[6] for r in rows], [r[7] for r in rows])
    here = _metric_xy([s.lon for s in submissions], [s.lat for s in submissions])
    distance = np.hypot(here[:, None, 0] - there[None, :, 0], here[:, None, 1] - there[None, :, 1])
    postcodes = np.array([r[5] or "" for r in rows], dtype=object)
    for i, submission in enumerate(submissions):
        same = (postcodes == submission.postcode) if submission.postcode else np.zeros(len(rows), bool)
        mine = [submission.name, *(names or {}).get(submission.id, ())]
        for j in np.flatnonzero((distance[i] <= radius_m) | same):
            record, record_id, name, status, category = rows[j][:5]
            if record == "submission" and record_id == submission.id:
                continue
            if any(names_match(n, name) for n in mine if n):
                found[submission.id].append(LikelyDuplicate(
                    record, int(record_id), name, status, category,
                    float(distance[i, j]), bool(same[j])))
        found[submission.id].sort(key=lambda d: (d.record != "asset", d.distance_m, d.id))
    return found
