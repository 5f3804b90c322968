"""Checks on the frames handed to the analyses: required columns, non-negative numbers, missing values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from mapping.errors import Problem, ValidationError


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise unless ``frame`` is a DataFrame with every one of ``columns`` (naming those missing)."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [Problem(f"column '{c}' is missing", field=c) for c in columns
               if c not in frame.columns]
    if missing:
        raise ValidationError(missing, summary=f"{what} lacks required columns")


def non_negative_problems(frame: pd.DataFrame, columns: Sequence[str]) -> list[Problem]:
    """Give a problem for every value of ``columns`` that is not a finite number of at least 0."""
    problems = []
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        for i, (raw, number) in enumerate(zip(frame[column], values, strict=True)):
            if pd.isna(number) or not math.isfinite(number):
                problems.append(Problem(f"not a number: {raw!r}", row=i + 1, field=column))
            elif number < 0:
                problems.append(Problem(f"negative: {raw!r}", row=i + 1, field=column))
    return problems


def is_missing(value: Any) -> bool:
    """Give whether a single value is missing: None, NaN or ``pd.NA``."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
