"""Finding a static key by the digest of a presented secret, cheaply and without staleness.

* One indexed lookup (``digest`` is unique) and a constant-time comparison of the digests.
* A per-process cache in front of it, for at most :data:`LOCAL_TTL_S` (0.5 s): a revoked key
  stops working on every process within a second even without Redis. It also remembers misses
  (bounded, :data:`LOCAL_MAX_ENTRIES`), so a flood of made-up tokens costs one query per token.
* With Redis configured, a shared entry per key (:data:`SHARED_TTL_S`) between the two.
  :func:`invalidate` (revocation, rotation, edits, owner status changes, deletion) drops the
  local entry and replaces the shared one with a marker that is never trusted and cannot be
  overwritten by a fill racing with the change (fills use ``cache.add``).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache

from accounts.keyscope import KeyScope, ScopeError, parse_scope
from accounts.models import UserStatus
from tokens.models import ApiKey

LOCAL_TTL_S = 0.5
LOCAL_MAX_ENTRIES = 10_000
SHARED_TTL_S = 60
SHARED_KEY = "apikey:{}"
UNTRUSTED = "untrusted"


def key_digest(secret: str) -> str:
    """SHA-256 hex of a presented secret (any string: user tokens are chosen by people)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class KeyRecord:
    """What authentication needs to know about a key row (cacheable, holds no secret).
    ``role_id`` is the role the key acts with: the owner's current role for a user's key, the
    key's role for a role key."""

    id: uuid.UUID
    digest: str
    kind: str
    name: str
    user_id: uuid.UUID | None
    role_id: uuid.UUID | None
    owner_active: bool
    scope: KeyScope | None
    scope_valid: bool
    expires_at: datetime | None
    revoked: bool
    last_used_ip: str | None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    @property
    def usable(self) -> bool:
        """Not revoked, owner present and active, scope readable (expiry checked apart)."""
        return not self.revoked and self.owner_active and self.scope_valid


_local: OrderedDict[str, tuple[float, KeyRecord | None]] = OrderedDict()
_lock = threading.Lock()


def find(secret: str) -> KeyRecord | None:
    """The key whose secret is ``secret``, or ``None`` when there is none."""
    wanted = key_digest(secret)
    record = _cached_local(wanted)
    if record is _MISSING:
        record = _load_shared_or_db(wanted)
        _remember_local(wanted, record)
    if record is None or not hmac.compare_digest(record.digest, wanted):
        return None
    return record


def invalidate(digests: Iterable[str]) -> None:
    """Forget ``digests`` here and (with Redis) everywhere, so the next use re-reads the row."""
    digests = list(digests)
    with _lock:
        for digest in digests:
            _local.pop(digest, None)
    if _shared_enabled() and digests:
        cache.set_many({SHARED_KEY.format(d): UNTRUSTED for d in digests}, SHARED_TTL_S * 2)


def clear_local() -> None:
    with _lock:
        _local.clear()


_MISSING: Any = object()


def _cached_local(digest: str) -> Any:
    with _lock:
        entry = _local.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return _MISSING
        return entry[1]


def _remember_local(digest: str, record: KeyRecord | None) -> None:
    with _lock:
        _local[digest] = (time.monotonic() + LOCAL_TTL_S, record)
        _local.move_to_end(digest)
        while len(_local) > LOCAL_MAX_ENTRIES:
            _local.popitem(last=False)


def _shared_enabled() -> bool:
    return settings.DIRECTUS.redis is not None


def _load_shared_or_db(digest: str) -> KeyRecord | None:
    if not _shared_enabled():
        return _load_db(digest)
    shared = cache.get(SHARED_KEY.format(digest))
    if isinstance(shared, KeyRecord):
        return shared
    record = _load_db(digest)
    if record is not None and shared is None:
        cache.add(SHARED_KEY.format(digest), record, SHARED_TTL_S)
    return record


def _load_db(digest: str) -> KeyRecord | None:
    row = (
        ApiKey.objects.filter(digest=digest)
        .values(
            "id",
            "digest",
            "kind",
            "name",
            "user_id",
            "role_id",
            "user__status",
            "user__role_id",
            "scope",
            "expires_at",
            "revoked_at",
            "last_used_ip",
        )
        .first()
    )
    return None if row is None else _record(row)


def _record(row: Mapping[str, Any]) -> KeyRecord:
    try:
        scope, scope_valid = parse_scope(row["scope"]), True
    except ScopeError:
        scope, scope_valid = None, False  # a stored scope we cannot read grants nothing
    owner_active = (
        row["user__status"] == UserStatus.ACTIVE if row["user_id"] else row["role_id"] is not None
    )
    return KeyRecord(
        id=row["id"],
        digest=row["digest"],
        kind=row["kind"],
        name=row["name"],
        user_id=row["user_id"],
        role_id=row["user__role_id"] if row["user_id"] else row["role_id"],
        owner_active=owner_active,
        scope=scope,
        scope_valid=scope_valid,
        expires_at=row["expires_at"],
        revoked=row["revoked_at"] is not None,
        last_used_ip=row["last_used_ip"],
    )
