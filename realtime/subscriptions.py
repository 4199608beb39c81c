"""Subscriptions of the REST-style socket (contract websockets.md §6).

Pure parsing (:func:`parse_subscribe`) and synchronous payload builders that read through the
**subscriber's** :class:`ItemsService`, so an event shows only the items and fields that
subscriber may read now. ``uid`` is kept as a string (§6.1: a numeric uid comes back as
``"1"``); a new subscribe with an existing uid replaces the old subscription.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from accounts.accountability import Accountability
from accounts.permissions import item_forbidden
from core.errors import InvalidPayload
from items import registry
from items.events import ItemChange
from items.query import parse_query
from items.service import ItemsService
from realtime.frames import INVALID_COLLECTION, Frame, SocketError, uid_of
from realtime.visibility import visible_change

EVENTS = ("create", "update", "delete")


@dataclass(frozen=True)
class Shape:
    """What a subscription reads, without its uid: equal shapes share one read per event."""

    collection: str
    event: str | None
    item: str | None
    query_json: str

    @property
    def query(self) -> dict[str, Any] | None:
        loaded: dict[str, Any] | None = json.loads(self.query_json)
        return loaded


@dataclass(frozen=True)
class Subscription:
    shape: Shape
    uid: str | None

    @property
    def collection(self) -> str:
        return self.shape.collection


def parse_subscribe(message: dict[str, Any]) -> Subscription:
    """Validate a ``subscribe`` message (§6.1); the query is checked like an HTTP query."""
    uid = uid_of(message)
    collection = message.get("collection")
    if not isinstance(collection, str):
        raise InvalidPayload('"collection" is required and must be a string')
    event = message.get("event")
    if event is not None and event not in EVENTS:
        raise InvalidPayload('"event" must be one of create, update, delete')
    item = message.get("item")
    if item is not None and (not isinstance(item, str | int) or isinstance(item, bool)):
        raise InvalidPayload('"item" must be a string or a number')
    query = message.get("query")
    if query is not None and not isinstance(query, dict):
        raise InvalidPayload('"query" must be an object')
    parse_query(query)
    if registry.get(collection, allow_system=True) is None:
        raise SocketError("subscribe", "INVALID_COLLECTION", INVALID_COLLECTION, uid)
    shape = Shape(collection, event, None if item is None else str(item), json.dumps(query))
    return Subscription(shape, None if uid is None else str(uid))


def init_payload(shape: Shape, acc: Accountability) -> Frame:
    """§6.1 initial reply fields (``data``/``meta``), empty with an ``event`` filter."""
    if shape.event is not None:
        return {}
    service = ItemsService(shape.collection, acc, allow_system=True)
    if shape.item is not None:
        return {"data": service.read_one(shape.item, shape.query)}
    page = service.read_many(shape.query)
    return {"data": page.data, **({"meta": page.meta} if page.meta else {})}


def wants(shape: Shape, action: str, keys: Sequence[str]) -> bool:
    """§6.2: the event filter and, for item subscriptions, the item must match."""
    if shape.event is not None and shape.event != action:
        return False
    return shape.item is None or shape.item in keys


def event_payload(shape: Shape, acc: Accountability, change: ItemChange) -> Frame | None:
    """§6.2 payload for one event, as :func:`realtime.visibility.visible_change` lets ``acc``
    see it; ``None`` when nothing is visible. A subscriber that lost read access gets FORBIDDEN
    (as Directus's read does); an item subscription whose item it may no longer read too.

    Deletes send the keys, as Directus does, but only those of rows the subscriber could read
    (ours: Directus sends every deleted key)."""
    per_item = shape.item is not None
    if per_item:
        change = replace(change, keys=(shape.item,) if shape.item in change.keys else ())
    seen = visible_change(change, acc, shape.query, per_key=per_item)
    if change.action == "delete":
        if not seen.keys:
            return None
        return {"data": shape.item if per_item else list(seen.keys)}
    if per_item:
        if not seen.rows:
            raise item_forbidden()
        return {"data": seen.rows[0]}
    if not seen.rows:
        return None
    return {"data": list(seen.rows), **({"meta": seen.meta} if seen.meta else {})}


def subscription_frame(event: str, payload: Frame, uid: str | None) -> Frame:
    frame: Frame = {"type": "subscription", "event": event, **payload}
    if uid is not None:
        frame["uid"] = uid
    return frame
