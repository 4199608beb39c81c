"""Which Permission rows apply to an accountability for a collection and action (contract
access-model.md §5.2), as data.

* access to a collection/action: at least one row (admins: always);
* an item is visible when ANY row's item filter matches it (``None``/``{}`` = every item);
* a field of an item is visible when a row that lists it (or ``*``, minus the fields ``*``
  withholds: :func:`accounts.permissions.fields.withheld_from_all`) matches that item;
* ``validation`` filters apply to written payloads, ``presets`` are defaults merged in policy
  order (a later policy overrides an earlier one; the payload overrides both).

Rows are cached per (policies, collection, action) under the access version
(:func:`accounts.accountability.access_version`), so a warm request runs no permission query.
Their dynamic variables stay in place; :mod:`accounts.permissions.variables` substitutes them
per request. An API key's scope (:mod:`accounts.keyscope`) narrows the rows, admins included.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from accounts.accountability import Accountability, access_version, versioned
from accounts.models import Permission
from accounts.permissions.fields import (
    ALL_FIELDS,
    APP_MINIMAL_USER_FIELDS,
    USERS,
    withheld_from_all,
)

ROLES = "directus_roles"


@dataclass(frozen=True)
class Rule:
    """One permission row, as data. ``filter``/``validation``/``presets`` still hold their
    dynamic variables; substitute them with :func:`accounts.permissions.substitute`.
    ``withheld`` are the fields a ``*`` in this row does not cover (named ones still count)."""

    fields: frozenset[str]
    filter: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    presets: dict[str, Any] | None = None
    withheld: frozenset[str] = frozenset()

    @property
    def all_fields(self) -> bool:
        return ALL_FIELDS in self.fields

    @property
    def unrestricted(self) -> bool:
        """Covers every item (no item filter)."""
        return not self.filter

    def grants(self, field: str) -> bool:
        if field in self.fields:
            return True
        return self.all_fields and field not in self.withheld


FULL_ACCESS = Rule(frozenset({ALL_FIELDS}))


@dataclass(frozen=True)
class RuleSet:
    """The rows that apply to one (accountability, collection, action)."""

    collection: str
    action: str
    rules: tuple[Rule, ...]
    admin: bool = False

    @property
    def allowed(self) -> bool:
        return self.admin or bool(self.rules)

    @property
    def all_fields(self) -> bool:
        return any(rule.all_fields for rule in self.rules)

    @property
    def unrestricted(self) -> bool:
        """Every item is covered by at least one row."""
        return any(rule.unrestricted for rule in self.rules)

    def grants(self, field: str) -> bool:
        return any(rule.grants(field) for rule in self.rules)

    def granting(self, field: str) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.grants(field))

    def presets(self) -> dict[str, Any]:
        """Every row's presets merged in policy order (a later row overrides an earlier one)."""
        merged: dict[str, Any] = {}
        for rule in self.rules:
            merged.update(rule.presets or {})
        return merged


def rules_for(acc: Accountability, collection: str, action: str) -> RuleSet:
    """The rows of ``acc.policies`` for ``collection``/``action``, in policy order. An API key's
    scope removes every collection/action it does not list, admins included."""
    if acc.scope is not None and not acc.scope.allows(collection, action):
        return RuleSet(collection, action, ())
    if acc.admin or acc.scoped_admin:
        return RuleSet(collection, action, (FULL_ACCESS,), admin=True)
    policies = hashlib.sha256(",".join(str(p) for p in acc.policies).encode()).hexdigest()
    key = f"perm:{access_version()}:{collection}:{action}:{policies[:32]}"
    rules = versioned.get_or_set(key, lambda: _load_rules(acc.policies, collection, action))
    return RuleSet(collection, action, rules + _app_minimal(acc, collection, action))


def _load_rules(policies: tuple[uuid.UUID, ...], collection: str, action: str) -> tuple[Rule, ...]:
    if not policies:
        return ()
    rows = Permission.objects.filter(policy_id__in=policies, collection=collection, action=action)
    position = {policy: index for index, policy in enumerate(policies)}
    ordered = sorted(rows, key=lambda row: (position[row.policy_id], row.pk))
    withheld = withheld_from_all(collection, action)
    return tuple(_as_rule(row, withheld) for row in ordered)


def _as_rule(row: Permission, withheld: frozenset[str]) -> Rule:
    fields = frozenset(row.field_list)
    return Rule(
        fields=fields,
        filter=row.permissions or None,
        validation=row.validation or None,
        presets=row.presets if isinstance(row.presets, dict) else None,
        withheld=withheld if ALL_FIELDS in fields else frozenset(),
    )


def _app_minimal(acc: Accountability, collection: str, action: str) -> tuple[Rule, ...]:
    """App users may always read a few fields of their own user row and the roles of their
    own role tree (contract §5.2)."""
    if not (acc.app and acc.user and action == "read"):
        return ()
    if collection == USERS:
        return (Rule(APP_MINIMAL_USER_FIELDS, filter={"id": {"_eq": "$CURRENT_USER"}}),)
    if collection == ROLES and acc.roles:
        return (Rule(frozenset({ALL_FIELDS}), filter={"id": {"_in": "$CURRENT_ROLES"}}),)
    return ()
