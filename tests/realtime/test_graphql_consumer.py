"""The ``/graphql`` consumer in-process (asgiref's ApplicationCommunicator; channels'
WebsocketCommunicator needs daphne): the handshake timer and the ``public`` mode."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.conf import settings as django_settings

from realtime.graphql.consumer import GraphQLSocket

TRANSPORT = "graphql-transport-ws"


@pytest.fixture
def graphql_mode(settings: Any) -> Any:
    """Set ``WEBSOCKETS_GRAPHQL_*`` for the test (the consumer reads them per connection)."""

    def apply(**changes: Any) -> None:
        config = django_settings.DIRECTUS
        sockets = replace(config.websockets, graphql=replace(config.websockets.graphql, **changes))
        settings.DIRECTUS = replace(config, websockets=sockets)

    return apply


class Socket(ApplicationCommunicator):  # type: ignore[misc]
    """A WebSocket client of the consumer, speaking ASGI messages."""

    def __init__(self) -> None:
        scope = {"type": "websocket", "path": "/graphql", "query_string": b"", "headers": []}
        super().__init__(GraphQLSocket.as_asgi(), {**scope, "subprotocols": [TRANSPORT]})

    async def open(self) -> None:
        await self.send_input({"type": "websocket.connect"})
        accepted = await self.receive_output(2)
        assert accepted == {"type": "websocket.accept", "subprotocol": TRANSPORT}

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.send_input({"type": "websocket.receive", "text": json.dumps(frame)})

    async def receive_json(self) -> Any:
        return json.loads((await self.receive_output(2))["text"])

    async def close(self) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(2)


async def _first_output(socket: Socket, timeout: float) -> dict[str, Any]:
    await socket.open()
    output: dict[str, Any] = await socket.receive_output(timeout)
    await socket.close()
    return output


@pytest.mark.django_db(transaction=True)
def test_handshake_timer_closes_4403_when_nothing_authenticates(graphql_mode: Any) -> None:
    """With an auth timeout shorter than the library's 3 s init timeout, the 4403 timer wins."""
    graphql_mode(auth="handshake", auth_timeout_s=1)
    started = time.monotonic()
    output = async_to_sync(_first_output)(Socket(), 3)
    assert output == {"type": "websocket.close", "code": 4403, "reason": "Forbidden"}
    assert 0.8 < time.monotonic() - started < 2.5


@pytest.mark.django_db(transaction=True)
def test_public_mode_acks_without_a_token(graphql_mode: Any) -> None:
    graphql_mode(auth="public")

    async def scenario() -> list[dict[str, Any]]:
        socket = Socket()
        await socket.open()
        await socket.send_json({"type": "connection_init", "payload": {}})
        ack = await socket.receive_json()
        query = {"query": "{ articles { id } }"}
        await socket.send_json({"id": "q", "type": "subscribe", "payload": query})
        result = await socket.receive_json()
        subscription = {"query": "subscription { articles_mutated { key } }"}
        await socket.send_json({"id": "s", "type": "subscribe", "payload": subscription})
        refused = [await socket.receive_json() for _ in range(3)]
        await socket.close()
        return [ack, result, *refused]

    ack, result, *refused = async_to_sync(scenario)()
    assert ack == {"type": "connection_ack"}
    errors = result["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    assert refused[0] == {"id": "q", "type": "complete"}
    assert refused[1]["payload"]["data"] is None
    assert [e["extensions"]["code"] for e in refused[1]["payload"]["errors"]] == ["FORBIDDEN"]
    assert refused[2] == {"id": "s", "type": "complete"}


@pytest.mark.django_db(transaction=True)
def test_every_event_revalidates_the_connection(
    client: Any, make_role: Any, make_user: Any
) -> None:
    """A suspended user's open connection acts as public from the next operation or event."""
    role, _ = make_role("Readers")
    user = make_user("reader@example.com", role=role)
    response = client.post(
        "/auth/login",
        {"email": user.email, "password": "password-123"},
        content_type="application/json",
    )
    token = response.json()["data"]["access_token"]
    socket = GraphQLSocket()
    socket.scope = {"type": "websocket", "headers": [], "client": ("127.0.0.1", 1)}

    async def callers() -> tuple[Any, Any]:
        assert await socket.authenticate(token)
        before = await socket.caller()
        await database_sync_to_async(_suspend)(user)
        after = await socket.caller()
        await socket.disconnect(1000)
        return before, after

    before, after = async_to_sync(callers)()
    assert before.user == user.pk
    assert after.user is None


def _suspend(user: Any) -> None:
    user.status = "suspended"
    user.save()
