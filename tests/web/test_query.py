"""Numbers from the query string: every bad value is one problem naming its field."""

from werkzeug.datastructures import MultiDict

from mapping.errors import Problem
from web.query import number_arg, whole_arg


def test_numbers_blank_good_and_bad() -> None:
    problems: list[Problem] = []
    args = MultiDict({"a": "", "b": "2.5", "c": "x", "d": "inf", "e": "60", "k": "3", "j": "3.5"})
    assert number_arg(args, "a", 15.0, problems) == 15.0  # blank: the default
    assert number_arg(args, "b", 15.0, problems, low=0, high=10) == 2.5
    assert number_arg(args, "c", 15.0, problems) == 15.0
    assert number_arg(args, "d", 15.0, problems) == 15.0
    assert number_arg(args, "e", 10.0, problems, low=0.5, high=50, unit=" (per cent)") == 10.0
    assert whole_arg(args, "k", 8, problems, low=2, high=30) == 3
    assert whole_arg(args, "j", 8, problems, low=2, high=30) == 8
    assert [(p.field, p.reason) for p in problems] == [
        ("c", "give a number, got 'x'"),
        ("d", "give a finite number, got 'inf'"),
        ("e", "give a number from 0.5 to 50 (per cent), got '60'"),
        ("j", "give a whole number, got '3.5'"),
    ]
