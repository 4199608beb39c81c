"""The logs socket, ``WEBSOCKETS_LOGS_PATH`` (contract websockets.md §11), and the logging
handler that feeds it from every process.

* :class:`SocketLogHandler` (installed on the root logger by :mod:`realtime.apps`) turns each
  record at or above ``WEBSOCKETS_LOGS_LEVEL`` into a frame body and queues it; a task on the
  server's event loop publishes it to the channel-layer group ``realtime.logs`` with this
  process's 8-character node id. Records are published only while some process has a listener
  (a flag in the shared cache), and never with secrets: keys that look secret are dropped
  (:func:`accounts.audit.scrub`) and JWT-looking text in the message is masked.
* :class:`LogsSocket` is always strict, admin only, with an auth timeout of 0 (§11).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import re
import socket
import time
import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.core.cache import cache

from accounts.audit import scrub
from core.config import Socket
from core.logging import record_fields
from realtime import frames
from realtime.base import Handler, SocketConsumer
from realtime.hub import LOGS_GROUP, LOGS_MESSAGE, EventMemo, current_hub

NODE_ID = uuid.uuid4().hex[:8]
LEVELS = {"trace": 10, "debug": 20, "info": 30, "warn": 40, "error": 50, "fatal": 60}
PYTHON_LEVELS = {"trace": 5, "debug": 10, "info": 20, "warn": 30, "error": 40, "fatal": 50}
LISTENERS_KEY = "ws:logs:listeners"
LISTENERS_TTL_S = 30
QUEUE_SIZE = 1000
JWT_TEXT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
_publishing: contextvars.ContextVar[bool] = contextvars.ContextVar("publishing", default=False)


def pino_level(levelno: int) -> int:
    """Python level → pino level (DEBUG 10→20, INFO 20→30, WARNING 30→40, …)."""
    return max(10, min(60, levelno + 10))


def log_data(record: logging.LogRecord, style: str) -> dict[str, Any]:
    """The ``data`` of a log frame: ``raw`` = the whole record, ``pretty`` = level, time, msg."""
    fields, _dropped = scrub(record_fields(record))
    message = JWT_TEXT.sub("**********", str(fields.pop("msg", "")))
    head = {"level": pino_level(record.levelno), "time": int(record.created * 1000)}
    if style != "raw":
        return {**head, "msg": message}
    fields.pop("level", None)
    fields.pop("time", None)
    base = {"pid": os.getpid(), "hostname": socket.gethostname()}
    return {**head, **base, **{k: _plain(v) for k, v in fields.items()}, "msg": message}


def _plain(value: Any) -> Any:
    """JSON values as they are, anything else as text."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


