"""The council's own postcodes (ONSPD rows) in the store, and the geocoding index built on them.

:func:`save_postcodes` keeps an ONSPD read (``mapping import-postcodes``, or a manifest's
``[postcodes]``) in the ``postcodes`` table, replacing an earlier copy of the same edition;
:func:`stored_index` gives OS Code-Point Open with every stored edition looked up after it,
so a postcode Code-Point Open lacks (new, or one Code-Point Open never had) is still placed,
and says which source placed it.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from mapping.places.onspd import OnspdPostcodes, index_with_onspd
from mapping.places.postcodes import PostcodeIndex, default_index
from mapping.store.models import StoredPostcode


def save_postcodes(session: Session, read: OnspdPostcodes, *, label: str) -> int:
    """Store the rows of ``read`` under ``label`` (replacing that label's rows); give how many."""
    points = read.points
    session.execute(delete(StoredPostcode).where(StoredPostcode.source == label))
    # A postcode stored under another edition is replaced by this one's row.
    keys = points["postcode"].astype(str).tolist()
    for start in range(0, len(keys), 900):
        session.execute(delete(StoredPostcode).where(StoredPostcode.postcode.in_(keys[start:start + 900])))
    blank = pd.Series(None, index=points.index)
    terminated = points["terminated"] if "terminated" in points.columns else blank
    authority = points["local_authority"] if "local_authority" in points.columns else blank
    rows = [{"postcode": p, "lon": float(x), "lat": float(y), "easting": float(e),
             "northing": float(n), "terminated": None if pd.isna(t) else t,
             "local_authority": None if pd.isna(a) else str(a), "source": label,
             "termination_known": bool(read.has_termination_dates)}
            for p, x, y, e, n, t, a in zip(keys, points["lon"], points["lat"], points["easting"],
                                           points["northing"], terminated, authority, strict=True)]
    if rows:
        session.execute(insert(StoredPostcode), rows)
    return len(rows)


def stored_index(session: Session, *, index: PostcodeIndex | None = None) -> PostcodeIndex:
    """Give ``index`` (default: Code-Point Open) with each stored edition as a further source."""
    out = index if index is not None else default_index()
    rows = session.execute(select(StoredPostcode.postcode, StoredPostcode.lon, StoredPostcode.lat,
                                  StoredPostcode.easting, StoredPostcode.northing,
                                  StoredPostcode.terminated, StoredPostcode.source,
                                  StoredPostcode.termination_known)).all()
    if not rows:
        return out
    frame = pd.DataFrame(rows, columns=["postcode", "lon", "lat", "easting", "northing",
                                        "terminated", "source", "termination_known"])
    for (label, known), points in frame.groupby(["source", "termination_known"], sort=True):
        out = index_with_onspd(points, label=str(label), has_termination_dates=bool(known), index=out)
    return out
