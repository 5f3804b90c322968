"""Opening times as HSDS schedules (RFC 5545 weekly recurrences), where the text parses.

Opening times are free text in the register ("Monday to Friday from 9am - 4pm (Closed
Bank Holidays)"). A text made only of clauses like *day[ to day] [from] time - time*,
joined by "and", ";" or ",", becomes one weekly schedule per clause (``freq`` WEEKLY,
``byday`` MO..SU, ``opens_at``/``closes_at``); a note in brackets is kept in the text.
Anything else is never guessed at: it stays a schedule with the text as ``description``
only. Every schedule keeps the whole original text as ``description``, so nothing is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = {name: code for code, names in zip(DAYS, (
    ("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
    ("thursday", "thu", "thur", "thurs"), ("friday", "fri"), ("saturday", "sat"),
    ("sunday", "sun")), strict=True) for name in names}
_DAY = r"(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|urday|rsday)?\.?"
_TIME = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|noon|midday|midnight)?"
_CLAUSE = re.compile(
    rf"^\s*{_DAY}(?:\s*(?:to|-|–|—)\s*{_DAY})?\s*(?:from|:)?\s*{_TIME}\s*(?:-|–|—|to)\s*{_TIME}\s*$",
    re.IGNORECASE)
_BRACKETS = re.compile(r"\([^)]*\)")
_SPLIT = re.compile(r"\s*(?:;|,|\band\b)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class WeeklyHours:
    """Opening hours on some days of the week: RFC 5545 ``BYDAY`` codes and HH:MM:SS times."""

    byday: tuple[str, ...]
    opens_at: str
    closes_at: str


def day_code(text: str) -> str | None:
    """Give the RFC 5545 day code (``MO``...) for a day name, abbreviation or code, else None."""
    word = text.strip().casefold().rstrip(".")
    if word.upper() in DAYS:
        return word.upper()
    return _DAY_NAMES.get(word) or _DAY_NAMES.get(word[:3])


def _time(hour: str, minute: str | None, suffix: str | None) -> str | None:
    h, m = int(hour), int(minute or 0)
    word = (suffix or "").casefold()
    if word in ("noon", "midday"):
        h = 12 if h == 12 else -1
    elif word == "midnight":
        h = 24 if h == 12 else -1
    elif word == "pm" and h < 12:
        h += 12
    elif word == "am" and h == 12:
        h = 0
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        return None
    return f"{h:02d}:{m:02d}:00" if h < 24 else "23:59:59"


def _days(first: str, last: str | None) -> tuple[str, ...] | None:
    start, end = day_code(first), day_code(last) if last else None
    if start is None or (last is not None and end is None):
        return None
    i, j = DAYS.index(start), DAYS.index(end or start)
    return DAYS[i:j + 1] if i <= j else DAYS[i:] + DAYS[:j + 1]


def weekly_hours(text: str | None) -> list[WeeklyHours] | None:
    """Give the weekly opening hours the text states, or ``None`` when any part does not parse.

    ``"Monday to Tuesday from 9am - 6pm and Wednesday to Friday from 8am - 6pm"`` gives
    two: MO,TU 09:00-18:00 and WE,TH,FR 08:00-18:00. A closing time before the opening
    time, or a clause that is not days and two times, gives ``None``.
    """
    if not text or not text.strip():
        return None
    clauses = [c for c in _SPLIT.split(_BRACKETS.sub(" ", text)) if c.strip()]
    out = []
    for clause in clauses:
        found = _CLAUSE.match(clause)
        if found is None:
            return None
        d1, d2, h1, m1, s1, h2, m2, s2 = found.groups()
        days = _days(d1, d2)
        opens, closes = _time(h1, m1, s1), _time(h2, m2, s2)
        if days is None or opens is None or closes is None or closes <= opens:
            return None
        out.append(WeeklyHours(days, opens, closes))
    return out or None


def parse_time(text: str) -> str | None:
    """Give ``HH:MM`` or ``HH:MM:SS`` (24-hour) as ``HH:MM:SS``, or ``None`` if it is not one."""
    found = re.fullmatch(r"(\d{2}):(\d{2})(?::(\d{2}))?", text.strip())
    if found is None:
        return None
    h, m, s = int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)
    return f"{h:02d}:{m:02d}:{s:02d}" if h < 24 and m < 60 and s < 60 else None
