"""One channel-layer listener per process (contract websockets.md §6.2, §9, §11).

Instead of one channel per connection, each process holds a single channel that joins a group
(``items.<collection>``, ``realtime.logs``) while at least one local connection listens to it,
and fans every message out to those connections. A message thus crosses Redis once per process,
and the work it triggers is shared through an :class:`EventMemo`: connections acting with the
same grants and the same subscription shape cost one database read per event, not one each.
Messages are handled in arrival order; a failing listener is logged and never affects others.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Protocol, TypeVar

from channels.layers import BaseChannelLayer, get_channel_layer

from items.events import MESSAGE_TYPE, group_name

logger = logging.getLogger("realtime.hub")

LOGS_GROUP = "realtime.logs"
LOGS_MESSAGE = "logs.record"
REJOIN_EVERY_S = 3600  # channels-redis forgets group members after a day
T = TypeVar("T")


class EventMemo:
    """Results computed once per message and process (exceptions included)."""

    def __init__(self) -> None:
        self._results: dict[Hashable, asyncio.Future[Any]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        future = self._results.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._results[key] = future
            try:
                future.set_result(await compute())
            except Exception as error:
                future.set_exception(error)
        if future.done():  # the usual case: computed by the first connection, no await
            done: T = future.result()
            return done
        result: T = await asyncio.shield(future)
        return result


class Listener(Protocol):
    async def on_message(self, message: dict[str, Any], memo: EventMemo) -> None: ...


def group_of(message: dict[str, Any]) -> str | None:
    if message.get("type") == MESSAGE_TYPE:
        return group_name(str(message.get("collection")))
    if message.get("type") == LOGS_MESSAGE:
        return LOGS_GROUP
    return None


class Hub:
    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.listeners: dict[str, set[Listener]] = {}
        self.channel: str | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.locks: dict[str, asyncio.Lock] = {}

    async def join(self, group: str, listener: Listener) -> None:
        """Membership changes of a group are serialised: a burst of first subscribers makes
        one ``group_add``, not one each (a connection-pool's worth of Redis calls at once)."""
        async with self.locks.setdefault(group, asyncio.Lock()):
            members = self.listeners.setdefault(group, set())
            if not members:
                try:
                    await self.layer.group_add(group, await self._channel())
                except BaseException:
                    del self.listeners[group]
                    raise
            members.add(listener)

    async def leave(self, group: str, listener: Listener) -> None:
        async with self.locks.setdefault(group, asyncio.Lock()):
            members = self.listeners.get(group)
            if members is None or listener not in members:
                return
            members.discard(listener)
            if not members:
                del self.listeners[group]
                await self.layer.group_discard(group, await self._channel())

    async def _channel(self) -> str:
        if self.channel is None:
            self.channel = await self.layer.new_channel()
            self.tasks = [asyncio.create_task(self._run()), asyncio.create_task(self._rejoin())]
        return self.channel

    async def _run(self) -> None:
        assert self.channel is not None
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Channel layer receive failed; retrying")
                await asyncio.sleep(1)
                continue
            await self.fan_out(message)

    async def fan_out(self, message: dict[str, Any]) -> None:
        group = group_of(message)
        listeners = list(self.listeners.get(group, ())) if group else []
        memo = EventMemo()
        await asyncio.gather(*(self._deliver(each, message, memo) for each in listeners))

    async def _deliver(self, listener: Listener, message: dict[str, Any], memo: EventMemo) -> None:
        try:
            await listener.on_message(message, memo)
        except Exception:
            logger.exception("Delivering %s to a socket failed", message.get("type"))

    async def _rejoin(self) -> None:
        while True:
            await asyncio.sleep(REJOIN_EVERY_S)
            for group in list(self.listeners):
                if self.channel is not None:
                    await self.layer.group_add(group, self.channel)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def current_hub() -> Hub | None:
    """The hub of the running event loop (one per process), ``None`` without a channel layer."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        layer = get_channel_layer()
        if layer is None:
            return None
        hub = _hubs[loop] = Hub(layer)
    return hub
