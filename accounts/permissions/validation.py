"""Validation rules: a pure-Python evaluator of the filter language over a written payload.

A permission row's ``validation`` filter applies to what a caller writes (contract access-model
§5.2). :func:`first_failure` names the first rule the payload breaks, with the type and sentence
Directus answers in FAILED_VALIDATION; on updates, rules on fields the payload does not carry
are skipped (``require_all=False``), as Directus does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.permissions.caps import (
    LOGICAL,
    NEGATIONS,
    TEXT_OPERATORS,
    as_flag,
    as_list,
    validate_filter_shape,
)


@dataclass(frozen=True)
class Failure:
    """Why a payload does not match: the field, the failed rule type and its sentence."""

    field: str
    type: str
    detail: str
    extensions: dict[str, Any] = dataclasses.field(default_factory=dict)


MESSAGES: dict[str, tuple[str, str | None]] = {
    "_eq": ('Value has to be "{v}".', "valid"),
    "_neq": ('Value can\'t be "{v}".', "invalid"),
    "_in": ("Value has to be one of {v}.", "valid"),
    "_nin": ("Value can't be one of {v}.", "invalid"),
    "_lt": ("Value has to be less than {v}.", "valid"),
    "_lte": ("Value has to be less than or equal to {v}.", "valid"),
    "_gt": ("Value has to be greater than {v}.", "valid"),
    "_gte": ("Value has to be greater than or equal to {v}.", "valid"),
    "_between": ("Value has to be between {v}.", "valid"),
    "_nbetween": ("Value can't be between {v}.", "invalid"),
    "_null": ("Value has to be null.", None),
    "_nnull": ("Value can't be null.", None),
    "_empty": ("Value has to be empty.", None),
    "_nempty": ("Value can't be empty.", None),
    "_contains": ('Value has to contain "{v}".', "substring"),
    "_icontains": ('Value has to contain "{v}".', "substring"),
    "_ncontains": ('Value can\'t contain "{v}".', "substring"),
    "_nicontains": ('Value can\'t contain "{v}".', "substring"),
    "_starts_with": ('Value has to start with "{v}".', "substring"),
    "_nstarts_with": ('Value can\'t start with "{v}".', "substring"),
    "_ends_with": ('Value has to end with "{v}".', "substring"),
    "_nends_with": ('Value can\'t end with "{v}".', "substring"),
}


def matches(filter: Any, payload: Mapping[str, Any]) -> bool:
    """Whether ``payload`` satisfies ``filter`` (absent fields count as null)."""
    return first_failure(filter, payload) is None


def first_failure(
    filter: Any, payload: Mapping[str, Any], *, require_all: bool = True
) -> Failure | None:
    """The first rule of ``filter`` that ``payload`` breaks, or ``None``. With
    ``require_all=False`` (updates) rules on fields absent from the payload are skipped."""
    validate_filter_shape(filter)
    return _evaluate(filter or {}, payload, (), require_all)


def _evaluate(
    node: Mapping[str, Any], payload: Mapping[str, Any], path: tuple[str, ...], require_all: bool
) -> Failure | None:
    for key, value in node.items():
        if key in LOGICAL:
            failures = [_evaluate(v, payload, path, require_all) for v in value]
            found = [f for f in failures if f is not None]
            if found and (key == "_and" or len(found) == len(failures)):
                return found[0]
        elif key.startswith("_"):
            failure = _check_value(key, value, payload, path, require_all)
            if failure is not None:
                return failure
        elif failure := _evaluate(value, payload, (*path, key), require_all):
            return failure
    return None


def _check_value(
    op: str, expected: Any, payload: Mapping[str, Any], path: tuple[str, ...], require_all: bool
) -> Failure | None:
    name = ".".join(path)
    present, actual = _dig(payload, path)
    if not present and not require_all:
        return None
    if not present and op not in ("_null", "_empty", "_nnull", "_nempty"):
        return Failure(name, "required", "Value is required.")
    if _test(op, actual, expected):
        return None
    return _failure(name, op, expected)


def _dig(payload: Mapping[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    current: Any = payload
    for part in path:
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _failure(name: str, op: str, expected: Any) -> Failure:
    template, key = MESSAGES[op]
    shown = _show(op, expected)
    extensions = {key: expected if key != "substring" else str(expected)} if key else {}
    return Failure(name, op.lstrip("_"), template.format(v=shown), extensions)


def _show(op: str, expected: Any) -> str:
    if NEGATIONS.get(op, op) == "_between":
        low, high = as_list(op, expected)
        return f"{low} and {high}"
    if NEGATIONS.get(op, op) == "_in":
        return ", ".join(f'"{v}"' for v in as_list(op, expected))
    return str(expected)


def _test(op: str, actual: Any, expected: Any) -> bool:
    if op in NEGATIONS:
        return not _test(NEGATIONS[op], actual, expected)
    if op == "_null":
        return (actual is None) == as_flag(op, expected)
    if op == "_empty":
        return (actual in (None, "", [], {})) == as_flag(op, expected)
    if op == "_eq":
        return _equal(actual, expected)
    if op == "_in":
        return any(_equal(actual, v) for v in as_list(op, expected))
    if op in TEXT_OPERATORS:
        return _text_test(op, actual, str(expected))
    return _order_test(op, actual, expected)


def _text_test(op: str, actual: Any, expected: str) -> bool:
    if actual is None:
        return False
    text = str(actual)
    if op == "_contains":
        return expected in text
    if op == "_icontains":
        return expected.lower() in text.lower()
    return text.startswith(expected) if op == "_starts_with" else text.endswith(expected)


def _order_test(op: str, actual: Any, expected: Any) -> bool:
    try:
        if op == "_between":
            low, high = (_comparable(actual, v) for v in as_list(op, expected))
            return bool(low[1] <= low[0] and high[0] <= high[1])
        left, right = _comparable(actual, expected)
        return bool(
            {"_lt": left < right, "_lte": left <= right, "_gt": left > right}.get(op, left >= right)
        )
    except (TypeError, ValueError):
        return False


def _comparable(actual: Any, expected: Any) -> tuple[Any, Any]:
    """Both sides in one type: datetimes when either is one, numbers when both are numeric."""
    if isinstance(actual, dt.datetime) or isinstance(expected, dt.datetime):
        return _as_datetime(actual), _as_datetime(expected)
    if isinstance(actual, str) and isinstance(expected, int | float):
        return float(actual), expected
    if isinstance(expected, str) and isinstance(actual, int | float):
        return actual, float(expected)
    return actual, expected


def _as_datetime(value: Any) -> Any:
    parsed = parse_datetime(value) if isinstance(value, str) else value
    if isinstance(parsed, dt.datetime) and timezone.is_naive(parsed):
        return timezone.make_aware(parsed, dt.UTC)
    return parsed


def _equal(actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is expected
    if type(actual) is type(expected):
        return bool(actual == expected)
    return _text(actual) == _text(expected)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
