"""Dynamic variables (contract access-model §5.2): ``$CURRENT_USER``, ``$CURRENT_ROLE``,
``$CURRENT_ROLES``, ``$CURRENT_POLICIES``, ``$NOW`` and ``$NOW(<±n> <unit>)``, and the
``<root>.<path>`` forms (``$CURRENT_USER.role``).

:class:`Variables` holds one request's values; :func:`substitute` replaces them in a filter or in
presets. Who may reach what through ``<root>.<path>`` is the lookup's decision: stored rules
(system context, written by admins) use :func:`variables_for`'s lookup here, which refuses any
path through a secret field; the caller's own queries resolve paths under the caller's read rows
(``items.variables``). Values are substituted per request, never cached.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldError
from django.utils import timezone

from accounts.accountability import Accountability
from accounts.models import Role, User
from accounts.permissions.caps import FilterError
from accounts.permissions.fields import SECRET_USER_FIELDS

DYNAMIC_ROOTS = frozenset({"$CURRENT_USER", "$CURRENT_ROLE", "$CURRENT_ROLES", "$CURRENT_POLICIES"})
NOW_ADJUSTED = re.compile(r"^\$NOW\(\s*([+-]?\s*\d+)\s*([a-z]+?)s?\s*\)$", re.IGNORECASE)
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}


@dataclass
class Variables:
    """Values of ``$CURRENT_USER`` & co. for one request. ``lookup(root, path)`` resolves every
    ``<root>.<path>`` of :data:`DYNAMIC_ROOTS` (``$CURRENT_USER.role``); it decides what a path
    may reach (stored rules and the caller's own queries pass different lookups) and raises
    :class:`FilterError` for a path it refuses. Without a lookup such text stays literal."""

    user: str | None = None
    role: str | None = None
    roles: list[str] = dataclasses.field(default_factory=list)
    policies: list[str] = dataclasses.field(default_factory=list)
    now: dt.datetime = dataclasses.field(default_factory=timezone.now)
    lookup: Callable[[str, str], Any] | None = None
    #: Set once ``$NOW`` or a ``<root>.<path>`` value was substituted: values that change with
    #: time or with a row, not with the access version (a compiled read that used one is not
    #: kept: :mod:`items.plans`). Shared by the copies ``dataclasses.replace`` makes.
    volatile: list[bool] = dataclasses.field(default_factory=lambda: [False], compare=False)

    def value_of(self, text: str) -> Any:
        """The value a ``$...`` string stands for; other strings are returned unchanged."""
        simple = {
            "$CURRENT_USER": self.user,
            "$CURRENT_ROLE": self.role,
            "$CURRENT_ROLES": self.roles,
            "$CURRENT_POLICIES": self.policies,
        }
        if text in simple:
            return simple[text]
        if text == "$NOW":
            self.volatile[0] = True
            return self.now
        if match := NOW_ADJUSTED.match(text):
            self.volatile[0] = True
            try:
                amount = int(match.group(1).replace(" ", ""))
                return shift(self.now, amount, match.group(2).lower())
            except (OverflowError, ValueError):
                raise FilterError(f'"{text}" is out of the range of dates') from None
        root, _, path = text.partition(".")
        if path and root in DYNAMIC_ROOTS and self.lookup:
            self.volatile[0] = True
            return self.lookup(root, path)
        return text


def shift(moment: dt.datetime, amount: int, unit: str) -> dt.datetime:
    """``moment`` moved by ``amount`` units (seconds … years), as in ``$NOW(-1 day)``."""
    if unit in UNIT_SECONDS:
        return moment + dt.timedelta(seconds=amount * UNIT_SECONDS[unit])
    if unit in ("month", "year"):
        months = moment.year * 12 + moment.month - 1 + amount * (12 if unit == "year" else 1)
        year, month = divmod(months, 12)
        day = min(moment.day, _days_in_month(year, month + 1))
        return moment.replace(year=year, month=month + 1, day=day)
    raise FilterError(f'Unknown time unit "{unit}" in $NOW')


def _days_in_month(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


def substitute(value: Any, variables: Variables) -> Any:
    """A copy of ``value`` (a filter, or presets) with every dynamic variable replaced."""
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    if isinstance(value, str) and value.startswith("$"):
        return variables.value_of(value)
    return value


# ---------------------------------------------------------------- stored rules


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
    """``<root>.<path>`` for a stored rule. Only ``$CURRENT_USER``/``$CURRENT_ROLE`` paths are
    looked up (others stay literal text, as before); a path that is unknown or that passes a
    secret field (:data:`SECRET_USER_FIELDS`, on any model) stands for nothing."""
    if root not in ("$CURRENT_USER", "$CURRENT_ROLE"):
        return f"{root}.{path}"
    model: Any = User if root == "$CURRENT_USER" else Role
    pk = acc.user if root == "$CURRENT_USER" else acc.role
    names = path.split(".")
    if pk is None or SECRET_USER_FIELDS.intersection(names) or not all(map(_plain, names)):
        return None
    lookup = "__".join(names)
    try:
        values = list(model.objects.filter(pk=pk).values_list(lookup, flat=True)[:1])
    except FieldError:  # an unknown field in a stored rule stands for nothing
        return None
    value = values[0] if values else None
    return str(value) if isinstance(value, uuid.UUID) else value


def _plain(name: str) -> bool:
    """A single field name: not empty and no ORM lookup syntax (``role__users__password``)."""
    return bool(name) and "__" not in name
