"""The Directus filter language: shape checks, dynamic variables, compiling to ``Q``, and a
pure-Python evaluator for ``validation`` rules.

A filter is ``{"field": {"_op": value}}``; ``_and``/``_or`` take lists of filters; a field that is
a many-to-one relation may hold a nested filter on the related item
(``{"author": {"email": {"_eq": "x"}}}``). ``None`` and ``{}`` mean "everything".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.text import NUL_MESSAGE, contains_nul

LOGICAL = frozenset({"_and", "_or"})
NEGATIONS = {
    "_neq": "_eq",
    "_nin": "_in",
    "_nnull": "_null",
    "_ncontains": "_contains",
    "_nicontains": "_icontains",
    "_nstarts_with": "_starts_with",
    "_nends_with": "_ends_with",
    "_nbetween": "_between",
    "_nempty": "_empty",
}
LOOKUPS = {
    "_eq": "exact",
    "_lt": "lt",
    "_lte": "lte",
    "_gt": "gt",
    "_gte": "gte",
    "_in": "in",
    "_between": "range",
    "_contains": "contains",
    "_icontains": "icontains",
    "_starts_with": "startswith",
    "_ends_with": "endswith",
}
TEXT_OPERATORS = frozenset({"_contains", "_icontains", "_starts_with", "_ends_with"})
FLAG_OPERATORS = frozenset({"_null", "_empty"})
OPERATORS = frozenset(LOOKUPS) | frozenset(NEGATIONS) | FLAG_OPERATORS
SCALARS = (str, int, float, bool, type(None), dt.datetime)


class FilterError(ValueError):
    """A filter that is not well-formed, or a value that does not fit its field."""


# ---------------------------------------------------------------- shape


def validate_filter_shape(value: Any) -> None:
    """Raise :class:`FilterError` unless ``value`` is ``None`` or a well-formed filter."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise FilterError("A filter must be a JSON object")
    _check_node(value, in_field=False)


def _check_node(node: Mapping[str, Any], *, in_field: bool) -> None:
    for key, value in node.items():
        if key in LOGICAL:
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise FilterError(f'"{key}" has to be an array of filters')
            for child in value:
                _check_node(child, in_field=in_field)
        elif key.startswith("_"):
            if not in_field:
                raise FilterError(f'"{key}" has to be used on a field')
            _check_operand(key, value)
        elif isinstance(value, dict) and value:
            _check_node(value, in_field=True)
        else:
            raise FilterError(f'Filter for field "{key}" has to be an object of operators')


def _check_operand(op: str, value: Any) -> None:
    base = NEGATIONS.get(op, op)
    if base not in LOOKUPS and base not in FLAG_OPERATORS:
        raise FilterError(f'"{op}" is not a valid filter operator')
    if base == "_in":
        _as_list(op, value)
    elif base == "_between":
        if len(_as_list(op, value)) != 2:
            raise FilterError(f'"{op}" needs exactly two values')
    elif base in FLAG_OPERATORS:
        _as_flag(op, value)
    elif not isinstance(value, SCALARS):
        raise FilterError(f'"{op}" needs a single value')


