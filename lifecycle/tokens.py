"""One-use tokens mailed in links: password reset and invitation (contract http-auth.md §7.5,
§7.6, §7.10).

They are HS256 JWTs (PyJWT), ``iss: "directus"``, signed with a key derived from ``SECRET`` for
this purpose only (HMAC-SHA256 of the secret with :data:`KEY_LABEL`): an access token, a state
cookie or anything else signed with ``SECRET`` never verifies here, and these never verify as
access tokens.

* reset: ``{email, scope: "password-reset", hash}``, one day. ``hash`` is an HMAC fingerprint of
  the user's current password hash, so the token stops working once the password changes
  (single use) and reveals nothing about the hash;
* invite: ``{email, scope: "invite"}``, ``USER_INVITE_TOKEN_TTL``; single use because the user
  stops being ``invited`` when it is accepted.

Errors, as the contract orders them: expired → 401 ``TOKEN_EXPIRED``; malformed, bad signature
or issuer → 403 ``INVALID_TOKEN``; another scope, or a reset token without ``hash`` →
403 ``FORBIDDEN``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings

from accounts.models import User
from core.errors import Forbidden, InvalidToken, TokenExpired

ISSUER = "directus"
ALGORITHM = "HS256"
KEY_LABEL = b"directus-auth-server/lifecycle-token/v1"
RESET_SCOPE = "password-reset"
INVITE_SCOPE = "invite"
MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True)
class LinkToken:
    """What a verified token says."""

    email: str
    scope: str
    fingerprint: str | None = None


def signing_key() -> bytes:
    """The key of these tokens: HMAC-SHA256(SECRET, label)."""
    return hmac.new(settings.SECRET_KEY.encode(), KEY_LABEL, hashlib.sha256).digest()


def password_fingerprint(user: User) -> str:
    """A keyed fingerprint of the stored password hash: changes whenever the password does."""
    message = b"password:" + (user.password or "").encode()
    return hmac.new(signing_key(), message, hashlib.sha256).hexdigest()[:32]


def _issue(claims: dict[str, Any], ttl_ms: int) -> str:
    now = int(time.time())
    payload = {**claims, "iat": now, "exp": now + ttl_ms // 1000, "iss": ISSUER}
    return jwt.encode(payload, signing_key(), algorithm=ALGORITHM)


def reset_token(user: User) -> str:
    ttl = settings.DIRECTUS.lifecycle.password_reset_token_ttl_ms
    claims = {"email": user.email, "scope": RESET_SCOPE, "hash": password_fingerprint(user)}
    return _issue(claims, ttl)


def invite_token(email: str) -> str:
    ttl = settings.DIRECTUS.lifecycle.user_invite_token_ttl_ms
    return _issue({"email": email, "scope": INVITE_SCOPE}, ttl)


def verify(token: str, scope: str) -> LinkToken:
    """The claims of ``token`` if it is a valid token of ``scope`` (see the module docstring
    for the errors)."""
    claims = _decode(token)
    email, fingerprint = claims.get("email"), claims.get("hash")
    if claims.get("scope") != scope or not isinstance(email, str) or not email:
        raise Forbidden()
    if scope == RESET_SCOPE and (not isinstance(fingerprint, str) or not fingerprint):
        raise Forbidden()
    return LinkToken(email=email, scope=scope, fingerprint=fingerprint)


def _decode(token: str) -> dict[str, Any]:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken()
    try:
        claims = jwt.decode(
            token,
            signing_key(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired() from None
    except jwt.PyJWTError:
        raise InvalidToken() from None
    if not isinstance(claims, dict):
        raise InvalidToken()
    return claims


def fingerprint_matches(user: User, link: LinkToken) -> bool:
    """Whether a reset token was made for ``user``'s current password (constant time)."""
    return link.fingerprint is not None and hmac.compare_digest(
        link.fingerprint, password_fingerprint(user)
    )
