"""The logs socket (websockets.md §11): admins only, level filtering, records without secrets."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.realtime.conftest import ServerFactory
from tests.realtime.support import ADMIN, READER, Client, login, socket
from tests.support.server import Server

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(serve: ServerFactory) -> Server:
    return serve(WEBSOCKETS_LOGS_STYLE="raw")


def logs(server: Server) -> Client:
    token = login(server)["access_token"]
    return socket(server, "/websocket/logs", query=f"access_token={token}")  # type: ignore[return-value]


@pytest.mark.parametrize("who", [None, READER])
def test_only_admins_may_connect(server: Server, who: dict[str, str] | None) -> None:
    query = f"access_token={login(server, who)['access_token']}" if who else ""
    with pytest.raises(InvalidStatus) as refused, socket(server, "/websocket/logs", query=query):
        pass
    assert refused.value.response.status_code == 401


def test_streams_records_at_the_level_without_secrets(server: Server) -> None:
    with logs(server) as ws:  # type: ignore[attr-defined]
        assert ws.ask({"type": "subscribe", "log_level": "info"}) == {
            "type": "logs",
            "event": "subscribe",
            "log_level": "info",
        }
        signed_in = login(server)
        frame = ws.recv()
        while frame["data"].get("msg") != "auth event":
            frame = ws.recv()
        assert frame["type"] == "logs"
        assert len(frame["uid"]) == 8
        assert frame["data"]["level"] == 30
        assert frame["data"]["event"] == "login.success"
        text = json.dumps(frame)
        assert signed_in["refresh_token"] not in text
        assert signed_in["access_token"] not in text
        assert "password" not in text
        assert ws.ask({"type": "unsubscribe"}) == {"type": "logs", "event": "unsubscribe"}


def test_level_filter_and_bad_level(server: Server) -> None:
    with logs(server) as ws:  # type: ignore[attr-defined]
        bad = ws.ask({"type": "subscribe", "log_level": "loud"})
        assert bad["error"] == {"code": "INVALID_PAYLOAD", "message": 'Invalid "loud" log level'}
        ws.ask({"type": "subscribe", "log_level": "error"})
        httpx.post(f"{server.url}/auth/login", json=ADMIN)
        assert ws.silent(1.0)
