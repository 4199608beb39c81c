"""WebSocket routing. Upgrades on any other path (or on a disabled socket's path, or on every
path while ``WEBSOCKETS_ENABLED=false``) are refused with HTTP 404 at the upgrade. Every route is
behind :class:`realtime.origin.OriginGuard`: an upgrade from a foreign ``Origin`` is judged as if
it carried no cookie."""

from __future__ import annotations

from typing import Any

from channels.routing import URLRouter
from django.urls import re_path

from realtime.consumers import realtime_routes
from realtime.graphql.routing import graphql_routes
from realtime.http_denial import deny_upgrade
from realtime.origin import OriginGuard

websocket_urlpatterns: list[Any] = [*realtime_routes()]
websocket_urlpatterns += graphql_routes()


async def no_socket_here(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The last route: nothing is served on this path."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await deny_upgrade(scope, send, 404)


def websocket_application() -> Any:
    routes = [*websocket_urlpatterns, re_path(r"", no_socket_here)]  # type: ignore[arg-type]
    return OriginGuard(URLRouter(routes))
