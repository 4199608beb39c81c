"""Static keys: create, rotate, revoke, and the Directus user token (contract http-auth.md §7.12).

Only a SHA-256 digest of a secret is stored; the secret is returned once, by the function that
made it. Generated secrets are ``dak_`` followed by 44 characters of ``[A-Za-z0-9]`` (261 random
bits), so secret scanners can find a leaked one with :data:`KEY_PATTERN`. A user token set
through ``PATCH /users/<id>`` may be any string the caller chooses (as in Directus); it is stored
the same way. Every change is an auth event, and drops the key from the lookup caches
(:func:`tokens.keycache.invalidate`).
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import record_event
from accounts.keyscope import ScopeError, parse_scope
from accounts.models import AuthEventKind, Role, User
from core.errors import InvalidPayload, RecordNotUnique
from tokens.jwt import is_directus_jwt
from tokens.keycache import KeyRecord, invalidate, key_digest
from tokens.models import ApiKey, KeyKind
from tokens.resolve import MAX_TOKEN_LENGTH

KEY_PREFIX = "dak_"
SECRET_LENGTH = 44
KEY_PATTERN = r"\bdak_[A-Za-z0-9]{44}\b"
PREFIX_SHOWN = 6
USER_TOKEN_MAX_LENGTH = 255
MAX_OVERLAP = timedelta(days=30)
TOUCH_INTERVAL_S = 60
NEW_IP_MEMORY_S = 24 * 3600
EXPIRED_USE_EVENT_INTERVAL_S = 3600
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class IssuedKey:
    """A key row and its secret; the only moment the secret exists outside the client."""

    key: ApiKey
    secret: str


@dataclass(frozen=True)
class Actor:
    """Who makes a change, and from where (for the auth log)."""

    user: User | None = None
    ip: str | None = None
    user_agent: str | None = None


def new_secret() -> str:
    return KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))


def display_prefix(secret: str) -> str:
    """The public part of a generated secret (``dak_`` + 6 characters); none of a chosen one."""
    return secret[: len(KEY_PREFIX) + PREFIX_SHOWN] if secret.startswith(KEY_PREFIX) else ""


def checked_scope(data: Any) -> dict[str, Any] | None:
    """A scope document, normalised; ``INVALID_PAYLOAD`` when it is not one."""
    try:
        scope = parse_scope(data)
    except ScopeError as exc:
        raise InvalidPayload(f"Invalid scope: {exc}") from None
    return scope.as_json() if scope is not None else None


def create_key(
    *,
    name: str,
    user: User | None = None,
    role: Role | None = None,
    expires_at: datetime | None = None,
    scope: Any = None,
    actor: Actor = Actor(),
) -> IssuedKey:
    """A new named key acting for ``user`` or for ``role`` (exactly one), optionally expiring
    and narrowed by ``scope``."""
    if (user is None) == (role is None):
        raise InvalidPayload('A key acts for either a "user" or a "role"')
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidPayload('"expires_at" has to be in the future')
    secret = new_secret()
    key = ApiKey.objects.create(
        kind=KeyKind.KEY,
        name=name[:100],
        user=user,
        role=role,
        digest=key_digest(secret),
        prefix=display_prefix(secret),
        scope=checked_scope(scope),
        expires_at=expires_at,
        created_by=actor.user,
    )
    _event(AuthEventKind.KEY_CREATED, key, actor)
    return IssuedKey(key, secret)


def rotate_key(
    key: ApiKey, *, overlap: timedelta = timedelta(0), actor: Actor = Actor()
) -> IssuedKey:
    """A new secret for ``key``: a new row with the same owner, name, scope and expiry. The old
    secret keeps working for ``overlap`` (none by default), then stops."""
    now = timezone.now()
    if key.kind != KeyKind.KEY:
        raise InvalidPayload("A user token is replaced by setting a new one, not rotated")
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        raise InvalidPayload("A revoked or expired key cannot be rotated")
    if overlap < timedelta(0) or overlap > MAX_OVERLAP:
        raise InvalidPayload(
            f'"overlap" has to be between 0 and {int(MAX_OVERLAP.total_seconds())}'
        )
    secret = new_secret()
    with transaction.atomic():
        fresh = ApiKey.objects.create(
            kind=KeyKind.KEY, name=key.name, user_id=key.user_id, role_id=key.role_id,
            digest=key_digest(secret), prefix=display_prefix(secret), scope=key.scope,
            expires_at=key.expires_at, created_by=actor.user, rotated_from=key,
        )  # fmt: skip
        _end_old_secret(key, now, overlap)
    invalidate([key.digest])
    _event(AuthEventKind.KEY_ROTATED, fresh, actor, rotated_from=str(key.pk),
           overlap_s=int(overlap.total_seconds()))  # fmt: skip
    return IssuedKey(fresh, secret)


def _end_old_secret(key: ApiKey, now: datetime, overlap: timedelta) -> None:
    if not overlap:
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=now)
        return
    ends = now + overlap
    if key.expires_at is None or key.expires_at > ends:
        ApiKey.objects.filter(pk=key.pk).update(expires_at=ends)


def revoke_key(key: ApiKey, *, actor: Actor = Actor()) -> bool:
    """Stop ``key`` at once, on every process within a second. ``False`` if it was already
    revoked. A user token is deleted rather than kept revoked, so its owner may set it again."""
    if key.kind == KeyKind.USER_TOKEN:
        return _delete_user_token(key, actor)
    done = bool(
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    )
    invalidate([key.digest])
    if done:
        _event(AuthEventKind.KEY_REVOKED, key, actor)
    return done


# ---------------------------------------------------------------- the Directus user token


def validate_user_token(value: Any) -> str | None:
    """A token value for ``directus_users.token``: a string of 1 to 255 characters without
    surrounding whitespace that is not one of our JWTs, or ``None`` (clear it)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidPayload('Field "token" has to be a non-empty string or null')
    if len(value) > min(USER_TOKEN_MAX_LENGTH, MAX_TOKEN_LENGTH) or value != value.strip():
        raise InvalidPayload('Field "token" has to be at most 255 characters, without padding')
    if is_directus_jwt(value):
        raise InvalidPayload('Field "token" cannot be an access token')
    return value


