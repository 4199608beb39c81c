"""The hardening of the edges, each written as the attack against a real server process (SQLite
here, PostgreSQL when the suite runs with DB_CLIENT=pg), asserting the refusal and that nothing
changed. Index: docs/security.md."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, base_env, manage, postgres_database

pytestmark = pytest.mark.server

ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp: Path = tmp_path_factory.mktemp("hardening")
    env = base_env(tmp, LOGIN_STALL_TIME="0", IP_TRUST_PROXY="true")
    with postgres_database(env) as prepared:
        running = Server(prepared).start()
        yield running
        running.stop()


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def admin_token(server: Server) -> str:
    response = httpx.post(f"{server.url}/auth/login", json=ADMIN)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def users(server: Server, token: str) -> list[str]:
    listed = httpx.get(f"{server.url}/users", params={"fields": "email"}, headers=bearer(token))
    return sorted(row["email"] for row in listed.json()["data"])


def test_accept_headers_the_api_cannot_satisfy(server: Server) -> None:
    for accept in ("text/html", "application/xml"):
        response = httpx.get(f"{server.url}/auth/login", headers={"Accept": accept})
        assert response.status_code == 405
        assert code(response) == "METHOD_NOT_ALLOWED"


def test_json_nested_too_deep_and_form_bodies(server: Server) -> None:
    before = users(server, admin_token(server))
    for depth in (65, 5000, 200_000):
        body = "[" * depth
        response = httpx.post(
            f"{server.url}/users", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code in (400, 403)
        assert code(response) in ("INVALID_PAYLOAD", "FORBIDDEN")
    form = httpx.post(f"{server.url}/auth/login", data={"email": "a@example.com", "password": "x"})
    assert form.status_code == 415
    assert "application/x-www-form-urlencoded" in form.json()["errors"][0]["message"]
    assert users(server, admin_token(server)) == before


def test_anonymous_user_writes_learn_nothing(server: Server) -> None:
    token = admin_token(server)
    before = users(server, token)
    known = httpx.post(f"{server.url}/users", json={"email": "admin@example.com", "password": "x"})
    unknown = httpx.post(f"{server.url}/users", json={"email": "new@example.com", "password": "x"})
    assert known.status_code == unknown.status_code == 403
    assert known.json() == unknown.json()
    me = httpx.get(f"{server.url}/users/me", headers=bearer(token)).json()["data"]["id"]
    patched = httpx.patch(f"{server.url}/users/{me}", json={"email": "admin@example.com"})
    assert code(patched) == "FORBIDDEN"
    assert users(server, token) == before


def test_cross_site_forms_cannot_use_the_refresh_cookie(server: Server) -> None:
    client = httpx.Client(base_url=server.url)
    assert client.post("/auth/login", json={**ADMIN, "mode": "cookie"}).status_code == 200
    for path in ("/auth/refresh", "/auth/logout"):
        forged = client.post(
            path,
            content=b"",
            headers={"Content-Type": "text/plain", "Origin": "https://evil.example.net"},
        )
        assert forged.status_code == 403
    assert client.post("/auth/refresh", json={"mode": "cookie"}).status_code == 200


def test_a_scoped_key_cannot_widen_itself(server: Server) -> None:
    token = admin_token(server)
    created = httpx.post(
        f"{server.url}/keys",
        json={"name": "reader", "scope": {"read_only": True}},
        headers=bearer(token),
    )
    assert created.status_code == 200, created.text
    key = created.json()["data"]["secret"]
    set_token = httpx.patch(f"{server.url}/users/me", json={"token": "x" * 40}, headers=bearer(key))
    assert set_token.status_code == 403
    end_all = httpx.post(f"{server.url}/auth/logout/all", headers=bearer(key))
    assert end_all.status_code == 403
    assert httpx.get(f"{server.url}/users/me", headers=bearer(token)).status_code == 200


def test_behind_a_tls_proxy_cookies_are_secure_and_hsts_is_sent(server: Server) -> None:
    response = httpx.post(
        f"{server.url}/auth/login",
        json={**ADMIN, "mode": "session"},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "secure" in response.headers["set-cookie"].lower()
    assert response.headers["strict-transport-security"].startswith("max-age=")
    plain = httpx.post(f"{server.url}/auth/login", json={**ADMIN, "mode": "session"})
    assert "secure" not in plain.headers["set-cookie"].lower()


def test_pages_send_a_csp_and_the_host_header_allows_no_redirect(server: Server) -> None:
    client = httpx.Client(base_url=server.url, headers={"Host": "evil.example.net"})
    page = client.get("/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf is not None
    response = client.post(
        "/login",
        data={**ADMIN, "redirect": "http://evil.example.net/steal", "csrfmiddlewaretoken": csrf[1]},
        headers={"Referer": "http://evil.example.net/login"},
    )
    assert response.status_code == 302
    assert response.headers["location"] == "/account"


def test_correct_sign_ins_are_never_refused_by_the_account_limit(server: Server) -> None:
    statuses = [httpx.post(f"{server.url}/auth/login", json=ADMIN).status_code for _ in range(15)]
    assert statuses == [200] * 15


def test_commands_from_the_readme_work_after_bootstrap(server: Server) -> None:
    """As the README runs them: the server has already answered (and cached) the public's
    permissions when another process, the command, changes them."""
    assert httpx.get(f"{server.url}/items/articles").status_code == 403
    demo = manage(server.env, "load_demo", "--count", "4", "--public")
    assert demo.returncode == 0, demo.stderr
    deadline = time.monotonic() + 3  # the server re-reads the access version every second
    while httpx.get(f"{server.url}/items/articles").status_code != 200:
        assert time.monotonic() < deadline, "the server never saw the new permission"
        time.sleep(0.2)
    rows = httpx.get(f"{server.url}/items/articles", params={"fields": "status"}).json()["data"]
    assert rows
    assert {row["status"] for row in rows} == {"published"}
    key = manage(server.env, "create_api_key", "--user", "admin@example.com", "--read-only")
    assert key.returncode == 0, key.stderr
    secret = key.stdout.strip().splitlines()[-1]
    assert httpx.get(f"{server.url}/users/me", headers=bearer(secret)).status_code == 200
