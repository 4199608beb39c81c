"""The filter language on its own: shape, dynamic variables, compiling, evaluating."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Q

from accounts.permissions import (
    FilterError,
    Target,
    Variables,
    compile_filter,
    first_failure,
    matches,
    shift,
    substitute,
    validate_filter_shape,
)


@pytest.mark.parametrize(
    "value",
    [
        None,
        {},
        {"title": {"_eq": "x"}},
        {"_and": [{"a": {"_in": [1, 2]}}, {"_or": [{"b": {"_null": True}}]}]},
        {"author": {"email": {"_icontains": "x"}}},
        {"a": {"_between": "1,2", "_nin": "x,y", "_nempty": True}},
    ],
)
def test_well_formed_filters(value):
    validate_filter_shape(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "A filter must be a JSON object"),
        ({"_and": {}}, '"_and" has to be an array of filters'),
        ({"_or": [1]}, '"_or" has to be an array of filters'),
        ({"_eq": 1}, '"_eq" has to be used on a field'),
        ({"a": 1}, 'Filter for field "a" has to be an object of operators'),
        ({"a": {}}, 'Filter for field "a" has to be an object of operators'),
        ({"a": {"_like": 1}}, '"_like" is not a valid filter operator'),
        ({"a": {"_eq": [1]}}, '"_eq" needs a single value'),
        ({"a": {"_in": 3}}, '"_in" needs an array of values'),
        ({"a": {"_between": [1, 2, 3]}}, '"_between" needs exactly two values'),
        ({"a": {"_nnull": "yes"}}, '"_nnull" needs true or false'),
    ],
)
def test_malformed_filters(value, message):
    with pytest.raises(FilterError, match=message.replace("[", r"\[")):
        validate_filter_shape(value)


def test_substitute_dynamic_variables():
    now = dt.datetime(2024, 3, 31, 12, tzinfo=dt.UTC)
    variables = Variables(
        user="u1",
        role="r1",
        roles=["r0", "r1"],
        policies=["p1"],
        now=now,
        lookup=lambda root, path: f"{root}:{path}",
    )
    filter = {
        "_and": [
            {"a": {"_eq": "$CURRENT_USER"}},
            {"b": {"_in": "$CURRENT_ROLES"}},
            {"c": {"_eq": "$CURRENT_ROLE"}},
            {"d": {"_in": "$CURRENT_POLICIES"}},
            {"e": {"_lt": "$NOW"}},
            {"f": {"_gt": "$NOW(-1 month)"}},
            {"g": {"_eq": "$CURRENT_USER.email"}},
            {"h": {"_eq": "$OTHER"}},
        ]
    }
    assert [
        next(iter(next(iter(p.values())).values())) for p in substitute(filter, variables)["_and"]
    ] == [
        "u1",
        ["r0", "r1"],
        "r1",
        ["p1"],
        now,
        dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC),
        "$CURRENT_USER:email",
        "$OTHER",
    ]


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        (-1, "day", dt.datetime(2024, 1, 30, 10)),
        (2, "hour", dt.datetime(2024, 1, 31, 12)),
        (-90, "minute", dt.datetime(2024, 1, 31, 8, 30)),
        (1, "week", dt.datetime(2024, 2, 7, 10)),
        (1, "month", dt.datetime(2024, 2, 29, 10)),
        (-1, "year", dt.datetime(2023, 1, 31, 10)),
        (30, "second", dt.datetime(2024, 1, 31, 10, 0, 30)),
    ],
)
def test_now_adjustments(amount, unit, expected):
    assert shift(dt.datetime(2024, 1, 31, 10), amount, unit) == expected


def test_now_adjustment_syntax():
    now = dt.datetime(2024, 1, 31, 10)
    assert Variables(now=now).value_of("$NOW(-2 days)") == dt.datetime(2024, 1, 29, 10)
    assert Variables(now=now).value_of("$NOW( +1 hours )") == dt.datetime(2024, 1, 31, 11)
    with pytest.raises(FilterError):
        Variables(now=now).value_of("$NOW(1 fortnight)")


@pytest.mark.parametrize(
    "text",
    [
        "$NOW(+99999999 years)",
        "$NOW(-9999 years)",
        "$NOW(99999999999 days)",
        "$NOW(9" + "9" * 5000 + " days)",
    ],
)
def test_now_adjustments_beyond_the_calendar_are_filter_errors(text):
    with pytest.raises(FilterError):
        Variables(now=dt.datetime(2024, 1, 31, 10)).value_of(text)


def resolver(path):
    return Target("__".join(path), lambda v: int(v) if str(v).isdigit() else v)


def test_compile_to_q():
    assert compile_filter({"a": {"_eq": "1"}}, resolver) == Q(a__exact=1)
    assert compile_filter({"author": {"email": {"_null": True}}}, resolver) == Q(
        author__email__isnull=True
    )
    assert compile_filter({"b": {"_nin": "1,2"}}, resolver) == ~Q(b__in=[1, 2])
    either = compile_filter({"_or": [{"a": {"_eq": "1"}}, {"b": {"_gt": "2"}}]}, resolver)
    assert either == Q(Q(a__exact=1), Q(b__gt=2), _connector=Q.OR)
    assert compile_filter(None, resolver) == Q()
    assert compile_filter({"a": {"_eq": None}}, resolver) == Q(a__isnull=True)
    assert compile_filter({"a": {"_between": ["1", "2"]}}, resolver) == Q(a__range=(1, 2))


def test_compile_applies_guards_after_negation():
    guarded = lambda path: Target(path[0], str, guard=Q(visible=True))  # noqa: E731
    assert compile_filter({"a": {"_neq": "x"}}, guarded) == ~Q(a__exact="x") & Q(visible=True)


def test_matches_operators():
    payload = {"title": "Hello", "count": 5, "tags": None, "when": "2024-01-02T00:00:00Z"}
    assert matches({"title": {"_eq": "Hello"}, "count": {"_gte": 5, "_lt": 6}}, payload)
    assert matches({"count": {"_in": ["5", "6"]}, "tags": {"_null": True}}, payload)
    assert matches(
        {"title": {"_icontains": "ELL", "_starts_with": "He", "_ends_with": "lo"}}, payload
    )
    assert matches({"when": {"_gt": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}}, payload)
    assert matches({"count": {"_between": [1, 9], "_nbetween": [6, 9]}}, payload)
    assert matches({"_or": [{"title": {"_eq": "x"}}, {"count": {"_eq": 5}}]}, payload)
    assert not matches({"_and": [{"title": {"_eq": "Hello"}}, {"count": {"_gt": 5}}]}, payload)
    assert not matches({"title": {"_ncontains": "ell"}}, payload)
    assert not matches({"count": {"_lt": "abc"}}, payload)
    assert matches({"tags": {"_empty": True}, "title": {"_nempty": True}}, payload)


def test_first_failure_details():
    failure = first_failure({"status": {"_in": ["a", "b"]}}, {"status": "c"})
    assert failure is not None
    assert (failure.field, failure.type, failure.detail, failure.extensions) == (
        "status",
        "in",
        'Value has to be one of "a", "b".',
        {"valid": ["a", "b"]},
    )
    missing = first_failure({"title": {"_eq": "x"}}, {})
    assert missing is not None
    assert (missing.type, missing.detail) == ("required", "Value is required.")
    assert first_failure({"title": {"_eq": "x"}}, {}, require_all=False) is None
    assert first_failure({"title": {"_null": True}}, {}) is None
