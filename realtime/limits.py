"""Limits of the sockets: connections per socket (contract websockets.md §1), messages per
connection (§8) and a hard flood guard.

* **Connections** are counted in the ``default`` cache — Redis when ``REDIS`` is set, so the
  limit spans every process — with atomic ``incr``/``decr``. The counter key carries a TTL
  (:data:`COUNTER_TTL_S`, renewed at every connect) as a safety net: connections of a process
  that died without closing them stop counting at the latest one TTL after the last connect.
* **Messages**: with ``RATE_LIMITER_ENABLED`` every frame spends a point of the ``websocket``
  limiter (``RATE_LIMITER_POINTS`` per ``RATE_LIMITER_DURATION``), keyed by the connection id;
  an exceeded frame is dropped with ``REQUESTS_EXCEEDED`` and the connection stays open (§8).
* **Flood guard** (always on, ours): :data:`FLOOD_POINTS` frames per second and connection.
  Frames over it are dropped with ``REQUESTS_EXCEEDED``; a client that goes on to twice the
  guard within one second is disconnected with close code 1008 (policy violation).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache

from core.errors import DirectusError, RequestsExceeded
from core.ratelimit import RateLimiter

COUNTER_TTL_S = 6 * 3600
FLOOD_POINTS = 100
FLOOD_CLOSE_AT = 2 * FLOOD_POINTS
POLICY_VIOLATION = 1008


def _counter_key(path: str) -> str:
    return f"ws:connections:{path}"


def _acquire_sync(path: str, limit: int) -> bool:
    key = _counter_key(path)
    cache.add(key, 0, timeout=COUNTER_TTL_S)
    count = int(cache.incr(key))
    cache.touch(key, COUNTER_TTL_S)
    if count > limit:
        _release_sync(path)
        return False
    return True


def _release_sync(path: str) -> None:
    try:
        if int(cache.decr(_counter_key(path))) < 0:
            cache.set(_counter_key(path), 0, timeout=COUNTER_TTL_S)
    except ValueError:  # the key expired: nothing to give back
        pass


async def acquire_connection(path: str, limit: int | None) -> bool:
    """Count one more connection on ``path``; ``False`` (and nothing counted) over ``limit``."""
    if limit is None:
        return True
    return bool(await sync_to_async(_acquire_sync, thread_sensitive=False)(path, limit))


async def release_connection(path: str) -> None:
    await sync_to_async(_release_sync, thread_sensitive=False)(path)


def open_connections(path: str) -> int:
    return int(cache.get(_counter_key(path), 0))


@dataclass(slots=True)
class MessageBudget:
    """The per-connection message limits; :meth:`spend` returns the error for a dropped frame
    (``None`` when the frame may be handled) and sets :attr:`flooding` past the close line."""

    connection_id: str
    window: int = 0
    count: int = 0
    flooding: bool = False
    limiter: RateLimiter | None = field(default_factory=lambda: configured_limiter())

    async def spend(self) -> DirectusError | None:
        flood = self._spend_flood_point()
        if flood is not None:
            return flood
        if self.limiter is None:
            return None
        try:
            await sync_to_async(self.limiter.consume, thread_sensitive=False)(self.connection_id)
        except DirectusError as error:
            return error
        return None

    def _spend_flood_point(self) -> RequestsExceeded | None:
        now = time.monotonic()
        window = math.floor(now)
        if window != self.window:
            self.window, self.count = window, 0
        self.count += 1
        if self.count <= FLOOD_POINTS:
            return None
        self.flooding = self.count > FLOOD_CLOSE_AT
        retry_ms = math.ceil((window + 1 - now) * 1000)
        return RequestsExceeded(limit=FLOOD_POINTS, reset_iso="", retry_after_ms=retry_ms)


def configured_limiter() -> RateLimiter | None:
    """The ``websocket`` limiter of §8, when ``RATE_LIMITER_ENABLED``: one per configuration
    and process, shared by the connections (it holds no per-key state)."""
    api = settings.DIRECTUS.rate_limits.api
    if not api.enabled:
        return None
    return _limiter(api.points, api.duration_s)


@functools.lru_cache(maxsize=8)
def _limiter(points: int, duration_s: int) -> RateLimiter:
    return RateLimiter("websocket", points, duration_s, service="websocket")


def exceeded_message(error: DirectusError) -> str:
    """§8 wording: ``Too many messages, retry after <n>ms.``"""
    retry_ms = getattr(error, "retry_after_ms", 0)
    return f"Too many messages, retry after {retry_ms}ms."
