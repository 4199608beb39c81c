"""The ``/graphql`` WebSocket route (``WEBSOCKETS_GRAPHQL_PATH``), present only when
``WEBSOCKETS_ENABLED`` and ``WEBSOCKETS_GRAPHQL_ENABLED`` are both true."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.urls import re_path


def graphql_routes() -> list[Any]:
    sockets = settings.DIRECTUS.websockets
    if not (sockets.enabled and sockets.graphql.enabled):
        return []
    from .consumer import GraphQLSocket

    exact = f"^{re.escape(sockets.graphql.path.lstrip('/'))}$"
    return [re_path(exact, GraphQLSocket.as_asgi())]
