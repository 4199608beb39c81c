"""Frames no handler can take (realtime/frames.py ``parse``) against a real server: JSON nested
thousands deep, deeper than ``MAX_JSON_DEPTH``, the NUL character, lone UTF-16 surrogates and
integers of thousands of digits are refused with ``INVALID_PAYLOAD`` on the REST-style and logs
sockets (the connection goes on), with the protocol's ``error`` on the GraphQL socket, and
nothing is written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from core.text import DEPTH_MESSAGE, NUL_MESSAGE
from realtime.frames import DIGITS_MESSAGE, SURROGATE_MESSAGE
from tests.realtime.conftest import ServerFactory
from tests.realtime.support import ADMIN, Client, login, rest, socket, ws_url
from tests.support.server import Server

pytestmark = pytest.mark.server

BOMB = "[" * 5000 + "]" * 5000
HUGE = "9" * 5000
DIGITS = DIGITS_MESSAGE.format(4300)
PLACE = "<huge>"


def with_huge(message: dict[str, Any]) -> str:
    """``message`` as JSON text, with an integer literal of 5000 digits for ``PLACE``."""
    return json.dumps(message).replace(json.dumps(PLACE), HUGE)


def nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"_and": [value]}
    return value


def refused(message: str, uid: Any = None) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": "server",
        "status": "error",
        "error": {"code": "INVALID_PAYLOAD", "message": message},
    }
    if uid is not None:
        frame["uid"] = uid
    return frame


@pytest.fixture(scope="module")
def server(serve: ServerFactory) -> Server:
    return serve()


def titles(server: Server) -> list[str]:
    token = login(server)["access_token"]
    response = rest(server, "GET", "/items/articles?fields=title&limit=1000", token)
    return sorted(item["title"] for item in response.json()["data"])


def create(title: str, uid: str) -> dict[str, Any]:
    return {
        "type": "items",
        "collection": "articles",
        "action": "create",
        "data": {"title": title},
        "uid": uid,
    }


def still_works(ws: Client) -> None:
    assert ws.ask({"type": "ping", "uid": "p"}) == {"type": "pong", "uid": "p"}
    read = ws.ask({"type": "items", "collection": "articles", "action": "read", "uid": "r"})
    assert read["type"] == "items"
    assert read["data"]


# ---------------------------------------------------------------- REST-style socket


def test_a_bomb_of_nested_brackets_is_invalid_payload_and_the_socket_goes_on(
    server: Server,
) -> None:
    with socket(server) as ws:
        assert ws.auth(**ADMIN)["status"] == "ok"
        assert ws.ask(BOMB) == refused(DEPTH_MESSAGE)
        still_works(ws)
        assert ws.ask(BOMB) == refused(DEPTH_MESSAGE)  # again: nothing was left broken
        still_works(ws)


def test_deep_frames_nul_surrogates_and_huge_integers_are_refused_with_the_uid(
    server: Server,
) -> None:
    before = titles(server)
    deep_read = {"type": "items", "collection": "articles", "action": "read", "uid": "d"}
    with socket(server) as ws:
        assert ws.auth(**ADMIN)["status"] == "ok"
        deep = {**deep_read, "query": {"filter": nested(40)}}  # 81 levels
        assert ws.ask(deep) == refused(DEPTH_MESSAGE, "d")
        assert ws.ask(create("NUL \u0000 inside", "n")) == refused(NUL_MESSAGE, "n")
        assert ws.ask(create("lone \ud800", "s")) == refused(SURROGATE_MESSAGE, "s")
        assert ws.ask(create("low \udfff", 7)) == refused(SURROGATE_MESSAGE, 7)
        huge = {"type": "items", "collection": "articles", "action": "read", "uid": "i"}
        assert ws.ask(with_huge({**huge, "query": {"limit": PLACE}})) == refused(DIGITS, "i")
        assert ws.ask({"type": "ping", "uid": "\ud800"}) == refused(SURROGATE_MESSAGE)
        still_works(ws)
        pair = ws.ask(create("a pair \U0001f600 is fine", "ok"))
        assert pair["data"]["title"] == "a pair \U0001f600 is fine"
    assert titles(server) == sorted([*before, "a pair \U0001f600 is fine"])


def test_a_refused_first_frame_fails_the_handshake(server: Server) -> None:
    with socket(server) as ws:
        reply = ws.ask(BOMB)
        assert reply["error"]["code"] == "AUTH_FAILED"
        assert ws.closed_code() == 1005


# ---------------------------------------------------------------- logs socket


def test_logs_socket_refuses_the_same_frames_and_goes_on(server: Server) -> None:
    token = login(server)["access_token"]
    with socket(server, "/websocket/logs", query=f"access_token={token}") as ws:
        assert ws.ask(BOMB) == refused(DEPTH_MESSAGE)
        bad_level = {"type": "subscribe", "log_level": "info\u0000", "uid": "l"}
        assert ws.ask(bad_level) == refused(NUL_MESSAGE, "l")
        subscribed = ws.ask({"type": "subscribe", "log_level": "info"})
        assert subscribed == {"type": "logs", "event": "subscribe", "log_level": "info"}


# ---------------------------------------------------------------- GraphQL socket


@contextmanager
def graphql(server: Server) -> Iterator[ClientConnection]:
    protocol = [Subprotocol("graphql-transport-ws")]
    with connect(ws_url(server, "/graphql"), subprotocols=protocol) as conn:
        token = login(server)["access_token"]
        init = {"type": "connection_init", "payload": {"access_token": token}}
        conn.send(json.dumps(init))
        assert json.loads(conn.recv(timeout=5)) == {"type": "connection_ack"}
        yield conn


def ask(conn: ClientConnection, message: Any) -> dict[str, Any]:
    conn.send(message if isinstance(message, str) else json.dumps(message))
    return dict(json.loads(conn.recv(timeout=5)))


def invalid(operation_id: str, message: str) -> dict[str, Any]:
    error = {"message": message, "extensions": {"code": "INVALID_PAYLOAD"}}
    return {"id": operation_id, "type": "error", "payload": [error]}


MUTATION = "mutation($d: JSON!) { create_articles_item(data: $d) { title } }"
QUERY = "query($f: JSON) { articles(filter: $f) { title } }"


def subscribe(operation_id: str, query: str, **variables: Any) -> dict[str, Any]:
    payload = {"query": query, "variables": variables}
    return {"id": operation_id, "type": "subscribe", "payload": payload}


def test_graphql_refuses_bad_variables_per_operation_and_goes_on(server: Server) -> None:
    before = titles(server)
    with graphql(server) as conn:
        assert ask(conn, subscribe("1", QUERY, f=nested(40))) == invalid("1", DEPTH_MESSAGE)
        nul = subscribe("1", MUTATION, d={"title": "NUL \u0000"})
        assert ask(conn, nul) == invalid("1", NUL_MESSAGE)
        lone = subscribe("1", MUTATION, d={"title": "lone \ud800"})
        assert ask(conn, lone) == invalid("1", SURROGATE_MESSAGE)
        huge = with_huge(subscribe("1", QUERY, f={"id": {"_eq": PLACE}}))
        assert ask(conn, huge) == invalid("1", DIGITS)
        result = ask(conn, subscribe("1", QUERY, f={"title": {"_eq": "Visible"}}))
        assert result == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"articles": [{"title": "Visible"}]}},
        }
    assert titles(server) == before


def test_graphql_frame_too_deep_to_read_is_an_invalid_message(server: Server) -> None:
    """Its id cannot be read: close 4400, as graphql-transport-ws does for non-JSON."""
    with graphql(server) as conn:
        conn.send(BOMB)
        with pytest.raises(ConnectionClosed) as closed:
            conn.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4400, DEPTH_MESSAGE)
    with graphql(server) as conn:  # the server is fine
        result = ask(conn, subscribe("2", QUERY))
        assert result["type"] == "next"


def test_graphql_http_refuses_the_same_bodies_with_400(server: Server) -> None:
    body = '{"query": "{ articles { title } }", "variables": {"f": ' + BOMB + "}}"
    response = httpx.post(
        f"{server.url}/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"
