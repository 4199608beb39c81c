"""The health report of ``GET /server/health`` (contract system-api.md), Directus's shape
(draft-inadarei-api-health-check): ``checks`` maps a name to a list of entries
``{status, componentType, observedValue, observedUnit, threshold, output?}``.

Each :class:`Check` is a probe timed against its ``*_HEALTHCHECK_THRESHOLD``: over it the entry
is ``warn``; a probe that raises is ``error`` with a fixed ``output``, never the exception's
text, which may quote a DSN or a password. ``HEALTHCHECK_SERVICES`` picks the groups that run
(:mod:`core.config.health`). The report is computed at most once per :data:`REPORT_TTL_S` and
kept in the shared cache, so polling cannot hammer the database; it does not depend on who asks
(the view decides how much of it to show).
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.mail import get_connection
from django.db import connection
from redis.exceptions import RedisError

from core.config import Config
from core.ratelimit import RateLimiter

logger = logging.getLogger("system.health")

REPORT_TTL_S = 2
PROBE_TIMEOUT_S = 5
_CACHE_ERRORS = (RedisError, OSError)

# ---------------------------------------------------------------------------------- probes


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache() -> None:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", 5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value it stored")
    cache.delete(key)


def _redis() -> None:
    store = caches["default"]
    if not isinstance(store, RedisCache):
        raise RuntimeError("the default cache is not Redis")
    store._cache.get_client(write=True).ping()


def _rate_limiter(name: str) -> Callable[[], None]:
    def probe() -> None:
        limiter = RateLimiter(f"health-{name}", 1_000_000, 1, service="health")
        key = uuid.uuid4().hex
        limiter.consume(key)
        limiter.reset(key)

    return probe


def _smtp() -> None:
    """Open and close a connection with the configured mail backend (SMTP greeting, STARTTLS
    and login included)."""
    backend = get_connection(fail_silently=False, timeout=PROBE_TIMEOUT_S)
    backend.open()
    backend.close()


def _channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")

    async def round_trip() -> None:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.check"})
        message = await layer.receive(channel)
        if message.get("type") != "health.check":
            raise RuntimeError("channel layer returned another message")

    async_to_sync(round_trip)()


# ---------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Check:
    """One timed probe: its name in ``checks``, its component type, and what an error says."""

    name: str
    component: str
    probe: Callable[[], None]
    threshold_ms: int | None
    failure: str

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            self.probe()
            status = "ok"
        except Exception as exc:  # any fault of the peer is a failed check, not a 500
            logger.error("health check failed", extra={"check": self.name, "error": _kind(exc)})
            status = "error"
        elapsed = round((time.perf_counter() - started) * 1000, 3)
        entry: dict[str, Any] = {"status": status, "componentType": self.component}
        if self.threshold_ms is not None:
            entry.update(observedValue=elapsed, observedUnit="ms", threshold=self.threshold_ms)
            if status == "ok" and elapsed > self.threshold_ms:
                logger.warning("health check over threshold", extra={"check": self.name})
                entry["status"] = "warn"
        if status == "error":
            entry["output"] = self.failure
        return entry


def _kind(exc: BaseException) -> str:
    """What a log line says about a failure: its type only (messages may hold secrets)."""
    return type(exc).__name__


def planned_checks(config: Config) -> list[Check]:
    """The checks of the groups in ``HEALTHCHECK_SERVICES``, in report order."""
    groups, health, client = set(config.health.services), config.health, config.database.client
    checks: list[Check] = []
    if "database" in groups:
        failure = "Can't connect to the database."
        checks.append(
            Check(f"{client}:responseTime", "datastore", _database, health.db_threshold_ms, failure)
        )
    if "cache" in groups:
        threshold = health.cache_threshold_ms
        checks.append(
            Check("cache:responseTime", "cache", _cache, threshold, "Can't use the cache.")
        )
        if config.redis is not None:
            failure = "Can't connect to Redis."
            checks.append(Check("redis:responseTime", "cache", _redis, threshold, failure))
    if "ratelimiter" in groups:
        checks.extend(_rate_limiter_checks(config))
    if "email" in groups and config.mail.transport == "smtp":
        failure = "Can't connect to the mail server."
        checks.append(Check("email:connection", "email", _smtp, None, failure))
    if "realtime" in groups:
        threshold, failure = health.channel_layer_threshold_ms, "Can't use the channel layer."
        checks.append(
            Check("channelLayer:responseTime", "system", _channel_layer, threshold, failure)
        )
    return checks


def _rate_limiter_checks(config: Config) -> list[Check]:
    failure = "Can't use the rate limiter's store."
    limiters = [
        ("rateLimiter", config.limits.api, config.health.rate_limiter_threshold_ms),
        (
            "rateLimiterGlobal",
            config.limits.global_,
            config.health.rate_limiter_global_threshold_ms,
        ),
    ]
    return [
        Check(f"{name}:responseTime", "ratelimiter", _rate_limiter(name), threshold, failure)
        for name, limit, threshold in limiters
        if limit.enabled
    ]


def _pool_entries(client: str) -> dict[str, list[dict[str, Any]]]:
    """Free and used connections of the PostgreSQL pool (psycopg's), when there is one."""
    pool = getattr(connection, "pool", None)
    if pool is None:
        return {}
    stats = pool.get_stats()
    available = int(stats.get("pool_available", 0))
    used = int(stats.get("pool_size", 0)) - available
    return {
        f"{client}:connectionsAvailable": [_count(available)],
        f"{client}:connectionsUsed": [_count(used)],
    }


def _count(value: int) -> dict[str, Any]:
    return {"status": "ok", "componentType": "datastore", "observedValue": value}


def compute_report(config: Config) -> dict[str, Any]:
    """Run every planned check now: ``{"status", "checks"}``."""
    checks: dict[str, list[dict[str, Any]]] = {}
    for check in planned_checks(config):
        checks[check.name] = [check.run()]
        if check.name == f"{config.database.client}:responseTime":
            checks.update(_pool_entries(config.database.client))
    statuses = {entry["status"] for entries in checks.values() for entry in entries}
    status = "error" if "error" in statuses else "warn" if "warn" in statuses else "ok"
    return {"status": status, "checks": checks}


def health_report() -> dict[str, Any]:
    """The report, from the shared cache when one was computed in the last few seconds."""
    config = settings.DIRECTUS
    key = f"health:report:{','.join(config.health.services)}"
    cached = None
    with contextlib.suppress(*_CACHE_ERRORS):  # the cache is down: its own check says so
        cached = cache.get(key)
    if isinstance(cached, dict):
        return cached
    report = compute_report(config)
    with contextlib.suppress(*_CACHE_ERRORS):
        cache.set(key, report, REPORT_TTL_S)
    return report
