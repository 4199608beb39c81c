"""``items`` messages (contract websockets.md §7): create, read, update and delete through the
:class:`items.service.ItemsService` of the connection's current accountability. Synchronous
(database); the consumer runs it through ``database_sync_to_async``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from accounts.accountability import Accountability
from core.errors import InvalidPayload
from items import registry
from items.query import Query, parse_query
from items.service import ItemsService
from realtime.frames import INVALID_COLLECTION, Frame, SocketError, uid_of, with_uid

ACTIONS = ("create", "read", "update", "delete")
DELETE_TARGET = "Either 'ids', 'id' or 'query' is required for a DELETE request."
Result = tuple[Any, dict[str, int] | None]


def items_frame(message: dict[str, Any], acc: Accountability) -> Frame:
    """The reply to one ``items`` message; errors are raised (contract errors or SocketError)."""
    uid = uid_of(message)
    collection = message.get("collection")
    if not isinstance(collection, str) or registry.get(collection, allow_system=False) is None:
        raise SocketError("items", "INVALID_COLLECTION", INVALID_COLLECTION, uid)
    action = message.get("action")
    if action not in ACTIONS:
        raise InvalidPayload('"action" must be one of create, read, update, delete')
    query = message.get("query")
    if query is not None and not isinstance(query, dict):
        raise InvalidPayload('"query" must be an object')
    data, meta = _HANDLERS[action](ItemsService(collection, acc), message, query)
    frame: Frame = {"type": "items", "data": data}
    if meta:
        frame["meta"] = meta
    return with_uid(frame, uid)


def read_keys(service: ItemsService, query: Any, keys: list[Any]) -> Result:
    """The items among ``keys`` the caller may read, shaped by ``query`` (Directus readMany)."""
    q = parse_query(query)
    pk = _pk(service)
    only = {pk: {"_in": [str(k) for k in keys]}}
    combined = only if q.filter is None else {"_and": [q.filter, only]}
    page = service.read_many(replace(q, filter=combined, limit=None, offset=0))
    return page.data, page.meta


def keys_by_query(service: ItemsService, query: Any) -> list[str]:
    pk = _pk(service)
    page = service.read_many(replace(parse_query(query), fields=(pk,)))
    return [str(row[pk]) for row in page.data]


def _pk(service: ItemsService) -> str:
    spec = registry.get(service.collection, allow_system=True)
    if spec is None:
        raise InvalidPayload("Unknown collection")
    return spec.pk_name


def _create(service: ItemsService, message: dict[str, Any], query: Any) -> Result:
    data = message.get("data")
    if isinstance(data, list):
        return service.read_written(service.create_many(data), query), None
    key = service.create_one(data)
    rows = service.read_written([key], query)
    return (rows[0] if rows else None), None


def _read(service: ItemsService, message: dict[str, Any], query: Any) -> Result:
    if message.get("id") is not None:
        return service.read_one(message["id"], query), None
    if isinstance(message.get("ids"), list):
        return read_keys(service, query, message["ids"])
    page = service.read_many(query)
    return page.data, page.meta


def _update(service: ItemsService, message: dict[str, Any], query: Any) -> Result:
    data = message.get("data")
    if message.get("id") is not None:
        return service.read_one(service.update_one(message["id"], data)), None
    if isinstance(message.get("ids"), list):
        return read_keys(service, query, service.update_many(message["ids"], data))
    if isinstance(data, list):
        return read_keys(service, query, service.update_batch(data))
    keys = keys_by_query(service, query)
    return read_keys(service, query, service.update_many(keys, data) if keys else [])


def _delete(service: ItemsService, message: dict[str, Any], query: Any) -> Result:
    if message.get("id") is not None:
        return service.delete_one(message["id"]), None
    if isinstance(message.get("ids"), list):
        return service.delete_many(message["ids"]), None
    if query is not None:
        keys = keys_by_query(service, query)
        return (service.delete_many(keys) if keys else []), None
    raise SocketError("items", "INVALID_PAYLOAD", DELETE_TARGET, uid_of(message))


_HANDLERS = {"create": _create, "read": _read, "update": _update, "delete": _delete}


def as_query(raw: Any) -> Query:
    return parse_query(raw if isinstance(raw, dict) else None)