class LogPublisher:
    """Per process: the queue between logging (any thread) and the event loop."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue[dict[str, Any]] | None = None
        self.listeners_seen_at = 0.0
        self.listeners = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start publishing on ``loop`` (the server's loop; called on the first request)."""
        if self.loop is loop:
            return
        self.loop, self.queue = loop, asyncio.Queue(QUEUE_SIZE)
        loop.create_task(self.pump(self.queue), context=_quiet_context())

    def offer(self, message: dict[str, Any]) -> None:
        if self.loop is None or self.queue is None or not self.anyone_listening():
            return
        queue = self.queue
        self.loop.call_soon_threadsafe(_put, queue, message)

    def anyone_listening(self) -> bool:
        """The shared flag, re-read at most every second (half a second while unset)."""
        now = time.monotonic()
        if now - self.listeners_seen_at > (1.0 if self.listeners else 0.5):
            self.listeners_seen_at = now
            self.listeners = bool(cache.get(LISTENERS_KEY))
        return self.listeners

    def listening_here(self) -> None:
        """A local subscriber: publish from now on, without waiting for the flag."""
        self.listeners, self.listeners_seen_at = True, time.monotonic()

    async def pump(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        while layer is not None:
            message = await queue.get()
            try:
                await layer.group_send(LOGS_GROUP, message)
            except Exception:  # never log from here: that would feed this loop
                await asyncio.sleep(0.5)


def _put(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    if not queue.full():
        queue.put_nowait(message)


def _quiet_context() -> contextvars.Context:
    context = contextvars.copy_context()
    context.run(_publishing.set, True)
    return context


publisher = LogPublisher()


class SocketLogHandler(logging.Handler):
    """Queues records at or above ``WEBSOCKETS_LOGS_LEVEL`` for the logs socket."""

    def __init__(self) -> None:
        config = settings.DIRECTUS.websockets
        super().__init__(PYTHON_LEVELS.get(config.logs_level, logging.INFO))
        self.style = config.logs_style

    def emit(self, record: logging.LogRecord) -> None:
        if _publishing.get():
            return
        try:
            data = log_data(record, self.style)
            level = data["level"]
            publisher.offer({"type": LOGS_MESSAGE, "node": NODE_ID, "level": level, "data": data})
        except Exception:
            self.handleError(record)


async def bind_publisher(**kwargs: Any) -> None:
    """``request_started`` receiver (async: runs on the server's loop). Also re-installs the
    handler: a second ``django.setup()`` (the ASGI entry point) re-applies LOGGING, which
    drops handlers added at ``ready()``."""
    from realtime.apps import install_log_handler

    install_log_handler()
    publisher.bind(asyncio.get_running_loop())


class LogsSocket(SocketConsumer):
    """§11: admin-only, strict, ``subscribe``/``unsubscribe`` with a ``log_level``."""

    unauthorized_message: ClassVar[str] = "Unauthorized access."

    def __init__(self) -> None:
        super().__init__()
        self.level: int | None = None

    def socket(self) -> Socket:
        return settings.DIRECTUS.websockets.logs

    @property
    def auth_timeout_s(self) -> float:
        return 0.0

    def accepts(self, identity: Any) -> bool:
        return bool(identity.accountability.admin)

    def handler(self, kind: str) -> tuple[str, Handler] | None:
        handlers: dict[str, tuple[str, Handler]] = {
            "subscribe": ("logs", self.on_subscribe),
            "unsubscribe": ("logs", self.on_unsubscribe),
        }
        return handlers.get(kind)

    async def websocket_connect(self) -> None:
        await bind_publisher()
        await super().websocket_connect()

    async def on_subscribe(self, message: dict[str, Any]) -> None:
        self.require_admin()
        level = message.get("log_level")
        if not isinstance(level, str) or level not in LEVELS:
            reason = f'Invalid "{level}" log level'
            raise frames.SocketError("logs", "INVALID_PAYLOAD", reason, frames.uid_of(message))
        self.level = LEVELS[level]
        hub = current_hub()
        if hub is not None:
            await hub.join(LOGS_GROUP, self)
        self.timers.start("listeners", 0, self.announce)
        publisher.listening_here()
        await self.send_frame({"type": "logs", "event": "subscribe", "log_level": level})

    async def on_unsubscribe(self, message: dict[str, Any]) -> None:
        await self.stop_listening()
        await self.send_frame({"type": "logs", "event": "unsubscribe"})

    def require_admin(self) -> None:
        if self.session.identity is None or not self.session.identity.accountability.admin:
            from core.errors import Forbidden

            raise Forbidden()

    async def announce(self) -> None:
        """Keep the shared "someone listens" flag up while subscribed."""
        from asgiref.sync import sync_to_async

        await sync_to_async(cache.set, thread_sensitive=False)(LISTENERS_KEY, True, LISTENERS_TTL_S)
        self.timers.start("listeners", LISTENERS_TTL_S / 3, self.announce)

    async def stop_listening(self) -> None:
        self.level = None
        self.timers.cancel("listeners")
        hub = current_hub()
        if hub is not None:
            await hub.leave(LOGS_GROUP, self)

    async def on_close(self) -> None:
        await self.stop_listening()

    async def on_message(self, message: dict[str, Any], memo: EventMemo) -> None:
        if self.level is None or int(message.get("level", 0)) < self.level or self.closed:
            return
        identity = await self.session.refresh(memo)
        if identity.accountability.admin:
            await self.send_frame({"type": "logs", "data": message["data"], "uid": message["node"]})
