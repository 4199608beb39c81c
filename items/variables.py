"""Dynamic variables in the caller's own queries (access-model §5.2): the one resolver.

``$CURRENT_USER.<path>`` and ``$CURRENT_ROLE.<path>`` in a filter the caller sends are read as
the caller would read them: through :func:`items.scope.query_target` on ``directus_users`` /
``directus_roles`` under the caller's own read rows, only when that collection is registered.
An unknown, unreadable, concealed or secret path (``$CURRENT_USER.role.users.password``), or a
path under ``$CURRENT_ROLES`` / ``$CURRENT_POLICIES``, is INVALID_QUERY and is never looked up,
so a variable cannot carry a value into a comparison that the caller may not read itself.

Stored permission rules keep the system-context lookup of
:func:`accounts.permissions.variables_for`."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from accounts.accountability import Accountability
from accounts.permissions import FilterError, Variables
from core.errors import Forbidden
from items import registry
from items.scope import Scope, query_target, visible_value

ROOT_COLLECTIONS = {"$CURRENT_USER": "directus_users", "$CURRENT_ROLE": "directus_roles"}


def query_variables(acc: Accountability, rules: Variables) -> Variables:
    """``rules`` (the variables of stored rules) with the caller-side lookup; values load on
    first use, once per request."""
    loaded: dict[tuple[str, str], Any] = {}

    def lookup(root: str, path: str) -> Any:
        if (root, path) not in loaded:
            loaded[root, path] = resolve_variable(acc, rules, root, path)
        return loaded[root, path]

    return dataclasses.replace(rules, lookup=lookup)


def resolve_variable(acc: Accountability, rules: Variables, root: str, path: str) -> Any:
    """The value of ``<root>.<path>`` for the caller of ``acc`` (``None`` when there is no such
    user/role or the caller cannot see the value on it); FilterError for a refused path."""
    scope = _root_scope(acc, rules, root, path)
    try:
        target = query_target(scope, tuple(path.split(".")))
    except Forbidden:
        raise _refused(root, path) from None
    key = acc.user if root == "$CURRENT_USER" else acc.role
    if key is None:
        return None
    rows = scope.spec.model._default_manager.filter(scope.visible(), pk=key)
    values = list(rows.annotate(_value=visible_value(target)).values_list("_value", flat=True))
    value = values[0] if values else None
    return str(value) if isinstance(value, uuid.UUID) else value


def _root_scope(acc: Accountability, rules: Variables, root: str, path: str) -> Scope:
    name = ROOT_COLLECTIONS.get(root)
    spec = registry.get(name) if name else None
    if spec is None:
        raise _refused(root, path)
    scope = Scope(spec, acc, rules, "read")
    if not scope.rules.allowed:
        raise _refused(root, path)
    return scope


def _refused(root: str, path: str) -> FilterError:
    return FilterError(f'Dynamic variable "{root}.{path}" can\'t be used: no such readable field')
