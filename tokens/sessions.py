"""Refresh-session lifecycle: open, rotate (with grace and reuse detection), revoke.

State lives in the database (rows) and, for revoked families, in the shared cache, so a
refresh on one process and a reuse on another are caught, and access tokens of a revoked
family stop working everywhere without a database lookup.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import record_event
from core.net import Client
from tokens.models import RefreshSession, SessionMode, digest, new_refresh_token

REVOKED_FAMILY_KEY = "revoked-family:{}"


@dataclass(frozen=True)
class SessionContext(Client):
    """Where a sign-in request came from (:meth:`Client.of_request`, :meth:`Client.of_scope`)."""

    def audit(self, kind: str, outcome: str, **fields: Any) -> None:
        """Record an auth event stamped with this context's IP and user agent."""
        record_event(kind, outcome=outcome, ip=self.ip, user_agent=self.user_agent, **fields)


@dataclass(frozen=True)
class OpenedSession:
    row: RefreshSession
    token: str


RotationOutcome = Literal["rotated", "grace", "reuse", "invalid"]


@dataclass(frozen=True)
class Rotation:
    outcome: RotationOutcome
    previous: RefreshSession | None = None
    opened: OpenedSession | None = None


def _ttl(mode: str) -> timedelta:
    tokens = settings.DIRECTUS.tokens
    ms = tokens.session_cookie.ttl_ms if mode == SessionMode.SESSION else tokens.refresh_ttl_ms
    return timedelta(milliseconds=ms)


def _grace() -> timedelta:
    return timedelta(milliseconds=settings.DIRECTUS.tokens.session_refresh_grace_ms)


def open_session(
    user_id: uuid.UUID,
    mode: str,
    context: SessionContext,
    *,
    family: uuid.UUID | None = None,
    parent: RefreshSession | None = None,
) -> OpenedSession:
    """Create a session row; only the token's digest is stored. Expired rows are pruned."""
    token = new_refresh_token()
    now = timezone.now()
    row = RefreshSession.objects.create(
        token_digest=digest(token),
        family=family or uuid.uuid4(),
        parent=parent,
        user_id=user_id,
        mode=mode,
        expires_at=now + _ttl(mode),
        last_used_at=now,
        ip=context.ip,
        user_agent=(context.user_agent or "")[:512],
        origin=(context.origin or "")[:255],
    )
    RefreshSession.objects.filter(user_id=user_id, expires_at__lt=now).delete()
    return OpenedSession(row=row, token=token)


def find_by_token(token: str) -> RefreshSession | None:
    if not token or len(token) > 512:
        return None
    return RefreshSession.objects.select_related("user").filter(token_digest=digest(token)).first()


def find_by_id(session_id: str) -> RefreshSession | None:
    try:
        key = uuid.UUID(str(session_id))
    except ValueError:
        return None
    return RefreshSession.objects.select_related("user").filter(pk=key).first()


def within_grace(row: RefreshSession, now: datetime | None = None) -> bool:
    return row.rotated_at is not None and (now or timezone.now()) <= row.rotated_at + _grace()


def usable(row: RefreshSession | None, now: datetime | None = None) -> bool:
    """Whether a session still authenticates: not revoked, not expired, and not rotated
    (or rotated so recently that a concurrent request may still carry it)."""
    now = now or timezone.now()
    if row is None or row.revoked_at is not None or row.expires_at < now:
        return False
    return row.rotated_at is None or within_grace(row, now)


def rotate(row: RefreshSession, context: SessionContext, mode: str | None = None) -> Rotation:
    """Rotate ``row``: the winner of a concurrent race rotates it, the others (and any request
    within the grace window) get a sibling in the same family; later reuse revokes the family."""
    now = timezone.now()
    if row.revoked_at is not None or row.expires_at < now:
        return Rotation("invalid", previous=row)
    if row.rotated_at is not None and not within_grace(row, now):
        revoke_family(row.family, "reuse")
        return Rotation("reuse", previous=row)
    with transaction.atomic():
        won = RefreshSession.objects.filter(pk=row.pk, rotated_at__isnull=True).update(
            rotated_at=now, last_used_at=now
        )
        opened = open_session(row.user_id, mode or row.mode, context, family=row.family, parent=row)
    return Rotation("rotated" if won else "grace", previous=row, opened=opened)


def revoke_family(family: uuid.UUID, reason: str) -> int:
    """Revoke every session of a family (one sign-in) and its access tokens."""
    count = RefreshSession.objects.filter(family=family, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoke_reason=reason
    )
    _remember_revoked([family])
    return count


def revoke_user_sessions(
    user_id: uuid.UUID, reason: str, keep_family: uuid.UUID | None = None
) -> int:
    """Revoke all sessions of a user ("log out everywhere"), optionally keeping one sign-in."""
    live = RefreshSession.objects.filter(user_id=user_id, revoked_at__isnull=True)
    if keep_family is not None:
        live = live.filter(~Q(family=keep_family))
    families = list(live.values_list("family", flat=True).distinct())
    count = live.update(revoked_at=timezone.now(), revoke_reason=reason)
    _remember_revoked(families)
    return count


def _remember_revoked(families: list[uuid.UUID]) -> None:
    """Access tokens carry their family as ``sid``; keep revoked families in the shared cache
    for as long as such a token can live."""
    tokens = settings.DIRECTUS.tokens
    ttl = max(tokens.access_ttl_ms, tokens.session_cookie.ttl_ms) // 1000 + 60
    cache.set_many({REVOKED_FAMILY_KEY.format(f): True for f in families}, ttl)


def family_revoked(family: str) -> bool:
    return bool(cache.get(REVOKED_FAMILY_KEY.format(family)))
