"""Subscriptions of the REST-style socket (contract websockets.md §6).

Pure parsing (:func:`parse_subscribe`) and synchronous payload builders that read through the
**subscriber's** :class:`ItemsService`, so an event shows only the items and fields that
subscriber may read now. ``uid`` is kept as a string (§6.1: a numeric uid comes back as
``"1"``); a new subscribe with an existing uid replaces the old subscription.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from accounts.accountability import Accountability
from accounts.permissions import collection_forbidden, rules_for
from core.errors import InvalidPayload
from items import registry
from items.query import parse_query
from items.service import ItemsService
from realtime.crud import read_keys
from realtime.frames import INVALID_COLLECTION, Frame, SocketError, uid_of

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


def wants(shape: Shape, action: str, keys: list[str]) -> bool:
    """§6.2: the event filter and, for item subscriptions, the item must match."""
    if shape.event is not None and shape.event != action:
        return False
    return shape.item is None or shape.item in keys


def event_payload(shape: Shape, acc: Accountability, action: str, keys: list[str]) -> Frame | None:
    """§6.2 payload for one event, read as ``acc``; ``None`` when nothing is visible.

    Deletes send the keys, as Directus does, but only to subscribers that may still read the
    collection (ours: a subscriber that lost access gets FORBIDDEN, as for the other events)."""
    service = ItemsService(shape.collection, acc, allow_system=True)
    if action == "delete":
        if not rules_for(acc, shape.collection, "read").allowed:
            raise collection_forbidden(shape.collection, "read")
        return {"data": shape.item if shape.item is not None else keys}
    if shape.item is not None:
        return {"data": service.read_one(shape.item, shape.query)}
    data, meta = read_keys(service, shape.query, keys)
    if not data:
        return None
    return {"data": data, **({"meta": meta} if meta else {})}


def subscription_frame(event: str, payload: Frame, uid: str | None) -> Frame:
    frame: Frame = {"type": "subscription", "event": event, **payload}
    if uid is not None:
        frame["uid"] = uid
    return frame
