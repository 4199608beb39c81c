"""The ``limits`` section: rate limiters and query sizes (``RATE_LIMITER_*``,
``QUERY_LIMIT_*``, ``GRAPHQL_QUERY_*_LIMIT``; contract env.md).

Rate limits are points per duration (seconds). The global limiter must allow strictly more than
the per-IP one, and both login limiters share ``RATE_LIMITER_LOGIN_ENABLED`` and
``RATE_LIMITER_LOGIN_DURATION``. ``QUERY_LIMIT_MAX=-1`` means unlimited.

GraphQL documents are refused before they run beyond ``GRAPHQL_QUERY_TOKEN_LIMIT`` tokens (5000,
Directus's default), ``GRAPHQL_QUERY_DEPTH_LIMIT`` levels of fields (10) or an estimated
``GRAPHQL_QUERY_COST_LIMIT`` rows (10000; :mod:`realtime.graphql.cost`).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config.env import EnvReader


@dataclass(frozen=True)
class RateLimit:
    enabled: bool
    points: int
    duration_s: int


@dataclass(frozen=True)
class Limits:
    store: str
    api: RateLimit
    global_: RateLimit
    login_ip: RateLimit
    login_account: RateLimit
    query_default: int
    query_max: int
    graphql_query_tokens: int
    graphql_query_depth: int
    graphql_query_cost: int


def load_limits(env: EnvReader) -> Limits:
    store = env.choice("RATE_LIMITER_STORE", "memory", ("memory", "redis"))
    api = _rate_limit(env, "RATE_LIMITER", False, 50, 1)
    global_ = _rate_limit(env, "RATE_LIMITER_GLOBAL", False, 1000, 1)
    if global_.enabled and (
        not api.enabled or global_.points / global_.duration_s <= api.points / api.duration_s
    ):
        env.errors.append(
            "RATE_LIMITER_GLOBAL_ENABLED needs RATE_LIMITER_ENABLED and a global rate "
            "(points/duration) strictly higher than the per-IP rate."
        )
    login_ip, login_account = _login_limits(env)
    limits = Limits(
        store=store,
        api=api,
        global_=global_,
        login_ip=login_ip,
        login_account=login_account,
        query_default=env.integer("QUERY_LIMIT_DEFAULT", 100, minimum=1),
        query_max=env.integer("QUERY_LIMIT_MAX", 1000, minimum=-1),
        graphql_query_tokens=env.integer("GRAPHQL_QUERY_TOKEN_LIMIT", 5000, minimum=1),
        graphql_query_depth=env.integer("GRAPHQL_QUERY_DEPTH_LIMIT", 10, minimum=1),
        graphql_query_cost=env.integer("GRAPHQL_QUERY_COST_LIMIT", 10000, minimum=1),
    )
    if limits.query_max != -1 and limits.query_default > limits.query_max:
        env.errors.append("QUERY_LIMIT_DEFAULT must not be larger than QUERY_LIMIT_MAX.")
    return limits


def _rate_limit(
    env: EnvReader, prefix: str, enabled: bool, points: int, duration: int
) -> RateLimit:
    return RateLimit(
        enabled=env.boolean(f"{prefix}_ENABLED", enabled),
        points=env.integer(f"{prefix}_POINTS", points, minimum=1),
        duration_s=env.integer(f"{prefix}_DURATION", duration, minimum=1),
    )


def _login_limits(env: EnvReader) -> tuple[RateLimit, RateLimit]:
    """The per-IP and per-account login limiters (``RATE_LIMITER_LOGIN_*``)."""
    enabled = env.boolean("RATE_LIMITER_LOGIN_ENABLED", True)
    duration = env.integer("RATE_LIMITER_LOGIN_DURATION", 60, minimum=1)
    ip_points = env.integer("RATE_LIMITER_LOGIN_IP_POINTS", 30, minimum=1)
    account_points = env.integer("RATE_LIMITER_LOGIN_ACCOUNT_POINTS", 10, minimum=1)
    return RateLimit(enabled, ip_points, duration), RateLimit(enabled, account_points, duration)
