"""Permission rows compiled to querysets: which items a caller may see or change, under which
condition each field is visible, and how the caller's own filters resolve field paths.

Rule filters run in system context (they may name any model field, relations included);
the caller's filters, sorts and searches may only use fields a read row grants, and each
condition on a field is guarded by the rows that grant it (the "cases" of access-model §5.2),
so filtering never reveals a value the caller would read back as ``null``."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.accountability import Accountability
from accounts.filters import FilterError, Resolver, Target, Variables, compile_filter, substitute
from accounts.permissions import RuleSet, field_forbidden, rules_for
from items.registry import CollectionSpec

NOTHING = Q(pk__in=[])


class Scope:
    """The rows of one (caller, collection, action), compiled once per request.

    ``prefix`` is the ORM path from the queried model to this collection (``"author__"``)
    when the scope guards a related collection inside another query."""

    def __init__(
        self,
        spec: CollectionSpec,
        acc: Accountability,
        variables: Variables,
        action: str = "read",
        prefix: str = "",
    ) -> None:
        self.spec, self.acc, self.variables = spec, acc, variables
        self.action, self.prefix = action, prefix
        self.rules: RuleSet = rules_for(acc, spec.name, action)

    @cached_property
    def rule_filters(self) -> tuple[Q | None, ...]:
        """Each row's item filter as a ``Q`` (``None``: the row covers every item)."""
        resolver = model_resolver(self.spec.model, self.prefix)
        return tuple(
            None
            if rule.unrestricted
            else _compiled(substitute(rule.filter, self.variables), resolver)
            for rule in self.rules.rules
        )

    def covering(self, indices: list[int]) -> Q:
        """Items matched by any of the rows at ``indices``."""
        filters = [self.rule_filters[i] for i in indices]
        if not filters:
            return NOTHING
        if any(f is None for f in filters):
            return Q()
        return Q(*filters, _connector=Q.OR)

    def visible(self) -> Q:
        """Items the caller may act on at all."""
        return self.covering(list(range(len(self.rules.rules))))

    def guard(self, field: str) -> Q | None:
        """Condition for ``field`` to be visible on an already visible item (``None``: always)."""
        indices = self.granting(field)
        if len(indices) == len(self.rules.rules) or any(
            self.rule_filters[i] is None for i in indices
        ):
            return None
        return self.covering(indices)

    def granting(self, field: str) -> list[int]:
        return [i for i, rule in enumerate(self.rules.rules) if rule.grants(field)]

    def granting_all(self, fields: list[str]) -> Q:
        """Items covered by a row that grants every one of ``fields`` (for writes)."""
        indices = [
            i for i, rule in enumerate(self.rules.rules) if all(rule.grants(f) for f in fields)
        ]
        return self.covering(indices)

    def nested(self, spec: CollectionSpec, field: str) -> Scope:
        return Scope(spec, self.acc, self.variables, "read", f"{self.prefix}{field}__")


def _compiled(filter: Any, resolver: Resolver) -> Q:
    try:
        return compile_filter(filter, resolver)
    except FilterError:
        return NOTHING  # a stored rule that cannot apply grants nothing


def model_resolver(model: type[models.Model], prefix: str = "") -> Resolver:
    """System-context resolver: any concrete field, following relations of the model."""

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


def caller_resolver(scope: Scope) -> Resolver:
    """Resolver for the caller's filters and sorts: only readable fields, each guarded."""

    def resolve(path: tuple[str, ...]) -> Target:
        current, guards = scope, []
        for depth, name in enumerate(path):
            _require_readable(current, name, path[:depth])
            guard = current.guard(name)
            guards.append(guard) if guard is not None else None
            if depth < len(path) - 1:
                current = _step(current, name, path[: depth + 1], path[depth + 1])
                guards.append(current.visible())
        field = current.spec.field(path[-1])
        combined = Q(*guards) if guards else None
        return Target("__".join(path), coercer(field), combined)

    return resolve


def _require_readable(scope: Scope, name: str, path: tuple[str, ...]) -> None:
    if name not in scope.spec.fields or not scope.rules.grants(name):
        raise field_forbidden(name, scope.spec.name, path)


def _step(scope: Scope, name: str, path: tuple[str, ...], child: str) -> Scope:
    related = scope.spec.related(name)
    if related is None:
        raise field_forbidden(child, scope.spec.name, path)
    nested = scope.nested(related, name)
    if not nested.rules.allowed:
        raise field_forbidden(child, related.name, path)
    return nested


def coercer(field: Any) -> Any:
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
        return converted

    return coerce