def _as_list(op: str, value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")]
    if isinstance(value, list) and all(isinstance(v, SCALARS) for v in value):
        return value
    raise FilterError(f'"{op}" needs an array of values')


def _as_flag(op: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false", "1", "0", 1, 0):
        return str(value) in ("true", "1")
    raise FilterError(f'"{op}" needs true or false')


# ---------------------------------------------------------------- dynamic variables

NOW_ADJUSTED = re.compile(r"^\$NOW\(\s*([+-]?\s*\d+)\s*([a-z]+?)s?\s*\)$", re.IGNORECASE)
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}


@dataclass
class Variables:
    """Values of ``$CURRENT_USER`` & co. for one request; ``lookup(root, path)`` loads
    ``$CURRENT_USER.<path>`` / ``$CURRENT_ROLE.<path>`` on first use."""

    user: str | None = None
    role: str | None = None
    roles: list[str] = dataclasses.field(default_factory=list)
    policies: list[str] = dataclasses.field(default_factory=list)
    now: dt.datetime = dataclasses.field(default_factory=timezone.now)
    lookup: Callable[[str, str], Any] | None = None

    def value_of(self, text: str) -> Any:
        """The value a ``$...`` string stands for; other strings are returned unchanged."""
        simple = {
            "$CURRENT_USER": self.user,
            "$CURRENT_ROLE": self.role,
            "$CURRENT_ROLES": self.roles,
            "$CURRENT_POLICIES": self.policies,
            "$NOW": self.now,
        }
        if text in simple:
            return simple[text]
        if match := NOW_ADJUSTED.match(text):
            try:
                amount = int(match.group(1).replace(" ", ""))
                return shift(self.now, amount, match.group(2).lower())
            except (OverflowError, ValueError):
                raise FilterError(f'"{text}" is out of the range of dates') from None
        root, _, path = text.partition(".")
        if path and root in ("$CURRENT_USER", "$CURRENT_ROLE") and self.lookup:
            return self.lookup(root, path)
        return text


def shift(moment: dt.datetime, amount: int, unit: str) -> dt.datetime:
    """``moment`` moved by ``amount`` units (seconds … years), as in ``$NOW(-1 day)``."""
    if unit in UNIT_SECONDS:
        return moment + dt.timedelta(seconds=amount * UNIT_SECONDS[unit])
    if unit in ("month", "year"):
        months = moment.year * 12 + moment.month - 1 + amount * (12 if unit == "year" else 1)
        year, month = divmod(months, 12)
        day = min(moment.day, _days_in_month(year, month + 1))
        return moment.replace(year=year, month=month + 1, day=day)
    raise FilterError(f'Unknown time unit "{unit}" in $NOW')


def _days_in_month(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


def substitute(value: Any, variables: Variables) -> Any:
    """A copy of ``value`` (a filter, or presets) with every dynamic variable replaced."""
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    if isinstance(value, str) and value.startswith("$"):
        return variables.value_of(value)
    return value


# ---------------------------------------------------------------- compiling to Q


@dataclass(frozen=True)
class Target:
    """What a field path means to the ORM: its lookup, how to coerce values for it, and an
    optional guard (the condition under which the caller may see the field)."""

    lookup: str
    coerce: Callable[[Any], Any]
    guard: Q | None = None


Resolver = Callable[[tuple[str, ...]], Target]


def compile_filter(filter: Any, resolve: Resolver) -> Q:
    """``filter`` as a ``Q``. ``resolve`` maps a field path to a :class:`Target` and raises its
    own error for unknown or forbidden fields; values that do not fit raise FilterError."""
    validate_filter_shape(filter)
    return _compile_node(filter or {}, (), resolve)


def _compile_node(node: Mapping[str, Any], path: tuple[str, ...], resolve: Resolver) -> Q:
    result = Q()
    for key, value in node.items():
        if key == "_and":
            result &= _combine([_compile_node(v, path, resolve) for v in value], Q.AND)
        elif key == "_or":
            result &= _combine([_compile_node(v, path, resolve) for v in value], Q.OR)
        elif key.startswith("_"):
            result &= _condition(key, value, resolve(path))
        else:
            result &= _compile_node(value, (*path, key), resolve)
    return result


def _combine(parts: list[Q], connector: str) -> Q:
    if not parts or (connector == Q.OR and any(not p for p in parts)):
        return Q()
    return Q(*parts, _connector=connector)


def _condition(op: str, value: Any, target: Target) -> Q:
    if op in NEGATIONS:
        q = ~_positive(NEGATIONS[op], value, target)
    else:
        q = _positive(op, value, target)
    return q & target.guard if target.guard is not None else q


def _positive(op: str, value: Any, target: Target) -> Q:
    if contains_nul(value):
        raise FilterError(f'"{op}": {NUL_MESSAGE}')
    lookup = target.lookup
    if op == "_null":
        return Q(**{f"{lookup}__isnull": _as_flag(op, value)})
    if op == "_empty":
        empty = Q(**{f"{lookup}__isnull": True}) | Q(**{f"{lookup}__exact": ""})
        return empty if _as_flag(op, value) else ~empty
    if op == "_eq" and value is None:
        return Q(**{f"{lookup}__isnull": True})
    if op in TEXT_OPERATORS:
        return Q(**{f"{lookup}__{LOOKUPS[op]}": str(value)})
    if op in ("_in", "_between"):
        values = [target.coerce(v) for v in _as_list(op, value)]
        return Q(**{f"{lookup}__{LOOKUPS[op]}": values if op == "_in" else tuple(values)})
    return Q(**{f"{lookup}__{LOOKUPS[op]}": target.coerce(value)})


# ---------------------------------------------------------------- evaluating payloads


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
        low, high = _as_list(op, expected)
        return f"{low} and {high}"
    if NEGATIONS.get(op, op) == "_in":
        return ", ".join(f'"{v}"' for v in _as_list(op, expected))
    return str(expected)


def _test(op: str, actual: Any, expected: Any) -> bool:
    if op in NEGATIONS:
        return not _test(NEGATIONS[op], actual, expected)
    if op == "_null":
        return (actual is None) == _as_flag(op, expected)
    if op == "_empty":
        return (actual in (None, "", [], {})) == _as_flag(op, expected)
    if op == "_eq":
        return _equal(actual, expected)
    if op == "_in":
        return any(_equal(actual, v) for v in _as_list(op, expected))
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
            low, high = (_comparable(actual, v) for v in _as_list(op, expected))
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
