"""Filters compiled to ``Q``, against a field resolver.

:func:`compile_filter` checks the shape (:mod:`accounts.permissions.caps`), then asks a
:data:`Resolver` what each field path means. Stored permission rules use
:func:`model_resolver` (system context: any concrete field, relations followed); the caller's
own filters go through ``items.scope.caller_resolver``, the one queryable-path check, which
needs the collection registry and so lives in the items layer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.permissions.caps import (
    LOOKUPS,
    MAX_INTEGER,
    NEGATIONS,
    TEXT_OPERATORS,
    FilterError,
    as_flag,
    as_list,
    validate_filter_shape,
)
from core.text import NUL_MESSAGE, contains_nul


@dataclass(frozen=True)
class Target:
    """What a field path means to the ORM: its lookup, how to coerce values for it, an
    optional guard (the condition under which the caller may see the field) and the model
    field at the end of the path (``None`` when unknown)."""

    lookup: str
    coerce: Callable[[Any], Any]
    guard: Q | None = None
    field: Any = None


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
        return Q(**{f"{lookup}__isnull": as_flag(op, value)})
    if op == "_empty":
        empty = Q(**{f"{lookup}__isnull": True}) | Q(**{f"{lookup}__exact": ""})
        return empty if as_flag(op, value) else ~empty
    if op == "_eq" and value is None:
        return Q(**{f"{lookup}__isnull": True})
    if op in TEXT_OPERATORS:
        return Q(**{f"{lookup}__{LOOKUPS[op]}": str(value)})
    if op in ("_in", "_between"):
        values = [target.coerce(v) for v in as_list(op, value)]
        return Q(**{f"{lookup}__{LOOKUPS[op]}": values if op == "_in" else tuple(values)})
    return Q(**{f"{lookup}__{LOOKUPS[op]}": target.coerce(value)})


# ---------------------------------------------------------------- resolving field paths


def model_resolver(model: type[models.Model], prefix: str = "") -> Resolver:
    """System-context resolver (stored rules): any concrete field, following relations."""

    def resolve(path: tuple[str, ...]) -> Target:
        current: Any = model
        field: Any = None
        for name in path:
            try:
                field = current._meta.get_field(name)
            except FieldDoesNotExist:
                raise FilterError(f'Unknown field "{name}" in filter') from None
            current = field.related_model if field.is_relation else None
            if current is None and name != path[-1]:
                raise FilterError(f'Field "{name}" has no nested fields')
        return Target(prefix + "__".join(path), coercer(field))

    return resolve


def coercer(field: Any) -> Callable[[Any], Any]:
    """Convert a filter value to ``field``'s Python type; misfits raise FilterError."""
    target = field.target_field if field is not None and field.is_relation else field

    def coerce(value: Any) -> Any:
        if target is None or isinstance(value, dt.datetime):
            return value
        try:
            converted = target.to_python(value)
        except (ValidationError, ValueError, TypeError):
            raise FilterError(f'Invalid value "{value}" for field "{field.name}"') from None
        if isinstance(converted, dt.datetime) and timezone.is_naive(converted):
            converted = timezone.make_aware(converted, dt.UTC)
        if isinstance(converted, int) and not -MAX_INTEGER - 1 <= converted <= MAX_INTEGER:
            raise FilterError(f'Value for field "{field.name}" has to fit in 64 bits')
        return converted

    return coerce
