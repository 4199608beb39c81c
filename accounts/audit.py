"""The auth-event record (STYLE.md habit 7): one row per security-relevant act, mirrored as one
structured log line on the ``accounts.audit`` logger.

Nothing secret is ever stored or logged: detail keys that name a secret (password, token,
secret, digest, otp, authorization, cookie, ...) are dropped, at any depth, and so are values that
look like a JWT. The caller's other fields (identifier, user agent) are truncated to their column.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest

from accounts.models import AuthEvent, AuthEventKind, AuthOutcome, User
from core.logging import request_id_var
from core.net import normalize_ip, request_ip

logger = logging.getLogger("accounts.audit")

_SECRET_WORDS = (
    "password",
    "passwd",
    "token",
    "secret",
    "digest",
    "authorization",
    "cookie",
    "credential",
    "hash",
    "signature",
    "private",
)
_SECRET_PARTS = frozenset({"otp", "pwd", "pin", "jwt"})
_JWT_RE = re.compile(r"^eyJ[\w-]+\.[\w-]+\.[\w-]*$")


def is_secret_key(key: str) -> bool:
    """Whether a detail key names a secret: it contains a secret word (``refresh_token``,
    ``accessToken``), one of its ``_``/``-``/``.``-separated parts is ``otp``, ``pwd``, ``pin``
    or ``jwt``, or it ends in ``key`` (``api_key``; ``key_id`` is fine)."""
    lowered = key.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return True
    parts = re.split(r"[^a-z0-9]+", lowered)
    return parts[-1].endswith("key") or any(part in _SECRET_PARTS for part in parts)


def scrub(details: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``details`` without secret-looking keys or JWT-looking values, and the dropped key names."""
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in details.items():
        if is_secret_key(str(key)) or (isinstance(value, str) and _JWT_RE.match(value)):
            dropped.append(str(key))
        elif isinstance(value, Mapping):
            kept[str(key)], nested = scrub(value)
            dropped.extend(f"{key}.{name}" for name in nested)
        else:
            kept[str(key)] = value
    return kept, dropped


def record_event(
    kind: str,
    *,
    outcome: str,
    user: User | None = None,
    identifier: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    **details: Any,
) -> AuthEvent:
    """Write one :class:`AuthEvent` and log it. ``kind`` is an :class:`AuthEventKind` value and
    ``outcome`` ``"success"`` or ``"failure"``; ``details`` must be JSON-serialisable and are
    scrubbed of anything secret-looking (a warning names the dropped keys, never their values)."""
    kind, outcome = AuthEventKind(kind).value, AuthOutcome(outcome).value
    clean, dropped = scrub(details)
    if dropped:
        logger.warning("secret-looking auth event details dropped", extra={"dropped": dropped})
    event = AuthEvent.objects.create(
        kind=kind,
        outcome=outcome,
        user=user,
        identifier=(identifier or "")[:128],
        ip=normalize_ip(ip),
        user_agent=(user_agent or "")[:512],
        request_id=(request_id_var.get() or "")[:64],
        details=clean,
    )
    _log(event)
    return event


def record_event_from_request(kind: str, request: HttpRequest, **kwargs: Any) -> AuthEvent:
    """:func:`record_event` with ip and user agent taken from ``request`` (unless given); the
    request id comes from the request context either way."""
    kwargs.setdefault("ip", request_ip(request))
    kwargs.setdefault("user_agent", request.META.get("HTTP_USER_AGENT"))
    return record_event(kind, **kwargs)


def _log(event: AuthEvent) -> None:
    logger.info(
        "auth event",
        extra={
            "event": event.kind,
            "event_id": str(event.pk),
            "outcome": event.outcome,
            "user_id": str(event.user_id) if event.user_id else None,
            "identifier": event.identifier or None,
            "ip": event.ip,
            "user_agent": event.user_agent or None,
            "details": event.details,
        },
    )
