"""Two-factor sign-in against real servers (``manage.py serve``): two processes sharing one
database (a SQLite file here, PostgreSQL when the suite runs with ``DB_CLIENT=pg``).

A user whose policy enforces TFA is refused items over REST and over the socket until they set
TOTP up over HTTP; then they sign in with a code, which the other process refuses as a replay;
recovery codes work once across processes too; and no secret or code reaches either log."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.realtime.support import realtime_env, shell, socket
from tests.support.factors import code_at
from tests.support.server import Server, manage, postgres_database

pytestmark = pytest.mark.server

EMAIL, PASSWORD = "enforced@example.com", "enforced-password-1"
RACER, RACER_SECRET = "racer@example.com", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SETUP = f"""
from accounts.models import Access, Permission, Policy, Role, User
from items.models import Article
role = Role.objects.create(name="Enforced")
policy = Policy.objects.create(name="Enforced policy", app_access=True, enforce_tfa=True)
Access.objects.create(role=role, policy=policy)
Permission.objects.create(policy=policy, collection="articles", action="read", fields="*")
User.objects.create_user("{EMAIL}", "{PASSWORD}", role=role)
from factors.totp import seal_secret
User.objects.create_user("{RACER}", "{PASSWORD}", tfa_secret=seal_secret("{RACER_SECRET}"))
Article.objects.create(title="Visible", status="published")
"""


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    env = realtime_env(tmp_path_factory.mktemp("tfa"), LOG_LEVEL="debug")
    with postgres_database(env) as prepared:
        assert manage(prepared, "bootstrap").returncode == 0
        shell(prepared, SETUP)
        a = Server(prepared).start(bootstrap=False)
        try:
            b = Server(prepared).start(bootstrap=False)
        except BaseException:
            a.stop()
            raise
        try:
            yield a, b
        finally:
            b.stop()
            a.stop()


def call(
    server: Server, method: str, path: str, token: str | None = None, **kw: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, f"{server.url}{path}", headers=headers, timeout=10, **kw)


def sign_in(server: Server, **extra: str) -> httpx.Response:
    return call(server, "POST", "/auth/login", json={"email": EMAIL, "password": PASSWORD, **extra})


def error_code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def read_items(ws: Any) -> dict[str, Any]:
    frame: dict[str, Any] = ws.ask(
        {"type": "items", "collection": "articles", "action": "read", "uid": "r"}
    )
    return frame


def test_enforced_tfa_then_sign_in_with_codes_across_two_processes(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    token = sign_in(a).json()["data"]["access_token"]

    # Until TFA is set up: identity only, on REST and on the socket.
    assert call(a, "GET", "/items/articles", token).status_code == 403
    assert list(call(a, "GET", "/users/me", token).json()["data"]) == ["id"]
    with socket(b) as ws:
        assert ws.auth(email=EMAIL, password=PASSWORD)["status"] == "ok"
        refused = read_items(ws)
        assert refused["status"] == "error"
        assert refused["error"]["code"] == "FORBIDDEN"

    # Set it up over HTTP.
    generated = call(a, "POST", "/users/me/tfa/generate", token, json={"password": PASSWORD})
    secret = generated.json()["data"]["secret"]
    enable = {"secret": secret, "otp": code_at(secret, -1)}
    assert call(a, "POST", "/users/me/tfa/enable", token, json=enable).status_code == 204
    assert call(a, "GET", "/items/articles", token).status_code == 200
    time.sleep(1.2)  # the other process checks the access version in the database every second
    assert call(b, "GET", "/items/articles", token).status_code == 200

    # A password alone no longer signs in; a code does, once, on either process.
    assert error_code(sign_in(b)) == "INVALID_OTP"
    now = code_at(secret)
    assert sign_in(a, otp=now).status_code == 200
    replayed = sign_in(b, otp=now)
    assert (replayed.status_code, error_code(replayed)) == (401, "INVALID_OTP")

    # Recovery codes (for a later step's code), each used once, across processes.
    made = call(b, "POST", "/users/me/tfa/recovery-codes", token, json={"otp": code_at(secret, +1)})
    codes = made.json()["data"]["codes"]
    with socket(b) as ws:
        assert ws.auth(email=EMAIL, password=PASSWORD, otp=codes[0])["status"] == "ok"
        assert read_items(ws)["data"] == [read_items_ok(a, token)]
    assert error_code(sign_in(a, otp=codes[0])) == "INVALID_OTP"
    assert sign_in(a, otp=codes[1]).status_code == 200
    left = call(a, "GET", "/users/me/tfa/recovery-codes", token).json()
    assert left == {"data": {"remaining": 8}}

    # Nothing secret in either server's log (it logs at debug level here).
    logs = re.sub(r"\d\d:\d\d:\d\d\.\d+", "", a.log() + b.log())  # timestamps have 6-digit parts
    assert "factor.added" in logs
    assert "recovery_code.used" in logs
    for secret_text in (secret, now, *codes, *(c.replace("-", "") for c in codes)):
        assert secret_text not in logs


def read_items_ok(server: Server, token: str) -> dict[str, Any]:
    data: list[dict[str, Any]] = call(server, "GET", "/items/articles", token).json()["data"]
    return data[0]


def test_one_code_sent_to_both_processes_at_once_signs_in_once(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    code = code_at(RACER_SECRET)
    body = {"email": RACER, "password": PASSWORD, "otp": code}

    def attempt(server: Server) -> str:
        response = call(server, "POST", "/auth/login", json=body)
        return "ok" if response.status_code == 200 else error_code(response)

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(attempt, [a, b] * 3))
    assert sorted(outcomes) == ["INVALID_OTP"] * 5 + ["ok"]
