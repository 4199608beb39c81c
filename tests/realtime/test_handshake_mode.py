"""The REST-style socket in handshake mode (websockets.md §2-§4, §7, §8; observed.md)."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.realtime.conftest import ServerFactory
from tests.realtime.support import (
    ADMIN,
    HANDSHAKE_FAILED,
    READER,
    auth_error,
    login,
    socket,
)
from tests.support.server import Server

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(serve: ServerFactory) -> Server:
    return serve(MAX_PAYLOAD_SIZE="64kb")


def test_email_password_auth_returns_a_refresh_token(server: Server) -> None:
    with socket(server) as ws:
        reply = ws.auth(**ADMIN, uid=1)
        assert reply["type"] == "auth"
        assert reply["status"] == "ok"
        assert reply["uid"] == 1
        assert len(reply["refresh_token"]) == 64
        assert ws.ask({"type": "ping", "uid": "p"}) == {"type": "pong", "uid": "p"}


def test_access_token_auth_has_no_refresh_token(server: Server) -> None:
    token = login(server)["access_token"]
    with socket(server) as ws:
        assert ws.auth(access_token=token) == {"type": "auth", "status": "ok"}


def test_refresh_token_auth_rotates_the_token(server: Server) -> None:
    old = login(server)["refresh_token"]
    with socket(server) as ws:
        reply = ws.auth(refresh_token=old, uid="r")
        assert reply["status"] == "ok"
        assert reply["refresh_token"] != old
        again = ws.auth(refresh_token=reply["refresh_token"], uid="again")
        assert again["status"] == "ok"


@pytest.mark.parametrize(
    "first",
    [
        {"type": "auth", "email": "admin@example.com", "password": "wrong"},
        {"type": "auth", "access_token": "garbage"},
        {"type": "auth"},
        {"type": "ping"},
        {"type": "subscribe", "collection": "articles"},
        "not json",
    ],
)
def test_every_handshake_failure_gives_the_same_frame_and_closes(
    server: Server, first: object
) -> None:
    with socket(server) as ws:
        assert ws.ask(first) == HANDSHAKE_FAILED
        assert ws.closed_code() == 1005


def test_handshake_times_out(server: Server) -> None:
    with socket(server) as ws:
        assert ws.recv(timeout=3) == HANDSHAKE_FAILED
        assert ws.closed_code() == 1005


def test_upgrade_token_in_query_or_cookie_opens_authenticated(server: Server) -> None:
    token = login(server)["access_token"]
    with socket(server, query=f"access_token={token}") as ws:
        assert ws.silent(0.3)  # no auth frame is sent
        assert ws.ask({"type": "ping"}) == {"type": "pong"}
    cookie = {"Cookie": f"directus_session_token={token}"}
    with socket(server, additional_headers=cookie) as ws:
        assert ws.ask({"type": "items", "collection": "articles", "action": "read"})["data"]


@pytest.mark.parametrize(
    "query", ["access_token=garbage", "access_token=eyJhbGciOiJIUzI1NiJ9.e30.x"]
)
def test_bad_upgrade_token_is_http_401(server: Server, query: str) -> None:
    with pytest.raises(InvalidStatus) as refused, socket(server, query=query):
        pass
    assert refused.value.response.status_code == 401


def test_reauth_failure_closes_with_uid(server: Server) -> None:
    with socket(server) as ws:
        ws.auth(**ADMIN)
        reply = ws.auth(access_token="garbage", uid=9)
        assert reply == auth_error("AUTH_FAILED", "Authentication failed.", 9)
        assert ws.closed_code() == 1005


def test_malformed_auth_on_open_connection_is_ignored(server: Server) -> None:
    with socket(server) as ws:
        ws.auth(**ADMIN)
        ws.send({"type": "auth", "email": "not-an-email", "password": "x"})
        assert ws.silent(0.3)
        assert ws.ask({"type": "ping"}) == {"type": "pong"}


def test_bad_input_never_closes_the_connection(server: Server) -> None:
    with socket(server) as ws:
        ws.auth(**ADMIN)
        unparseable = {
            "type": "server",
            "status": "error",
            "error": {
                "code": "INVALID_PAYLOAD",
                "message": "Unable to parse the incoming message.",
            },
        }
        assert ws.ask("{nope") == unparseable
        assert ws.ask("[1, 2]") == unparseable
        ws.send({"type": "whatever", "uid": 1})
        assert ws.silent(0.3)
        bad_query = ws.ask({"type": "subscribe", "collection": "articles", "query": {"limit": "x"}})
        assert bad_query["type"] == "subscribe"
        assert bad_query["error"]["code"] == "INVALID_QUERY"
        unknown = ws.ask({"type": "subscribe", "collection": "nope", "uid": "u"})
        assert unknown["error"]["code"] == "INVALID_COLLECTION"
        assert unknown["uid"] == "u"
        system = ws.ask({"type": "items", "collection": "directus_users", "action": "read"})
        assert system["error"]["code"] == "INVALID_COLLECTION"
        assert ws.ask({"type": "ping"}) == {"type": "pong"}


def test_huge_frame_closes_with_1009(server: Server) -> None:
    with socket(server, max_size=None) as ws:
        ws.auth(**ADMIN)
        ws.send('{"type":"ping","pad":"' + "x" * 100_000 + '"}')
        assert ws.closed_code() == 1009


def test_message_flood_is_refused_then_closed(server: Server) -> None:
    with socket(server) as ws:
        ws.auth(**ADMIN)
        codes = []
        code = None
        try:
            # The server may close while frames are still going out; what it
            # sent before closing is still buffered on this side.
            for _ in range(450):
                ws.send('{"type":"nothing"}')
        except ConnectionClosed:
            pass
        try:
            while True:
                codes.append(ws.recv(timeout=5)["error"]["code"])
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
        assert "REQUESTS_EXCEEDED" in codes
        assert code == 1008


def test_items_crud_over_the_socket(server: Server) -> None:
    with socket(server) as ws:
        ws.auth(**ADMIN)
        created = ws.ask(
            {
                "type": "items",
                "collection": "articles",
                "action": "create",
                "uid": 1,
                "data": {"title": "Socket", "status": "published"},
                "query": {"fields": ["id", "title"]},
            }
        )
        assert created["uid"] == 1
        assert created["data"]["title"] == "Socket"
        key = created["data"]["id"]
        read = ws.ask({"type": "items", "collection": "articles", "action": "read", "id": key})
        assert read["data"]["title"] == "Socket"
        many = ws.ask(
            {
                "type": "items",
                "collection": "articles",
                "action": "read",
                "query": {"filter": {"title": {"_eq": "Socket"}}, "meta": ["total_count"]},
            }
        )
        assert [row["id"] for row in many["data"]] == [key]
        assert many["meta"]["total_count"] >= 3
        updated = ws.ask(
            {
                "type": "items",
                "collection": "articles",
                "action": "update",
                "id": key,
                "data": {"title": "Renamed"},
            }
        )
        assert updated["data"]["title"] == "Renamed"
        deleted = ws.ask(
            {
                "type": "items",
                "collection": "articles",
                "action": "delete",
                "ids": [key],
                "uid": "d",
            }
        )
        assert deleted == {"type": "items", "data": [key], "uid": "d"}
        missing = ws.ask({"type": "items", "collection": "articles", "action": "delete", "uid": 5})
        assert missing["error"] == {
            "code": "INVALID_PAYLOAD",
            "message": "Either 'ids', 'id' or 'query' is required for a DELETE request.",
        }


def test_items_respect_the_role(server: Server) -> None:
    with socket(server) as ws:
        ws.auth(**READER)
        rows = ws.ask({"type": "items", "collection": "articles", "action": "read"})["data"]
        assert [set(row) for row in rows] == [{"id", "title"}] * len(rows)
        assert {row["title"] for row in rows} >= {"Visible"}
        assert "Hidden" not in {row["title"] for row in rows}
        refused = ws.ask(
            {
                "type": "items",
                "collection": "articles",
                "action": "create",
                "data": {"title": "x"},
                "uid": 3,
            }
        )
        assert refused["type"] == "items"
        assert refused["error"]["code"] == "FORBIDDEN"
