"""CSV text that is safe to open in a spreadsheet (for the web downloads and the CLI alike)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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


def write_safe_csv(frame: pd.DataFrame, path: Path | str, *, index: bool = False) -> None:
    """Write ``frame`` to ``path`` as UTF-8 CSV, spreadsheet-safe (the index too when ``index``)."""
    if index:
        frame = frame.reset_index()
    spreadsheet_safe(frame).to_csv(path, index=False, encoding="utf-8")
