"""Sign-in throttling and automatic suspension (contract http-auth.md §7.1 step 3, observed.md).

Two separate mechanisms:

* :func:`login_limits` — rate limits on sign-in *attempts*, per client IP and per account (the
  email, lower-cased and stored only as a SHA-256 digest), ``RATE_LIMITER_LOGIN_*``, in the
  ``"ratelimit"`` cache (Redis when ``RATE_LIMITER_STORE=redis``). Refusals are 429
  ``REQUESTS_EXCEEDED``; the first refusal of a window is recorded as ``login.locked_out``.
  Store failures raise 503 ``SERVICE_UNAVAILABLE`` ``Service "authentication" is unavailable.
  Rate limiter unreachable.`` as in the contract.
* :func:`record_failed_login` / :func:`reset_failed_logins` — the Directus login-attempt counter
  (``ProjectSettings.auth_login_attempts``, default 25, ``None`` = unlimited), with no time
  window, kept **in the database** (``User.failed_logins``, changed only by atomic ``F()``
  updates) so that no amount of other traffic can evict it and every process sees one count.
  Unlike Directus it counts **failures only** and a success resets it, so concurrent correct
  logins never suspend anyone; the (N+1)-th failure in a row suspends the user. The attempt
  that suspends is itself a failure, so a correct password is never let through on it.

The last admin is never suspended this way (an outsider who knows the address could otherwise
lock everybody out of the project): when the failure that would suspend them comes, and no
other active user has admin access, the account is *throttled* instead — ``login.throttled``
(reason ``last_admin``) is recorded, the counter starts again from zero and
:func:`refuse_throttled` refuses every sign-in of the account, right password or not, until the
current per-account rate-limit window ends (``User.login_throttled_until``).

All functions are synchronous.
"""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.audit import record_event
from accounts.models import (
    Access,
    AuthEventKind,
    AuthOutcome,
    ProjectSettings,
    Role,
    User,
    UserStatus,
)
from core.config import RateLimit
from core.errors import RequestsExceeded
from core.ratelimit import RateLimiter, iso_ms, window_end_of

SERVICE = "authentication"


def _login_limiter(name: str, limit: RateLimit) -> RateLimiter:
    return RateLimiter(name, limit.points, limit.duration_s, service=SERVICE)


def login_limits(ip: str | None, who: str, *, user_agent: str | None = None) -> None:
    """Refuse the attempt when the budget of *failed* sign-ins of ``ip`` or of the account
    ``who`` (case-insensitive) is spent.

    Raises ``RequestsExceeded`` (``ServiceUnavailable`` if the store is down). Call it before
    looking the user up, for every attempt, known user or not. Both limits count only
    failures (:func:`note_failed_attempt`), so a client (a test suite, a script) that signs in
    correctly many times a minute is never refused; guessing from one address or at one
    account is. Volume as such is the global and per-IP request limiters' business."""
    limits = settings.DIRECTUS.limits
    if limits.login_ip.enabled and ip:
        limiter = _login_limiter("login-ip", limits.login_ip)
        if limiter.peek(ip) >= limiter.points:
            _consume_login(limiter, ip, ip, who, user_agent)
    account = _account_key(who)
    if limits.login_account.enabled and account:
        limiter = _login_limiter("login-account", limits.login_account)
        if limiter.peek(account) >= limiter.points:
            _consume_login(limiter, account, ip, who, user_agent)


def note_failed_attempt(ip: str | None, who: str) -> None:
    """Spend one point of the address's and of the account's budgets of failed sign-ins
    (``RATE_LIMITER_LOGIN_IP_*``, ``RATE_LIMITER_LOGIN_*``); once one is spent,
    :func:`login_limits` refuses until its window ends."""
    limits = settings.DIRECTUS.limits
    if limits.login_ip.enabled and ip:
        with contextlib.suppress(RequestsExceeded):
            _login_limiter("login-ip", limits.login_ip).consume(ip)
    account = _account_key(who)
    if limits.login_account.enabled and account:
        with contextlib.suppress(RequestsExceeded):  # already answered as a failure
            _login_limiter("login-account", limits.login_account).consume(account)


def _account_key(who: str) -> str:
    return who.strip().lower()


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


