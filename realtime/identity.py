"""Socket identities: the same credential → accountability path as HTTP, for WebSocket scopes.

Every socket (REST-style, GraphQL, logs) authenticates through these functions, so a token,
an email and password, or a refresh token means on a socket exactly what it means on HTTP: the
token is resolved by :func:`tokens.resolve.resolve`, an email and password go through the one
sign-in flow (:func:`signin.flow.sign_in`). They are synchronous (they touch the database);
consumers call them through ``channels.db.database_sync_to_async``.

A connection keeps the token it authenticated with (server-side only) so that
:func:`revalidate` can re-check it at any moment: a revoked sign-in or key, a suspended user, or
a changed role or permission takes effect on an open connection without reconnecting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.accountability import Accountability, accountability_from, public_accountability
from accounts.models import DEFAULT_PROVIDER
from core.errors import DirectusError, InvalidCredentials
from core.net import Client
from signin.drivers import provider
from signin.flow import sign_in
from signin.payload import LoginPayload
from signin.refresh import PresentedToken, refresh
from tokens.presented import Presented, TokenSource, presented_by_scope
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


def scope_client(scope: dict[str, Any]) -> Client:
    """Address, user agent and origin of the upgrade request."""
    return Client.of_scope(scope)


def upgrade_token(scope: dict[str, Any]) -> str | None:
    """The token carried by the upgrade request: ``?access_token=``, else the session cookie."""
    presented = presented_by_scope(scope)
    return presented.token if presented else None


def _session_context(scope: dict[str, Any]) -> SessionContext:
    return SessionContext.of_scope(scope)


def public_identity(scope: dict[str, Any]) -> SocketIdentity:
    return SocketIdentity(accountability=public_accountability(**scope_client(scope).as_kwargs()))


def identity_from_token(
    token: str, scope: dict[str, Any], source: TokenSource = "message"
) -> SocketIdentity:
    """Any token the HTTP API accepts (JWT, static key, …). Raises the token's contract error;
    a token that names no user is ``INVALID_CREDENTIALS`` (sockets need an identity)."""
    client = scope_client(scope)
    credential = resolve(Presented(token, source, client))
    if credential.user_id is None and credential.role_id is None:
        raise InvalidCredentials()
    acc = accountability_from(credential, **client.as_kwargs())
    return SocketIdentity(accountability=acc, expires_at=credential.expires_at, token=token)


def identity_from_password(
    email: str, password: str, scope: dict[str, Any], otp: str | None = None
) -> SocketIdentity:
    """A json-mode sign-in of the default provider. Beyond Directus (which passes no OTP, so
    TFA users can never sign in on a socket) the ``auth`` message may carry ``otp``: a TOTP or
    recovery code, checked by the flow exactly as on ``POST /auth/login``."""
    payload = LoginPayload(identifier=email, password=password, mode="json", otp=otp)
    issued = sign_in(provider(DEFAULT_PROVIDER), payload, _session_context(scope))
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
