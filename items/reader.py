"""Reading items through the read permissions (access-model §5.2).

``fields`` become a :class:`Selection` tree (``*``, ``title``, ``author.email``, ``author.*``);
a field no read row grants is 403. One query per collection level fetches the rows with one
boolean annotation per distinct field condition, so a field comes back ``null`` on items where
no row granting it matches. Many-to-one relations are read with one more query through the
related collection's own read rows; an invisible related item is ``null``."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from accounts.permissions import field_forbidden
from items.registry import CONCEALED_VALUE, CollectionSpec
from items.scope import Scope


@dataclass
class Selection:
    """The fields to read at one level; ``nested`` maps relation fields to their own level."""

    scope: Scope
    path: tuple[str, ...] = ()
    fields: list[str] = field(default_factory=list)
    nested: dict[str, Selection] = field(default_factory=dict)


def select(scope: Scope, requested: tuple[str, ...], path: tuple[str, ...] = ()) -> Selection:
    """Validate ``requested`` against the read rows of ``scope`` (403 on the first bad field)."""
    selection = Selection(scope, path)
    children: dict[str, list[str]] = {}
    for entry in requested:
        name, _, rest = entry.partition(".")
        if name == "*" and rest:  # ``*.x`` is ``*`` plus ``x`` in every relation (as Directus);
            # relations land in ``nested`` below and are dropped from ``fields`` at the end.
            for target in _expand(scope, "*", False, path):
                if target not in selection.fields:
                    selection.fields.append(target)
        for target in _expand(scope, name, bool(rest), path):
            if rest:
                children.setdefault(target, []).append(rest)
            elif target not in selection.fields:
                selection.fields.append(target)
    for name, sub in children.items():
        selection.nested[name] = _select_nested(scope, name, tuple(sub), path)
    selection.fields = [f for f in selection.fields if f not in selection.nested]
    return selection


def _expand(scope: Scope, name: str, nested: bool, path: tuple[str, ...]) -> list[str]:
    spec = scope.spec
    if name == "*":
        readable = [f for f in spec.fields if scope.rules.grants(f)]
        return [f for f in readable if spec.related(f)] if nested else readable
    if name not in spec.fields or not scope.rules.grants(name):
        raise field_forbidden(name, spec.name, path)
    return [name]


def _select_nested(
    scope: Scope, name: str, requested: tuple[str, ...], path: tuple[str, ...]
) -> Selection:
    related = scope.spec.related(name)
    first = requested[0].partition(".")[0]
    if related is None:
        raise field_forbidden(first, scope.spec.name, (*path, name))
    nested = Scope(related, scope.acc, scope.variables)
    if not nested.rules.allowed:
        raise field_forbidden(first, related.name, (*path, name))
    return select(nested, requested, (*path, name))


def read(
    selection: Selection, queryset: QuerySet[Any], start: int = 0, stop: int | None = None
) -> list[dict[str, Any]]:
    """Items ``start:stop`` of ``queryset`` (already limited to visible items, ordered) as
    JSON-ready dicts."""
    values, shown = shape(selection, queryset, start, stop)
    spec = selection.scope.spec
    items = [render(spec, row, shown) for row in values]
    for name, child in selection.nested.items():
        _attach(child, name, items)
    return items


Shown = tuple[tuple[str, str | None], ...]


def shape(
    selection: Selection, queryset: QuerySet[Any], start: int = 0, stop: int | None = None
) -> tuple[QuerySet[Any], Shown]:
    """The ``values()`` queryset that reads ``selection`` from ``queryset``, and how each of its
    fields is shown: (field, alias of the annotation saying whether it is visible on an item,
    or ``None``: always)."""
    cases = _cases(selection)
    columns = [*selection.fields, *selection.nested]
    annotations = {alias: ExpressionWrapper(q, BooleanField()) for alias, q in cases.values()}
    pk = selection.scope.spec.pk_name
    values = queryset.annotate(**annotations).values(pk, *columns, *annotations)[start:stop]
    shown = tuple((name, cases[name][0] if name in cases else None) for name in columns)
    return values, shown


def _cases(selection: Selection) -> dict[str, tuple[str, Q]]:
    """field → (annotation alias, condition) for fields not visible on every item."""
    cases: dict[str, tuple[str, Q]] = {}
    aliases: dict[tuple[int, ...], str] = {}
    for name in [*selection.fields, *selection.nested]:
        guard = selection.scope.guard(name)
        if guard is None:
            continue
        key = tuple(selection.scope.granting(name))
        alias = aliases.setdefault(key, f"_case_{len(aliases)}")
        cases[name] = (alias, guard)
    return cases


def render(spec: CollectionSpec, row: dict[str, Any], shown: Shown) -> dict[str, Any]:
    """One row of :func:`shape`'s queryset as the caller reads the item."""
    item: dict[str, Any] = {}
    concealed = spec.concealed
    for name, alias in shown:
        value = row[name] if alias is None or row[alias] else None
        if name in concealed:
            value = CONCEALED_VALUE if value not in (None, "") else None
        item[name] = to_json(value)
    return item


def _attach(child: Selection, name: str, items: list[dict[str, Any]]) -> None:
    keys = {item[name] for item in items if item[name] is not None}
    if not keys:
        return
    spec = child.scope.spec
    queryset = spec.model._default_manager.filter(child.scope.visible(), pk__in=keys)
    pk = spec.pk_name
    fields = [pk, *(f for f in child.fields if f != pk)]
    with_pk = Selection(child.scope, child.path, fields, child.nested)
    found = {row[pk]: row for row in read(with_pk, queryset)}
    for item in items:
        related = found.get(item[name])
        item[name] = _without_pk(related, pk, child) if related is not None else None


def _without_pk(row: dict[str, Any], pk: str, child: Selection) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != pk or pk in child.fields}


def to_json(value: Any) -> Any:
    """Python values as JSON values: ids as strings, timestamps ISO-8601 in UTC."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC) if value.tzinfo else value
        return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value
