"""Item change events: one hook for every write, delivered after the transaction commits.

Subscribers get keys, never item data, and re-read the items through their own permissions.
In-process subscribers connect to :data:`item_changed`; other processes join the channel-layer
group :func:`group_name` (``items.<collection>``) and receive messages of type
``items.change``. Delivery problems are logged and never fail the write."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger("items.events")

ChangeAction = Literal["create", "update", "delete"]
MESSAGE_TYPE = "items.change"

item_changed = Signal()
"""Sent with ``sender=ItemChange`` and ``change=<ItemChange>`` after each committed write."""


@dataclass(frozen=True)
class ItemChange:
    """``keys`` of ``collection`` were created, updated or deleted by ``actor`` (a user id)."""

    collection: str
    action: ChangeAction
    keys: tuple[str, ...]
    actor: str | None = None

    def as_message(self) -> dict[str, Any]:
        """The channel-layer message (JSON-safe)."""
        return {
            "type": MESSAGE_TYPE,
            "collection": self.collection,
            "action": self.action,
            "keys": list(self.keys),
            "actor": self.actor,
        }


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
