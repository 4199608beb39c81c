"""Sign-in throttling and automatic suspension (contract http-auth.md §7.1 step 3, observed.md).

Two separate mechanisms, both kept in the ``"ratelimit"`` cache (Redis when
``RATE_LIMITER_STORE=redis``):

* :func:`login_limits` — rate limits on sign-in *attempts*, per client IP and per account (the
  email, lower-cased and stored only as a SHA-256 digest), ``RATE_LIMITER_LOGIN_*``. Refusals are
  429 ``REQUESTS_EXCEEDED``; the first refusal of a window is recorded as ``login.locked_out``.
* :func:`record_failed_login` / :func:`reset_failed_logins` — the Directus login-attempt counter
  (``ProjectSettings.auth_login_attempts``, default 25, ``None`` = unlimited), with no time
  window. Unlike Directus it counts **failures only** and a success resets it, so concurrent
  correct logins never suspend anyone; the (N+1)-th failure in a row suspends the user. The
  attempt that suspends is itself a failure, so a correct password is never let through on it.

Store failures raise 503 ``SERVICE_UNAVAILABLE`` ``Service "authentication" is unavailable. Rate
limiter unreachable.`` as in the contract. All functions are synchronous.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches

from accounts.audit import record_event
from accounts.models import AuthEventKind, AuthOutcome, ProjectSettings, User, UserStatus
from core.config import RateLimit
from core.errors import RequestsExceeded
from core.ratelimit import CACHE_ALIAS, RateLimiter, increment, key_digest, store_errors

SERVICE = "authentication"


def _login_limiter(name: str, limit: RateLimit) -> RateLimiter:
    return RateLimiter(name, limit.points, limit.duration_s, service=SERVICE)


def login_limits(ip: str | None, email: str, *, user_agent: str | None = None) -> None:
    """Spend one sign-in attempt for ``ip`` and for the account ``email`` (case-insensitive).

    Raises ``RequestsExceeded`` when either is used up (``ServiceUnavailable`` if the store is
    down). Call it before looking the user up, for every attempt, known user or not."""
    limits = settings.DIRECTUS.rate_limits
    checks = [
        ("login-ip", limits.login_ip, ip),
        ("login-account", limits.login_account, email.strip().lower()),
    ]
    for name, limit, key in checks:
        if limit.enabled and key:
            _consume_login(_login_limiter(name, limit), key, ip, email, user_agent)


def _consume_login(
    limiter: RateLimiter, key: str, ip: str | None, email: str, user_agent: str | None
) -> None:
    try:
        limiter.consume(key)
    except RequestsExceeded:
        if limiter.peek(key) == limiter.points + 1:  # the first refusal of this window
            record_event(
                AuthEventKind.LOGIN_LOCKED_OUT,
                outcome=AuthOutcome.FAILURE,
                identifier=email,
                ip=ip,
                user_agent=user_agent,
                limiter=limiter.name,
                points=limiter.points,
                duration_s=limiter.duration_s,
            )
        raise


def _failures_key(user: User) -> str:
    return f"login-failures:{key_digest(str(user.pk))}"


def record_failed_login(
    user: User, *, ip: str | None = None, user_agent: str | None = None
) -> bool:
    """Count one failed sign-in of ``user``; suspend them when the count exceeds
    ``ProjectSettings.auth_login_attempts``. Returns True if this failure suspended the user
    (their status is then ``suspended``, the counter reset and a ``user.suspended`` event
    recorded). With ``auth_login_attempts`` = None nothing is counted."""
    allowed = ProjectSettings.current().auth_login_attempts
    if allowed is None:
        return False
    with store_errors(SERVICE):
        failures = increment(caches[CACHE_ALIAS], _failures_key(user), None)
    if failures <= allowed:
        return False
    _suspend(user, failures, ip, user_agent)
    reset_failed_logins(user)
    return True


def _suspend(user: User, failures: int, ip: str | None, user_agent: str | None) -> None:
    user.status = UserStatus.SUSPENDED
    user.save(update_fields=["status"])
    record_event(
        AuthEventKind.USER_SUSPENDED,
        outcome=AuthOutcome.FAILURE,
        user=user,
        identifier=user.email,
        ip=ip,
        user_agent=user_agent,
        reason="login_attempts",
        failures=failures,
    )


def failed_logins(user: User) -> int:
    """Failed sign-ins of ``user`` since their last success (or suspension)."""
    with store_errors(SERVICE):
        return int(caches[CACHE_ALIAS].get(_failures_key(user), 0))


def reset_failed_logins(user: User) -> None:
    """Forget ``user``'s failed sign-ins; call it after every successful sign-in."""
    with store_errors(SERVICE):
        caches[CACHE_ALIAS].delete(_failures_key(user))
