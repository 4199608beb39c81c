"""Refresh-session lifecycle: open, rotate (with grace and reuse detection), revoke.

The database is the record: a sign-in (a *family* of rotated sessions) is live while one of its
rows is not revoked and its user is active; revoking sets ``revoked_at`` on the rows, and a
deleted user's rows are gone. Nothing a cache holds can revive a revoked family: restarting a
process, flooding a cache or asking another process gives the same answer.

Access tokens name their family (``sid``). :func:`family_holder` answers "is F live, and for
which user and role" with one indexed query, remembered per process for at most
:data:`LIVE_MEMO_SECONDS`; a revocation is also written to the shared cache as a marker that is
only ever added and only ever trusted to say "revoked" (with Redis it stops the family on every
process at once; without it, other processes follow within the memo time).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.audit import record_event
from accounts.models import UserStatus
from core.net import Client
from tokens.models import RefreshSession, SessionMode, digest, new_refresh_token

REVOKED_FAMILY_KEY = "revoked-family:{}"
_CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError)


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
    within the grace window) get a sibling in the same family; later reuse revokes the family.
    Inside a caller's transaction it adds no savepoint of its own."""
    now = timezone.now()
    if row.revoked_at is not None or row.expires_at < now:
        return Rotation("invalid", previous=row)
    if row.rotated_at is not None and not within_grace(row, now):
        revoke_family(row.family, "reuse")
        return Rotation("reuse", previous=row)
    with transaction.atomic(savepoint=False):
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
    """This process forgets the families at once (a rolled-back revocation then costs one
    query, never a revival); once the revocation is committed the shared cache gets a marker
    for as long as such a token can live (a speed-up for other processes only: the rows
    already say it)."""
    if not families:
        return
    _memo.forget_all(str(f) for f in families)

    def remember() -> None:
        _memo.forget_all([str(f) for f in families], committed=True)
        tokens = settings.DIRECTUS.tokens
        ttl = max(tokens.access_ttl_ms, tokens.session_cookie.ttl_ms) // 1000 + 60
        # The database is the record; the marker is only a shortcut.
        with contextlib.suppress(*_CACHE_ERRORS):
            cache.set_many({REVOKED_FAMILY_KEY.format(f): True for f in families}, ttl)

    transaction.on_commit(remember)


#: How long a process trusts what it last read about a family (live or not).
LIVE_MEMO_SECONDS = 1.0
#: Families a process remembers; forgetting one only costs a query.
LIVE_MEMO_SIZE = 8192


@dataclass(frozen=True)
class FamilyHolder:
    """Who a live sign-in belongs to, as the database says now."""

    user_id: uuid.UUID
    role_id: uuid.UUID | None


class _FamilyMemo:
    """Per process, bounded: family → (read at, holder or ``None`` for dead). Only a speed-up:
    an entry older than :data:`LIVE_MEMO_SECONDS` is read again, an evicted one too.

    A revocation not yet committed makes its families *pending*: they are read from the
    database at each use (so a rolled-back revocation kills nothing) and a live answer read
    meanwhile is not kept (so a committed one revives nothing); its commit marks them dead."""

    def __init__(self, size: int = LIVE_MEMO_SIZE) -> None:
        self.size = size
        self._entries: dict[str, tuple[float, FamilyHolder | None]] = {}
        self._pending: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, family: str, now: float) -> tuple[bool, FamilyHolder | None]:
        entry = self._entries.get(family)
        if entry is None or now - entry[0] >= LIVE_MEMO_SECONDS:
            return False, None
        return True, entry[1]

    def put(self, family: str, now: float, holder: FamilyHolder | None) -> None:
        with self._lock:
            pending = self._pending.get(family)
            if pending is not None and now - pending < LIVE_MEMO_SECONDS and holder is not None:
                return
            self._entries.pop(family, None)
            while len(self._entries) >= self.size:
                del self._entries[next(iter(self._entries))]
            self._entries[family] = (now, holder)

    def forget_all(self, families: Any, *, committed: bool = False) -> None:
        """Revoked families: pending until ``committed``, then dead."""
        now = time.monotonic()
        for family in families:
            if committed:
                self.put(family, now, None)
                continue
            with self._lock:
                self._entries.pop(family, None)
                while len(self._pending) >= self.size:
                    del self._pending[next(iter(self._pending))]
                self._pending[family] = now

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._pending.clear()


_memo = _FamilyMemo()


def forget_local_families() -> None:
    """Drop this process's memo (tests; the database stays the record)."""
    _memo.clear()


def _marked_revoked(family: str) -> bool:
    try:
        return bool(cache.get(REVOKED_FAMILY_KEY.format(family)))
    except _CACHE_ERRORS:
        return False


def _read_holder(family: str) -> FamilyHolder | None:
    """One query on the ``family`` index joined to the user by primary key."""
    try:
        key = uuid.UUID(family)
    except ValueError:
        return None
    row = (
        RefreshSession.objects.filter(
            family=key, revoked_at__isnull=True, user__status=UserStatus.ACTIVE
        )
        .order_by()
        .values_list("user_id", "user__role_id")[:1]
    )
    found = list(row)
    return FamilyHolder(user_id=found[0][0], role_id=found[0][1]) if found else None


def family_holder(family: str) -> FamilyHolder | None:
    """The user and role of sign-in ``family`` if it is live (a row not revoked, its user
    active), else ``None``. Costs a cache read (the revocation marker) and, at most once per
    :data:`LIVE_MEMO_SECONDS` per family and process, one indexed query."""
    if _marked_revoked(family):
        return None
    now = time.monotonic()
    known, holder = _memo.get(family, now)
    if known:
        return holder
    holder = _read_holder(family)
    _memo.put(family, now, holder)
    return holder
