"""What one subscriber may see of one item change: the single answer both the REST-style socket
(websockets.md §6.2) and GraphQL subscriptions (§10) use.

Every decision reads through :class:`items.service.ItemsService` (or, for deletes, the same
permission rows it applies) with the **subscriber's** accountability, at the moment of the event:

* ``create`` / ``update``: the items are re-read with the subscriber's permissions and query,
  so it sees only the items and fields it may read now;
* ``delete``: the rows are gone, so the subscriber's read rules are evaluated on the rows as they
  were (the event's pre-delete snapshot, :func:`items.events.snapshot`): a subscriber is told
  only of keys of rows it could read. Directus sends every deleted key to every subscriber of
  the collection; that reveals keys of rows a subscriber could never read, so we do not.

The snapshot holds the row's own columns (relations as keys); a rule condition across a relation
(``{"author": {"role": {...}}}``) is checked in the database against the related row, which
still exists. A condition on a field the snapshot lacks (concealed or hashed fields) fails:
when in doubt the key is not revealed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accounts.accountability import Accountability
from accounts.permissions import (
    LOGICAL,
    OPERATORS,
    FilterError,
    collection_forbidden,
    compile_filter,
    matches,
    rules_for,
    substitute,
    validate_filter_shape,
    variables_for,
)
from core.errors import Forbidden
from items import registry
from items.events import ItemChange
from items.registry import CollectionSpec
from items.scope import model_resolver
from items.service import ItemsService, QueryInput
from realtime.crud import read_keys

Row = dict[str, Any]


@dataclass(frozen=True)
class Visible:
    """What a subscriber may see of a change. ``keys``: the change's keys it may learn of (for
    deletes, and for reads ``per_key``); ``rows``: the items read with its query (``per_key``:
    one per key of ``keys``, in order); ``meta``: the query's ``meta`` (collection reads)."""

    keys: tuple[str, ...] = ()
    rows: tuple[Row, ...] = ()
    meta: dict[str, int] | None = None

    def __bool__(self) -> bool:
        return bool(self.keys or self.rows)


def change_of(message: Mapping[str, Any]) -> ItemChange:
    """The :class:`ItemChange` a channel-layer message carries."""
    return ItemChange(
        collection=str(message.get("collection")),
        action=message.get("action"),  # type: ignore[arg-type]
        keys=tuple(str(key) for key in message.get("keys", ())),
        actor=message.get("actor"),
        rows=tuple(message.get("rows") or ()),
    )


def visible_change(
    change: ItemChange,
    acc: Accountability,
    query: QueryInput = None,
    *,
    per_key: bool = False,
    allow_system: bool = True,
) -> Visible:
    """What ``acc`` may see of ``change`` (module docstring); synchronous (database).

    Raises FORBIDDEN when ``acc`` may not read the collection at all. With ``per_key`` each
    key is read on its own and the keys it may not read are left out; otherwise the keys are
    read together, shaped by ``query`` (filter, fields, sort, ``meta``)."""
    service = ItemsService(change.collection, acc, allow_system=allow_system)
    if change.action == "delete":
        return Visible(keys=deleted_keys(change, acc, allow_system=allow_system))
    if per_key:
        return _read_each(service, change.keys, query)
    rows, meta = read_keys(service, query, list(change.keys))
    return Visible(rows=tuple(rows), meta=meta)


def _read_each(service: ItemsService, keys: tuple[str, ...], query: QueryInput) -> Visible:
    seen: list[tuple[str, Row]] = []
    for key in keys:
        try:
            seen.append((key, service.read_one(key, query)))
        except Forbidden:
            continue
    return Visible(keys=tuple(k for k, _ in seen), rows=tuple(r for _, r in seen))


# ---------------------------------------------------------------- deletes


def deleted_keys(
    change: ItemChange, acc: Accountability, *, allow_system: bool = True
) -> tuple[str, ...]:
    """The deleted keys whose rows, as they were, ``acc``'s read permissions covered."""
    spec = registry.get(change.collection, allow_system=allow_system)
    rules = rules_for(acc, change.collection, "read")
    if spec is None or not rules.allowed:
        raise collection_forbidden(change.collection, "read")
    if any(rule.unrestricted for rule in rules.rules):
        return change.keys
    variables = variables_for(acc)
    filters = [substitute(rule.filter, variables) for rule in rules.rules]
    rows = {str(row.get(spec.pk_name)): row for row in change.rows}
    return tuple(
        key
        for key in change.keys
        if key in rows and any(row_matches(spec, f, rows[key]) for f in filters)
    )


def row_matches(spec: CollectionSpec, filter: Any, row: Row) -> bool:
    """Whether the permission ``filter`` (variables substituted) covers the snapshot ``row``,
    with the semantics of the compiled rule (:class:`items.scope.Scope`); ``False`` when it
    cannot be decided."""
    try:
        validate_filter_shape(filter)
        return _node_matches(spec, filter or {}, row)
    except (FilterError, ValueError, TypeError):
        return False


def _node_matches(spec: CollectionSpec, node: Mapping[str, Any], row: Row) -> bool:
    for key, value in node.items():
        if key in LOGICAL:
            results = [_node_matches(spec, child, row) for child in value]
            met = all(results) if key == "_and" else (not results or any(results))
        elif spec.related(key) is not None and _is_nested(value):
            met = _related_matches(spec, key, value, row)
        else:
            met = key in row and matches({key: value}, {key: row[key]})
        if not met:
            return False
    return True


def _is_nested(value: Any) -> bool:
    """A filter on the related item, not operators on the relation's key."""
    return isinstance(value, dict) and any(k not in OPERATORS for k in value)


def _related_matches(spec: CollectionSpec, name: str, nested: Any, row: Row) -> bool:
    """A condition across a many-to-one relation, checked on the related row (still there)."""
    key = row.get(name)
    field = spec.field(name)
    if key is None or field is None:
        return False
    model = field.related_model
    try:
        condition = compile_filter(nested, model_resolver(model))
    except FilterError:
        return False
    return bool(model._default_manager.filter(condition, pk=key).exists())
