"""Claim: a socket that ends in any way gives its connection slot back (realtime.limits): a
clean close, a consumer that raises, a server process killed with SIGKILL (with Redis: its
lease lapses; in memory: its counts die with it)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.conf import settings as django_settings
from websockets.exceptions import InvalidStatus

from realtime import limits
from realtime.limits import LEASE_TTL_S, open_connections
from realtime.rest import RestSocket
from tests.realtime.support import Client, realtime_env, socket, start
from tests.support.server import Server, postgres_database
from tests.test_auth_e2e import redis_url

LIMIT = 3


# --- in process: a consumer that raises --------------------------------------------------


@pytest.fixture
def one_slot(settings: Any) -> str:
    config = django_settings.DIRECTUS
    rest = replace(config.websockets.rest, auth="public", conn_limit=1)
    settings.DIRECTUS = replace(config, websockets=replace(config.websockets, rest=rest))
    return rest.path


def communicator(path: str) -> ApplicationCommunicator:
    scope = {
        "type": "websocket",
        "path": path,
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 5555),
    }
    return ApplicationCommunicator(RestSocket.as_asgi(), scope)


async def _open(path: str) -> tuple[ApplicationCommunicator, dict[str, Any]]:
    conn = communicator(path)
    await conn.send_input({"type": "websocket.connect"})
    return conn, await conn.receive_output(2)


@pytest.mark.django_db(transaction=True)
def test_a_consumer_that_raises_gives_its_slot_back(one_slot: str) -> None:
    async def scenario() -> list[Any]:
        first, accepted = await _open(one_slot)
        counted = open_connections(one_slot)
        second, refused = await _open(one_slot)
        await second.wait(2)
        await first.send_input({})  # a malformed ASGI message: the consumer raises KeyError
        with contextlib.suppress(KeyError):
            await first.wait(2)
        for _ in range(50):  # the slot is handed back by the task's end, off the loop
            if open_connections(one_slot) == 0:
                break
            await asyncio.sleep(0.02)
        left = open_connections(one_slot)
        third, again = await _open(one_slot)
        await third.send_input({"type": "websocket.disconnect", "code": 1000})
        await third.wait(2)
        return [accepted["type"], counted, refused["type"], left, again["type"]]

    accepted, counted, refused, left, again = async_to_sync(scenario)()
    assert (accepted, counted) == ("websocket.accept", 1)
    assert refused != "websocket.accept"  # over the limit while the first one lives
    assert left == 0
    assert again == "websocket.accept"
    assert open_connections(one_slot) == 0


@pytest.mark.django_db(transaction=True)
def test_a_clean_close_gives_the_slot_back_once(one_slot: str) -> None:
    async def scenario() -> tuple[int, int]:
        conn, accepted = await _open(one_slot)
        assert accepted["type"] == "websocket.accept"
        during = open_connections(one_slot)
        await conn.send_input({"type": "websocket.disconnect", "code": 1000})
        await conn.wait(2)
        await limits.release_connection(one_slot)  # a stray second release changes nothing
        return during, open_connections(one_slot)

    assert async_to_sync(scenario)() == (1, 0)


# --- real servers: a process killed with SIGKILL -------------------------------------------


@pytest.fixture
def server_env(tmp_path: Any) -> Iterator[dict[str, str]]:
    overrides = {"WEBSOCKETS_REST_CONN_LIMIT": str(LIMIT), "WEBSOCKETS_REST_AUTH": "public"}
    with postgres_database(realtime_env(tmp_path, **overrides)) as env:
        yield env


def _refused(server: Server) -> bool:
    try:
        with socket(server):
            return False
    except InvalidStatus as refused:
        return bool(refused.response.status_code == 403)


@contextlib.contextmanager
def _held(server: Server, count: int) -> Iterator[list[Client]]:
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(socket(server)) for _ in range(count)]


def _kill(server: Server) -> None:
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)


def _accepts_all_within(server: Server, seconds: float) -> float:
    """Seconds until ``LIMIT`` sockets are accepted at once (fails after ``seconds``)."""
    started = time.monotonic()
    while True:
        try:
            with _held(server, LIMIT):
                return time.monotonic() - started
        except InvalidStatus:
            assert time.monotonic() - started < seconds, "slots of the killed process leaked"
            time.sleep(0.2)


def _kill_and_restart(env: dict[str, str]) -> float:
    first = start(env)
    try:
        held = _held(first, LIMIT)
        held.__enter__()
        assert _refused(first)
        _kill(first)
        with contextlib.suppress(Exception):
            held.__exit__(None, None, None)
    finally:
        first.stop()
    second = Server(env).start(bootstrap=False)
    try:
        waited = _accepts_all_within(second, LEASE_TTL_S + 5)
        with _held(second, LIMIT):  # and the limit still holds on the new process
            assert _refused(second)
        return waited
    finally:
        second.stop()


@pytest.mark.server
def test_a_killed_process_gives_its_slots_back_with_redis(server_env: dict[str, str]) -> None:
    url = redis_url(12)
    if url is None:
        pytest.skip("Redis at 127.0.0.1:6379 is not reachable")
    waited = _kill_and_restart({**server_env, "REDIS": url})
    assert waited <= LEASE_TTL_S + 5


@pytest.mark.server
def test_a_killed_process_gives_its_slots_back_in_memory(server_env: dict[str, str]) -> None:
    memory = {k: v for k, v in server_env.items() if not k.startswith(("REDIS", "RATE_LIMITER"))}
    assert _kill_and_restart(memory) < 2
