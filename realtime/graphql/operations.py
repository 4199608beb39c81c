"""The synchronous work behind each collection field, through the collection's service
(:func:`system.services.service_for`: a system collection's own service, the items service for
the rest), so GraphQL applies exactly the rules ``/items``, ``/users``, ``/roles``… apply.

Run in a worker thread (``call_service``); each function takes the caller's accountability and
returns JSON-ready rows, or raises the service's contract errors."""

from __future__ import annotations

from typing import Any

from accounts.accountability import Accountability
from core.errors import DirectusError
from items.service import ItemsService
from realtime.visibility import change_of, visible_change
from system.services import service_for
from system.users import COLLECTION as USERS
from system.users import UsersService

from .types import EventEnum

Fields = tuple[str, ...]


def read_items(collection: str, acc: Accountability, query: dict[str, Any]) -> list[Any]:
    return service_for(collection, acc).read_many(query).data


def read_item(collection: str, acc: Accountability, key: str, fields: Fields) -> Any:
    return service_for(collection, acc).read_one(key, {"fields": fields})


def create_item(collection: str, acc: Accountability, data: Any, fields: Fields) -> Any:
    """Create one item; the result is read back with the caller's permissions (``null``
    when the caller may not read it)."""
    service = service_for(collection, acc)
    return _written(service, service.create_one(data), fields)


def create_items(collection: str, acc: Accountability, data: Any, fields: Fields) -> list[Any]:
    """Create several items, read back (an empty list unless the caller may read them all,
    where REST answers 204)."""
    service = service_for(collection, acc)
    return _all_written(service, service.create_many(data), fields)


def update_item(collection: str, acc: Accountability, key: str, data: Any, fields: Fields) -> Any:
    service = service_for(collection, acc)
    return _written(service, service.update_one(key, data), fields)


def update_items(
    collection: str, acc: Accountability, keys: list[str], data: Any, fields: Fields
) -> list[Any]:
    """The same change to every item of ``keys``."""
    service = service_for(collection, acc)
    return _all_written(service, service.update_many(keys, data), fields)


def update_batch(collection: str, acc: Accountability, data: Any, fields: Fields) -> list[Any]:
    """A change per item, each object carrying its primary key."""
    service = service_for(collection, acc)
    return _all_written(service, service.update_batch(data), fields)


def delete_item(collection: str, acc: Accountability, key: str) -> dict[str, str]:
    return {"id": service_for(collection, acc).delete_one(key)}


def delete_items(collection: str, acc: Accountability, keys: list[str]) -> dict[str, list[str]]:
    return {"ids": service_for(collection, acc).delete_many(keys)}


def _written(service: ItemsService, key: str, fields: Fields) -> Any:
    rows = service.read_written([key], {"fields": fields})
    return rows[0] if rows else None


def _all_written(service: ItemsService, keys: list[str], fields: Fields) -> list[Any]:
    return service.read_written(keys, {"fields": fields}) or []


def read_me(acc: Accountability, fields: Fields) -> Any:
    """The caller's own user (``users_me``, the twin of ``GET /users/me``): ``null`` for the
    public (as Directus's GraphQL answers), only ``{id}`` when they may not read it."""
    if acc.user is None:
        return None
    return UsersService(USERS, acc).read_me({"fields": fields})


def update_me(acc: Accountability, data: Any, fields: Fields) -> Any:
    """Change the caller's own user (``update_users_me``, the twin of ``PATCH /users/me``);
    ``null`` for the public or when they may not read the result."""
    if acc.user is None:
        return None
    service = service_for(USERS, acc)
    return _written(service, service.update_one(acc.user, data), fields)


def check_readable(collection: str, acc: Accountability) -> None:
    """Raise FORBIDDEN unless ``acc`` may read some items of ``collection``."""
    service_for(collection, acc).read_many({"fields": ["*"], "limit": 0})


def event_payloads(
    collection: str, acc: Accountability, change: dict[str, Any], fields: Fields
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
