"""Item change events: one hook for every write, delivered after the transaction commits.

Subscribers get keys, never item data, and re-read the items through their own permissions.
A delete also carries, server-side only, a snapshot of the deleted rows (:func:`snapshot`): the
rows are gone by the time a subscriber is served, and the snapshot is what its read permissions
are evaluated on, so it is told only of keys it could read (realtime.visibility).
In-process subscribers connect to :data:`item_changed`; other processes join the channel-layer
group :func:`group_name` (``items.<collection>``) and receive messages of type
``items.change``. Delivery problems are logged and never fail the write."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import Signal

from items.registry import CollectionSpec

logger = logging.getLogger("items.events")

ChangeAction = Literal["create", "update", "delete"]
MESSAGE_TYPE = "items.change"

item_changed = Signal()
"""Sent with ``sender=ItemChange`` and ``change=<ItemChange>`` after each committed write."""


@dataclass(frozen=True)
class ItemChange:
    """``keys`` of ``collection`` were created, updated or deleted by ``actor`` (a user id);
    ``rows``: for a delete, the deleted rows as they were (:func:`snapshot`)."""

    collection: str
    action: ChangeAction
    keys: tuple[str, ...]
    actor: str | None = None
    rows: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    def as_message(self) -> dict[str, Any]:
        """The channel-layer message (JSON-safe); ``rows`` only when there are some."""
        message = {
            "type": MESSAGE_TYPE,
            "collection": self.collection,
            "action": self.action,
            "keys": list(self.keys),
            "actor": self.actor,
        }
        return {**message, "rows": list(self.rows)} if self.rows else message


def snapshot(spec: CollectionSpec, rows: QuerySet[Any]) -> tuple[dict[str, Any], ...]:
    """``rows`` as they are now, JSON-safe: the exposed concrete fields (a relation as its
    key), without concealed or hashed ones. Taken just before a delete; never sent to clients."""
    names = [
        name
        for name in spec.fields
        if name not in spec.concealed | spec.hashed and _is_column(spec, name)
    ]
    values = list(rows.values(*names))
    safe: list[dict[str, Any]] = json.loads(json.dumps(values, cls=DjangoJSONEncoder))
    return tuple(safe)


def _is_column(spec: CollectionSpec, name: str) -> bool:
    model_field = spec.field(name)
    return bool(model_field is not None and model_field.concrete and not model_field.many_to_many)


def group_name(collection: str) -> str:
    """The channel-layer group that receives the changes of ``collection``."""
    return f"items.{collection}"


def publish(change: ItemChange) -> None:
    """Deliver ``change`` once the current transaction commits (dropped on rollback)."""
    transaction.on_commit(lambda: deliver(change))


def deliver(change: ItemChange) -> None:
    """Send ``change`` to in-process receivers and to the channel-layer group, now."""
    for receiver, result in item_changed.send_robust(sender=ItemChange, change=change):
        if isinstance(result, Exception):
            logger.error("item_changed receiver %r failed: %r", receiver, result)
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_name(change.collection), change.as_message())
    except Exception:
        logger.exception("Could not publish %s on the channel layer", change)
