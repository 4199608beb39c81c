"""What every lifecycle request shares: a per-IP budget and a fixed response time.

* :func:`limit_ip`: the password request, the reset and the invitation acceptance spend from a
  per-IP budget of the same size as the sign-in one (``RATE_LIMITER_LOGIN_ENABLED``,
  ``RATE_LIMITER_LOGIN_IP_POINTS`` per ``RATE_LIMITER_LOGIN_DURATION``; 30 per 60 s), kept apart
  from it (limiter ``lifecycle-ip``) so that resets do not lock anyone out of signing in.
  Refusals are 429 ``REQUESTS_EXCEEDED``, answered at once.
* :func:`padded`: ``POST /auth/password/request`` takes a fixed 500 ms whatever happens
  (contract http-auth.md §7.5, §9), so its timing says nothing about the address.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

from core.ratelimit import RateLimiter
from core.slots import released

SERVICE = "authentication"
PASSWORD_REQUEST_STALL_S = 0.5


def limit_ip(ip: str | None) -> None:
    """Spend one point of ``ip``'s lifecycle budget (no-op with the login limiter off)."""
    limit = settings.DIRECTUS.limits.login_ip
    if limit.enabled and ip:
        RateLimiter("lifecycle-ip", limit.points, limit.duration_s, service=SERVICE).consume(ip)


@contextmanager
def padded(seconds: float = PASSWORD_REQUEST_STALL_S) -> Iterator[None]:
    """Every outcome inside (success or error) takes at least ``seconds``; the database
    connection is handed back before sleeping, so the wait holds none."""
    started = time.monotonic()
    try:
        yield
    finally:
        remaining = seconds - (time.monotonic() - started)
        if remaining > 0:
            if not connection.in_atomic_block:
                connection.close()
            with released():
                time.sleep(remaining)
