"""The one sign-in flow (DESIGN "One sign-in, whatever the door"; contract http-auth.md §7.1).

``POST /auth/login`` and ``/auth/login/<provider>``, the HTML login page (and so the Django
admin, which signs in there), the WebSocket ``auth`` message, and every driver's redirect
callback call :func:`sign_in` or :func:`sign_in_user`. This module alone owns, for all of them:
the per-IP and per-account limits, the constant-time stall, the status and provider checks, the
failed-attempt counting and suspension, the second factor, opening the session and the
auth-log events. A driver (:mod:`signin.drivers`) only says who the person is.

Differences from Directus, on purpose: only *failed* attempts count towards suspension (so
concurrent correct logins never lock a user out), the attempt that crosses the limit is refused
even with the right password, and sign-ins are additionally rate limited per IP and per account.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import User, UserStatus
from core.errors import InvalidCredentials, InvalidOtp, RequestsExceeded
from core.slots import released
from factors.second_factor import has_second_factor, verify_code
from signin.drivers.base import AuthDriver
from signin.lockout import (
    login_limits,
    note_failed_attempt,
    record_failed_login,
    refuse_throttled,
    reset_failed_logins,
)
from signin.payload import LoginPayload
from tokens.issue import IssuedTokens, issue_tokens
from tokens.models import SessionMode
from tokens.sessions import SessionContext, open_session


def stall(started: float) -> None:
    """Pad the request to ``LOGIN_STALL_TIME`` since ``started`` (``time.monotonic()``), after
    handing the database connection back, so slow-by-design responses hold no connection."""
    remaining = settings.DIRECTUS.tokens.login_stall_ms / 1000 - (time.monotonic() - started)
    if remaining > 0:
        if not connection.in_atomic_block:
            connection.close()
        with released():
            time.sleep(remaining)


@contextmanager
def stalled() -> Iterator[None]:
    """Every outcome inside takes at least ``LOGIN_STALL_TIME``, except a rate-limit refusal
    (answered at once: it says nothing about the account and must stay cheap)."""
    started = time.monotonic()
    try:
        yield
    except RequestsExceeded:
        raise
    except BaseException:
        stall(started)
        raise
    stall(started)


class SecondFactorRequired(InvalidOtp):
    """The first factor was right and the user has a second factor, but none was presented.

    On the wire it is ``INVALID_OTP`` like a wrong code (contract §7.1 step 5); a door that
    can ask for the code in a second step (the login page) keeps :attr:`user` pending."""

    def __init__(self, user: User) -> None:
        super().__init__()
        self.user = user


def sign_in(driver: AuthDriver, payload: LoginPayload, context: SessionContext) -> IssuedTokens:
    """Sign in with what a credentials driver verifies (password, LDAP bind) and open a session
    in ``payload.mode``. Raises ``INVALID_CREDENTIALS``, ``INVALID_OTP`` or
    ``REQUESTS_EXCEEDED``."""
    with stalled():
        user = authenticate(driver, payload, context)
        return start_session(driver, user, payload.mode, context)


def sign_in_user(
    driver: AuthDriver,
    prove: Callable[[], User],
    mode: str,
    context: SessionContext,
    otp: str | None = None,
) -> IssuedTokens:
    """Sign in the user a redirect driver's callback proves (``prove`` runs inside the flow's
    limits and stall); the same checks, second factor (``otp``, carried from the start of the
    redirect flow, contract sso.md §2.5) and events as a password sign-in."""
    with stalled():
        login_limits(context.ip, "", user_agent=context.user_agent)
        user = prove()
        _check_account(driver, user, context, user.email or "")
        refuse_throttled(user)
        second_factor(driver, user, otp, context)
        driver.login(user, None)
        return start_session(driver, user, mode, context)


def authenticate(driver: AuthDriver, payload: LoginPayload, context: SessionContext) -> User:
    """Check the credentials ``payload`` presents to ``driver``; the user, or a contract
    error. No session is opened (see :func:`sign_in`)."""
    who = payload.identifier
    login_limits(context.ip, who, user_agent=context.user_agent)
    user = driver.find_user(payload, context)
    verified = driver.verify(user, payload)
    if user is None:
        raise _fail("unknown_user", driver, context, None, who)
    _check_account(driver, user, context, who)
    refuse_throttled(user)
    if not verified:
        suspended = record_failed_login(user, ip=context.ip, user_agent=context.user_agent)
        raise _fail("suspended" if suspended else "wrong_password", driver, context, user, who)
    second_factor(driver, user, payload.otp, context)
    reset_failed_logins(user)
    driver.login(user, payload)
    return user


def _check_account(driver: AuthDriver, user: User, context: SessionContext, who: str) -> None:
    """Only active users, and only through their own provider (contract §7.1 step 2)."""
    if user.status != UserStatus.ACTIVE or user.provider != driver.name:
        raise _fail("inactive_or_other_provider", driver, context, user, who)


def _fail(
    reason: str, driver: AuthDriver, context: SessionContext, user: User | None, who: str
) -> InvalidCredentials:
    """Count the failure against the account's budget, log it, and answer as for any failure."""
    note_failed_attempt(context.ip, who)
    context.audit(
        "login.failure",
        "failure",
        user=user,
        identifier=who[:128],
        reason=reason,
        provider=driver.name,
    )
    return InvalidCredentials()


