"""Who may manage which keys, and the request bodies of ``/keys`` (used by the REST views).

* Everyone with an identity manages their own user's keys; admins manage every key, and only
  admins create keys for other users or for a role.
* A credential narrowed by a scope cannot create, rotate or revoke keys (a read-only key must
  not be able to mint a full one).
* A key the caller may not manage answers like a missing one (403 FORBIDDEN), and no answer
  ever holds a secret except the one that creates it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.accountability import Accountability
from accounts.models import Role, User
from core.errors import Forbidden, InvalidCredentials, InvalidPayload
from items.reader import to_json
from tokens.keys import Actor, IssuedKey, create_key, key_uuid, revoke_key, rotate_key
from tokens.models import ApiKey

NAME_MAX_LENGTH = 100
CREATE_FIELDS = {"name", "user", "role", "expires_at", "scope"}


def actor_of(acc: Accountability) -> Actor:
    user = User.objects.filter(pk=acc.user).first() if acc.user else None
    return Actor(user=user, ip=acc.ip, user_agent=acc.user_agent)


def require_identity(acc: Accountability) -> None:
    """Someone signed in; an OAuth token never manages keys (no scope covers them)."""
    if acc.user is None and acc.api_key is None:
        raise InvalidCredentials()
    if acc.oauth_client is not None:
        raise Forbidden("An OAuth token cannot manage keys")


def require_unscoped(acc: Accountability) -> None:
    if acc.scope is not None:
        raise Forbidden("A key narrowed by a scope cannot manage keys")


def visible_keys(acc: Accountability) -> QuerySet[ApiKey]:
    """Every key for admins; the caller's own user's keys otherwise."""
    require_identity(acc)
    keys = ApiKey.objects.select_related("user", "role")
    if acc.admin:
        return keys
    return keys.filter(user_id=acc.user) if acc.user else keys.none()


def readable_key(acc: Accountability, key_id: str) -> ApiKey:
    """A key the caller may see; anything else (malformed ids too) is the generic 403."""
    pk = key_uuid(key_id)
    key = visible_keys(acc).filter(pk=pk).first() if pk else None
    if key is None:
        raise Forbidden()
    return key


def manageable_key(acc: Accountability, key_id: str) -> ApiKey:
    """A key the caller may rotate or revoke (not with a scoped credential)."""
    require_unscoped(acc)
    return readable_key(acc, key_id)


def create_from_body(acc: Accountability, body: Any) -> IssuedKey:
    """``POST /keys``: ``name`` (required), ``user`` or ``role`` (default: the caller),
    ``expires_at`` (ISO 8601, optional), ``scope`` (optional)."""
    require_identity(acc)
    require_unscoped(acc)
    if not isinstance(body, Mapping):
        raise InvalidPayload("Payload has to be an object")
    unknown = set(body) - CREATE_FIELDS
    if unknown:
        raise InvalidPayload(f'Unknown field "{sorted(unknown)[0]}"')
    user, role = _owner(acc, body)
    return create_key(
        name=_name(body.get("name")),
        user=user,
        role=role,
        expires_at=_expiry(body.get("expires_at")),
        scope=body.get("scope"),
        actor=actor_of(acc),
    )


def rotate_from_body(acc: Accountability, key: ApiKey, body: Any) -> IssuedKey:
    """``POST /keys/<id>/rotate``: ``overlap`` seconds the old secret keeps working (0)."""
    overlap = body.get("overlap", 0) if isinstance(body, Mapping) else 0
    if isinstance(overlap, bool) or not isinstance(overlap, int):
        raise InvalidPayload('"overlap" has to be a number of seconds')
    return rotate_key(key, overlap=timedelta(seconds=max(overlap, -1)), actor=actor_of(acc))


def revoke(acc: Accountability, key: ApiKey) -> None:
    revoke_key(key, actor=actor_of(acc))


def key_json(key: ApiKey, secret: str | None = None) -> dict[str, Any]:
    """The public view of a key; ``secret`` only in the answer that created it."""
    data: dict[str, Any] = {
        "id": str(key.pk),
        "name": key.name,
        "kind": key.kind,
        "prefix": key.prefix,
        "user": str(key.user_id) if key.user_id else None,
        "role": str(key.role_id) if key.role_id else None,
        "scope": key.scope,
        "expires_at": to_json(key.expires_at),
        "created_at": to_json(key.created_at),
        "last_used_at": to_json(key.last_used_at),
        "last_used_ip": key.last_used_ip,
        "revoked_at": to_json(key.revoked_at),
        "rotated_from": str(key.rotated_from_id) if key.rotated_from_id else None,
    }
    if secret is not None:
        data["secret"] = secret
    return data


def _owner(acc: Accountability, body: Mapping[str, Any]) -> tuple[User | None, Role | None]:
    if body.get("user") is not None and body.get("role") is not None:
        raise InvalidPayload('A key acts for either a "user" or a "role"')
    if body.get("role") is not None:
        return None, _admin_target(acc, Role, body["role"], "role")
    if body.get("user") is not None and str(body["user"]) != str(acc.user):
        return _admin_target(acc, User, body["user"], "user"), None
    if acc.user is None:
        raise InvalidPayload('A key acts for either a "user" or a "role"')
    return User.objects.get(pk=acc.user), None


def _admin_target(acc: Accountability, model: Any, value: Any, field: str) -> Any:
    if not acc.admin:
        raise Forbidden()
    pk = key_uuid(value)
    target = model.objects.filter(pk=pk).first() if pk else None
    if target is None:
        raise InvalidPayload(f'Invalid foreign key "{value}" for field "{field}"')
    return target


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidPayload('"name" has to be a non-empty string')
    if len(value) > NAME_MAX_LENGTH:
        raise InvalidPayload(f'"name" has to be at most {NAME_MAX_LENGTH} characters')
    return value.strip()


def _expiry(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise InvalidPayload('"expires_at" has to be an ISO 8601 timestamp')
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)
