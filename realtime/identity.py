"""Socket identities: the same credential → accountability path as HTTP, for WebSocket scopes.

Every socket (REST-style, GraphQL, logs) authenticates through these functions, so a token,
an email and password, or a refresh token means on a socket exactly what it means on HTTP.
They are synchronous (they touch the database); consumers call them through
``channels.db.database_sync_to_async``.

A connection keeps the token it authenticated with (server-side only) so that
:func:`revalidate` can re-check it at any moment: a revoked sign-in or key, a suspended user, or
a changed role or permission takes effect on an open connection without reconnecting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings

from accounts.accountability import Accountability, public_accountability
from accounts.services.login import LoginPayload, authenticate, start_session
from accounts.services.refresh import PresentedToken, refresh
from project.errors import DirectusError, InvalidCredentials
from project.middleware import normalize_ip
from tokens.authentication import credential_accountability
from tokens.resolve import resolve
from tokens.sessions import SessionContext


@dataclass(frozen=True)
class SocketIdentity:
    """Who a connection acts as. ``token`` is never sent to the client; ``refresh_token`` is
    the new refresh token a client gets back after email/password or refresh-token auth."""

    accountability: Accountability
    expires_at: datetime | None = None
    token: str | None = None
    refresh_token: str | None = None

    @property
    def is_public(self) -> bool:
        return self.accountability.is_public


def scope_context(scope: dict[str, Any]) -> dict[str, str | None]:
    """ip, user agent and origin of the upgrade request."""
    headers = {
        k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
    }
    client = scope.get("client") or (None, None)
    ip = None
    config = settings.DIRECTUS
    if config.ip_custom_header:
        ip = normalize_ip(headers.get(config.ip_custom_header.lower()))
    if ip is None and config.ip_trust_proxy:
        ip = normalize_ip(headers.get("x-forwarded-for", "").split(",")[0].strip() or None)
    return {
        "ip": ip or normalize_ip(client[0]),
        "user_agent": headers.get("user-agent"),
        "origin": headers.get("origin"),
    }


def _session_context(scope: dict[str, Any]) -> SessionContext:
    context = scope_context(scope)
    return SessionContext(
        ip=context["ip"], user_agent=context["user_agent"] or "", origin=context["origin"] or ""
    )


def upgrade_token(scope: dict[str, Any]) -> str | None:
    """The token carried by the upgrade request: ``?access_token=``, else the session cookie."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("access_token", [""])[0]:
        return query["access_token"][0]
    for name, value in scope.get("headers", []):
        if name.lower() == b"cookie":
            cookie = SimpleCookie()
            cookie.load(value.decode("latin-1"))
            morsel = cookie.get(settings.DIRECTUS.tokens.session_cookie.name)
            if morsel and morsel.value:
                return morsel.value
    return None


def public_identity(scope: dict[str, Any]) -> SocketIdentity:
    return SocketIdentity(accountability=public_accountability(**scope_context(scope)))


def identity_from_token(token: str, scope: dict[str, Any]) -> SocketIdentity:
    """Any token the HTTP API accepts (JWT, static key, …). Raises the token's contract error;
    a token that names no user is ``INVALID_CREDENTIALS`` (sockets need an identity)."""
    context = scope_context(scope)
    credential = resolve(token, ip=context["ip"])
    if credential.user_id is None and credential.role_id is None:
        raise InvalidCredentials()
    acc = credential_accountability(credential, **context)
    return SocketIdentity(accountability=acc, expires_at=credential.expires_at, token=token)


def identity_from_password(email: str, password: str, scope: dict[str, Any]) -> SocketIdentity:
    """A json-mode sign-in of the default provider (no OTP on sockets, as in Directus)."""
    context = _session_context(scope)
    user = authenticate(
        LoginPayload(email=email, password=password, mode="json", otp=None), context
    )
    issued = start_session(user, "json", context)
    identity = identity_from_token(issued.access_token, scope)
    return SocketIdentity(
        identity.accountability, identity.expires_at, identity.token, issued.refresh_token
    )


def identity_from_refresh(refresh_token: str, scope: dict[str, Any]) -> SocketIdentity:
    """A json-mode refresh: the presented refresh token is rotated."""
    issued = refresh(PresentedToken("json", refresh_token=refresh_token), _session_context(scope))
    identity = identity_from_token(issued.access_token, scope)
    return SocketIdentity(
        identity.accountability, identity.expires_at, identity.token, issued.refresh_token
    )


def revalidate(identity: SocketIdentity, scope: dict[str, Any]) -> SocketIdentity:
    """Re-resolve the connection's token and recompute its accountability. Returns the public
    identity when the token no longer works: expired, or its sign-in or key revoked (leaving
    ``active`` or being deleted revokes a user's sign-ins). Needs no database query for a
    json-mode JWT; permission changes apply through the access-version cache."""
    if identity.token is None:
        return public_identity(scope)
    try:
        return identity_from_token(identity.token, scope)
    except DirectusError:
        return public_identity(scope)
