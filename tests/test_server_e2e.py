"""End to end: the real commands a newcomer runs (bootstrap, serve) against a real process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, base_env, manage, postgres_database

pytestmark = pytest.mark.server


@pytest.fixture
def server_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with postgres_database(base_env(tmp_path)) as env:
        yield env


@pytest.fixture
def server(server_env: dict[str, str]) -> Iterator[Server]:
    running = Server(server_env).start()
    yield running
    running.stop()


def test_ping_health_and_unknown_route(server: Server) -> None:
    ping = httpx.get(f"{server.url}/server/ping", headers={"Authorization": "Bearer garbage"})
    assert (ping.status_code, ping.text) == (200, "pong")
    assert ping.headers["content-type"] == "text/html; charset=utf-8"
    health = httpx.get(f"{server.url}/server/health")
    assert health.status_code == 403  # the public; signed-in users get {"status": ...}
    assert health.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    login = httpx.post(
        f"{server.url}/auth/login",
        json={"email": "admin@example.com", "password": "e2e-admin-password"},
    )
    headers = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
    health = httpx.get(f"{server.url}/server/health", headers=headers)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.headers["content-type"] == "application/health+json"
    info = httpx.get(f"{server.url}/server/info").json()
    assert info["data"]["project"]["project_name"]
    missing = httpx.get(f"{server.url}/nope")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["extensions"] == {"path": "/nope", "code": "ROUTE_NOT_FOUND"}


def test_async_and_sync_views_on_one_worker_thread_pool(server: Server) -> None:
    """GraphQL's view is async and the REST views are sync; both run behind the one synchronous
    middleware chain (project.handler), alternately and concurrently."""
    login = httpx.post(
        f"{server.url}/auth/login",
        json={"email": "admin@example.com", "password": "e2e-admin-password"},
    )
    headers = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
    created = httpx.post(
        f"{server.url}/items/articles", json={"title": "Over GraphQL"}, headers=headers
    )
    assert created.status_code == 200, created.text
    query = {"query": '{ articles(filter: {title: {_eq: "Over GraphQL"}}) { title } }'}

    def graphql() -> httpx.Response:
        return httpx.post(f"{server.url}/graphql", json=query, headers=headers)

    def rest() -> httpx.Response:
        return httpx.get(f"{server.url}/users/me", headers=headers)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda call: call(), [graphql, rest] * 10))
    for response in responses[::2]:
        assert response.json() == {"data": {"articles": [{"title": "Over GraphQL"}]}}
    for response in responses[1::2]:
        assert response.json()["data"]["email"] == "admin@example.com"
    anonymous = httpx.post(f"{server.url}/graphql", json=query)
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_root_redirects_to_admin(server: Server) -> None:
    response = httpx.get(f"{server.url}/")
    assert response.status_code == 302
    assert response.headers["location"] == "./admin/"


def post_admin_login(base: str, email: str, password: str) -> tuple[httpx.Client, httpx.Response]:
    """The admin's sign-in as a browser makes it: /admin/login/ sends it to the login page."""
    client = httpx.Client(base_url=base, follow_redirects=False)
    start = client.get("/admin/login/?next=/admin/")
    assert start.status_code == 302
    assert start.headers["Location"] == "/login?redirect=%2Fadmin%2F"
    page = client.get(start.headers["Location"])
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "redirect": "/admin/",
            "csrfmiddlewaretoken": token.group(1),
        },
        headers={"Referer": f"{base}/login"},
    )
    return client, response


def admin_login(base: str, email: str, password: str) -> httpx.Client:
    client, response = post_admin_login(base, email, password)
    assert response.status_code == 302, response.text[:500]
    assert response.headers["Location"] == "/admin/"
    return client


def test_bootstrapped_admin_signs_in_to_the_admin(server: Server) -> None:
    client = admin_login(server.url, "ADMIN@example.com", "e2e-admin-password")
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "Users, roles, policies and tokens" in index.text
    users = client.get("/admin/accounts/user/")
    assert users.status_code == 200
    assert "admin@example.com" in users.text
    # The admin's session cookie also authenticates API calls; health shows details to admins.
    health = client.get("/server/health").json()
    assert health["status"] == "ok"
    client_name = "pg" if server.env.get("DB_CLIENT") == "pg" else "sqlite3"
    expected = {f"{client_name}:responseTime", "cache:responseTime", "channelLayer:responseTime"}
    if client_name == "pg":
        expected |= {"pg:connectionsAvailable", "pg:connectionsUsed"}
    if server.env.get("REDIS") or server.env.get("REDIS_HOST"):
        expected.add("redis:responseTime")
    assert set(health["checks"]) == expected


def test_wrong_admin_password_is_refused(server: Server) -> None:
    client, response = post_admin_login(server.url, "admin@example.com", "wrong")
    assert response.status_code == 401
    assert "The email or password is not right." in response.text
    assert client.get("/admin/").status_code == 302


def test_bootstrap_is_idempotent(server_env: dict[str, str]) -> None:
    first = manage(server_env, "bootstrap")
    assert first.returncode == 0, first.stderr
    assert "Created admin admin@example.com" in first.stdout
    second = manage(server_env, "bootstrap")
    assert second.returncode == 0, second.stderr
    assert "Already bootstrapped; nothing to do." in second.stdout


def test_bootstrap_generates_and_prints_a_password_once(server_env: dict[str, str]) -> None:
    env = {k: v for k, v in server_env.items() if k != "ADMIN_PASSWORD"}
    first = manage(env, "bootstrap")
    assert first.returncode == 0, first.stderr
    match = re.search(r"Generated password \(shown once.*\): (\S+)", first.stdout)
    assert match is not None
    assert "Generated password" not in manage(env, "bootstrap").stdout
    server = Server(env).start(bootstrap=False)
    try:
        admin_login(server.url, "admin@example.com", match.group(1))
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"SECRET": ""}, "SECRET is not set"),
        ({"PORT": "eighty"}, "PORT"),
        ({"DB_CLIENT": "oracle"}, "DB_CLIENT"),
        ({"LOG_STYLE": "fancy"}, "LOG_STYLE"),
    ],
)
def test_bad_configuration_stops_start_up_naming_the_variable(
    server_env: dict[str, str], overrides: dict[str, str], named: str
) -> None:
    env = {**server_env, **overrides}
    if overrides.get("SECRET") == "":
        env.pop("SECRET")
    result = manage(env, "serve", "--port", "0", timeout=60)
    assert result.returncode != 0
    assert named in result.stderr
    assert "Traceback" not in result.stderr
