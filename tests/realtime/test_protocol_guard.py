"""Guards for realtime/protocol.py, which relies on internals of uvicorn's websockets-sansio
protocol. Each test names what the subclass assumes; when one fails after an upgrade of uvicorn,
re-check realtime/protocol.py (Inbox, Writable, the spent upgrade exchange) against
uvicorn/protocols/websockets/websockets_sansio_impl.py before changing the test."""

from __future__ import annotations

import ast
import asyncio
import inspect
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.protocols.websockets import websockets_sansio_impl
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from realtime.protocol import Inbox, WebSocketProtocol, Writable

RECHECK = (
    "uvicorn's WebSocketsSansIOProtocol changed: re-check realtime/protocol.py "
    "(Inbox/Writable replace its queue/writable; send() drops request/response)"
)


async def _app(scope: Any, receive: Any, send: Any) -> None:  # never called
    raise AssertionError


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _protocol(cls: type[WebSocketsSansIOProtocol], loop: asyncio.AbstractEventLoop) -> Any:
    config = Config(app=_app, ws="websockets-sansio", lifespan="off", log_config=None)
    config.load()
    return cls(config=config, server_state=ServerState(), app_state={}, _loop=loop)


def _attribute_uses(name: str) -> dict[str, set[str]]:
    """``{method: {attribute of self.<name> used there}}`` over the uvicorn protocol class."""
    source = textwrap.dedent(inspect.getsource(WebSocketsSansIOProtocol))
    uses: dict[str, set[str]] = {}
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == name
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "self"
            ):
                uses.setdefault(function.name, set()).add(node.attr)
    return uses


def _methods_touching(name: str) -> set[str]:
    """Methods of the uvicorn class that read or assign ``self.<name>``."""
    source = textwrap.dedent(inspect.getsource(WebSocketsSansIOProtocol))
    found = set()
    for function in ast.walk(ast.parse(source)):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr == name
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "self"
                ):
                    found.add(function.name)
    return found


def test_the_base_class_is_where_the_subclass_expects_it() -> None:
    assert WebSocketsSansIOProtocol.__module__ == websockets_sansio_impl.__name__, RECHECK
    assert issubclass(WebSocketProtocol, WebSocketsSansIOProtocol)
    parameters = list(inspect.signature(WebSocketsSansIOProtocol.__init__).parameters)
    assert parameters == ["self", "config", "server_state", "app_state", "_loop"], RECHECK
    assert inspect.iscoroutinefunction(WebSocketsSansIOProtocol.send), RECHECK
    assert list(inspect.signature(WebSocketsSansIOProtocol.send).parameters) == [
        "self",
        "message",
    ], RECHECK


def test_init_creates_the_queue_event_and_handshake_flag_we_replace(
    loop: asyncio.AbstractEventLoop,
) -> None:
    stock = _protocol(WebSocketsSansIOProtocol, loop)
    assert isinstance(stock.queue, asyncio.Queue), RECHECK
    assert isinstance(stock.writable, asyncio.Event), RECHECK
    assert stock.writable.is_set(), RECHECK  # writable from the start, as Writable() is
    assert stock.handshake_complete is False, RECHECK
    ours = _protocol(WebSocketProtocol, loop)
    assert isinstance(ours.queue, Inbox)
    assert isinstance(ours.writable, Writable)


def test_uvicorn_uses_only_the_queue_and_event_methods_we_provide() -> None:
    queue_methods = set().union(*_attribute_uses("queue").values())
    assert queue_methods <= {"put_nowait", "get", "empty"}, (RECHECK, queue_methods)
    writable_methods = set().union(*_attribute_uses("writable").values())
    assert writable_methods <= {"set", "clear", "wait", "is_set"}, (RECHECK, writable_methods)
    for method in queue_methods:
        assert callable(getattr(Inbox, method))
    for method in writable_methods:
        assert callable(getattr(Writable, method))


def test_request_and_response_are_only_needed_before_the_handshake_completes() -> None:
    """send() clears them once ``handshake_complete``; uvicorn must not read them later."""
    assert _methods_touching("response") <= {"handle_connect", "send"}, RECHECK
    assert _methods_touching("request") <= {"handle_connect"}, RECHECK
    assert "handshake_complete" in inspect.getsource(WebSocketsSansIOProtocol.send), RECHECK


class _Transport:
    """Just enough of an asyncio transport for the protocol to run a handshake in memory."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _masked_text(text: str) -> bytes:
    payload = text.encode()
    mask = b"\x01\x02\x03\x04"
    return (
        bytes([0x81, 0x80 | len(payload)])
        + mask
        + bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    )


def test_the_spent_upgrade_request_keeps_neither_its_path_nor_its_headers(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """websockets' parser generator keeps the upgrade request for the connection's life; after
    the handshake it is emptied (the path carries the upgrade token), and frames still parse."""
    received: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        received.append(scope)
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        received.append(await receive())

    config = Config(app=app, ws="websockets-sansio", lifespan="off", log_config=None)
    config.load()
    protocol = WebSocketProtocol(
        config=config, server_state=ServerState(), app_state={}, _loop=loop
    )
    transport = _Transport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    protocol.data_received(
        b"GET /websocket?access_token=upgrade-secret HTTP/1.1\r\nHost: example.com\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nUser-Agent: guard-test\r\n\r\n"
    )
    loop.run_until_complete(asyncio.sleep(0.01))
    assert transport.written.startswith(b"HTTP/1.1 101"), bytes(transport.written)
    assert received[0]["query_string"] == b"access_token=upgrade-secret"
    assert (b"User-Agent", b"guard-test") in received[0]["headers"]  # the scope keeps its own

    request = protocol.conn.parser.gi_frame.f_locals["request"]  # type: ignore[union-attr]
    assert request.path == "", RECHECK
    assert list(request.headers.raw_items()) == [], RECHECK
    assert protocol.request is None
    assert protocol.response is None

    protocol.data_received(_masked_text('{"type":"ping"}'))
    loop.run_until_complete(asyncio.sleep(0.01))
    assert received[1] == {"type": "websocket.receive", "text": '{"type":"ping"}'}
    protocol.connection_lost(None)
    loop.run_until_complete(asyncio.sleep(0.01))
