"""Claim: a logged-out sign-in stays dead after a flood, a real restart and on a second process
(two servers on one SQLite file or PostgreSQL database, no Redis: nothing shared but the
database)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, base_env, postgres_database

pytestmark = pytest.mark.server

ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    overrides = {
        "LOGIN_STALL_TIME": "0",
        "RATE_LIMITER_LOGIN_ENABLED": "false",
        "IP_TRUST_PROXY": "true",
    }
    with postgres_database(base_env(tmp_path, **overrides)) as prepared:
        yield prepared


def login(server: Server) -> dict[str, str]:
    response = httpx.post(f"{server.url}/auth/login", json=ADMIN)
    assert response.status_code == 200, response.text
    data: dict[str, str] = response.json()["data"]
    return data


def me(server: Server, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{server.url}/users/me", headers=headers).status_code


def flood(server: Server, count: int) -> None:
    """``count`` requests from distinct client addresses: each leaves its own entries in the
    server's caches (accountabilities per IP, rate-limit windows)."""
    with httpx.Client(base_url=server.url) as client:
        for n in range(count):
            ip = f"198.18.{n // 250}.{n % 250 + 1}"
            client.get("/items/articles", headers={"X-Forwarded-For": ip})


def test_logged_out_token_stays_refused_after_a_flood_and_a_restart(env: dict[str, str]) -> None:
    server = Server(env).start()
    try:
        ended, kept = login(server), login(server)
        out = httpx.post(
            f"{server.url}/auth/logout", json={"refresh_token": ended["refresh_token"]}
        )
        assert out.status_code == 204
        assert me(server, ended["access_token"]) == 401
        flood(server, 1500)
        assert me(server, ended["access_token"]) == 401
        server.stop()
        server = Server(env).start(bootstrap=False)
        assert me(server, ended["access_token"]) == 401
        assert me(server, kept["access_token"]) == 200
    finally:
        server.stop()


def test_a_second_process_refuses_a_logged_out_token_within_a_second(
    env: dict[str, str],
) -> None:
    a = Server(env).start()
    b = Server(env).start(bootstrap=False)
    try:
        ended, kept = login(a), login(a)
        assert me(b, ended["access_token"]) == 200  # B now remembers the family as live
        out = httpx.post(f"{a.url}/auth/logout", json={"refresh_token": ended["refresh_token"]})
        assert out.status_code == 204
        started = time.monotonic()
        while me(b, ended["access_token"]) != 401:
            assert time.monotonic() - started < 1.5, "B still accepts the logged-out token"
            time.sleep(0.05)
        assert me(b, kept["access_token"]) == 200
        assert me(a, ended["access_token"]) == 401
    finally:
        a.stop()
        b.stop()
