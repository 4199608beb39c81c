"""What every system service adds to the items service: one-to-many *alias* fields (a role's
``policies``, a policy's ``permissions``…), the last admin kept, and an auth-log event per
change.

An alias is read and written through the related collection's own service with the same
accountability, so the permission engine decides about the nested rows exactly as if the
caller had asked for them directly:

* reading: ``policies`` gives the related keys, ``policies.policy.name`` (any field path of the
  related collection) objects; ``*`` adds every alias the caller may read, as keys;
* writing: an array is the whole new set (Directus's array form: a key links an existing row,
  an object with its key updates it, an object without creates it, rows left out are deleted
  or unlinked); ``{"create": [...], "update": [...], "delete": [keys]}`` changes only those.

Each write request is one transaction; when it leaves no active admin where there was one it is
refused (422) and nothing of it stays."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from django.db import transaction
from django.db.models import Q

from accounts.accountability import Accountability
from accounts.audit import record_event
from accounts.models import Access, AuthEventKind, AuthOutcome, User, UserStatus
from accounts.permissions import compile_filter, field_forbidden, item_forbidden, model_resolver
from core.errors import Forbidden, InvalidPayload, InvalidQuery, UnprocessableContent
from items.query import Query, parse_query
from items.service import ItemsService, Page, QueryInput

LAST_ADMIN = "Cannot remove the last admin user from the system"
#: At most this many related rows are read for one alias of one request (a role with a hundred
#: thousand users is listed through ``/users?filter[role]``, with a limit).
MAX_ALIAS_ROWS = 10_000

#: Set while a system write is guarded: the nested writes it makes (an alias's rows) are part
#: of its transaction, and its last-admin check covers them.
_guarding: ContextVar[bool] = ContextVar("system_write_guarded", default=False)


@dataclass(frozen=True, eq=False)
class Alias:
    """A one-to-many field: the rows of ``collection`` whose ``field`` holds our key
    (narrowed by ``where``). Rows dropped from the set are deleted, or unlinked (``field`` set
    to null) when ``deselect`` is ``"nullify"``."""

    name: str
    collection: str
    field: str
    deselect: Literal["delete", "nullify"] = "delete"
    where: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: A field the created rows must set (the ``roles`` alias of a policy makes access rows
    #: that name a role): an object without it is refused.
    requires: str | None = None


def active_admins(exclude: set[str] | None = None) -> int:
    """Active users whose role or own policies grant admin access (other than ``exclude``)."""
    admin_roles = Access.objects.filter(policy__admin_access=True, role__isnull=False)
    admin_users = Access.objects.filter(policy__admin_access=True, user__isnull=False)
    users = User.objects.filter(status=UserStatus.ACTIVE).filter(
        Q(role_id__in=admin_roles.values("role_id")) | Q(pk__in=admin_users.values("user_id"))
    )
    return users.exclude(pk__in=exclude or set()).count()


_SERVICES: dict[str, type[SystemService]] = {}


def service_for(collection: str, accountability: Accountability) -> ItemsService:
    """The service for ``collection`` as ``accountability``: a system collection's own
    service, or the items service (which treats unknown and system names as forbidden)."""
    service = _SERVICES.get(collection)
    if service is not None:
        return service(collection, accountability)
    return ItemsService(collection, accountability)


def registered() -> dict[str, type[SystemService]]:
    """Every system collection and its service, in the order they were defined."""
    return dict(_SERVICES)


def aliases_of(collection: str) -> tuple[Alias, ...]:
    """The one-to-many aliases of a system collection (none for any other)."""
    service = _SERVICES.get(collection)
    return service.aliases if service is not None else ()


def _keys_of(data: Any, fields: tuple[str, ...]) -> Any:
    """``data`` with each many-to-one in ``fields`` given as ``{"id": …}`` reduced to the key."""
    if not isinstance(data, Mapping):
        return data
    out = dict(data)
    for name in fields:
        value = out.get(name)
        if isinstance(value, Mapping) and set(value) == {"id"}:
            out[name] = value["id"]
    return out


class SystemService(ItemsService):
    """The items service for one system collection (``collection_name``); each subclass that
    names one is what :func:`service_for` answers for it."""

    collection_name: ClassVar[str]
    aliases: ClassVar[tuple[Alias, ...]] = ()
    #: Many-to-one fields that may also be written as ``{"id": …}`` (the Data Studio's form).
    relations: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "collection_name" in cls.__dict__:
            _SERVICES[cls.collection_name] = cls

    def __init__(self, collection: str | None, accountability: Accountability, **_: Any) -> None:
        super().__init__(self.collection_name, accountability, allow_system=True)

    def check(self, data: Any, keys: Any) -> Any:
        """The collection's own payload rules, on a payload with many-to-one objects reduced
        to keys (``keys`` None: a create); returns the payload to write."""
        return data

    # ------------------------------------------------------------ reads

    def read_many(self, query: QueryInput = None) -> Page:
        q = parse_query(query)
        plain, wanted = self._split(q.fields)
        if not wanted or q.aggregate or q.group_by:
            return super().read_many(q)
        page = super().read_many(replace(q, fields=self._with_pk(plain)))
        return Page(self._attach(page.data, wanted, plain), page.meta)

    def read_one(self, key: Any, query: QueryInput = None) -> dict[str, Any]:
        q = parse_query(query)
        plain, wanted = self._split(q.fields)
        if not wanted:
            return super().read_one(key, q)
        row = super().read_one(key, replace(q, fields=self._with_pk(plain)))
        return self._attach([row], wanted, plain)[0]

    def read_written(
        self, keys: list[str], query: QueryInput = None
    ) -> list[dict[str, Any]] | None:
        try:
            q = parse_query(query)
            plain, wanted = self._split(q.fields)
        except Forbidden:
            return None
        if not wanted:
            return super().read_written(keys, q)
        rows = super().read_written(keys, replace(q, fields=self._with_pk(plain)))
        if rows is None:
            return None
        try:
            return self._attach(rows, wanted, plain)
        except Forbidden:
            return None

    def _split(self, requested: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, list[str]]]:
        """``fields`` without the aliases, and alias → its requested sub-fields (``[]`` for
        the keys only)."""
        plain: list[str] = []
        wanted: dict[str, list[str]] = {}
        names = {alias.name: alias for alias in self.aliases}
        for entry in requested:
            name, _, rest = entry.partition(".")
            if name in names:
                if not self._scope("read").rules.grants(name):
                    raise field_forbidden(name, self.collection)
                wanted.setdefault(name, [])
                if rest:
                    wanted[name].append(rest)
                continue
            plain.append(entry)
            if name == "*":
                for alias in self.aliases:
                    if alias.name not in wanted and self._may_read(alias):
                        wanted[alias.name] = []
        return tuple(plain), wanted

    def _may_read(self, alias: Alias) -> bool:
        if not self._scope("read").rules.grants(alias.name):
            return False
        try:
            nested = self._nested(alias)._scope("read")
        except Forbidden:
            return False
        return nested.rules.grants(alias.field)

    def _with_pk(self, plain: tuple[str, ...]) -> tuple[str, ...]:
        pk = self._spec().pk_name
        return plain if pk in plain or "*" in plain else (*plain, pk)

    def _attach(
        self, rows: list[dict[str, Any]], wanted: dict[str, list[str]], plain: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        pk = self._spec().pk_name
        keys = [row[pk] for row in rows if row.get(pk) is not None]
        by_alias = {alias.name: alias for alias in self.aliases}
        for name, sub in wanted.items():
            alias = by_alias[name]
            groups = self._related(alias, keys, sub)
            for row in rows:
                row[name] = groups.get(str(row.get(pk)), [])
        if pk not in plain and "*" not in plain:
            for row in rows:
                row.pop(pk, None)
        return rows

    def _related(self, alias: Alias, keys: list[Any], sub: list[str]) -> dict[str, list[Any]]:
        """The rows of ``alias`` for ``keys``, grouped by parent key: their keys when ``sub`` is
        empty, else objects with the ``sub`` fields."""
        nested = self._nested(alias)
        related_pk = nested._spec().pk_name
        fields = tuple(sub) or (related_pk,)
        query = Query(
            fields=(*fields, alias.field, related_pk),
            filter={"_and": [{alias.field: {"_in": keys}}, dict(alias.where)]},
            limit=MAX_ALIAS_ROWS + 1,
        )
        rows = nested.read_many(query).data if keys else []
        if len(rows) > MAX_ALIAS_ROWS:
            raise InvalidQuery(
                f'"{alias.name}" has more than {MAX_ALIAS_ROWS} rows here: read '
                f'"{alias.collection}" with a filter and a limit instead'
            )
        groups: dict[str, list[Any]] = {}
        for row in rows:
            parent = row.get(alias.field)
            parent = parent.get(self._spec().pk_name) if isinstance(parent, dict) else parent
            if not sub:
                groups.setdefault(str(parent), []).append(row[related_pk])
                continue
            shown = {k: v for k, v in row.items() if _requested(k, fields)}
            groups.setdefault(str(parent), []).append(shown)
        return groups

    def _nested(self, alias: Alias) -> ItemsService:
        return service_for(alias.collection, self.acc)

    # ------------------------------------------------------------ writes

    def create_many(self, items: Any) -> list[str]:
        if not isinstance(items, list):
            return super().create_many(items)
        self._scope("create")
        checked = [self.check(_keys_of(item, self.relations), None) for item in items]
        split = [self._take_aliases(item, "create") for item in checked]
        with self._guarded("create") as keys:
            created = super().create_many([plain for plain, _ in split])
            for key, (_, aliases) in zip(created, split, strict=True):
                self._write_aliases(key, aliases, creating=True)
            keys.extend(created)
        return created

    def update_many(self, keys: Any, data: Any) -> list[str]:
        self._scope("update")
        with self._guarded("update") as written:
            written.extend(self._update_with_aliases(keys, data))
        return written

    def update_batch(self, items: Any) -> list[str]:
        self._scope("update")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            return super().update_batch(items)
        with self._guarded("update") as written:
            for item in items:
                pk_name = self._spec().pk_name
                if pk_name not in item:
                    return super().update_batch(items)  # its error names the missing key
                data = {k: v for k, v in item.items() if k != pk_name}
                written.extend(self._update_with_aliases([item[pk_name]], data))
        return written

    def delete_many(self, keys: Any) -> list[str]:
        with self._guarded("delete") as written:
            written.extend(super().delete_many(keys))
        return written

    def _update_with_aliases(self, keys: Any, data: Any) -> list[str]:
        """Update ``keys`` with ``data`` and its aliases, inside the caller's guard."""
        plain, aliases = self._take_aliases(
            self.check(_keys_of(data, self.relations), keys), "update"
        )
        if plain or not aliases:
            updated = super().update_many(keys, plain)
        elif self.permits("update", keys):  # aliases only: the targets must still be updatable
            updated = [str(pk) for pk in self._keys(keys)]
        else:
            raise item_forbidden()
        for key in updated:
            self._write_aliases(key, aliases, creating=False)
        return updated

    def _take_aliases(self, data: Any, action: str) -> tuple[Any, dict[Alias, Any]]:
        """``data`` without its alias fields, and those fields (each granted to the caller's
        ``action`` rows, like any field)."""
        if not isinstance(data, Mapping):
            return data, {}
        rules = self._scope(action).rules
        aliases: dict[Alias, Any] = {}
        for alias in self.aliases:
            if alias.name in data:
                if not rules.grants(alias.name):
                    raise field_forbidden(alias.name, self.collection)
                aliases[alias] = data[alias.name]
        names = {alias.name for alias in aliases}
        return {k: v for k, v in data.items() if k not in names}, aliases

    def _write_aliases(self, key: str, aliases: dict[Alias, Any], *, creating: bool) -> None:
        for alias, value in aliases.items():
            if isinstance(value, list):
                self._replace_set(alias, key, value, creating=creating)
            elif isinstance(value, Mapping) and set(value) <= {"create", "update", "delete"}:
                self._change_set(alias, key, value)
            else:
                raise InvalidPayload(
                    f'"{alias.name}" has to be an array or an object of "create", "update" '
                    'and "delete"'
                )

    def _replace_set(self, alias: Alias, key: str, items: list[Any], *, creating: bool) -> None:
        nested = self._nested(alias)
        related_pk = nested._spec().pk_name
        links = [item for item in items if not isinstance(item, Mapping)]
        updates = [item for item in items if isinstance(item, Mapping) and related_pk in item]
        creates = [item for item in items if isinstance(item, Mapping) and related_pk not in item]
        kept = [str(item) for item in links] + [str(item[related_pk]) for item in updates]
        if not creating:
            current = self._current(alias, key)
            dropped = [pk for pk in current if pk not in kept]
            if dropped:
                self._drop(alias, key, dropped)
        self._change_set(alias, key, {"create": creates, "update": updates, "link": links})

    def _change_set(self, alias: Alias, key: str, change: Mapping[str, Any]) -> None:
        nested = self._nested(alias)
        related_pk = nested._spec().pk_name
        for part in ("create", "update", "delete", "link"):
            if not isinstance(change.get(part, []), list):
                raise InvalidPayload(f'"{alias.name}.{part}" has to be an array')
        creates = change.get("create", [])
        for item in creates:
            if not isinstance(item, Mapping):
                raise InvalidPayload(f'Each item of "{alias.name}" to create has to be an object')
            if alias.requires and item.get(alias.requires) is None:
                raise InvalidPayload(f'Each item of "{alias.name}" needs "{alias.requires}"')
        if creates:
            nested.create_many([{**item, alias.field: key} for item in creates])
        updates = change.get("update", [])
        if updates:
            if not all(isinstance(item, Mapping) and related_pk in item for item in updates):
                raise InvalidPayload(f'Each item of "{alias.name}" to update needs "{related_pk}"')
            nested.update_batch([{**item, alias.field: key} for item in updates])
        links = change.get("link", [])
        if links:
            nested.update_many(links, {alias.field: key})
        deletes = change.get("delete", [])
        if deletes:
            current = self._current(alias, key)
            strangers = [pk for pk in deletes if str(pk) not in current]
            if strangers:
                raise InvalidPayload(f'"{strangers[0]}" is not one of "{alias.name}"')
            self._drop(alias, key, [str(pk) for pk in deletes])

    def _current(self, alias: Alias, key: str) -> list[str]:
        nested = self._nested(alias)
        model = nested._spec().model
        rows = model._default_manager.filter(**{alias.field: key})
        if alias.where:
            rows = rows.filter(compile_filter(dict(alias.where), model_resolver(model)))
        return [str(pk) for pk in rows.values_list("pk", flat=True)]

    def _drop(self, alias: Alias, key: str, keys: list[str]) -> None:
        nested = self._nested(alias)
        if alias.deselect == "nullify":
            nested.update_many(keys, {alias.field: None})
        else:
            nested.delete_many(keys)

    @contextmanager
    def _guarded(self, action: str) -> Iterator[list[str]]:
        """One transaction for the whole request; refused (422) when it leaves no active admin
        where there was one (checked once, by the outermost guard); recorded in the auth log
        once it is written."""
        keys: list[str] = []
        outermost = not _guarding.get()
        token = _guarding.set(True)
        try:
            with transaction.atomic():
                admins = active_admins() if outermost else 0
                yield keys
                if admins and not active_admins():
                    raise UnprocessableContent(LAST_ADMIN)
        finally:
            _guarding.reset(token)
        if keys:
            self._record(action, keys)

    def _record(self, action: str, keys: list[str]) -> None:
        actor = User.objects.filter(pk=self.acc.user).first() if self.acc.user else None
        record_event(
            AuthEventKind.ACCESS_CHANGED,
            outcome=AuthOutcome.SUCCESS,
            user=actor,
            ip=self.acc.ip,
            user_agent=self.acc.user_agent,
            collection=self.collection,
            action=action,
            keys=keys[:100],
            count=len(keys),
            credential=self.acc.credential,
        )


def _requested(name: str, fields: tuple[str, ...]) -> bool:
    return any(entry == "*" or entry.partition(".")[0] == name for entry in fields)
