"""Cross-site WebSocket hijacking: the ``Origin`` of an upgrade decides whether its cookies count.

A browser attaches the session cookie to every WebSocket upgrade to this server, whichever
page opened it, and the Same-Origin Policy does not apply to WebSockets: without a check, any
site a signed-in user visits could open a socket that acts as that user. Browsers always send
``Origin`` on an upgrade; the page cannot forge it.

:class:`OriginGuard` wraps every WebSocket route (:mod:`realtime.routing`), so the rule is in
one place for the REST-style, logs and GraphQL sockets:

* an upgrade **without** ``Origin`` (the Directus SDK in Node, graphql-ws in Node, Python
  ``websockets``: clients that are not a browser page) is judged as before;
* an upgrade whose ``Origin`` is allowed (:func:`allowed`) is judged as before;
* an upgrade from any other origin (``null`` included) is judged **as if it carried no
  cookie**: the ``Cookie`` header is removed from the scope before any consumer sees it. Its
  ``?access_token=`` or ``auth`` message still works, since a foreign page cannot know those.

Why ignore rather than answer HTTP 403: the browser adds the cookie without the page asking,
so a 403 would refuse a foreign page that authenticates properly (a query token, an ``auth``
message, or a public socket) only because its user also happens to be signed in here, while
ignoring the cookie already gives a hostile page nothing: ``strict`` mode still answers 401 (no
token), ``handshake`` mode still waits for an ``auth`` message, ``public`` mode acts as the
public. It also means an expired cookie never blocks a foreign page's socket (contract §3.2).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings

from core.config.websockets import origin_of

ASGIApp = Any


def allowed_origins() -> set[str]:
    """The configured origins: ``PUBLIC_URL``'s, ``WEBSOCKETS_ALLOWED_ORIGINS`` and, with CORS
    enabled, the ``CORS_ORIGIN`` list."""
    config = settings.DIRECTUS
    found = {origin_of(config.server.public_url)} | set(config.websockets.allowed_origins)
    found |= {origin_of(origin) for origin in config.cors.allowed_origins}
    return {origin for origin in found if origin is not None}


def any_origin_allowed() -> bool:
    """``CORS_ORIGIN=true`` with credentials already lets every origin send credentialed HTTP
    requests and read the answers; the sockets follow. ``CORS_ORIGIN=*`` does not count:
    browsers never send credentials to a wildcard."""
    cors = settings.DIRECTUS.cors
    return cors.origin_mode == "reflect" and cors.credentials


def same_host(origin: str, host: str | None) -> bool:
    """Whether ``origin`` names the host the upgrade was sent to (the ``Host`` header, which
    the browser sets from the URL it connects to; compared with the port, since cookies are
    shared between ports and pages on another port are other sites)."""
    if not host:
        return False
    scheme = origin.split("://", 1)[0]
    return origin_of(f"{scheme}://{host}") == origin


def allowed(origin: str, host: str | None) -> bool:
    """Whether a page of ``origin`` may use the cookie on an upgrade sent to ``host``."""
    normalized = origin_of(origin)
    if normalized is None:  # "null" (sandboxed pages, file://) and anything malformed
        return False
    return any_origin_allowed() or same_host(normalized, host) or normalized in allowed_origins()


def _values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in headers if key.lower() == name]


def foreign(scope: dict[str, Any]) -> bool:
    """An upgrade with an ``Origin`` header whose origin is not allowed (any of several)."""
    headers = scope.get("headers") or []
    origins = _values(headers, b"origin")
    hosts = _values(headers, b"host")
    host = hosts[0] if hosts else None
    return any(not allowed(origin, host) for origin in origins)


def without_cookies(scope: dict[str, Any]) -> dict[str, Any]:
    headers = [
        (key, value) for key, value in scope.get("headers") or [] if key.lower() != b"cookie"
    ]
    return {**scope, "headers": headers}


class OriginGuard:
    """ASGI middleware: a WebSocket upgrade from a foreign origin loses its cookies (module
    docstring). HTTP and lifespan scopes pass unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "websocket" and foreign(scope):
            scope = without_cookies(scope)
        await self.app(scope, receive, send)
