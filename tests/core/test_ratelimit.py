"""The API rate limiters over HTTP (contract http-auth.md §8) and the limiter itself, including
a real cross-process check against Redis."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.test import Client, override_settings

from core import ratelimit
from core.config import RateLimit
from core.errors import RequestsExceeded, ServiceUnavailable
from core.ratelimit import RateLimiter

REDIS_URL = "redis://127.0.0.1:6379/15"
PROJECT_DIR = Path(__file__).resolve().parents[2]


class FakeClock:
    """A settable clock in epoch seconds."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(1000.07)
    monkeypatch.setattr(ratelimit, "wall_clock", fake)
    return fake


def limits(**changes: RateLimit) -> Any:
    """``override_settings`` with some of ``DIRECTUS.limits`` replaced."""
    config = settings.DIRECTUS
    return override_settings(
        DIRECTUS=dataclasses.replace(config, limits=dataclasses.replace(config.limits, **changes))
    )


def get(client: Client, path: str = "/nope", ip: str = "198.51.100.7") -> Any:
    return client.get(path, REMOTE_ADDR=ip)


def test_off_by_default() -> None:
    client = Client()
    assert {get(client).status_code for _ in range(60)} == {404}


@pytest.mark.django_db
def test_per_ip_limit_answers_the_directus_429(clock: FakeClock) -> None:
    client = Client()
    with limits(api=RateLimit(True, 25, 1)):
        assert {get(client).status_code for _ in range(25)} == {404}
        response = get(client)
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert not [h for h in response.headers if h.lower().startswith("x-ratelimit")]
    body = json.loads(response.content)
    assert body == {
        "errors": [
            {
                "message": "Too many requests, retry after 930ms.",
                "extensions": {
                    "limit": 25,
                    "reset": "1970-01-01T00:16:41.000Z",
                    "code": "REQUESTS_EXCEEDED",
                },
            }
        ]
    }
    assert list(body["errors"][0]["extensions"]) == ["limit", "reset", "code"]


def test_the_window_resets(clock: FakeClock) -> None:
    client = Client()
    with limits(api=RateLimit(True, 2, 10)):
        assert [get(client).status_code for _ in range(3)] == [404, 404, 429]
        clock.now = 1005.0
        refused = get(client)
        assert refused.status_code == 429
        assert refused["Retry-After"] == "5"
        assert "retry after 5s" in refused.json()["errors"][0]["message"]
        clock.now = 1010.0  # the next window
        assert [get(client).status_code for _ in range(3)] == [404, 404, 429]


def test_each_ip_has_its_own_budget(clock: FakeClock) -> None:
    client = Client()
    with limits(api=RateLimit(True, 1, 60)):
        assert get(client, ip="198.51.100.1").status_code == 404
        assert get(client, ip="198.51.100.1").status_code == 429
        assert get(client, ip="198.51.100.2").status_code == 404


def test_ping_and_static_files_are_exempt(clock: FakeClock) -> None:
    client = Client()
    with limits(api=RateLimit(True, 1, 60)):
        assert get(client).status_code == 404
        assert get(client).status_code == 429
        for _ in range(5):
            assert get(client, "/server/ping").status_code == 200
            assert get(client, "/static/admin/css/base.css").status_code == 200


def test_global_limit_is_shared_by_all_clients_and_checked_first(clock: FakeClock) -> None:
    client = Client()
    with limits(api=RateLimit(True, 100, 1), global_=RateLimit(True, 3, 1)):
        codes = [get(client, ip=f"198.51.100.{n}").status_code for n in range(1, 5)]
        refused = get(client, ip="198.51.100.99")
    assert codes == [404, 404, 404, 429]
    assert refused.json()["errors"][0]["extensions"]["limit"] == 3
    # the global refusal happened before the per-IP limiter spent anything for this client
    assert RateLimiter("api", 100, 1).peek("198.51.100.99") == 0


def test_an_unreachable_store_answers_503_not_500(clock: FakeClock) -> None:
    broken = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    with limits(api=RateLimit(True, 5, 1)), override_settings(CACHES=broken):
        response = get(Client())
    assert response.status_code == 503
    assert response.json() == {
        "errors": [
            {
                "message": 'Service "rate-limiter" is unavailable. Rate limiter unreachable.',
                "extensions": {
                    "service": "rate-limiter",
                    "reason": "Rate limiter unreachable",
                    "code": "SERVICE_UNAVAILABLE",
                },
            }
        ]
    }


def test_consume_peek_and_reset() -> None:
    limiter = RateLimiter("unit", 2, 60, clock=FakeClock(120.5))
    limiter.consume("k")
    limiter.consume("k")
    assert limiter.peek("k") == 2
    with pytest.raises(RequestsExceeded) as refused:
        limiter.consume("k")
    assert refused.value.extensions == {"limit": 2, "reset": "1970-01-01T00:03:00.000Z"}
    assert refused.value.retry_after_ms == 59_500
    limiter.reset("k")
    assert limiter.peek("k") == 0
    limiter.consume("k")


def test_keys_are_stored_as_digests() -> None:
    store = LocMemCache("digests", {})
    RateLimiter("unit", 5, 60, cache=store).consume("alice@example.com")
    stored = " ".join(str(key) for key in store._cache)
    assert "alice" not in stored
    assert ratelimit.key_digest("alice@example.com") in stored


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="points"):
        RateLimiter("unit", 0, 60)


# --- Redis: limits hold across processes ----------------------------------------------------

CONSUMER = textwrap.dedent(
    """
    import sys
    import django

    django.setup()
    from django.core.cache.backends.redis import RedisCache
    from core.ratelimit import RateLimiter
    from core.errors import RequestsExceeded

    url, prefix, now, attempts = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    store = RedisCache(url, {"KEY_PREFIX": prefix})
    limiter = RateLimiter("shared", 10, 60, cache=store, clock=lambda: now)
    granted = 0
    for _ in range(attempts):
        try:
            limiter.consume("203.0.113.9")
            granted += 1
        except RequestsExceeded:
            pass
    print(granted)
    """
)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    prefix = f"test-rl-{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def test_redis_budget_is_shared_across_processes(redis_prefix: str) -> None:
    now = 1_700_000_010.0
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    args = [sys.executable, "-c", CONSUMER, REDIS_URL, redis_prefix, str(now), "8"]
    workers = [
        subprocess.Popen(args, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    granted = [int(worker.communicate(timeout=60)[0].strip()) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    assert sum(granted) == 10  # 16 attempts in two processes, one budget of 10

    here = RateLimiter(
        "shared",
        10,
        60,
        cache=RedisCache(REDIS_URL, {"KEY_PREFIX": redis_prefix}),
        clock=lambda: now,
    )
    assert here.peek("203.0.113.9") == 16
    with pytest.raises(RequestsExceeded):
        here.consume("203.0.113.9")
    later = RateLimiter(
        "shared",
        10,
        60,
        cache=RedisCache(REDIS_URL, {"KEY_PREFIX": redis_prefix}),
        clock=lambda: now + 60,
    )
    later.consume("203.0.113.9")  # the next window has a fresh budget


def test_redis_down_is_service_unavailable() -> None:
    limiter = RateLimiter(
        "unit", 5, 60, cache=RedisCache("redis://127.0.0.1:1/0", {}), service="authentication"
    )
    with pytest.raises(ServiceUnavailable) as failed:
        limiter.consume("k")
    assert failed.value.extensions == {
        "service": "authentication",
        "reason": "Rate limiter unreachable",
    }
