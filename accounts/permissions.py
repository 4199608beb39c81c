"""The permission engine (contract access-model.md §5.2): which Permission rows apply to an
accountability for a collection and action, and the contract's FORBIDDEN messages.

* access to a collection/action: at least one row (admins: always);
* an item is visible when ANY row's item filter matches it (``None``/``{}`` = every item);
* a field of an item is visible when a row that lists it (or ``*``) matches that item;
* ``validation`` filters apply to written payloads, ``presets`` are defaults merged in policy
  order (a later policy overrides an earlier one; the payload overrides both).

Rows are cached per (policies, collection, action) under the access version
(:func:`accounts.accountability.access_version`), so a warm request runs no permission query.
Dynamic variables are substituted per request (:func:`variables_for`), never cached.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldError

from accounts.accountability import Accountability, access_version, versioned
from accounts.filters import Variables
from core.errors import Forbidden

ALL_FIELDS = "*"
APP_MINIMAL_USER_FIELDS = (
    "id,first_name,last_name,email,password,tfa_secret,status,role,provider,"
    "language,title,description,location,email_notifications"
)


@dataclass(frozen=True)
class Rule:
    """One permission row, as data. ``filter``/``validation``/``presets`` still hold their
    dynamic variables; substitute them with :func:`accounts.filters.substitute`."""

    fields: frozenset[str]
    filter: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    presets: dict[str, Any] | None = None

    @property
    def all_fields(self) -> bool:
        return ALL_FIELDS in self.fields

    @property
    def unrestricted(self) -> bool:
        """Covers every item (no item filter)."""
        return not self.filter

    def grants(self, field: str) -> bool:
        return self.all_fields or field in self.fields


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
        merged: dict[str, Any] = {}
        for rule in self.rules:
            merged.update(rule.presets or {})
        return merged


def rules_for(acc: Accountability, collection: str, action: str) -> RuleSet:
    """The rows of ``acc.policies`` for ``collection``/``action``, in policy order. An API key's
    scope removes every collection/action it does not list, admins included."""
    if acc.scope is not None and not acc.scope.allows(collection, action):
        return RuleSet(collection, action, ())
    if acc.admin:
        return RuleSet(collection, action, (FULL_ACCESS,), admin=True)
    policies = hashlib.sha256(",".join(str(p) for p in acc.policies).encode()).hexdigest()
    key = f"perm:{access_version()}:{collection}:{action}:{policies[:32]}"
    rules = versioned.get_or_set(key, lambda: _load_rules(acc.policies, collection, action))
    return RuleSet(collection, action, rules + _app_minimal(acc, collection, action))


def _load_rules(policies: tuple[uuid.UUID, ...], collection: str, action: str) -> tuple[Rule, ...]:
    from accounts.models import Permission

    if not policies:
        return ()
    rows = Permission.objects.filter(policy_id__in=policies, collection=collection, action=action)
    position = {policy: index for index, policy in enumerate(policies)}
    ordered = sorted(rows, key=lambda row: (position[row.policy_id], row.pk))
    return tuple(_as_rule(row.field_list, row) for row in ordered)


def _as_rule(fields: list[str], row: Any) -> Rule:
    return Rule(
        fields=frozenset(fields),
        filter=row.permissions or None,
        validation=row.validation or None,
        presets=row.presets if isinstance(row.presets, dict) else None,
    )


def _app_minimal(acc: Accountability, collection: str, action: str) -> tuple[Rule, ...]:
    """App users may always read a few fields of their own user row (contract §5.2)."""
    if not (acc.app and acc.user and collection == "directus_users" and action == "read"):
        return ()
    fields = frozenset(APP_MINIMAL_USER_FIELDS.split(","))
    return (Rule(fields, filter={"id": {"_eq": "$CURRENT_USER"}}),)


def variables_for(acc: Accountability) -> Variables:
    """Dynamic variables of ``acc``; ``$CURRENT_USER.<field>`` rows load on first use."""
    return Variables(
        user=str(acc.user) if acc.user else None,
        role=str(acc.role) if acc.role else None,
        roles=[str(r) for r in acc.roles],
        policies=[str(p) for p in acc.policies],
        lookup=_row_lookup(acc),
    )


def _row_lookup(acc: Accountability) -> Callable[[str, str], Any]:
    loaded: dict[tuple[str, str], Any] = {}

    def lookup(root: str, path: str) -> Any:
        if (root, path) not in loaded:
            loaded[root, path] = _load_value(acc, root, path)
        return loaded[root, path]

    return lookup


def _load_value(acc: Accountability, root: str, path: str) -> Any:
    from accounts.models import Role, User

    model: Any = User if root == "$CURRENT_USER" else Role
    pk = acc.user if root == "$CURRENT_USER" else acc.role
    if pk is None:
        return None
    lookup = path.replace(".", "__")
    try:
        values = list(model.objects.filter(pk=pk).values_list(lookup, flat=True)[:1])
    except FieldError:  # an unknown field in a stored rule stands for nothing
        return None
    value = values[0] if values else None
    return str(value) if isinstance(value, uuid.UUID) else value


# ---------------------------------------------------------------- contract messages


def collection_forbidden(collection: str, action: str) -> Forbidden:
    """No row for this collection/action, or no such collection (existence never leaks)."""
    if action == "read":
        return Forbidden(
            f'You don\'t have permission to access collection "{collection}" '
            "or it does not exist. Queried in root."
        )
    return Forbidden(
        f'You don\'t have permission to perform "{action}" for collection "{collection}" '
        "or it does not exist."
    )


def field_forbidden(field: str, collection: str, path: tuple[str, ...] = ()) -> Forbidden:
    """A field no row grants, or no such field; ``path`` is where it was queried from."""
    where = f'"{".".join(path)}"' if path else "root"
    return Forbidden(
        f'You don\'t have permission to access field "{field}" in collection "{collection}" '
        f"or it does not exist. Queried in {where}."
    )


def item_forbidden() -> Forbidden:
    """A missing item, or one the caller may not see or change: the generic message."""
    return Forbidden()
