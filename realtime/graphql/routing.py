"""The GraphQL WebSocket routes: ``WEBSOCKETS_GRAPHQL_PATH`` (the items schema) and the same
path with ``/system`` (the system schema), present only when ``WEBSOCKETS_ENABLED`` and
``WEBSOCKETS_GRAPHQL_ENABLED`` are both true."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.urls import re_path


def graphql_routes() -> list[Any]:
    sockets = settings.DIRECTUS.websockets
    if not (sockets.enabled and sockets.graphql.enabled):
        return []
    from .consumer import GraphQLSocket, SystemGraphQLSocket

    path = sockets.graphql.path.lstrip("/")
    return [
        re_path(f"^{re.escape(path)}$", GraphQLSocket.as_asgi()),
        re_path(f"^{re.escape(path.rstrip('/'))}/system$", SystemGraphQLSocket.as_asgi()),
    ]
