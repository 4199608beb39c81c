"""Resolvers for the credential types this app issues (registered in ``TokensConfig.ready``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from accounts.credentials import Credential
from accounts.models import UserStatus
from core.errors import InvalidCredentials, InvalidToken
from tokens.jwt import is_directus_jwt, verify_access_token
from tokens.keycache import find as find_key
from tokens.keys import note_expired_use, note_use
from tokens.models import KeyKind
from tokens.presented import Presented
from tokens.sessions import family_holder, find_by_id, usable


def _uuid_claim(value: object, *, optional: bool) -> uuid.UUID | None:
    if value is None and optional:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidToken() from None


def resolve_access_jwt(presented: Presented) -> Credential | None:
    """Our access JWTs (``iss: directus``). The role comes from the token (contract
    access-model.md §5), and so the token must still tell the truth about it: the sign-in it
    names must be live in the database *for the claimed user and role*.

    * ``session`` (session mode): the session row, read on every request (one query by primary
      key, the user joined) must be usable and its user active, with the claimed id and role.
    * ``sid`` (json and cookie modes): :func:`tokens.sessions.family_holder` — a cache read plus
      at most one indexed query per family and process per second.

    A role change revokes the user's sessions (:mod:`tokens.signals`); checking the claimed
    role here as well costs nothing extra (the same row) and also catches changes that send no
    signal (a queryset ``update``, a deleted role's ``SET NULL``)."""
    token = presented.token
    if not is_directus_jwt(token):
        return None
    claims = verify_access_token(token)
    session = claims.get("session")
    if session is not None:
        row = find_by_id(str(session))
        if row is None or not usable(row) or row.user.status != UserStatus.ACTIVE:
            raise InvalidCredentials()
        _same_holder(claims, row.user_id, row.user.role_id)
    elif claims.get("sid") is not None:
        holder = family_holder(str(claims["sid"]))
        if holder is None:
            raise InvalidCredentials()
        _same_holder(claims, holder.user_id, holder.role_id)
    return Credential(
        kind="jwt",
        user_id=_uuid_claim(claims.get("id"), optional=True),
        role_id=_uuid_claim(claims.get("role"), optional=True),
        session=str(session) if session is not None else None,
        expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
    )


def _same_holder(claims: dict[str, Any], user_id: uuid.UUID, role_id: uuid.UUID | None) -> None:
    """The token's ``id`` and ``role`` are those the database has for its sign-in now."""
    if str(claims.get("id")) != str(user_id):
        raise InvalidCredentials()
    claimed = claims.get("role")
    if (str(claimed) if claimed is not None else None) != (str(role_id) if role_id else None):
        raise InvalidCredentials()


def resolve_api_key(presented: Presented) -> Credential | None:
    """Static keys: a user's Directus token or an API key (contract http-auth.md §3.3, §7.12).

    Anything that is not one of our JWTs is looked up by digest (:mod:`tokens.keycache`); no
    match is ``None`` (the token stays unclaimed → ``INVALID_CREDENTIALS``). A match that is
    revoked, expired, of an inactive or deleted owner, or whose scope cannot be read is
    ``INVALID_CREDENTIALS`` too: every failure answers the same."""
    token = presented.token
    if is_directus_jwt(token):
        return None
    record = find_key(token)
    if record is None:
        return None
    ip = presented.client.ip
    if record.expired(timezone.now()):
        note_expired_use(record, ip)
        raise InvalidCredentials()
    if not record.usable:
        raise InvalidCredentials()
    note_use(record, ip)
    return Credential(
        kind="static-token" if record.kind == KeyKind.USER_TOKEN else "api-key",
        user_id=record.user_id,
        role_id=record.role_id,
        expires_at=record.expires_at,
        key_id=record.id,
        scope=record.scope,
    )
