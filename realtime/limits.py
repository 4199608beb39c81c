"""Limits of the sockets: connections per socket (contract websockets.md §1), messages per
connection (§8) and a hard flood guard.

* **Connections** are counted per process, and a slot is given back however the socket ends:
  a clean close (:func:`release_connection`), or the end of the connection's task for any
  other reason (the consumer raised, was cancelled): :func:`acquire_connection` ties the slot
  to the task that took it. Without ``REDIS`` the count is this process's own (memory), so a
  process that dies takes its connections with it. With ``REDIS`` the limit spans every
  process: each one keeps its count in a shared hash (``ws:conn:<path>``, field = process id)
  under a *lease* (``ws:lease:<process id>``, :data:`LEASE_TTL_S`) that a thread of the live
  process renews every :data:`LEASE_RENEW_S`; counts whose lease has lapsed (the process was
  killed) are dropped by the next connect, so a dead process's slots come back within
  :data:`LEASE_TTL_S`. Check-and-count is one Lua script, atomic across processes.
* **Messages**: with ``RATE_LIMITER_ENABLED`` every frame spends a point of the ``websocket``
  limiter (``RATE_LIMITER_POINTS`` per ``RATE_LIMITER_DURATION``), keyed by the connection id;
  an exceeded frame is dropped with ``REQUESTS_EXCEEDED`` and the connection stays open (§8).
* **Flood guard** (always on, ours): :data:`FLOOD_POINTS` frames per second and connection.
  Frames over it are dropped with ``REQUESTS_EXCEEDED``; a client that goes on to twice the
  guard within one second is disconnected with close code 1008 (policy violation).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import os
import threading
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import redis
from asgiref.sync import sync_to_async
from django.conf import settings

from core.errors import DirectusError, RequestsExceeded
from core.ratelimit import RateLimiter

logger = logging.getLogger("realtime")

#: A process's counts stop counting this long after its last renewal.
LEASE_TTL_S = 5
LEASE_RENEW_S = 1.5
FLOOD_POINTS = 100
FLOOD_CLOSE_AT = 2 * FLOOD_POINTS
POLICY_VIOLATION = 1008

_PREFIX = "directus:ws:"

# KEYS[1] the path's hash, KEYS[2] our lease; ARGV: process id, limit, lease TTL, lease prefix.
_ACQUIRE = """
redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
local total = 0
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local owner = entries[i]
  if owner == ARGV[1] or redis.call('EXISTS', ARGV[4] .. owner) == 1 then
    total = total + tonumber(entries[i + 1])
  else
    redis.call('HDEL', KEYS[1], owner)
  end
end
if total >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
"""

# KEYS[1] the path's hash; ARGV[1] the process id.
_RELEASE = """
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return left
"""

# KEYS[1] the path's hash; ARGV: lease prefix, ignored process id ('' for none).
_COUNT = """
local total = 0
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  if redis.call('EXISTS', ARGV[1] .. entries[i]) == 1 then
    total = total + tonumber(entries[i + 1])
  end
