"""CSV downloads that are safe to open in a spreadsheet."""

from __future__ import annotations

import io

import pandas as pd
from flask import Response

#: Text a spreadsheet would run as a formula starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Give the frame with text that a spreadsheet would run as a formula quoted with '."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            text = out[column].astype("string")
            risky = text.str.startswith(FORMULA_STARTS).fillna(False)
            out[column] = out[column].where(~risky, "'" + text)
    return out


def csv_response(frame: pd.DataFrame, filename: str) -> Response:
    """Give ``frame`` as a CSV download (UTF-8, no index), spreadsheet-safe."""
    out = io.StringIO()
    spreadsheet_safe(frame).to_csv(out, index=False)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
