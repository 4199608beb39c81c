"""The filter language's vocabulary and its shape checks, with caps on hostile input.

A filter is ``{"field": {"_op": value}}``; ``_and``/``_or`` take lists of filters; a field that is
a many-to-one relation may hold a nested filter on the related item
(``{"author": {"email": {"_eq": "x"}}}``). ``None`` and ``{}`` mean "everything".

Shape checks cap hostile input (depth, list lengths, operator count, 64-bit integers) so it is a
400 answered at once, never a 500 or a query the database chews on. Which *fields* a caller may
name is the items layer's one check (``items.scope.query_target``), since stored rules compiled
by :mod:`accounts.permissions.filters` run in system context.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

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

#: Caps on a filter's shape: nested objects (the root is level 1), items of one ``_and`` /
#: ``_or``, operators in the whole filter, values of one ``_in`` list, and integers (64 bits,
#: what every database here can compare).
MAX_DEPTH = 20
MAX_LOGICAL_ITEMS = 100
MAX_CONDITIONS = 1000
MAX_LIST_VALUES = 10_000
MAX_INTEGER = 2**63 - 1


class FilterError(ValueError):
    """A filter that is not well-formed, or a value that does not fit its field."""


def validate_filter_shape(value: Any) -> None:
    """Raise :class:`FilterError` unless ``value`` is ``None`` or a well-formed filter within
    the caps above (depth, list lengths, number of operators, 64-bit integers)."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise FilterError("A filter must be a JSON object")
    if _check_node(value, in_field=False, depth=1) > MAX_CONDITIONS:
        raise FilterError(f"A filter can hold at most {MAX_CONDITIONS} conditions")


def _check_node(node: Mapping[str, Any], *, in_field: bool, depth: int) -> int:
    """Check one object of a filter; the number of operators in it."""
    if depth > MAX_DEPTH:
        raise FilterError(f"A filter can be nested at most {MAX_DEPTH} levels deep")
    conditions = 0
    for key, value in node.items():
        if key in LOGICAL:
            conditions += _check_logical(key, value, in_field=in_field, depth=depth)
        elif key.startswith("_"):
            if not in_field:
                raise FilterError(f'"{key}" has to be used on a field')
            _check_operand(key, value)
            conditions += 1
        elif isinstance(value, dict) and value:
            conditions += _check_node(value, in_field=True, depth=depth + 1)
        else:
            raise FilterError(f'Filter for field "{key}" has to be an object of operators')
    return conditions


def _check_logical(key: str, value: Any, *, in_field: bool, depth: int) -> int:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise FilterError(f'"{key}" has to be an array of filters')
    if len(value) > MAX_LOGICAL_ITEMS:
        raise FilterError(f'"{key}" can hold at most {MAX_LOGICAL_ITEMS} filters')
    return sum(_check_node(child, in_field=in_field, depth=depth + 1) for child in value)


def _check_operand(op: str, value: Any) -> None:
    base = NEGATIONS.get(op, op)
    if base not in LOOKUPS and base not in FLAG_OPERATORS:
        raise FilterError(f'"{op}" is not a valid filter operator')
    if base == "_in":
        as_list(op, value)
    elif base == "_between":
        if len(as_list(op, value)) != 2:
            raise FilterError(f'"{op}" needs exactly two values')
    elif base in FLAG_OPERATORS:
        as_flag(op, value)
    elif not isinstance(value, SCALARS):
        raise FilterError(f'"{op}" needs a single value')
    else:
        check_number(op, value)


def check_number(name: str, value: Any) -> None:
    """Refuse numbers no database here compares safely: integers beyond 64 bits, NaN, ±inf."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not -MAX_INTEGER - 1 <= value <= MAX_INTEGER:
        raise FilterError(f'"{name}": numbers have to fit in 64 bits')
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError(f'"{name}": numbers have to be finite')


def as_list(op: str, value: Any) -> list[Any]:
    """The values of an ``_in``/``_between`` operand: a list of scalars or a CSV string."""
    if isinstance(value, str):
        values: list[Any] = [part.strip() for part in value.split(",")]
    elif isinstance(value, list) and all(isinstance(v, SCALARS) for v in value):
        values = value
    else:
        raise FilterError(f'"{op}" needs an array of values')
    if len(values) > MAX_LIST_VALUES:
        raise FilterError(f'"{op}" can hold at most {MAX_LIST_VALUES} values')
    for item in values:
        check_number(op, item)
    return values


def as_flag(op: str, value: Any) -> bool:
    """The operand of ``_null``/``_empty``: a boolean, or its query-string spelling."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false", "1", "0", 1, 0):
        return str(value) in ("true", "1")
    raise FilterError(f'"{op}" needs true or false')