end
return total
"""


class _Counts:
    """This process's counted connections per path (the truth for this process), and, with
    Redis, their copy in the shared hash under this process's lease."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.owner = f"{self.pid}-{uuid.uuid4().hex}"
        self.paths: dict[str, int] = {}
        self.lock = threading.Lock()
        self.client: redis.Redis | None = None
        self.renewer: threading.Thread | None = None

    # -------------------------------------------------------------- store

    def shared(self) -> redis.Redis | None:
        config = settings.DIRECTUS.redis
        if config is None:
            return None
        if self.client is None:
            self.client = redis.Redis.from_url(config.url, socket_timeout=5)
        if self.renewer is None:
            self.renewer = threading.Thread(target=self._renew_forever, daemon=True)
            self.renewer.start()
        return self.client

    def lease_key(self) -> str:
        return f"{_PREFIX}lease:{self.owner}"

    # -------------------------------------------------------------- slots

    def acquire(self, path: str, limit: int) -> bool:
        with self.lock:
            client = self.shared()
            if client is None:
                taken = self.paths.get(path, 0) < limit
            else:
                lease_prefix = f"{_PREFIX}lease:"
                found = client.eval(
                    _ACQUIRE,
                    2,
                    _hash_key(path),
                    self.lease_key(),
                    self.owner,
                    limit,
                    LEASE_TTL_S,
                    lease_prefix,
                )
                taken = bool(found)
            if taken:
                self.paths[path] = self.paths.get(path, 0) + 1
            return taken

    def release(self, path: str) -> None:
        with self.lock:
            left = self.paths.get(path, 0)
            if left <= 0:
                return
            self.paths[path] = left - 1
            client = self.shared()
            if client is None:
                return
            try:
                client.eval(_RELEASE, 1, _hash_key(path), self.owner)
            except (redis.RedisError, OSError):  # the next renewal writes the true count
                logger.warning("could not give a socket slot back to Redis", exc_info=True)

    def count(self, path: str) -> int:
        client = self.shared()
        if client is None:
            return self.paths.get(path, 0)
        return int(client.eval(_COUNT, 1, _hash_key(path), f"{_PREFIX}lease:"))

    # -------------------------------------------------------------- lease

    def renew(self) -> None:
        """Extend the lease and write this process's true counts (heals a lapsed lease)."""
        with self.lock:
            if self.client is None:
                return
            pipe = self.client.pipeline()
            pipe.set(self.lease_key(), "1", ex=LEASE_TTL_S)
            for path, count in self.paths.items():
                if count > 0:
                    pipe.hset(_hash_key(path), self.owner, count)
                else:
                    pipe.hdel(_hash_key(path), self.owner)
            pipe.execute()

    def _renew_forever(self) -> None:
        while True:
            time.sleep(LEASE_RENEW_S)
            if os.getpid() != self.pid:  # a forked child: its parent's thread is not ours
                return
            try:
                self.renew()
            except (redis.RedisError, OSError):
                logger.warning("could not renew the socket-count lease", exc_info=True)


def _hash_key(path: str) -> str:
    return f"{_PREFIX}conn:{path}"


_state: _Counts | None = None
_state_lock = threading.Lock()


def _counts() -> _Counts:
    """This process's counts (new ones in a forked child)."""
    global _state
    with _state_lock:
        if _state is None or _state.pid != os.getpid():
            _state = _Counts()
        return _state


@dataclass
class _Held:
    """The slots one connection's task holds; whatever is left when the task ends is given
    back then."""

    paths: list[str] = field(default_factory=list)


_held: ContextVar[_Held | None] = ContextVar("socket_slots_held", default=None)


def _hold(path: str) -> None:
    held = _held.get()
    if held is None:
        held = _Held()
        _held.set(held)
        task = asyncio.current_task()
        if task is not None:
            task.add_done_callback(functools.partial(_release_left, held))
    held.paths.append(path)


def _release_left(held: _Held, task: asyncio.Task[Any]) -> None:
    """The connection's task ended (returned, raised or was cancelled): give back its slots."""
    paths, held.paths = held.paths, []
    if not paths:
        return
    loop = task.get_loop()
    for path in paths:  # off the event loop: with Redis, releasing is a round trip
        loop.run_in_executor(None, _counts().release, path)


async def acquire_connection(path: str, limit: int | None) -> bool:
    """Count one more connection on ``path``; ``False`` (and nothing counted) over ``limit``.
    The slot belongs to the calling task: :func:`release_connection` gives it back, and so
    does the end of that task if nothing did before."""
    if limit is None:
        return True
    counts = _counts()
    taken = await sync_to_async(counts.acquire, thread_sensitive=False)(path, limit)
    if taken:
        _hold(path)
    return bool(taken)


async def release_connection(path: str) -> None:
    """Give back a slot taken by this connection (a second call, or one after the task's end
    gave it back, does nothing)."""
    held = _held.get()
    if held is not None:
        if path not in held.paths:
            return
        held.paths.remove(path)
    await sync_to_async(_counts().release, thread_sensitive=False)(path)


def open_connections(path: str) -> int:
    """Connections counted on ``path`` (every live process's, with Redis)."""
    return _counts().count(path)


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
    api = settings.DIRECTUS.limits.api
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
