"""Opening times as weekly schedules: what parses, and what is never guessed at."""

from __future__ import annotations

import pytest

from mapping.openreferral.schedules import WeeklyHours, day_code, parse_time, weekly_hours


@pytest.mark.parametrize(("text", "expected"), [
    ("Monday to Tuesday from 9am - 6pm and Wednesday to Friday from 8am - 6pm",
     [WeeklyHours(("MO", "TU"), "09:00:00", "18:00:00"),
      WeeklyHours(("WE", "TH", "FR"), "08:00:00", "18:00:00")]),
    ("Monday to Friday from 9am - 4pm (Closed Saturday, Sunday and Bank Holidays)",
     [WeeklyHours(("MO", "TU", "WE", "TH", "FR"), "09:00:00", "16:00:00")]),
    ("Mon-Fri 09:00-17:30; Sat 10:00 - 13:00",
     [WeeklyHours(("MO", "TU", "WE", "TH", "FR"), "09:00:00", "17:30:00"),
      WeeklyHours(("SA",), "10:00:00", "13:00:00")]),
    ("Fri to Mon 12noon - 12midnight", [WeeklyHours(("FR", "SA", "SU", "MO"), "12:00:00", "23:59:59")]),
])
def test_day_ranges_and_times_become_weekly_hours(text: str, expected: list[WeeklyHours]) -> None:
    assert weekly_hours(text) == expected


@pytest.mark.parametrize("text", [
    None, "", "By appointment", "Monday - 4-11pm  Tuesday - Open 24 hours",
    "Monday 6pm - 9am",  # closes before it opens: not guessed at
    "Monday 9am - 5pm and ask at reception",  # one clause that does not parse spoils it all
    "Someday 9am - 5pm", "Monday 25:00 - 26:00",
])
def test_anything_else_is_not_guessed(text: str | None) -> None:
    assert weekly_hours(text) is None


def test_days_and_times_for_the_query_parameters() -> None:
    assert [day_code(d) for d in ("MO", "tuesday", "Wed", "thurs", "x")] == ["MO", "TU", "WE", "TH", None]
    assert [parse_time(t) for t in ("09:00", "17:30:15", "9:00", "24:00", "09:60")] == [
        "09:00:00", "17:30:15", None, None, None]
