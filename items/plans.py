"""Compiled item reads: the plan of one list read, worked out once and run again.

Most of what a list read costs in this process is not the database: it is turning the caller's
rows, fields and query into a queryset, and Django compiling that queryset into the same SQL
once more (``as_sql``, ordering, ``values()``). A :class:`Plan` keeps the result, the SQL with
its parameters, the column converters and how each column is shown (visible under which row,
concealed or not), so the next identical read runs the SQL and shapes the rows, nothing else.

The key holds everything that SQL and its parameters follow from: the database, the
collection, the access version (any change to a role, policy, permission or user's grants
starts a new generation of plans, on every process), the caller's grants (user, role, roles,
policies, admin and app flags, an API key's narrowing) and the parsed query with its values.
A read whose rules or filter used ``$NOW`` or a ``<root>.<path>`` variable, whose values change
without the access version, is never kept. Planned reads are the flat ones (no relational
fields, no aggregation); the others compile as before.

The rules are still applied on every read: the caller's scope and fields are checked before a
plan is looked up (:meth:`items.service.ItemsService.read_many`), and a plan only exists for a
read that was built, authorised, once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

from accounts.accountability import Accountability, access_version
from items.query import Query

#: Plans a process keeps (least recently used first out).
SIZE = 1024

Converter = tuple[int, tuple[list[Callable[..., Any]], Any]]


@dataclass(frozen=True)
class Compiled:
    """One query as the database runs it: SQL, parameters, and the converters Django would
    apply to its rows (``from_db_value`` and the backend's own)."""

    alias: str
    #: ``None``: a query that matches nothing (Django does not send it: ``EmptyResultSet``)
    sql: str | None
    params: tuple[Any, ...]
    names: tuple[str, ...]
    converters: tuple[Converter, ...]

    def rows(self) -> list[dict[str, Any]]:
        """The rows as ``values()`` would give them."""
        if self.sql is None:
            return []
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            fetched = cursor.fetchall()
        names, converters = self.names, self.converters
        indexes = range(len(names))
        if not converters:
            return [{names[i]: row[i] for i in indexes} for row in fetched]
        out = []
        for raw in fetched:
            row = list(raw)
            for position, (functions, expression) in converters:
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
            out.append({names[i]: row[i] for i in indexes})
        return out

    def scalar(self) -> Any:
        if self.sql is None:
            return 0
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            return cursor.fetchone()[0]


def compile_values(queryset: QuerySet[Any]) -> Compiled:
    """``queryset`` (a ``values()`` queryset, sliced or not) compiled as Django would run it."""
    query = queryset.query
    compiler = query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return Compiled(queryset.db, None, (), (), ())
    selected = [column[0] for column in compiler.select[: compiler.col_count]]
    converters = tuple(compiler.get_converters(selected).items())
    if query.selected:  # as ``ValuesIterable`` names the columns
        names = tuple(query.selected)
    else:
        names = (*query.extra_select, *query.values_select, *query.annotation_select)
    return Compiled(queryset.db, sql, tuple(params), tuple(names), converters)


def compile_count(queryset: QuerySet[Any]) -> Compiled:
    """``queryset.count()`` as one SQL statement: the count of its rows."""
    inner = queryset.order_by().values("pk")
    try:
        sql, params = inner.query.get_compiler(using=inner.db).as_sql()
    except EmptyResultSet:
        return Compiled(inner.db, None, (), ("count",), ())
    counted = f"SELECT COUNT(*) FROM ({sql}) _rows"  # noqa: S608 (Django-compiled SQL)
    return Compiled(inner.db, counted, tuple(params), ("count",), ())


@dataclass(frozen=True)
class Plan:
    """A list read: its rows query, how each field is shown, and its ``meta`` counts."""

    rows: Compiled
    #: (field, annotation alias of its visibility condition or ``None``: always visible)
    shown: tuple[tuple[str, str | None], ...]
    counts: tuple[tuple[str, Compiled], ...] = ()


class Plans:
    """A process's plans, a bounded LRU shared by its threads."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._items: OrderedDict[bytes, Plan] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> Plan | None:
        with self._lock:
            plan = self._items.get(key)
            if plan is not None:
                self._items.move_to_end(key)
            return plan

    def put(self, key: bytes, plan: Plan) -> None:
        with self._lock:
            self._items[key] = plan
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


plans = Plans()


def key_for(alias: str, collection: str, acc: Accountability, q: Query) -> bytes:
    """The plan key of a read of ``collection`` by ``acc`` with ``q`` on database ``alias``.
    JSON keeps value types apart (``true``, ``1`` and ``"1"`` compile to different SQL)."""
    grants: Sequence[Any] = (
        str(acc.user) if acc.user else None,
        str(acc.role) if acc.role else None,
        [str(r) for r in acc.roles],
        [str(p) for p in acc.policies],
        acc.admin,
        acc.scoped_admin,
        acc.app,
        repr(acc.scope) if acc.scope is not None else None,
    )
    query = (
        list(q.fields),
        q.filter,
        q.search,
        list(q.sort),
        q.limit,
        q.offset,
        sorted(q.meta),
    )
    return orjson.dumps([alias, collection, access_version(), grants, query])
