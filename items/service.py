"""The items service: every read and write of a collection, under one accountability.

REST views and the realtime layer call this and nothing below it; every rule lives here or in
the modules it uses (:mod:`items.scope`, :mod:`items.reader`, :mod:`items.payload`,
:mod:`items.checks`). Writes are atomic and publish an :class:`items.events.ItemChange` after
commit. Keys are returned and accepted as strings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldError, ValidationError
from django.db import router, transaction
from django.db.models import Q, QuerySet

from accounts.accountability import Accountability
from accounts.permissions import (
    FilterError,
    collection_forbidden,
    compile_filter,
    item_forbidden,
    substitute,
    variables_for,
)
from core.errors import DirectusError, Forbidden, InvalidPayload, InvalidQuery
from items import plans, registry
from items.aggregate import aggregate
from items.checks import check_foreign_keys, check_unique, check_validation, integrity_errors
from items.events import ChangeAction, ItemChange, publish, snapshot
from items.payload import check_fields, check_required, to_model_values
from items.query import Query, parse_query
from items.reader import Selection, read, render, select, shape
from items.scope import NOTHING, Scope, caller_resolver, ordered, query_target, visible_value
from items.variables import query_variables

QueryInput = Query | Mapping[str, Any] | None


@dataclass(frozen=True)
class Page:
    """The result of :meth:`ItemsService.read_many`; ``meta`` only when asked for."""

    data: list[dict[str, Any]]
    meta: dict[str, int] | None = None


class ItemsService:
    """Reads and writes of ``collection`` as ``accountability``. Unknown collections (and
    system ones unless ``allow_system``) behave exactly like collections without access."""

    def __init__(
        self, collection: str, accountability: Accountability, *, allow_system: bool = False
    ) -> None:
        self.collection = collection
        self.acc = accountability
        self.spec = registry.get(collection, allow_system=allow_system)
        self.variables = variables_for(accountability)
        self.query_variables = query_variables(accountability, self.variables)

    # ------------------------------------------------------------ reads

    def read_many(self, query: QueryInput = None) -> Page:
        q = parse_query(query)
        scope = self._scope("read")
        selection = select(scope, q.fields)
        if not (q.aggregate or q.group_by or selection.nested):
            return self._planned(scope, selection, q)
        visible = self._all().filter(scope.visible())
        filtered = _narrow(visible, self._conditions(scope, q))
        stop = None if q.limit is None else q.offset + q.limit
        if q.aggregate or q.group_by:
            data = aggregate(scope, filtered, q, q.offset, stop)
        else:
            ordered = filtered.order_by(*self._ordering(scope, q.sort))
            data = read(selection, ordered, q.offset, stop)
        return Page(data, self._meta(q, visible, filtered))

    def _planned(self, scope: Scope, selection: Selection, q: Query) -> Page:
        """A flat read through its :class:`items.plans.Plan`: compiled on first use, then
        run as it is while the access version, the caller's grants and the query stay the
        same (:mod:`items.plans`)."""
        spec = self._spec()
        try:
            key = plans.key_for(router.db_for_read(spec.model), spec.name, self.acc, q)
        except TypeError:  # a value JSON cannot hold exactly (an integer beyond 64 bits)
            key = None
        plan = plans.plans.get(key) if key is not None else None
        if plan is None:
            plan = self._plan(scope, selection, q)
            if key is not None and not self.variables.volatile[0]:
                plans.plans.put(key, plan)
        data = [render(spec, row, plan.shown) for row in plan.rows.rows()]
        meta = {name: count.scalar() for name, count in plan.counts} if q.meta else None
        return Page(data, meta)

    def _plan(self, scope: Scope, selection: Selection, q: Query) -> plans.Plan:
        visible = self._all().filter(scope.visible())
        filtered = _narrow(visible, self._conditions(scope, q))
        stop = None if q.limit is None else q.offset + q.limit
        ordered = filtered.order_by(*self._ordering(scope, q.sort))
        values, shown = shape(selection, ordered, q.offset, stop)
        counts = []
        if "total_count" in q.meta:
            counts.append(("total_count", plans.compile_count(visible)))
        if "filter_count" in q.meta:
            counts.append(("filter_count", plans.compile_count(filtered)))
        return plans.Plan(plans.compile_values(values), shown, tuple(counts))

    def read_one(self, key: Any, query: QueryInput = None) -> dict[str, Any]:
        """One visible item, or 403 with the generic message (missing items look the same)."""
        q = parse_query(query)
        scope = self._scope("read")
        selection = select(scope, q.fields)
        pk = self._keys([key])[0]
        queryset = _narrow(self._all().filter(scope.visible(), pk=pk), self._conditions(scope, q))
        rows = read(selection, queryset)
        if not rows:
            raise item_forbidden()
        return rows[0]

    def read_written(
        self, keys: list[str], query: QueryInput = None
    ) -> list[dict[str, Any]] | None:
        """Items just written, as the caller may read them; ``None`` when it may not read all
        of them (the REST layer then answers 204)."""
        try:
            q = parse_query(query)
            scope = self._scope("read")
            selection = select(scope, q.fields)
        except Forbidden:
            return None
        pk = self._spec().pk_name
        shown = pk in selection.fields
        selection.fields = selection.fields if shown else [pk, *selection.fields]
        visible = self._all().filter(scope.visible(), pk__in=keys).order_by(pk)
        rows = read(selection, visible)
        if len(rows) < len(set(keys)):
            return None
        # the rows in key order; the primary key may be one the caller cannot read (then null)
        order = [str(key) for key in visible.values_list(pk, flat=True)]
        by_key = dict(zip(order, rows, strict=True))
        written = [by_key.get(str(k)) for k in keys]
        if any(row is None for row in written):
            return None
        return [row if shown else _without(row, pk) for row in written if row is not None]

    # ------------------------------------------------------------ writes

    def create_one(self, data: Any) -> str:
        return self.create_many([data])[0]

    def create_many(self, items: Any) -> list[str]:
        scope = self._scope("create")
        if not isinstance(items, list):
            raise InvalidPayload("Payload has to be an object or an array of objects")
        with integrity_errors(self._spec()), transaction.atomic():
            keys = [self._create(scope, item) for item in items]
            self._publish("create", keys)
        return keys

    def update_one(self, key: Any, data: Any) -> str:
        return self.update_many([key], data)[0]

    def update_many(self, keys: Any, data: Any) -> list[str]:
        """Apply the same ``data`` to every item in ``keys``."""
        scope = self._scope("update")
        pks = self._keys(keys)
        payload = check_fields(self._spec(), scope.rules, data)
        with integrity_errors(self._spec()), transaction.atomic():
            self._update(scope, pks, payload)
            self._publish("update", [str(pk) for pk in pks])
        return [str(pk) for pk in pks]

    def update_batch(self, items: Any) -> list[str]:
        """Update several items, each an object carrying its primary key."""
        scope = self._scope("update")
        pk_name = self._spec().pk_name
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InvalidPayload("Payload has to be an array of objects")
        if not all(pk_name in item for item in items):
            raise InvalidPayload(f'Each item has to include its primary key "{pk_name}"')
        keys: list[str] = []
        with integrity_errors(self._spec()), transaction.atomic():
            for item in items:
                pks = self._keys([item[pk_name]])
                data = {k: v for k, v in item.items() if k != pk_name}
                self._update(scope, pks, check_fields(self._spec(), scope.rules, data))
                keys.append(str(pks[0]))
            self._publish("update", keys)
        return keys

    def delete_one(self, key: Any) -> str:
        return self.delete_many([key])[0]

    def delete_many(self, keys: Any) -> list[str]:
        """Delete every item in ``keys``; all of them must be deletable, or nothing is."""
        scope = self._scope("delete")
        pks = self._keys(keys)
        with integrity_errors(self._spec()), transaction.atomic():
            allowed = self._all().filter(scope.visible(), pk__in=pks)
            if allowed.count() != len(set(pks)):
                raise item_forbidden()
            rows = snapshot(self._spec(), allowed)
            allowed.delete()
            self._publish("delete", [str(pk) for pk in pks], rows)
        return [str(pk) for pk in pks]

    def permits(self, action: str, keys: list[Any] | None = None) -> bool:
        """Whether the caller may ``action`` some items, or (with ``keys``) every one of
        them (a malformed or missing key: no)."""
        try:
            scope = self._scope(action)
            if keys is None:
                return True
            pks = self._keys(keys)
        except DirectusError:
            return False
        return self._all().filter(scope.visible(), pk__in=pks).count() == len(set(pks))

    # ------------------------------------------------------------ helpers

    def _spec(self) -> registry.CollectionSpec:
        if self.spec is None:
            raise collection_forbidden(self.collection, "read")
        return self.spec

    def _scope(self, action: str) -> Scope:
        if self.spec is None:
            raise collection_forbidden(self.collection, action)
        scope = Scope(self.spec, self.acc, self.variables, action)
        if not scope.rules.allowed:
            raise collection_forbidden(self.collection, action)
        return scope

    def _all(self) -> QuerySet[Any]:
        return self._spec().model._default_manager.all()

    def _keys(self, keys: Any) -> list[Any]:
        """Primary keys from client input; a malformed key is 403 like a missing item."""
        if not isinstance(keys, list | tuple):
            raise InvalidPayload("Keys have to be an array")
        pk_field = self._spec().model._meta.pk
        assert pk_field is not None
        try:
            return [pk_field.to_python(key) for key in keys]
        except (ValidationError, ValueError, TypeError):
            raise item_forbidden() from None

    def _conditions(self, scope: Scope, q: Query) -> Q:
        conditions = Q()
        if q.filter:
            try:
                filter = substitute(q.filter, self.query_variables)
                conditions &= compile_filter(filter, caller_resolver(scope))
            except FilterError as exc:
                raise InvalidQuery(str(exc)) from None
        if q.search:
            conditions &= self._search(scope, q.search)
        return conditions

    def _search(self, scope: Scope, text: str) -> Q:
        """``icontains`` over the text fields the caller may query (:func:`query_target`:
        readable, neither concealed nor secret), each only where the caller may read it."""
        parts = []
        for name in scope.spec.text_fields:
            if scope.rules.grants(name):
                target = query_target(scope, (name,))
                match = Q(**{f"{target.lookup}__icontains": text})
                parts.append(match & target.guard if target.guard is not None else match)
        return Q(*parts, _connector=Q.OR) if parts else NOTHING

    def _ordering(self, scope: Scope, sort: tuple[str, ...]) -> list[Any]:
        """``sort`` through :func:`query_target`, ordering by the values the caller reads
        (``null`` where a field is hidden on an item, the smallest value on every database),
        then by primary key."""
        order: list[Any] = []
        for entry in sort:
            descending = entry.startswith("-")
            target = query_target(scope, tuple(entry.lstrip("-").split(".")))
            order.append(ordered(visible_value(target), descending=descending))
        default: list[Any] = list(scope.spec.model._meta.ordering or [])
        return [*(order or default), "pk"]

    def _meta(
        self, q: Query, visible: QuerySet[Any], filtered: QuerySet[Any]
    ) -> dict[str, int] | None:
        if not q.meta:
            return None
        meta: dict[str, int] = {}
        if "total_count" in q.meta:
            meta["total_count"] = visible.count()
        if "filter_count" in q.meta:
            meta["filter_count"] = filtered.count()
        return meta

    def _create(self, scope: Scope, raw: Any) -> str:
        spec = self._spec()
        payload = check_fields(spec, scope.rules, raw)
        merged = {**substitute(scope.rules.presets(), self.variables), **payload}
        values = to_model_values(spec, merged)
        check_required(spec, values)
        check_validation(scope.rules.rules, merged, self.variables, creating=True)
        check_unique(spec, values, exclude=())
        check_foreign_keys(spec, values)
        item = spec.model(**values)
        item.save(force_insert=True)
        return str(item.pk)

    def _update(self, scope: Scope, pks: list[Any], payload: dict[str, Any]) -> None:
        spec = self._spec()
        values = to_model_values(spec, payload)
        check_validation(scope.rules.rules, payload, self.variables, creating=False)
        allowed = self._all().filter(scope.granting_all(list(payload)), pk__in=pks)
        items = list(allowed.select_for_update())
        if len(items) != len(set(pks)):
            raise item_forbidden()
        check_unique(spec, values, exclude=pks)
        check_foreign_keys(spec, values)
        for item in items:
            for attname, value in values.items():
                setattr(item, attname, value)
            item.save()

    def _publish(
        self, action: ChangeAction, keys: list[str], rows: tuple[dict[str, Any], ...] = ()
    ) -> None:
        actor = str(self.acc.user) if self.acc.user else None
        publish(ItemChange(self.collection, action, tuple(keys), actor, rows))


def _narrow(queryset: QuerySet[Any], condition: Q) -> QuerySet[Any]:
    """``queryset`` filtered by the caller's conditions; an operator the field's type does not
    support (``_contains`` on a relation, say) is INVALID_QUERY."""
    try:
        return queryset.filter(condition)
    except FieldError as exc:
        raise InvalidQuery(f"Unsupported filter: {exc}") from None


def _without(row: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != key}
