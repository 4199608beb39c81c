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
