"""Sign-in end to end against real server processes: concurrency, reuse, two processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, base_env, postgres_database

pytestmark = pytest.mark.server

ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}


def redis_url(db: int) -> str | None:
    try:
        import redis

        client = redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}", socket_timeout=1)
        client.flushdb()
    except Exception:
        return None
    return f"redis://127.0.0.1:6379/{db}"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    overrides = {"SESSION_REFRESH_GRACE_PERIOD": "1s", "LOGIN_STALL_TIME": "100"}
    with postgres_database(base_env(tmp_path, **overrides)) as prepared:
        yield prepared


@pytest.fixture
def shared_env(env: dict[str, str]) -> dict[str, str]:
    """Two processes share state through the database and Redis."""
    url = redis_url(9)
    if url is None:
        pytest.skip("Redis at 127.0.0.1:6379 is not reachable")
    return {**env, "REDIS": url, "RATE_LIMITER_STORE": "redis"}


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[Server]:
    running = Server(env).start("--workers", "1")
    yield running
    running.stop()


def login(base: str, **extra: str) -> dict:
    response = httpx.post(f"{base}/auth/login", json={**ADMIN, **extra})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def refresh(base: str, token: str) -> httpx.Response:
    return httpx.post(f"{base}/auth/refresh", json={"refresh_token": token})


def code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def test_login_refresh_logout_cycle(server: Server) -> None:
    data = login(server.url)
    assert data["expires"] == 900_000
    health = httpx.get(
        f"{server.url}/server/health", headers={"Authorization": f"Bearer {data['access_token']}"}
    )
    assert "checks" in health.json()
    renewed = refresh(server.url, data["refresh_token"]).json()["data"]
    out = httpx.post(f"{server.url}/auth/logout", json={"refresh_token": renewed["refresh_token"]})
    assert out.status_code == 204
    assert code(refresh(server.url, renewed["refresh_token"])) == "INVALID_CREDENTIALS"
    stale = httpx.get(
        f"{server.url}/server/health",
        headers={"Authorization": f"Bearer {renewed['access_token']}"},
    )
    assert code(stale) == "INVALID_CREDENTIALS"


def test_concurrent_refreshes_in_the_grace_window_all_succeed(server: Server) -> None:
    token = login(server.url)["refresh_token"]
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: refresh(server.url, token), range(6)))
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    new_tokens = {r.json()["data"]["refresh_token"] for r in responses}
    assert len(new_tokens) == 6
    for new in new_tokens:  # every tab keeps a working session
        assert refresh(server.url, new).status_code == 200


def test_reuse_after_the_grace_window_revokes_the_family(server: Server) -> None:
    first = login(server.url)["refresh_token"]
    second = refresh(server.url, first).json()["data"]["refresh_token"]
    time.sleep(1.3)
    assert code(refresh(server.url, first)) == "INVALID_CREDENTIALS"
    assert code(refresh(server.url, second)) == "INVALID_CREDENTIALS"


def test_login_stall_pads_failures_and_successes(server: Server) -> None:
    for body in ({"password": "wrong"}, {"email": "nobody@example.com"}, {}):
        started = time.monotonic()
        httpx.post(f"{server.url}/auth/login", json={**ADMIN, **body})
        assert time.monotonic() - started >= 0.1


def test_two_processes_share_sessions_revocations_and_limits(shared_env: dict[str, str]) -> None:
    a = Server(shared_env).start()
    b = Server({**shared_env, "RATE_LIMITER_LOGIN_ACCOUNT_POINTS": "4"}).start(bootstrap=False)
    try:
        data = login(a.url)
        # A refresh on B, then the reuse of the rotated token on A after the grace window.
        second = refresh(b.url, data["refresh_token"]).json()["data"]
        time.sleep(1.3)
        assert code(refresh(a.url, data["refresh_token"])) == "INVALID_CREDENTIALS"
        assert code(refresh(b.url, second["refresh_token"])) == "INVALID_CREDENTIALS"
        # The revoked sign-in's access token stops on both processes (shared revocation list).
        for server in (a, b):
            stale = httpx.get(
                f"{server.url}/server/health",
                headers={"Authorization": f"Bearer {second['access_token']}"},
            )
            assert code(stale) == "INVALID_CREDENTIALS"
    finally:
        a.stop()
        b.stop()


def test_login_limits_hold_across_processes(shared_env: dict[str, str]) -> None:
    """Windows are fixed and aligned to the epoch (an hour here), so the six attempts fall in
    one window unless an hour boundary passes mid-test; then they are made again."""
    env = {
        **shared_env,
        "RATE_LIMITER_LOGIN_ACCOUNT_POINTS": "4",
        "RATE_LIMITER_LOGIN_DURATION": "3600",
        "LOGIN_STALL_TIME": "0",
    }
    a = Server(env).start()
    b = Server(env).start(bootstrap=False)
    try:
        for _attempt in range(2):
            window = int(time.time() // 3600)
            statuses = [
                httpx.post(f"{s.url}/auth/login", json={**ADMIN, "password": "wrong"}).status_code
                for s in (a, b, a, b, a, b)
            ]
            if int(time.time() // 3600) == window:
                break
            redis_url(9)  # a new window began mid-test: start from empty counters
        assert statuses == [401, 401, 401, 401, 429, 429]
        limited = httpx.post(f"{b.url}/auth/login", json=ADMIN)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
    finally:
        a.stop()
        b.stop()
