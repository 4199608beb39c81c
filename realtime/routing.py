"""WebSocket routing. Unknown socket paths are refused at the upgrade."""

from __future__ import annotations

from typing import Any

from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

from realtime.consumers import realtime_routes
from realtime.graphql.routing import graphql_routes

websocket_urlpatterns: list[Any] = [*realtime_routes()]
websocket_urlpatterns += graphql_routes()


def websocket_application() -> Any:
    return AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns))
