"""Access-token issuance: the claims of contract http-auth.md §4, signed by :mod:`tokens.jwt`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from accounts.accountability import accountability_for_user
from accounts.models import User
from tokens.jwt import sign
from tokens.models import SessionMode
from tokens.sessions import OpenedSession


@dataclass(frozen=True)
class IssuedTokens:
    """What a login or refresh hands out. ``expires_ms`` is a lifetime, not a timestamp."""

    mode: str
    access_token: str
    refresh_token: str
    expires_ms: int
    session_id: str


def access_claims(user: User, ip: str | None) -> dict[str, Any]:
    acc = accountability_for_user(user, ip=ip)
    claims: dict[str, Any] = {
        "id": str(user.pk),
        "role": str(user.role_id) if user.role_id else None,
        "app_access": acc.app,
        "admin_access": acc.admin,
    }
    if acc.tfa_setup_required:
        # a policy in effect enforces a second factor and the user has none yet (neither TOTP
        # nor a passkey); the accountability is narrowed to nothing until they set one up
        claims["enforce_tfa"] = True
    return claims


def issue_tokens(user: User, opened: OpenedSession, ip: str | None) -> IssuedTokens:
    """Sign the access token for a freshly opened (or rotated) session.

    Session mode: the JWT is the session cookie and carries ``session`` (the session id), checked
    on every request. JSON/cookie modes: the JWT carries ``sid`` (the sign-in's family), checked
    against the shared revocation list, so logging out also stops its access tokens."""
    tokens = settings.DIRECTUS.tokens
    claims = access_claims(user, ip)
    if opened.row.mode == SessionMode.SESSION:
        claims["session"] = str(opened.row.pk)
        ttl = tokens.session_cookie.ttl_ms
    else:
        claims["sid"] = str(opened.row.family)
        ttl = tokens.access_ttl_ms
    return IssuedTokens(
        mode=opened.row.mode,
        access_token=sign(claims, ttl),
        refresh_token=opened.token,
        expires_ms=ttl,
        session_id=str(opened.row.pk),
    )
