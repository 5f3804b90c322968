"""CSV downloads that are safe to open in a spreadsheet."""

from __future__ import annotations

import io

import pandas as pd
from flask import Response

from mapping.spreadsheets import FORMULA_STARTS, spreadsheet_safe

__all__ = ["FORMULA_STARTS", "csv_response", "spreadsheet_safe"]


def csv_response(frame: pd.DataFrame, filename: str) -> Response:
    """Give ``frame`` as a CSV download (UTF-8, no index), spreadsheet-safe."""
    out = io.StringIO()
    spreadsheet_safe(frame).to_csv(out, index=False)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
