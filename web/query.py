"""Reading numbers from a page's query string, collecting every problem (one 422 for all)."""

from __future__ import annotations

import math

from werkzeug.datastructures import MultiDict

from mapping.errors import Problem


def number_arg(args: MultiDict[str, str], name: str, default: float, problems: list[Problem], *,
               low: float | None = None, high: float | None = None, unit: str = "") -> float:
    """Give ``args[name]`` as a finite number within [low, high], or ``default`` when blank.

    A bad value adds a problem naming the field and gives ``default``, so a page can report
    every bad option at once.
    """
    return _parsed(args, name, default, problems, float, "a number", low, high, unit)


def whole_arg(args: MultiDict[str, str], name: str, default: int, problems: list[Problem], *,
              low: int, high: int) -> int:
    """Give ``args[name]`` as a whole number within [low, high], or ``default`` when blank."""
    return int(_parsed(args, name, default, problems, int, "a whole number", low, high, ""))


def _parsed(args: MultiDict[str, str], name: str, default: float, problems: list[Problem],
            kind: type, what: str, low: float | None, high: float | None, unit: str) -> float:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(kind(raw))
    except ValueError:
        problems.append(Problem(f"give {what}, got '{raw}'", field=name))
        return default
    if not math.isfinite(value):
        problems.append(Problem(f"give a finite number, got '{raw}'", field=name))
        return default
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"from {low:g} to {high:g}" if low is not None and high is not None else (
            f"at least {low:g}" if low is not None else f"at most {high:g}")
        problems.append(Problem(f"give {what} {span}{unit}, got '{raw}'", field=name))
        return default
    return value
