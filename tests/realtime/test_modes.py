"""Strict and public modes, token expiry, heartbeat, limits (websockets.md §1, §3-§5, §8)."""

from __future__ import annotations

import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.realtime.conftest import ServerFactory
from tests.realtime.support import ADMIN, READER, auth_error, login, socket
from tests.support.server import Server

pytestmark = pytest.mark.server

EXPIRED = auth_error("TOKEN_EXPIRED", "Token expired.")
TIMED_OUT = auth_error("AUTH_TIMEOUT", "Authentication timed out.")


@pytest.fixture(scope="module")
def strict(serve: ServerFactory) -> Server:
    return serve(
        WEBSOCKETS_REST_AUTH="strict", WEBSOCKETS_REST_AUTH_TIMEOUT="2", ACCESS_TOKEN_TTL="3s"
    )


@pytest.fixture(scope="module")
def public(serve: ServerFactory) -> Server:
    return serve(
        WEBSOCKETS_REST_AUTH="public",
        WEBSOCKETS_HEARTBEAT_ENABLED="true",
        WEBSOCKETS_HEARTBEAT_PERIOD="1",
        WEBSOCKETS_REST_CONN_LIMIT="3",
        RATE_LIMITER_ENABLED="true",
        RATE_LIMITER_POINTS="30",
        RATE_LIMITER_DURATION="1",
    )


def refused_status(server: Server, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as refused, socket(server, **kwargs):  # type: ignore[arg-type]
        pass
    return int(refused.value.response.status_code)


def test_strict_needs_a_token_at_the_upgrade(strict: Server) -> None:
    assert refused_status(strict) == 401
    assert refused_status(strict, query="access_token=nope") == 401


def test_expiry_falls_back_to_public_then_times_out(strict: Server) -> None:
    token = login(strict, READER)["access_token"]
    with socket(strict, query=f"access_token={token}") as ws:
        ws.ask({"type": "subscribe", "collection": "articles", "uid": "s"})
        started = time.monotonic()
        assert ws.recv(timeout=6) == EXPIRED
        assert 1.5 < time.monotonic() - started < 4.5  # a timer, not the next message
        refused = ws.ask({"type": "items", "collection": "articles", "action": "read", "uid": 2})
        assert refused["error"]["code"] == "FORBIDDEN"  # public now, never "no checks"
        assert ws.recv(timeout=4) == TIMED_OUT
        assert ws.closed_code() == 1005


def test_expiry_then_refresh_token_reauth_keeps_the_connection(strict: Server) -> None:
    data = login(strict, ADMIN)
    with socket(strict, query=f"access_token={data['access_token']}") as ws:
        assert ws.recv(timeout=6) == EXPIRED
        reply = ws.auth(refresh_token=data["refresh_token"], uid="re")
        assert reply["status"] == "ok"
        assert reply["uid"] == "re"
        assert reply["refresh_token"]
        assert ws.ask({"type": "ping"}) == {"type": "pong"}
        time.sleep(2.2)  # past the auth timeout: still open
        assert ws.ask({"type": "ping"}) == {"type": "pong"}


def test_public_mode_needs_no_auth_and_survives_failed_auth(public: Server) -> None:
    with socket(public) as ws:
        refused = ws.ask({"type": "subscribe", "collection": "articles", "uid": 1})
        assert refused["error"]["code"] == "FORBIDDEN"
        failed = ws.auth(access_token="garbage", uid=2)
        assert failed == auth_error("AUTH_FAILED", "Authentication failed.", 2)
        assert ws.ask({"type": "ping"}) == {"type": "pong"}
        assert ws.auth(**ADMIN)["status"] == "ok"
        assert ws.ask({"type": "subscribe", "collection": "articles"})["event"] == "init"


def test_heartbeat_pings_and_closes_silent_clients(public: Server) -> None:
    with socket(public) as ws:
        assert ws.recv(timeout=2, pings=True) == {"type": "ping"}
        ws.send({"type": "pong"})
        assert ws.recv(timeout=2, pings=True) == {"type": "ping"}
        started = time.monotonic()
        assert ws.closed_code(timeout=3) == 1005
        assert time.monotonic() - started < 2


def test_connection_limit_is_http_403(public: Server) -> None:
    with socket(public), socket(public), socket(public):
        assert refused_status(public) == 403
    with socket(public) as ws:  # released on close
        assert ws.ask({"type": "ping"}) == {"type": "pong"}


def test_configured_message_rate_limit(public: Server) -> None:
    time.sleep(1)  # a fresh window
    with socket(public) as ws:
        for _ in range(40):
            ws.send({"type": "nothing"})
        frame = ws.recv()
        assert frame["type"] == "server"
        assert frame["error"]["code"] == "REQUESTS_EXCEEDED"
        assert frame["error"]["message"].startswith("Too many messages, retry after ")
        while not ws.silent(0.2):
            pass
        time.sleep(1.1)
        assert ws.ask({"type": "ping", "uid": 1}) == {"type": "pong", "uid": 1}  # still open


def test_other_paths_are_http_404_at_the_upgrade(public: Server) -> None:
    assert refused_status(public, path="/websocket/nope") == 404
    assert refused_status(public, path="/items/articles") == 404


def test_disabled_websockets_are_http_404_at_the_upgrade(serve: ServerFactory) -> None:
    disabled = serve(WEBSOCKETS_ENABLED="false")
    assert httpx.get(f"{disabled.url}/server/ping").text == "pong"
    for path in ("/websocket", "/graphql", "/websocket/logs"):
        assert refused_status(disabled, path=path) == 404
