"""Cross-site WebSocket hijacking (realtime/origin.py) against a real server: an upgrade from a
foreign ``Origin`` is judged as if it carried no cookie, on the REST-style socket (handshake
mode), the logs socket (strict) and the GraphQL socket (handshake); allowed origins, upgrades
without ``Origin`` and explicit tokens keep working."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

from tests.realtime.conftest import ServerFactory
from tests.realtime.support import ADMIN, HANDSHAKE_FAILED, login, rest, socket, ws_url
from tests.support.server import Server

pytestmark = pytest.mark.server

COOKIE_NAME = "directus_session_token"
CREATE = {"type": "items", "collection": "articles", "action": "create", "uid": "c"}
READ = {"type": "items", "collection": "articles", "action": "read", "uid": "r"}


@pytest.fixture(scope="module")
def server(serve: ServerFactory) -> Server:
    return serve(
        PUBLIC_URL="https://cms.example.com",
        WEBSOCKETS_ALLOWED_ORIGINS="https://app.example.com, http://tools.example.com:8080/",
        CORS_ENABLED="true",
        CORS_ORIGIN="https://cors.example.com",
    )


@pytest.fixture(scope="module")
def cookie(server: Server) -> str:
    """A real session cookie of the admin (``mode: session`` sign-in)."""
    response = httpx.post(f"{server.url}/auth/login", json={**ADMIN, "mode": "session"})
    assert response.status_code == 200, response.text
    for header in response.headers.get_list("set-cookie"):
        name, _, rest_of = header.partition("=")
        if name.strip() == COOKIE_NAME:
            return f"{COOKIE_NAME}={rest_of.split(';', 1)[0]}"
    raise AssertionError("no session cookie")


def own_origin(server: Server) -> str:
    return server.url  # http://127.0.0.1:<port>, the Host the client sends


def foreign_origins(server: Server) -> list[str]:
    port = int(server.url.rsplit(":", 1)[1])
    return [
        "https://evil.example.com",
        "null",
        f"http://127.0.0.1:{port + 1}",  # cookies are shared between ports; pages are not
        f"http://localhost:{port}",  # another host name than the one connected to
        "https://cms.example.com.evil.example.com",
    ]


def allowed_origins(server: Server) -> list[str]:
    return [
        own_origin(server),
        "https://cms.example.com",  # PUBLIC_URL
        "https://app.example.com",  # WEBSOCKETS_ALLOWED_ORIGINS
        "http://tools.example.com:8080",
        "https://cors.example.com",  # CORS_ORIGIN
        "HTTPS://CMS.EXAMPLE.COM:443",  # the same origin, written otherwise
    ]


def titles(server: Server) -> list[str]:
    token = login(server)["access_token"]
    response = rest(server, "GET", "/items/articles?fields=title&limit=1000", token)
    return sorted(item["title"] for item in response.json()["data"])


def headers(cookie: str | None) -> dict[str, str]:
    return {"Cookie": cookie} if cookie else {}


# ---------------------------------------------------------------- REST-style socket (handshake)


def test_foreign_origin_with_cookie_gets_no_identity_from_it(server: Server, cookie: str) -> None:
    before = titles(server)
    for origin in foreign_origins(server):
        with socket(server, origin=Origin(origin), additional_headers=headers(cookie)) as ws:
            # handshake mode: the cookie did not authenticate, so the first frame must be auth
            assert ws.ask({**CREATE, "data": {"title": f"Hijacked from {origin}"}}) == (
                HANDSHAKE_FAILED
            )
            assert ws.closed_code() == 1005
    assert titles(server) == before


def test_allowed_origins_with_cookie_are_authenticated(server: Server, cookie: str) -> None:
    for origin in allowed_origins(server):
        with socket(server, origin=Origin(origin), additional_headers=headers(cookie)) as ws:
            reply = ws.ask(READ)
            assert reply["type"] == "items", (origin, reply)
            assert {"Visible", "Hidden"} <= {item["title"] for item in reply["data"]}


def test_no_origin_with_cookie_is_authenticated(server: Server, cookie: str) -> None:
    """Node and Python clients send no Origin: judged as before."""
    with socket(server, additional_headers=headers(cookie)) as ws:
        assert {"Visible", "Hidden"} <= {item["title"] for item in ws.ask(READ)["data"]}


def test_foreign_origin_with_query_token_or_auth_message_works(server: Server, cookie: str) -> None:
    token = login(server)["access_token"]
    evil = Origin("https://evil.example.com")
    with socket(server, origin=evil, query=f"access_token={token}") as ws:
        assert ws.ask(READ)["type"] == "items"
    with socket(server, origin=evil, additional_headers=headers(cookie)) as ws:
        assert ws.auth(access_token=token, uid=1) == {"type": "auth", "status": "ok", "uid": 1}
        assert ws.ask(READ)["type"] == "items"


# ---------------------------------------------------------------- logs socket (strict)


def refused(server: Server, path: str, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as refusal, socket(server, path, **kwargs):
        pass
    return int(refusal.value.response.status_code)


def test_strict_socket_refuses_a_foreign_origin_riding_the_cookie(
    server: Server, cookie: str
) -> None:
    for origin in foreign_origins(server):
        kwargs = {"origin": Origin(origin), "additional_headers": headers(cookie)}
        assert refused(server, "/websocket/logs", **kwargs) == 401
    with socket(server, "/websocket/logs", additional_headers=headers(cookie)) as ws:
        subscribed = ws.ask({"type": "subscribe", "log_level": "info"})
        assert subscribed == {"type": "logs", "event": "subscribe", "log_level": "info"}
    same = {"origin": Origin(own_origin(server)), "additional_headers": headers(cookie)}
    with socket(server, "/websocket/logs", **same) as ws:
        assert ws.ask({"type": "unsubscribe"}) == {"type": "logs", "event": "unsubscribe"}


# ---------------------------------------------------------------- GraphQL socket (handshake)


@contextmanager
def graphql(server: Server, **kwargs: Any) -> Iterator[ClientConnection]:
    protocol = [Subprotocol("graphql-transport-ws")]
    with connect(ws_url(server, "/graphql"), subprotocols=protocol, **kwargs) as conn:
        yield conn


def close_code(conn: ClientConnection) -> int | None:
    try:
        while True:
            conn.recv(timeout=5)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def test_graphql_foreign_origin_with_cookie_is_not_authenticated(
    server: Server, cookie: str
) -> None:
    before = titles(server)
    evil = Origin("https://evil.example.com")
    with graphql(server, origin=evil, additional_headers=headers(cookie)) as conn:
        conn.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert close_code(conn) == 4403  # handshake mode: no token, not authenticated
    assert titles(server) == before


def test_graphql_same_origin_or_no_origin_with_cookie_is_authenticated(
    server: Server, cookie: str
) -> None:
    for origin in (own_origin(server), None):
        extra: dict[str, Any] = {"origin": Origin(origin)} if origin else {}
        with graphql(server, additional_headers=headers(cookie), **extra) as conn:
            conn.send(json.dumps({"type": "connection_init", "payload": {}}))
            assert json.loads(conn.recv(timeout=5)) == {"type": "connection_ack"}
            query = {"query": "{ articles { title } }"}
            conn.send(json.dumps({"id": "1", "type": "subscribe", "payload": query}))
            result = json.loads(conn.recv(timeout=5))
            assert {"Visible", "Hidden"} <= {
                a["title"] for a in result["payload"]["data"]["articles"]
            }
