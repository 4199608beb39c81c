"""The sockets this app serves and their routes (contract websockets.md §1).

Nothing is mounted unless ``WEBSOCKETS_ENABLED``; then each enabled socket answers on its
exact path. Paths of other sockets (GraphQL) are added to :mod:`realtime.routing` alongside."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.urls import re_path

from realtime.logs import LogsSocket
from realtime.rest import RestSocket

__all__ = ["LogsSocket", "RestSocket", "realtime_routes"]


def realtime_routes() -> list[Any]:
    sockets = settings.DIRECTUS.websockets
    if not sockets.enabled:
        return []
    routes: list[Any] = []
    if sockets.rest.enabled:
        routes.append(re_path(_exact(sockets.rest.path), _asgi(RestSocket)))
    if sockets.logs.enabled:
        routes.append(re_path(_exact(sockets.logs.path), _asgi(LogsSocket)))
    return routes


def _exact(path: str) -> str:
    return rf"^{re.escape(path.lstrip('/'))}$"


def _asgi(consumer: Any) -> Any:
    """The consumer's ASGI app (typed loosely: ``re_path`` expects a view)."""
    return consumer.as_asgi()
