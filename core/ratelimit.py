"""Fixed-window rate limiting over the Django cache alias ``"ratelimit"`` (contract
http-auth.md §8, env.md §5).

Algorithm: **fixed windows aligned to the epoch**. Window *n* of a limiter with duration *d*
covers ``[n·d, (n+1)·d)`` seconds; each key gets one counter per window, created with the
cache's atomic ``add`` and bumped with its atomic ``incr``, expiring when the window ends. All
processes compute the same window from the clock, so with ``RATE_LIMITER_STORE=redis`` (the alias
points at Redis) every process shares one budget; with ``memory`` each process has its own.
The known trade-off of fixed windows: a client may spend up to ``2·points`` across a window
boundary. Directus (rate-limiter-flexible) has the same property.

Keys are stored as SHA-256 digests, so no email, token or other raw value is ever written to the
store. A store failure (Redis down) becomes ``503 SERVICE_UNAVAILABLE``, never a 500.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from redis.exceptions import RedisError

from core.errors import RequestsExceeded, ServiceUnavailable

CACHE_ALIAS = "ratelimit"
UNREACHABLE = "Rate limiter unreachable"
_STORE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

Clock = Callable[[], float]


def wall_clock() -> float:
    """Seconds since the epoch; tests replace this (or pass ``clock=``) to move time."""
    return time.time()


def key_digest(value: str) -> str:
    """The stored form of a limiter key: a SHA-256 hex digest (never the raw value)."""
    return hashlib.sha256(value.encode()).hexdigest()


@contextmanager
def store_errors(service: str) -> Iterator[None]:
    """Turn a cache-store failure (Redis down) into ``ServiceUnavailable(service, UNREACHABLE)``."""
    try:
        yield
    except _STORE_ERRORS as exc:
        raise ServiceUnavailable(service, UNREACHABLE) from exc


def increment(store: BaseCache, cache_key: str, timeout: float | None) -> int:
    """Atomically add one to ``cache_key`` (created at 0 with ``timeout``) and return the count.

    ``add`` only writes when the key is missing and ``incr`` is atomic on LocMem and Redis, so
    concurrent callers (threads or processes sharing Redis) each see a distinct count."""
    for _ in range(3):
        store.add(cache_key, 0, timeout=timeout)
        try:
            return int(store.incr(cache_key))
        except ValueError:  # expired between add and incr: create it again
            continue
    raise ValueError(f"could not increment rate-limit counter {cache_key!r}")


class RateLimiter:
    """``points`` requests per ``duration_s`` seconds and key, in fixed windows.

    ``consume(key)`` spends one point or raises ``RequestsExceeded`` (limit = points, reset = ISO
    time the window ends, retry-after = milliseconds until then); ``peek`` reads the points spent
    in the current window; ``reset`` forgets them. Store failures raise ``ServiceUnavailable``
    naming ``service``."""

    def __init__(
        self,
        name: str,
        points: int,
        duration_s: int,
        *,
        cache: BaseCache | None = None,
        clock: Clock | None = None,
        service: str = "rate-limiter",
    ) -> None:
        if points < 1 or duration_s < 1:
            raise ValueError("a rate limiter needs points >= 1 and duration_s >= 1")
        self.name = name
        self.points = points
        self.duration_s = duration_s
        self.cache = cache if cache is not None else caches[CACHE_ALIAS]
        self.clock = clock or wall_clock
        self.service = service

    def consume(self, key: str) -> None:
        """Spend one point for ``key``; raise ``RequestsExceeded`` when the window is used up."""
        now = self.clock()
        window_end = window_end_of(now, self.duration_s)
        with store_errors(self.service):
            count = increment(
                self.cache, self._cache_key(key, now), math.ceil(window_end - now) + 1
            )
        if count > self.points:
            raise RequestsExceeded(
                limit=self.points,
                reset_iso=iso_ms(window_end),
                retry_after_ms=math.ceil((window_end - now) * 1000),
            )

    def peek(self, key: str) -> int:
        """Points spent by ``key`` in the current window (may exceed ``points`` once refused)."""
        with store_errors(self.service):
            return int(self.cache.get(self._cache_key(key, self.clock()), 0))

    def reset(self, key: str) -> None:
        """Give ``key`` its whole budget back for the current window."""
        with store_errors(self.service):
            self.cache.delete(self._cache_key(key, self.clock()))

    def _cache_key(self, key: str, now: float) -> str:
        window = math.floor(now / self.duration_s)
        return f"rl:{self.name}:{self.duration_s}:{window}:{key_digest(key)}"


def window_end_of(now: float, duration_s: int) -> float:
    """The end (epoch seconds) of the fixed window of ``duration_s`` that holds ``now``."""
    return (math.floor(now / duration_s) + 1) * duration_s


def iso_ms(timestamp: float) -> str:
    """``2024-01-01T00:00:01.000Z``, the shape JavaScript's ``Date.toISOString`` produces."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
