"""The ``health`` section: ``GET /server/health`` (``HEALTHCHECK_*``, ``*_HEALTHCHECK_THRESHOLD``;
contract system-api.md).

======================================== ===================================================
``HEALTHCHECK_ENABLED``                  ``false``: the route is not there (404)
``HEALTHCHECK_SERVICES``                 CSV of the check groups to run (default: all of
                                         :data:`GROUPS`)
``DB_HEALTHCHECK_THRESHOLD``             ms over which the database check warns (150)
``CACHE_HEALTHCHECK_THRESHOLD``          the same for the cache and Redis checks (150)
``RATE_LIMITER_HEALTHCHECK_THRESHOLD``   the per-IP rate limiter's store (150)
``RATE_LIMITER_GLOBAL_HEALTHCHECK_THRESHOLD`` the global rate limiter's store (150)
``CHANNEL_LAYER_HEALTHCHECK_THRESHOLD``  the channel layer's round trip (150)
======================================== ===================================================

The groups: ``database`` (response time, and pool counts on PostgreSQL), ``cache`` (the Django
cache and, when configured, Redis), ``ratelimiter`` (the limiters that are on), ``email`` (the
SMTP server, with ``EMAIL_TRANSPORT=smtp``) and ``realtime`` (the channel layer).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config.env import EnvReader

GROUPS = ("database", "cache", "ratelimiter", "email", "realtime")
DEFAULT_THRESHOLD_MS = 150


@dataclass(frozen=True)
class Health:
    enabled: bool = True
    services: tuple[str, ...] = GROUPS
    db_threshold_ms: int = DEFAULT_THRESHOLD_MS
    cache_threshold_ms: int = DEFAULT_THRESHOLD_MS
    rate_limiter_threshold_ms: int = DEFAULT_THRESHOLD_MS
    rate_limiter_global_threshold_ms: int = DEFAULT_THRESHOLD_MS
    channel_layer_threshold_ms: int = DEFAULT_THRESHOLD_MS


def load_health(env: EnvReader) -> Health:
    return Health(
        enabled=env.boolean("HEALTHCHECK_ENABLED", True),
        services=_services(env),
        db_threshold_ms=_threshold(env, "DB_HEALTHCHECK_THRESHOLD"),
        cache_threshold_ms=_threshold(env, "CACHE_HEALTHCHECK_THRESHOLD"),
        rate_limiter_threshold_ms=_threshold(env, "RATE_LIMITER_HEALTHCHECK_THRESHOLD"),
        rate_limiter_global_threshold_ms=_threshold(
            env, "RATE_LIMITER_GLOBAL_HEALTHCHECK_THRESHOLD"
        ),
        channel_layer_threshold_ms=_threshold(env, "CHANNEL_LAYER_HEALTHCHECK_THRESHOLD"),
    )


def _threshold(env: EnvReader, name: str) -> int:
    return env.integer(name, DEFAULT_THRESHOLD_MS, minimum=0)


def _services(env: EnvReader) -> tuple[str, ...]:
    names = [name.strip().lower() for name in env.csv("HEALTHCHECK_SERVICES") if name.strip()]
    unknown = [name for name in names if name not in GROUPS]
    if unknown:
        env.errors.append(
            f"HEALTHCHECK_SERVICES: unknown group(s) {', '.join(unknown)}; "
            f"use any of {', '.join(GROUPS)}."
        )
    chosen = tuple(group for group in GROUPS if group in names)
    return chosen or GROUPS
