"""Email/password sign-in (contract http-auth.md §7.1), called by REST, the login page and the
WebSocket ``auth`` message alike.

Differences from Directus, on purpose: only *failed* attempts count towards suspension (so
concurrent correct logins never lock a user out), the attempt that crosses the limit is refused
even with the right password, and sign-ins are additionally rate limited per IP and per account.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pyotp
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection
from django.utils import timezone

from accounts.models import DEFAULT_PROVIDER, User, UserStatus
from accounts.services.lockout import login_limits, record_failed_login, reset_failed_logins
from project.errors import InvalidCredentials, InvalidOtp, InvalidPayload
from tokens.issue import IssuedTokens, issue_tokens
from tokens.models import SessionMode
from tokens.sessions import SessionContext, open_session

MODES = ("cookie", "json", "session")
_email_validator = EmailValidator()
_DUMMY_USER = User()


@dataclass(frozen=True)
class LoginPayload:
    email: str
    password: str
    mode: str
    otp: str | None


def _string_field(data: dict[str, Any], name: str, required: bool) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidPayload(f'"{name}" is required')
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f'"{name}" must be a string')
    if required and value == "":
        raise InvalidPayload(f'"{name}" is not allowed to be empty')
    return value


def valid_email(value: str) -> bool:
    """Like Joi's default: a syntactically valid address with a dotted domain."""
    try:
        _email_validator(value)
    except ValidationError:
        return False
    return "." in value.rpartition("@")[2]


def parse_login_payload(data: Any, *, identifier: str = "email") -> LoginPayload:
    """Validate a login body in the order and wording of Directus's Joi schema."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidPayload('"value" must be of type object')
    email = _string_field(data, identifier, required=True) or ""
    if identifier == "email" and not valid_email(email):
        raise InvalidPayload('"email" must be a valid email')
    password = _string_field(data, "password", required=True) or ""
    mode = data.get("mode", "json")
    if mode not in MODES:
        raise InvalidPayload('"mode" must be one of [cookie, json, session]')
    otp = _string_field(data, "otp", required=False)
    return LoginPayload(email=email, password=password, mode=mode, otp=otp)


def stall(started: float) -> None:
    """Pad the request to ``LOGIN_STALL_TIME`` since ``started`` (``time.monotonic()``), after
    handing the database connection back, so slow-by-design responses hold no connection."""
    remaining = settings.DIRECTUS.tokens.login_stall_ms / 1000 - (time.monotonic() - started)
    if remaining > 0:
        if not connection.in_atomic_block:
            connection.close()
        time.sleep(remaining)


def _fail(
    reason: str, context: SessionContext, user: User | None, email: str
) -> InvalidCredentials:
    context.audit("login.failure", "failure", user=user, identifier=email[:128], reason=reason)
    return InvalidCredentials()


def _check_password(user: User | None, password: str) -> bool:
    """Always run one Argon2 verification, so an unknown email costs the same time."""
    if user is None or not user.has_usable_password():
        _DUMMY_USER.set_password(password)
        return False
    return user.check_password(password)


def authenticate(
    payload: LoginPayload, context: SessionContext, provider: str = DEFAULT_PROVIDER
) -> User:
    """Check the credentials; raise ``INVALID_CREDENTIALS`` or ``INVALID_OTP``."""
    login_limits(context.ip, payload.email, user_agent=context.user_agent)
    user = User.objects.filter(email__iexact=payload.email.strip()).select_related("role").first()
    password_ok = _check_password(user, payload.password)
    if user is None:
        raise _fail("unknown_user", context, None, payload.email)
    if user.status != UserStatus.ACTIVE or user.provider != provider:
        raise _fail("inactive_or_other_provider", context, user, payload.email)
    if not password_ok:
        suspended = record_failed_login(user, ip=context.ip, user_agent=context.user_agent)
        raise _fail("suspended" if suspended else "wrong_password", context, user, payload.email)
    if user.tfa_secret and not _otp_ok(user.tfa_secret, payload.otp):
        context.audit("login.failure", "failure", user=user, reason="invalid_otp")
        raise InvalidOtp()
    reset_failed_logins(user)
    return user


def _otp_ok(secret: str, otp: str | None) -> bool:
    if not otp:
        return False
    return pyotp.TOTP(secret).verify(otp.strip(), valid_window=1)


def start_session(user: User, mode: str, context: SessionContext) -> IssuedTokens:
    """Open a refresh session for an authenticated user and issue its tokens."""
    opened = open_session(user.pk, SessionMode(mode), context)
    User.objects.filter(pk=user.pk).update(last_access=timezone.now())
    context.audit(
        "login.success",
        "success",
        user=user,
        mode=mode,
        session_family=str(opened.row.family),
    )
    return issue_tokens(user, opened, context.ip)


def login(payload: LoginPayload, context: SessionContext) -> IssuedTokens:
    return start_session(authenticate(payload, context), payload.mode, context)
