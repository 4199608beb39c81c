"""The ``/graphql/system`` WebSocket (``graphql-transport-ws``) against a real server process:
``connection_init`` with an access token, system queries, the auth mutations in json mode
only, and a server log without a single token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.realtime.support import ADMIN, READER, login, ws_url
from tests.support.server import Server

pytestmark = pytest.mark.server

TRANSPORT = Subprotocol("graphql-transport-ws")
LOGIN = """mutation($email: String!, $password: String!, $mode: auth_mode) {
  auth_login(email: $email, password: $password, mode: $mode) {
    access_token refresh_token expires
  }
}"""


@pytest.fixture(scope="module")
def server(serve: Any) -> Server:
    return serve()  # type: ignore[no-any-return]


@contextmanager
def system_socket(server: Server, token: str) -> Iterator[ClientConnection]:
    """An acknowledged ``/graphql/system`` connection authenticated by ``token``."""
    with connect(ws_url(server, "/graphql/system"), subprotocols=[TRANSPORT], open_timeout=5) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"access_token": token}}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "connection_ack"}
        yield ws


def run(ws: ClientConnection, query: str, **variables: Any) -> dict[str, Any]:
    """One operation: its ``next`` payload (then ``complete``)."""
    ws.send(json.dumps({"id": "1", "type": "subscribe",
                        "payload": {"query": query, "variables": variables}}))  # fmt: skip
    frame = json.loads(ws.recv(timeout=5))
    assert frame["type"] == "next", frame
    assert json.loads(ws.recv(timeout=5)) == {"id": "1", "type": "complete"}
    return dict(frame["payload"])


def codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


def test_a_system_query_over_the_socket(server: Server) -> None:
    tokens = login(server)
    with system_socket(server, tokens["access_token"]) as ws:
        result = run(ws, '{ server_ping users_me { email } users(sort: ["email"]) { email } }')
    assert result == {"data": {
        "server_ping": "pong",
        "users_me": {"email": ADMIN["email"]},
        "users": [{"email": ADMIN["email"]}, {"email": READER["email"]}],
    }}  # fmt: skip


def test_a_reader_is_forbidden_the_users(server: Server) -> None:
    with system_socket(server, login(server, READER)["access_token"]) as ws:
        assert codes(run(ws, "{ users { id } }")) == ["FORBIDDEN"]
        assert run(ws, "{ users_me { email } }")["data"] == {"users_me": {"email": None}}


def test_auth_login_over_the_socket_is_json_only_and_keeps_the_caller(server: Server) -> None:
    admin = login(server)
    with system_socket(server, admin["access_token"]) as ws:
        issued = run(ws, LOGIN, **READER)["data"]["auth_login"]
        assert issued["access_token"]
        assert issued["refresh_token"]
        assert run(ws, "{ users_me { email } }")["data"] == {"users_me": {"email": ADMIN["email"]}}
        for mode in ("cookie", "session"):
            refused = run(ws, LOGIN, mode=mode, **READER)
            assert codes(refused) == ["INVALID_PAYLOAD"]
            assert "WebSocket cannot set or read cookies" in refused["errors"][0]["message"]
        wrong = run(ws, LOGIN, email=READER["email"], password="wrong-password")
        assert codes(wrong) == ["INVALID_CREDENTIALS"]
    reader = httpx.get(
        f"{server.url}/users/me",
        headers={"Authorization": f"Bearer {issued['access_token']}"},
    )
    assert reader.status_code == 200
    secrets = (admin["access_token"], admin["refresh_token"], issued["access_token"],
               issued["refresh_token"], READER["password"])  # fmt: skip
    log = server.log()
    assert log
    assert not any(secret in log for secret in secrets)
