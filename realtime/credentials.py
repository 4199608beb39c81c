"""The ``auth`` message (contract websockets.md §3.1): exactly one of an access token, an email
and password, or a refresh token. Parsing is pure; :func:`authenticate` is synchronous (it
touches the database) and goes through :mod:`realtime.identity`, the path HTTP uses too."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from realtime.identity import (
    SocketIdentity,
    identity_from_password,
    identity_from_refresh,
    identity_from_token,
)

EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
AuthKind = Literal["access_token", "password", "refresh_token"]


@dataclass(frozen=True)
class AuthRequest:
    kind: AuthKind
    secret: str = field(repr=False)
    email: str | None = None
    otp: str | None = field(default=None, repr=False)  # email/password only, beyond Directus

    @property
    def returns_refresh_token(self) -> bool:
        """Only email/password and refresh-token auth answer with a (new) refresh token."""
        return self.kind != "access_token"


def parse_auth(message: dict[str, Any]) -> AuthRequest | None:
    """The first matching shape, as the Directus union does; ``None`` when none matches
    (§3.1: ignored on an open connection, a handshake failure before)."""
    token = message.get("access_token")
    if isinstance(token, str):
        return AuthRequest("access_token", token)
    email, password = message.get("email"), message.get("password")
    if isinstance(email, str) and EMAIL.match(email) and isinstance(password, str):
        otp = message.get("otp")
        return AuthRequest("password", password, email, otp if isinstance(otp, str) else None)
    refresh_token = message.get("refresh_token")
    if isinstance(refresh_token, str):
        return AuthRequest("refresh_token", refresh_token)
    return None


def authenticate(request: AuthRequest, scope: dict[str, Any]) -> SocketIdentity:
    """The identity ``request`` proves; raises the contract error when it proves none."""
    if request.kind == "access_token":
        return identity_from_token(request.secret, scope)
    if request.kind == "password":
        assert request.email is not None
        return identity_from_password(request.email, request.secret, scope, request.otp)
    return identity_from_refresh(request.secret, scope)
