"""The synchronous work behind each GraphQL field, all through :class:`ItemsService`.

Run in a worker thread (``call_service``); each function takes the caller's accountability and
returns JSON-ready rows, or raises the service's contract errors."""

from __future__ import annotations

from typing import Any

from accounts.accountability import Accountability
from core.errors import DirectusError
from items.service import ItemsService
from realtime.visibility import change_of, visible_change

from .types import EventEnum


def read_items(collection: str, acc: Accountability, query: dict[str, Any]) -> list[Any]:
    return ItemsService(collection, acc).read_many(query).data


def read_item(collection: str, acc: Accountability, key: str, fields: tuple[str, ...]) -> Any:
    return ItemsService(collection, acc).read_one(key, {"fields": fields})


def create_item(collection: str, acc: Accountability, data: Any, fields: tuple[str, ...]) -> Any:
    """Create one item; the result is read back with the caller's permissions (``null``
    when the caller may not read it)."""
    service = ItemsService(collection, acc)
    return _written(service, service.create_one(data), fields)


def update_item(
    collection: str, acc: Accountability, key: str, data: Any, fields: tuple[str, ...]
) -> Any:
    service = ItemsService(collection, acc)
    return _written(service, service.update_one(key, data), fields)


def delete_item(collection: str, acc: Accountability, key: str) -> dict[str, str]:
    return {"id": ItemsService(collection, acc).delete_one(key)}


def _written(service: ItemsService, key: str, fields: tuple[str, ...]) -> Any:
    rows = service.read_written([key], {"fields": fields})
    return rows[0] if rows else None


def check_readable(collection: str, acc: Accountability) -> None:
    """Raise FORBIDDEN unless ``acc`` may read some items of ``collection``."""
    ItemsService(collection, acc).read_many({"fields": ["*"], "limit": 0})


def event_payloads(
    collection: str, acc: Accountability, change: dict[str, Any], fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The ``<collection>_mutated`` payloads one change yields for one subscriber (contract
    §10): one per key :func:`realtime.visibility.visible_change` lets it see; create/update
    carry the item read with the subscriber's permissions and requested ``fields``, delete
    ``data: null`` (only keys of rows it could read). Nothing when it may not read the
    collection."""
    event = EventEnum(change["action"])
    try:
        seen = visible_change(
            change_of(change), acc, {"fields": fields}, per_key=True, allow_system=False
        )
    except DirectusError:
        return []
    if event is EventEnum.delete:
        return [{"key": key, "event": event, "data": None} for key in seen.keys]
    return [
        {"key": key, "event": event, "data": row}
        for key, row in zip(seen.keys, seen.rows, strict=True)
    ]
