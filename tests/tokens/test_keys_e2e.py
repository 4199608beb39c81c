"""Static keys against real server processes: revocation seen by a second process within a
second (with and without Redis), WebSocket in every auth mode, GraphQL over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.realtime.support import realtime_env, socket
from tests.support.server import Server, base_env, manage, postgres_database
from tests.test_auth_e2e import ADMIN, code, redis_url

pytestmark = pytest.mark.server


def admin_token(server: Server) -> str:
    response = httpx.post(f"{server.url}/auth/login", json=ADMIN)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_key(server: Server, **body: object) -> dict[str, str]:
    response = httpx.post(
        f"{server.url}/keys", json={"name": "e2e", **body}, headers=bearer(admin_token(server))
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


@pytest.fixture(params=["memory", "redis"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    overrides = {"LOGIN_STALL_TIME": "0", "RATE_LIMITER_LOGIN_ENABLED": "false"}
    if request.param == "redis":
        url = redis_url(10)
        if url is None:
            pytest.skip("Redis at 127.0.0.1:6379 is not reachable")
        overrides["REDIS"] = url
    with postgres_database(base_env(tmp_path, **overrides)) as env:
        a = Server(env).start()
        b = Server(env).start(bootstrap=False)
        try:
            yield a, b
        finally:
            a.stop()
            b.stop()


def test_revocation_on_one_process_is_seen_by_another_within_a_second(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    key = new_key(a)
    for _ in range(3):  # B has the key cached
        assert (
            httpx.get(f"{b.url}/items/articles", headers=bearer(key["secret"])).status_code == 200
        )
    revoked = httpx.delete(f"{a.url}/keys/{key['id']}", headers=bearer(admin_token(a)))
    assert revoked.status_code == 204
    started = time.monotonic()
    while True:
        response = httpx.get(f"{b.url}/items/articles", headers=bearer(key["secret"]))
        if response.status_code == 401:
            break
        assert time.monotonic() - started < 1.0, "process B still accepts the revoked key"
        time.sleep(0.02)
    assert code(response) == "INVALID_CREDENTIALS"
    assert time.monotonic() - started < 1.0


def test_rotation_on_one_process_is_seen_by_another(pair: tuple[Server, Server]) -> None:
    a, b = pair
    key = new_key(a)
    assert httpx.get(f"{b.url}/items/articles", headers=bearer(key["secret"])).status_code == 200
    rotated = httpx.post(f"{a.url}/keys/{key['id']}/rotate", json={}, headers=bearer(key["secret"]))
    assert rotated.status_code == 200
    time.sleep(1.0)
    assert code(httpx.get(f"{b.url}/items/articles", headers=bearer(key["secret"]))) == (
        "INVALID_CREDENTIALS"
    )
    fresh = rotated.json()["data"]["secret"]
    assert httpx.get(f"{b.url}/items/articles", headers=bearer(fresh)).status_code == 200


@pytest.fixture(scope="module", params=["public", "handshake", "strict"])
def ws_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = realtime_env(
        tmp_path_factory.mktemp(f"ws-{request.param}"),
        WEBSOCKETS_REST_AUTH=request.param,
        ADMIN_TOKEN="e2e-admin-static-token",
    )
    with postgres_database(env) as prepared:
        server = Server(prepared).start()
        try:
            yield server
        finally:
            server.stop()


def script_key(server: Server, *args: str) -> str:
    result = manage(server.env, "create_api_key", "--user", "admin@example.com", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def read_articles_frame(ws: object) -> dict[str, object]:
    return ws.ask({"type": "items", "action": "read", "collection": "articles", "uid": "r"})  # type: ignore[attr-defined]


def test_key_authenticates_the_websocket_upgrade(ws_server: Server) -> None:
    secret = script_key(ws_server)
    with socket(ws_server, query=f"access_token={secret}") as ws:
        frame = read_articles_frame(ws)
        assert frame["type"] == "items", frame
        assert "data" in frame, frame


def test_key_authenticates_the_auth_message(ws_server: Server) -> None:
    if ws_server.env["WEBSOCKETS_REST_AUTH"] == "strict":
        pytest.skip("strict mode needs the token on the upgrade")
    secret = script_key(ws_server)
    with socket(ws_server) as ws:
        assert ws.auth(access_token=secret) == {"type": "auth", "status": "ok"}
        assert "data" in read_articles_frame(ws)


def test_admin_token_from_bootstrap_works_on_sockets_and_rest(ws_server: Server) -> None:
    with socket(ws_server, query="access_token=e2e-admin-static-token") as ws:
        assert "data" in read_articles_frame(ws)
    me = httpx.get(f"{ws_server.url}/users/me", headers=bearer("e2e-admin-static-token"))
    assert me.json()["data"]["email"] == "admin@example.com"


def test_revoked_key_is_refused_at_the_upgrade(ws_server: Server) -> None:
    key = new_key(ws_server)
    httpx.delete(f"{ws_server.url}/keys/{key['id']}", headers=bearer(admin_token(ws_server)))
    with (
        pytest.raises(InvalidStatus) as refused,
        socket(ws_server, query=f"access_token={key['secret']}"),
    ):
        pass
    assert refused.value.response.status_code == 401


def test_key_on_graphql_over_http(ws_server: Server) -> None:
    full = script_key(ws_server)
    read_only = script_key(ws_server, "--read-only")
    query = {"query": "{ articles { id } }"}
    response = httpx.post(f"{ws_server.url}/graphql", json=query, headers=bearer(full))
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    mutation = {
        "query": "mutation($d: JSON!) { create_articles_item(data: $d) { id } }",
        "variables": {"d": {"title": "x"}},
    }
    denied = httpx.post(f"{ws_server.url}/graphql", json=mutation, headers=bearer(read_only))
    assert [e["extensions"]["code"] for e in denied.json()["errors"]] == ["FORBIDDEN"]


def test_read_only_key_cannot_write_over_the_socket(ws_server: Server) -> None:
    if ws_server.env["WEBSOCKETS_REST_AUTH"] == "strict":
        pytest.skip("covered in the other modes")
    secret = script_key(ws_server, "--read-only")
    with socket(ws_server, query=f"access_token={secret}") as ws:
        frame = ws.ask(
            {"type": "items", "action": "create", "collection": "articles",
             "data": {"title": "via socket"}, "uid": "c"}
        )  # fmt: skip
        assert frame.get("status") == "error", frame
        assert frame["error"]["code"] == "FORBIDDEN"


def test_role_key_on_the_socket(ws_server: Server) -> None:
    result = manage(ws_server.env, "create_api_key", "--role", "Administrator")
    assert result.returncode == 0, result.stderr
    with socket(ws_server, query=f"access_token={result.stdout.strip()}") as ws:
        frame = read_articles_frame(ws)
        assert "data" in frame, frame
