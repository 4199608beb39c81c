"""Refusing a WebSocket upgrade with a plain HTTP status (contract websockets.md §3.2, §12).

ASGI's *WebSocket Denial Response* extension (``websocket.http.response`` in
``scope["extensions"]``, offered by uvicorn's every WebSocket implementation) lets the app answer
the upgrade request with any status. Without it the only refusal is a close before accept,
which servers turn into ``403``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]
EXTENSION = "websocket.http.response"


async def deny_upgrade(scope: dict[str, Any], send: Send, status: int) -> None:
    """Answer the pending upgrade with HTTP ``status`` and an empty body."""
    if EXTENSION in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b""})
    else:
        await send({"type": "websocket.close"})
