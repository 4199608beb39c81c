"""The narrowing of an API key: a subset of its owner's permissions (least privilege).

A key without a scope acts with its owner's full permissions. A scope is either read-only
(``{"read_only": true}``: only ``read``) or a list of collections and the actions allowed on
each (``{"collections": {"articles": ["read", "update"]}}``), or both (then only the listed
collections, and only ``read`` on them). The scope only ever removes: it is intersected with the
owner's rules in :func:`accounts.permissions.rules_for`, for admins too.

OAuth tokens are narrowed the same way (their scopes become a :class:`KeyScope`, see
:mod:`oauth.scopes`); they also use ``items``: actions allowed on every collection that is not a
system one (``directus_*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACTIONS = ("create", "read", "update", "delete", "share")
SYSTEM_PREFIX = "directus_"


class ScopeError(ValueError):
    """A scope document that is not one of the accepted shapes (the message says why)."""


@dataclass(frozen=True)
class KeyScope:
    read_only: bool = False
    collections: tuple[tuple[str, frozenset[str]], ...] | None = None
    items: frozenset[str] | None = None

    def allows(self, collection: str, action: str) -> bool:
        """Whether this narrowing leaves ``action`` on ``collection`` to the owner's rules."""
        if self.read_only and action != "read":
            return False
        if self.collections is None and self.items is None:
            return True
        if self.items and action in self.items and not collection.startswith(SYSTEM_PREFIX):
            return True
        return action in dict(self.collections or ()).get(collection, frozenset())

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.read_only:
            data["read_only"] = True
        if self.collections is not None:
            data["collections"] = {c: sorted(a) for c, a in self.collections}
        return data


def parse_scope(data: Any) -> KeyScope | None:
    """The scope stored as JSON (``None``/``{}``: no narrowing). Raises :class:`ScopeError`."""
    if data is None or data == {}:
        return None
    if not isinstance(data, Mapping) or set(data) - {"read_only", "collections"}:
        raise ScopeError('scope has to be an object with "read_only" and/or "collections"')
    read_only = data.get("read_only", False)
    if not isinstance(read_only, bool):
        raise ScopeError('"read_only" has to be a boolean')
    collections = data.get("collections")
    return KeyScope(read_only, None if collections is None else _collections(collections))


def _collections(data: Any) -> tuple[tuple[str, frozenset[str]], ...]:
    if not isinstance(data, Mapping):
        raise ScopeError('"collections" has to be an object of collection → actions')
    parsed = []
    for name, actions in data.items():
        if not isinstance(actions, list) or not all(a in ACTIONS for a in actions):
            raise ScopeError(f'actions of "{name}" have to be a list of {", ".join(ACTIONS)}')
        parsed.append((str(name), frozenset(actions)))
    return tuple(sorted(parsed, key=lambda entry: entry[0]))
