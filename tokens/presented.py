"""What a caller presents: the token, where it came from and who sent it (contract
http-auth.md §3.1, websockets.md §3.2). One rule finds the token for HTTP requests, socket
upgrades and socket ``auth`` messages alike; :func:`tokens.resolve.resolve` turns the result
into a credential."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any, Literal
from urllib.parse import parse_qs

from django.conf import settings
from django.http import HttpRequest

from core.errors import InvalidPayload
from core.net import Client, scope_headers

TokenSource = Literal["query", "header", "cookie", "message"]
BOTH_METHODS = "The request uses more than one method for including an access token"


@dataclass(frozen=True)
class Presented:
    """A token as presented: its value, its source, and the client that presented it."""

    token: str
    source: TokenSource
    client: Client = field(default_factory=Client)


def session_cookie_name() -> str:
    return str(settings.DIRECTUS.tokens.session_cookie.name)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; other forms are ignored."""
    if not authorization:
        return None
    parts = authorization.split(" ")
    if len(parts) == 2 and parts[0].lower() == "bearer" and parts[1]:
        return parts[1]
    return None


def find_token(
    query: str | None, authorization: str | None, cookie: str | None, client: Client
) -> Presented | None:
    """``?access_token=``, then ``Authorization: Bearer``, then the session cookie.

    Query and header together are rejected (RFC 6750 §2); the cookie never conflicts: a Bearer
    token or query token simply wins over it."""
    header = bearer_token(authorization)
    if query and header:
        raise InvalidPayload(BOTH_METHODS)
    if query:
        return Presented(query, "query", client)
    if header:
        return Presented(header, "header", client)
    return Presented(cookie, "cookie", client) if cookie else None


def presented_by_request(request: HttpRequest, client: Client | None = None) -> Presented | None:
    """The token an HTTP request presents, if any."""
    return find_token(
        request.GET.get("access_token") or None,
        request.META.get("HTTP_AUTHORIZATION"),
        request.COOKIES.get(session_cookie_name()) or None,
        client or Client.of_request(request),
    )


def presented_by_scope(scope: Mapping[str, Any], client: Client | None = None) -> Presented | None:
    """The token a WebSocket upgrade presents: ``?access_token=``, else the session cookie
    (no ``Authorization`` header, as Directus reads none at the upgrade)."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return find_token(
        query.get("access_token", [""])[0] or None,
        None,
        _cookie(scope_headers(scope).get("cookie"), session_cookie_name()),
        client or Client.of_scope(scope),
    )


def _cookie(header: str | None, name: str) -> str | None:
    if not header:
        return None
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(header)
    except CookieError:
        return None
    morsel = cookie.get(name)
    return morsel.value if morsel and morsel.value else None
