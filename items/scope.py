"""Permission rows compiled to querysets: which items a caller may see or change, under which
condition each field is visible, and how the caller's own filters resolve field paths.

Rule filters run in system context (they may name any model field, relations included:
:func:`accounts.permissions.model_resolver`).
Everything the *caller* names in a query — filter, sort, search, aggregate, groupBy, and
``$CURRENT_USER.<path>`` — passes :func:`query_target`, the one check: only registered fields
a read row grants, never a concealed or secret one (admins included), and each use of a field is
guarded by the rows that grant it (the "cases" of access-model §5.2), so no query reveals a
value the caller would read back as ``null``."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.db.models import Case, F, Q, When
from django.db.models.expressions import OrderBy

from accounts.accountability import Accountability
from accounts.permissions import (
    FilterError,
    Resolver,
    RuleSet,
    Target,
    Variables,
    coercer,
    compile_filter,
    field_forbidden,
    model_resolver,
    rules_for,
    substitute,
)
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
            None if rule.unrestricted else self._compiled(rule.filter, resolver)
            for rule in self.rules.rules
        )

    def _compiled(self, filter: Any, resolver: Resolver) -> Q:
        try:
            return compile_filter(substitute(filter, self.variables), resolver)
        except FilterError:
            return NOTHING  # a stored rule that cannot apply grants nothing

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


def query_target(scope: Scope, path: tuple[str, ...]) -> Target:
    """May the caller of ``scope`` query the field ``path`` (``("author", "email")``)?

    The one check behind every field a caller names in a query: filter, sort, search,
    aggregate, groupBy, and ``$CURRENT_USER.<path>`` variables, for REST, sockets and GraphQL
    alike. Each step must be a registered field that is neither concealed nor secret (for
    admins too: a comparison is an oracle on a hash) and that a read row grants; relations
    must lead to a registered collection the caller may read. Returns the ORM target with the
    guard under which the value is visible; otherwise 403 FORBIDDEN, the answer Directus gives
    for a field the caller may not read (same message, so existence does not leak)."""
    if not path:
        raise field_forbidden("", scope.spec.name)
    current, guards = scope, []
    for depth, name in enumerate(path):
        _require_queryable(current, name, path[:depth])
        if (guard := current.guard(name)) is not None:
            guards.append(guard)
        if depth < len(path) - 1:
            current = _step(current, name, path[: depth + 1], path[depth + 1])
            guards.append(current.visible())
    field = current.spec.field(path[-1])
    combined = Q(*guards) if guards else None
    return Target(scope.prefix + "__".join(path), coercer(field), combined, field)


def caller_resolver(scope: Scope) -> Resolver:
    """Resolver for the caller's filters: :func:`query_target` on ``scope``."""

    def resolve(path: tuple[str, ...]) -> Target:
        return query_target(scope, path)

    return resolve


def visible_value(target: Target) -> F | Case:
    """The value of ``target`` as the caller reads it: ``null`` where its guard fails, so a
    sort or an aggregate orders and counts only what the caller could read back."""
    if target.guard is None:
        return F(target.lookup)
    return Case(When(target.guard, then=F(target.lookup)))


def ordered(expression: F | Case, *, descending: bool) -> OrderBy:
    """``expression`` in ascending or descending order with ``null`` as the smallest value,
    as SQLite orders, on PostgreSQL too: one answer on every database."""
    if descending:
        return expression.desc(nulls_last=True)
    return expression.asc(nulls_first=True)


def _require_queryable(scope: Scope, name: str, path: tuple[str, ...]) -> None:
    spec = scope.spec
    if name not in spec.fields or name in spec.unqueryable or not scope.rules.grants(name):
        raise field_forbidden(name, spec.name, path)


def _step(scope: Scope, name: str, path: tuple[str, ...], child: str) -> Scope:
    related = scope.spec.related(name)
    if related is None:
        raise field_forbidden(child, scope.spec.name, path)
    nested = scope.nested(related, name)
    if not nested.rules.allowed:
        raise field_forbidden(child, related.name, path)
    return nested
