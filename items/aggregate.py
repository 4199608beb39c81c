"""``aggregate`` and ``groupBy`` (Directus global query parameters) under the read rows.

Every field named — aggregated, grouped by, or sorted on while grouping — passes
:func:`items.scope.query_target`, the same check as filters: concealed and secret fields are
refused for everyone, and a field is aggregated only where the caller could read it
(:func:`items.scope.visible_value`), so ``max`` or ``countDistinct`` never reveal a value the
caller would read back as ``null``.

Answer shape (as Directus): ``[{"count": 3, "max": {"date_created": "…"}}]``; with ``groupBy``
one row per group that also carries the group fields, ``limit``/``offset`` applied to groups.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Aggregate, Avg, Count, F, Max, Min, QuerySet, Sum

from core.errors import InvalidQuery
from items.query import Query
from items.reader import to_json
from items.scope import Scope, ordered, query_target, visible_value

FUNCTIONS: dict[str, tuple[type[Aggregate], bool]] = {
    "count": (Count, False),
    "countDistinct": (Count, True),
    "sum": (Sum, False),
    "sumDistinct": (Sum, True),
    "avg": (Avg, False),
    "avgDistinct": (Avg, True),
    "min": (Min, False),
    "max": (Max, False),
}
NUMERIC = (models.IntegerField, models.FloatField, models.DecimalField)
ORDERED = (*NUMERIC, models.CharField, models.TextField, models.DateField, models.TimeField)


def aggregate(
    scope: Scope, queryset: QuerySet[Any], q: Query, start: int, stop: int | None
) -> list[dict[str, Any]]:
    """The aggregated rows of ``queryset`` (already narrowed to visible, filtered items)."""
    functions = {f"_agg_{i}": _function(scope, *pair) for i, pair in enumerate(q.aggregate)}
    groups = {f"_group_{i}": name for i, name in enumerate(q.group_by)}
    if not groups:
        return [_row(q, queryset.aggregate(**functions), {})]
    grouped = queryset.annotate(**{alias: _value(scope, name) for alias, name in groups.items()})
    rows = grouped.values(*groups).annotate(**functions).order_by(*_group_order(q, groups))
    rows = rows.distinct()  # one row per group, also without an aggregate function
    return [_row(q, row, groups) for row in rows[start:stop]]


def _function(scope: Scope, function: str, name: str) -> Aggregate:
    kind, distinct = FUNCTIONS[function]
    if name == "*":
        return Count("pk")
    target = query_target(scope, tuple(name.split(".")))
    field = target.field
    allowed = NUMERIC if kind in (Sum, Avg) else ORDERED if kind in (Min, Max) else None
    if allowed and (field is None or field.is_relation or not isinstance(field, allowed)):
        raise InvalidQuery(f'"{function}" can\'t be used on field "{name}"')
    return kind(visible_value(target), distinct=distinct)


def _value(scope: Scope, name: str) -> Any:
    return visible_value(query_target(scope, tuple(name.split("."))))


def _group_order(q: Query, groups: dict[str, str]) -> list[Any]:
    """``sort`` while grouping: only group fields (anything else would split the groups)."""
    alias_of = {name: alias for alias, name in groups.items()}
    order: list[Any] = []
    for entry in q.sort:
        name = entry.lstrip("-")
        if name not in alias_of:
            raise InvalidQuery(f'"sort" on "{name}" needs "{name}" in "groupBy"')
        order.append(ordered(F(alias_of[name]), descending=entry.startswith("-")))
    return order or [ordered(F(alias), descending=False) for alias in groups]


def _row(q: Query, values: dict[str, Any], groups: dict[str, str]) -> dict[str, Any]:
    """One answer row; ``count`` of ``*`` is a plain number unless fields are counted too."""
    row: dict[str, Any] = {name: to_json(values[alias]) for alias, name in groups.items()}
    named = {function for function, name in q.aggregate if name != "*"}
    for index, (function, name) in enumerate(q.aggregate):
        value = to_json(values[f"_agg_{index}"])
        if name == "*" and function not in named:
            row[function] = value
        else:
            row.setdefault(function, {})[name] = value
    return row