def second_factor(
    driver: AuthDriver, user: User, code: str | None, context: SessionContext
) -> None:
    """The second-factor step, after a right first factor: nothing to do for a user without
    one; :class:`SecondFactorRequired` when no code was given; a wrong code counts as a failed
    sign-in (towards the same limits and suspension as a wrong password) and is
    ``INVALID_OTP``. A code is a TOTP code or a recovery code, each accepted once only
    (:func:`factors.second_factor.verify_code`)."""
    if not has_second_factor(user):
        return
    if not code:
        context.audit(
            "login.failure",
            "failure",
            user=user,
            reason="second_factor_required",
            provider=driver.name,
        )
        raise SecondFactorRequired(user)
    if not verify_code(user, code, context=context):
        raise _wrong_second_factor(driver, user, context)


def _wrong_second_factor(driver: AuthDriver, user: User, context: SessionContext) -> InvalidOtp:
    who = user.email or ""
    note_failed_attempt(context.ip, who)
    suspended = record_failed_login(user, ip=context.ip, user_agent=context.user_agent)
    reason = "suspended" if suspended else "invalid_otp"
    context.audit("login.failure", "failure", user=user, reason=reason, provider=driver.name)
    return InvalidOtp()


def complete_second_factor(
    driver: AuthDriver,
    user_id: object,
    prove: Callable[[User], bool],
    mode: str,
    context: SessionContext,
) -> IssuedTokens:
    """Finish a sign-in left pending by :class:`SecondFactorRequired` (the login page's code
    or passkey step): the same limits, stall, account checks and failure counting as the first
    step; ``prove(user)`` says whether the presented factor is right (and consumes it)."""
    with stalled():
        user = _pending_user(user_id)
        who = user.email or "" if user else ""
        login_limits(context.ip, who, user_agent=context.user_agent)
        if user is None:
            raise InvalidCredentials()
        _check_account(driver, user, context, who)
        refuse_throttled(user)
        if not prove(user):
            raise _wrong_second_factor(driver, user, context)
        reset_failed_logins(user)
        driver.login(user, None)
        return start_session(driver, user, mode, context)


def _pending_user(user_id: object) -> User | None:
    """The user a pending sign-in names (a UUID or its text; anything else names nobody)."""
    try:
        pk = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    except ValueError:
        return None
    return User.objects.filter(pk=pk).first()


def start_session(
    driver: AuthDriver, user: User, mode: str, context: SessionContext
) -> IssuedTokens:
    """Open a refresh session for an authenticated user and issue its tokens."""
    opened = open_session(user.pk, SessionMode(mode), context)
    User.objects.filter(pk=user.pk).update(last_access=timezone.now())
    context.audit(
        "login.success",
        "success",
        user=user,
        mode=mode,
        provider=driver.name,
        session_family=str(opened.row.family),
    )
    return issue_tokens(user, opened, context.ip)