def record_failed_login(
    user: User, *, ip: str | None = None, user_agent: str | None = None
) -> bool:
    """Count one failed sign-in of ``user``; suspend them when the count exceeds
    ``ProjectSettings.auth_login_attempts``. Returns True if this failure suspended the user
    (their status is then ``suspended``, the counter reset and a ``user.suspended`` event
    recorded). If ``user`` is the last active admin they are throttled instead (see the module
    docstring) and False is returned. With ``auth_login_attempts`` = None nothing is counted."""
    allowed = ProjectSettings.current().auth_login_attempts
    if allowed is None:
        return False
    failures = _count_failure(user)
    if failures <= allowed:
        return False
    if _last_admin(user):
        _throttle(user, failures, ip, user_agent)
        return False
    _suspend(user, failures, ip, user_agent)
    reset_failed_logins(user)
    return True


def _count_failure(user: User) -> int:
    """Add one to the stored count and read it back in one transaction: the row lock the
    update takes orders concurrent failures, so each sees a distinct count."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
        return int(User.objects.filter(pk=user.pk).values_list("failed_logins", flat=True).get())


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


def _throttle(user: User, failures: int, ip: str | None, user_agent: str | None) -> None:
    until = _window_end(settings.DIRECTUS.limits.login_account)
    User.objects.filter(pk=user.pk).update(failed_logins=0, login_throttled_until=until)
    user.failed_logins, user.login_throttled_until = 0, until
    record_event(
        AuthEventKind.LOGIN_THROTTLED,
        outcome=AuthOutcome.FAILURE,
        user=user,
        identifier=user.email,
        ip=ip,
        user_agent=user_agent,
        reason="last_admin",
        failures=failures,
        until=until.isoformat(),
    )


def _window_end(limit: RateLimit) -> datetime:
    """The end of the current fixed window of ``limit``, so the throttle ends with the
    per-account limit's window."""
    end = window_end_of(timezone.now().timestamp(), limit.duration_s)
    return datetime.fromtimestamp(end, tz=UTC)


def refuse_throttled(user: User) -> None:
    """Raise 429 ``REQUESTS_EXCEEDED`` while ``user`` is throttled (any password)."""
    until = user.login_throttled_until
    if until is None:
        return
    left_ms = math.ceil((until - timezone.now()).total_seconds() * 1000)
    if left_ms <= 0:
        return
    allowed = ProjectSettings.current().auth_login_attempts or 0
    reset = iso_ms(until.timestamp())
    raise RequestsExceeded(limit=allowed, reset_iso=reset, retry_after_ms=left_ms)


def _last_admin(user: User) -> bool:
    """Whether ``user`` has admin access and no other active user has."""
    if not user.accountability().admin:
        return False
    return not _admins_besides(user).exists()


def _admins_besides(user: User) -> Any:
    """Active users other than ``user`` whose role (or an ancestor of it) or own policies grant
    admin access."""
    admin_roles = set(
        Access.objects.filter(policy__admin_access=True, role__isnull=False).values_list(
            "role_id", flat=True
        )
    )
    parents = dict(Role.objects.values_list("pk", "parent_id"))
    inheriting = {role for role in parents if _descends(role, admin_roles, parents)}
    own = Access.objects.filter(policy__admin_access=True, user__isnull=False)
    return (
        User.objects.filter(status=UserStatus.ACTIVE)
        .filter(Q(role_id__in=inheriting) | Q(pk__in=own.values("user_id")))
        .exclude(pk=user.pk)
    )


def _descends(role: Any, ancestors: set[Any], parents: dict[Any, Any]) -> bool:
    seen: set[Any] = set()
    while role is not None and role not in seen:
        if role in ancestors:
            return True
        seen.add(role)
        role = parents.get(role)
    return False


def failed_logins(user: User) -> int:
    """Failed sign-ins of ``user`` since their last success (or suspension)."""
    found = User.objects.filter(pk=user.pk).values_list("failed_logins", flat=True).first()
    return int(found or 0)


def reset_failed_logins(user: User) -> None:
    """Forget ``user``'s failed sign-ins (and a past throttle); call it after every successful
    sign-in. One UPDATE that matches nothing in the usual case."""
    User.objects.filter(pk=user.pk).filter(
        Q(failed_logins__gt=0) | Q(login_throttled_until__isnull=False)
    ).update(failed_logins=0, login_throttled_until=None)
