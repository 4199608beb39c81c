"""Verifying a token of a trusted issuer and finding the rule it acts under.

:func:`peek` reads a token's header and claims without trusting them (only to find its issuer);
:func:`verify` then checks, in order: the header (an allowed asymmetric ``alg``, a string
``kid``, no ``crit``), the key (:mod:`.jwks`), the signature, ``iss``, ``aud``, ``exp``/``nbf``/
``iat`` with the issuer's clock skew, the required claims and a subject. :func:`rule_for` gives
the first rule the token's scopes or groups match. Every refusal is a :class:`Refused` with the
contract error to answer and a short reason for the auth log.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from core.config.issuers import IssuerRule, TrustedIssuer
from core.errors import DirectusError, InvalidCredentials, InvalidToken, TokenExpired
from tokens.external.jwks import KeyRefused, signing_key

MAX_SUBJECT = 255


class Refused(Exception):
    """The token is refused: answer ``error``; ``reason`` goes to the auth log."""

    def __init__(self, reason: str, error: DirectusError | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error or InvalidToken()


@dataclass(frozen=True)
class Verified:
    """What a verified token says: who, which scopes and groups, until when."""

    subject: str
    scopes: frozenset[str]
    groups: frozenset[str]
    expires_at: datetime
    header: dict[str, Any]


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The unverified header and claims of a JWT-shaped ``token``, or ``None``. Read by hand,
    not by PyJWT, so that a header PyJWT would reject (a ``crit``, a number as ``kid``) still
    reaches :func:`verify` and is refused there with its reason."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header, claims = (json.loads(_b64decode(part)) for part in parts[:2])
    except (ValueError, TypeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return header, claims


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify(token: str, header: dict[str, Any], issuer: TrustedIssuer) -> Verified:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in issuer.algorithms:
        raise Refused("algorithm-not-allowed")
    if "crit" in header:
        raise Refused("critical-header")
    if header.get("kid") is not None and not isinstance(header.get("kid"), str):
        raise Refused("bad-kid")
    try:
        key = signing_key(issuer, header)
    except KeyRefused as exc:
        raise Refused(exc.reason) from None
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=list(issuer.audiences),
            issuer=issuer.issuer,
            leeway=issuer.clock_skew_s,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Refused("expired", TokenExpired()) from None
    except jwt.InvalidAudienceError:
        raise Refused("wrong-audience") from None
    except jwt.ImmatureSignatureError:
        raise Refused("not-yet-valid") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Refused(f"missing-claim:{exc.claim}") from None
    except jwt.InvalidSignatureError:
        raise Refused("bad-signature") from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise Refused("malformed") from None
    for name, expected in issuer.required_claims.items():
        if not _holds(claims.get(name), expected):
            raise Refused(f"missing-claim:{name}")
    subject = claims.get("sub")
    if subject is None:
        subject = claims.get("client_id")
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT:
        raise Refused("missing-claim:sub")
    scopes = _strings(claims.get(issuer.scope_claim))
    if not scopes and issuer.scope_claim == "scope":
        scopes = _strings(claims.get("scp"))
    return Verified(
        subject=subject,
        scopes=scopes,
        groups=_strings(_path(claims, issuer.group_claim)),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
        header=header,
    )


def rule_for(issuer: TrustedIssuer, verified: Verified) -> IssuerRule:
    """The first rule of ``issuer`` that the token matches; none: refused."""
    for rule in issuer.rules:
        if rule.matches(verified.scopes, verified.groups):
            return rule
    raise Refused("no-matching-rule", InvalidCredentials())


def _holds(actual: Any, expected: Any) -> bool:
    if actual == expected:
        return True
    if isinstance(actual, list):
        return expected in actual
    if isinstance(actual, str) and isinstance(expected, str) and " " in actual:
        return expected in actual.split()
    return False


def _strings(value: Any) -> frozenset[str]:
    """A space-separated string or a list of strings, as a set (anything else: empty)."""
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def _path(claims: dict[str, Any], path: str) -> Any:
    """A claim by name, or by a dotted path into nested objects (``realm_access.roles``)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
