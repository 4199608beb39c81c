"""Refresh and logout (contract http-auth.md §5, §7.3, §7.4), for REST, WebSocket and GraphQL.

Mode inference and token lookup are shared: ``mode`` from the body; otherwise ``json`` when the
body has ``refresh_token``; otherwise ``cookie``. Session mode reads the session cookie JWT.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.models import DEFAULT_PROVIDER, User, UserStatus
from core.errors import (
    DirectusError,
    InvalidCredentials,
    InvalidPayload,
    RouteNotFound,
    UserSuspended,
)
from signin.drivers import provider
from signin.flow import stall
from tokens.issue import IssuedTokens, issue_tokens
from tokens.jwt import verify
from tokens.models import RefreshSession
from tokens.sessions import (
    SessionContext,
    find_by_id,
    find_by_token,
    revoke_family,
    revoke_user_sessions,
    rotate,
)

TOKEN_REQUIRED = "The refresh token is required in either the payload or cookie"


@dataclass(frozen=True)
class PresentedToken:
    """Where the refresh credential came from: a refresh token, or a session id from the
    session cookie JWT."""

    mode: str
    refresh_token: str | None = None
    session_id: str | None = None


def infer_mode(body: Any) -> str | None:
    data = body if isinstance(body, dict) else {}
    mode = data.get("mode")
    if mode is not None:
        return mode if mode in ("json", "cookie", "session") else None
    return "json" if data.get("refresh_token") is not None else "cookie"


def presented_token(
    body: Any, cookies: dict[str, str], refresh_cookie: str, session_cookie: str
) -> PresentedToken:
    """The token the request presents for its (inferred) mode, or ``INVALID_PAYLOAD``."""
    mode = infer_mode(body)
    data = body if isinstance(body, dict) else {}
    if mode == "json" and isinstance(data.get("refresh_token"), str) and data["refresh_token"]:
        return PresentedToken("json", refresh_token=data["refresh_token"])
    if mode == "cookie" and cookies.get(refresh_cookie):
        return PresentedToken("cookie", refresh_token=cookies[refresh_cookie])
    if mode == "session" and cookies.get(session_cookie):
        claims = verify(cookies[session_cookie])  # TOKEN_EXPIRED / INVALID_TOKEN
        if isinstance(claims.get("session"), str):
            return PresentedToken("session", session_id=claims["session"])
        raise InvalidCredentials()
    raise InvalidPayload(TOKEN_REQUIRED)


def _lookup(token: PresentedToken) -> RefreshSession | None:
    if token.session_id is not None:
        return find_by_id(token.session_id)
    return find_by_token(token.refresh_token or "")


def _check_user(row: RefreshSession, context: SessionContext) -> User:
    user: User = row.user
    if user.status == UserStatus.ACTIVE:
        return user
    revoke_family(row.family, f"user_{user.status}")
    error: UserSuspended | InvalidCredentials = (
        UserSuspended() if user.status == UserStatus.SUSPENDED else InvalidCredentials()
    )
    error.stall = True  # padded like a login (contract §5)
    raise error


def refresh(token: PresentedToken, context: SessionContext) -> IssuedTokens:
    """Rotate the presented session and issue new tokens in the request's mode. The rotation,
    its audit event and the user's ``last_access`` are one transaction (one commit)."""
    row = _lookup(token)
    if row is None:
        raise InvalidCredentials()
    user = _check_user(row, context)
    _ask_provider(user)
    with transaction.atomic():
        rotation = rotate(row, context, mode=token.mode)
        if rotation.opened is not None:
            context.audit(
                "refresh",
                "success",
                user=user,
                session_family=str(row.family),
                grace=rotation.outcome == "grace",
            )
            User.objects.filter(pk=user.pk).update(last_access=rotation.opened.row.created_at)
    # A detected reuse has revoked the family (committed above) before it is refused.
    if rotation.outcome == "reuse":
        context.audit(
            "refresh.reuse_detected",
            "failure",
            user=user,
            session_family=str(row.family),
        )
        raise InvalidCredentials()
    if rotation.opened is None:
        raise InvalidCredentials()
    return issue_tokens(user, rotation.opened, context.ip)


def refresh_padded(token: PresentedToken, context: SessionContext) -> IssuedTokens:
    """:func:`refresh` for a request (``POST /auth/refresh``, GraphQL ``auth_refresh``): a
    refusal that says the user is not active takes ``LOGIN_STALL_TIME``, like a login
    (contract §5); an unknown token is answered at once."""
    started = time.monotonic()
    try:
        return refresh(token, context)
    except DirectusError as error:
        if error.stall:
            stall(started)
        raise


def _ask_provider(user: User) -> None:
    """The user's provider may refuse the refresh (an ``ldap`` entry gone or disabled)."""
    if user.provider == DEFAULT_PROVIDER:
        return
    try:
        driver = provider(user.provider)
    except RouteNotFound:
        return
    driver.refresh(user)


def logout(token: PresentedToken, context: SessionContext) -> User | None:
    """Revoke the sign-in the token belongs to; its user, if it was one. Unknown tokens are
    not an error."""
    row = _lookup(token)
    if row is None or row.revoked_at is not None:
        return None
    revoke_family(row.family, "logout")
    context.audit(
        "logout",
        "success",
        user=row.user,
        session_family=str(row.family),
    )
    return row.user


def logout_everywhere(user: User, context: SessionContext, actor: User | None = None) -> int:
    """Revoke every session of ``user`` (by the user, or by an admin acting on them)."""
    count = revoke_user_sessions(user.pk, "logout_everywhere")
    context.audit(
        "logout.everywhere",
        "success",
        user=user,
        sessions=count,
        actor=str(actor.pk) if actor else str(user.pk),
    )
    return count
