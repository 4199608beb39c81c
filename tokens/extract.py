"""Finding the token in a request (contract http-auth.md §3.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.http import HttpRequest

from project.errors import InvalidPayload

TokenSource = Literal["query", "header", "cookie"]


@dataclass(frozen=True)
class ExtractedToken:
    value: str
    source: TokenSource


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


def extract_token(request: HttpRequest) -> ExtractedToken | None:
    """``?access_token=``, then ``Authorization: Bearer``, then the session cookie.

    Query and header together are rejected (RFC 6750 §2); the cookie never conflicts: a Bearer
    token or query token simply wins over it."""
    query = request.GET.get("access_token") or None
    header = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
    if query and header:
        raise InvalidPayload("The request uses more than one method for including an access token")
    if query:
        return ExtractedToken(query, "query")
    if header:
        return ExtractedToken(header, "header")
    cookie = request.COOKIES.get(session_cookie_name())
    return ExtractedToken(cookie, "cookie") if cookie else None