def set_user_token(user: User, token: str | None, *, actor: Actor = Actor()) -> None:
    """Make ``token`` the user's one static token (replacing any other), or clear it."""
    token = validate_user_token(token)
    current = ApiKey.objects.filter(user=user, kind=KeyKind.USER_TOKEN)
    if token is not None and current.filter(digest=key_digest(token)).exists():
        return
    with transaction.atomic():
        for old in current:
            _delete_user_token(old, actor)
        if token is not None:
            _create_user_token(user, token, actor)


def generate_user_token(user: User, *, actor: Actor = Actor()) -> str:
    """A fresh random user token for ``user`` (replacing any other); returned once."""
    secret = new_secret()
    set_user_token(user, secret, actor=actor)
    return secret


def _create_user_token(user: User, token: str, actor: Actor) -> None:
    try:
        with transaction.atomic():
            key = ApiKey.objects.create(
                kind=KeyKind.USER_TOKEN, name="Directus user token", user=user,
                digest=key_digest(token), prefix=display_prefix(token), created_by=actor.user,
            )  # fmt: skip
    except IntegrityError:
        raise RecordNotUnique(
            None, collection="directus_users", field="token", value="**********"
        ) from None
    User.objects.filter(pk=user.pk).update(token=key)
    user.token_id = key.pk
    _event(AuthEventKind.KEY_CREATED, key, actor)


def _delete_user_token(key: ApiKey, actor: Actor) -> bool:
    User.objects.filter(token=key).update(token=None)
    deleted, _ = ApiKey.objects.filter(pk=key.pk).delete()
    invalidate([key.digest])
    if deleted:
        _event(AuthEventKind.KEY_REVOKED, key, actor)
    return bool(deleted)


# ---------------------------------------------------------------- usage


def note_use(record: KeyRecord, ip: str | None) -> None:
    """Keep ``last_used_at``/``last_used_ip`` roughly current without a write per request: at
    most one update a minute per key, plus one when the key shows up from a new IP (which is
    also an auth event, once a day per key and IP)."""
    new_ip = (
        ip is not None
        and ip != record.last_used_ip
        and cache.add(f"apikey:ip:{record.id}:{ip}", True, NEW_IP_MEMORY_S)
    )
    if not new_ip and not cache.add(f"apikey:touch:{record.id}", True, TOUCH_INTERVAL_S):
        return
    changes: dict[str, Any] = {"last_used_at": timezone.now()}
    if ip is not None:
        changes["last_used_ip"] = ip
    ApiKey.objects.filter(pk=record.id).update(**changes)
    if new_ip:
        _record_use_event(
            AuthEventKind.KEY_USED_NEW_IP, record, ip, "success", previous_ip=record.last_used_ip
        )


def note_expired_use(record: KeyRecord, ip: str | None) -> None:
    """An expired key was presented: an auth event, at most once an hour per key (a client
    stuck on an old key does not fill the log)."""
    if cache.add(f"apikey:expired:{record.id}", True, EXPIRED_USE_EVENT_INTERVAL_S):
        _record_use_event(AuthEventKind.KEY_EXPIRED_USE, record, ip, "failure")


def _record_use_event(
    kind: str, record: KeyRecord, ip: str | None, outcome: str, **details: Any
) -> None:
    owner = User(pk=record.user_id) if record.user_id else None
    record_event(
        kind, outcome=outcome, user=owner, ip=ip, key_id=str(record.id), key_kind=record.kind,
        key_name=record.name, role_id=str(record.role_id) if record.role_id and not owner else None,
        **details,
    )  # fmt: skip


def _event(kind: str, key: ApiKey, actor: Actor, **details: Any) -> None:
    owner = key.user if key.user_id else None
    record_event(
        kind, outcome="success", user=owner, ip=actor.ip, user_agent=actor.user_agent,
        key_id=str(key.pk), key_kind=key.kind, key_name=key.name, key_prefix=key.prefix,
        role_id=str(key.role_id) if key.role_id else None,
        actor_id=str(actor.user.pk) if actor.user else None, **details,
    )  # fmt: skip


def owner_label(key: ApiKey) -> str:
    return f"role {key.role}" if key.role_id else str(key.user)


def key_uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
