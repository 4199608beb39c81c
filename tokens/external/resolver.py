"""The resolver for JWTs of trusted external issuers (registered in ``TokensConfig.ready``).

A JWT-shaped token whose ``iss`` is a trusted issuer is this resolver's: it is verified
(:mod:`.verify`), matched to a rule and turned into a credential of the issuer's service user
(:mod:`.users`) acting with the rule's role. Any other token is not its kind (``None``): a JWT of
an issuer that is not trusted goes on to the static-token lookup and fails there with
``INVALID_CREDENTIALS``, as Directus answers a foreign JWT.

Refusals answer with the contract's codes — ``TOKEN_EXPIRED`` (401) for an expired token,
``INVALID_TOKEN`` (403) for one that fails verification, ``INVALID_CREDENTIALS`` (401) when no
rule grants it anything or its service user is not active, ``SERVICE_UNAVAILABLE`` (503) when
the issuer's keys cannot be had — and each is an ``external.refused`` auth-log event with the
reason (never the token): at most one row per issuer, reason and address every
:data:`EVENT_EVERY` seconds per process, a log line every time.

A token that passed is remembered by its SHA-256 digest (never in clear) for at most
:data:`VERIFIED_SECONDS`, its ``exp`` and the current access version, so a client sending the
same token again skips the signature check; its service user's status is still checked on every
request (:func:`tokens.external.users.acting_user`). A key removed from the issuer's JWKS
therefore stops its tokens within that time.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime

from accounts.accountability import access_version
from accounts.audit import record_event
from accounts.credentials import Credential
from accounts.models import AuthEventKind, AuthOutcome
from core.config.issuers import IssuerRule, TrustedIssuer
from core.errors import ServiceUnavailable
from tokens.external.registry import trusted
from tokens.external.users import acting_user
from tokens.external.verify import Refused, Verified, peek, rule_for, verify
from tokens.presented import Presented

logger = logging.getLogger("tokens.external")

KIND = "external-jwt"
EVENT_EVERY = 10.0
VERIFIED_SECONDS = 30.0
VERIFIED_SIZE = 4096
_verified: OrderedDict[str, tuple[str, float, TrustedIssuer, Verified, IssuerRule]] = OrderedDict()
_verified_lock = threading.Lock()
_recorded: dict[tuple[str, str, str | None], float] = {}
_recorded_lock = threading.Lock()


def resolve_external_jwt(presented: Presented) -> Credential | None:
    digest = hashlib.sha256(presented.token.encode()).hexdigest()
    remembered = _remembered(digest)
    if remembered is not None:
        known, verified, rule = remembered
        try:
            user_id = acting_user(known, verified.subject, rule, presented.client)
        except Refused as refused:
            _refused(known, refused.reason, presented, verified.subject, verified.header)
            raise refused.error from None
        return _credential(user_id, rule, verified)
    parsed = peek(presented.token)
    if parsed is None:
        return None
    header, claims = parsed
    iss = claims.get("iss")
    issuer = trusted(iss) if isinstance(iss, str) else None
    if issuer is None:
        return None
    subject = claims.get("sub") if isinstance(claims.get("sub"), str) else None
    try:
        verified = verify(presented.token, header, issuer)
        rule = rule_for(issuer, verified)
        user_id = acting_user(issuer, verified.subject, rule, presented.client)
    except Refused as refused:
        _refused(issuer, refused.reason, presented, subject, header)
        raise refused.error from None
    except ServiceUnavailable:
        _refused(issuer, "keys-unavailable", presented, subject, header)
        raise
    _remember(digest, issuer, verified, rule)
    return _credential(user_id, rule, verified)


def _credential(user_id: uuid.UUID, rule: IssuerRule, verified: Verified) -> Credential:
    return Credential(kind=KIND, user_id=user_id, role_id=rule.role, expires_at=verified.expires_at)


def _remembered(digest: str) -> tuple[TrustedIssuer, Verified, IssuerRule] | None:
    entry = _verified.get(digest)
    if entry is None:
        return None
    version, until, issuer, verified, rule = entry
    if time.monotonic() >= until or version != access_version():
        return None
    if verified.expires_at <= datetime.now(tz=UTC):
        return None
    return issuer, verified, rule


def _remember(digest: str, issuer: TrustedIssuer, verified: Verified, rule: IssuerRule) -> None:
    until = time.monotonic() + VERIFIED_SECONDS
    with _verified_lock:
        _verified.pop(digest, None)
        while len(_verified) >= VERIFIED_SIZE:
            _verified.popitem(last=False)
        _verified[digest] = (access_version(), until, issuer, verified, rule)


def forget() -> None:
    with _recorded_lock:
        _recorded.clear()
    with _verified_lock:
        _verified.clear()


def _refused(
    issuer: TrustedIssuer,
    reason: str,
    presented: Presented,
    subject: str | None,
    header: dict[str, object],
) -> None:
    ip = presented.client.ip
    logger.warning(
        "Token of trusted issuer %s refused: %s",
        issuer.name,
        reason,
        extra={"issuer": issuer.name, "reason": reason, "ip": ip},
    )
    now, key = time.monotonic(), (issuer.name, reason, ip)
    with _recorded_lock:
        if now - _recorded.get(key, -EVENT_EVERY) < EVENT_EVERY:
            return
        _recorded[key] = now
        if len(_recorded) > 10_000:
            _recorded.clear()
    kid, alg = header.get("kid"), header.get("alg")
    record_event(
        AuthEventKind.EXTERNAL_TOKEN_REFUSED,
        outcome=AuthOutcome.FAILURE,
        identifier=subject,
        ip=ip,
        user_agent=presented.client.user_agent,
        issuer=issuer.name,
        reason=reason,
        kid=kid if isinstance(kid, str) else None,
        alg=alg if isinstance(alg, str) else None,
        source=presented.source,
    )
