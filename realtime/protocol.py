"""uvicorn's WebSocket protocol, trimmed for many idle connections (``manage.py serve``).

uvicorn's ``websockets-sansio`` protocol (its default) keeps, for every open connection, an
``asyncio.Queue`` and an ``asyncio.Event`` (five deques of 64 slots each, ~3 KiB together) and
the upgrade request and response it no longer needs once the handshake is over. The request
outlives uvicorn's reference to it: ``websockets``' ``ServerProtocol.parse()`` is a generator
that parses the request into a local and then parses frames for the life of the connection, so
its frame keeps the request, its path (with an ``access_token`` query, a credential) and its
headers (~3 KiB). This subclass swaps the queue and the event for list-based equivalents with
the methods uvicorn calls, and after the handshake empties the spent request and drops it and
the response. Frames, closing and back-pressure are uvicorn's.

Serve with ``uvicorn … --ws realtime.protocol:WebSocketProtocol`` (``manage.py serve`` does).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.datastructures import Headers


class Inbox:
    """The ASGI receive queue: ``put_nowait``, ``get`` and ``empty`` of an unbounded
    :class:`asyncio.Queue`. It holds a message or two (uvicorn pauses reading while one
    waits), so lists are enough; an empty list allocates no slots."""

    __slots__ = ("_getters", "_items")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._getters: list[asyncio.Future[None]] = []

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._wake_next()

    def _wake_next(self) -> None:
        while self._getters:
            getter = self._getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                return

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:  # cancelled: leave, passing a wake-up on (as Queue does)
                if getter in self._getters:
                    self._getters.remove(getter)
                elif self._items:
                    self._wake_next()
                raise
        return self._items.pop(0)


class Writable:
    """Whether the transport takes more data: ``set``, ``clear`` and ``wait`` of an
    :class:`asyncio.Event`, allocating only while a sender actually waits."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if not self._set:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        return True


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue: Any = Inbox()
        self.writable: Any = Writable()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete:  # accepted or refused: the upgrade exchange is spent
            if self.request is not None:  # parse()'s frame still holds it (module docstring)
                self.request.path, self.request.headers = "", Headers()
            self.request = self.response = None  # type: ignore[assignment]
