"""The transport shared by the REST-style and logs sockets (contract websockets.md §1-§5, §8).

:class:`SocketConsumer` is the ASGI app of one connection: frames in and out, the heartbeat
(§4), the frame size and message rate limits (§8), and the dispatch of non-auth messages to the
subclass. Everything about who the connection acts as (the connection limit, the upgrade token,
the three auth modes, ``auth`` frames, expiry and re-auth, revalidation before every message and
event) is its :class:`realtime.session.SocketSession`, the same object the GraphQL socket uses;
this class only provides the session's hooks (JSON frames, close without a status).

Frames no handler can take (nested deeper than ``MAX_JSON_DEPTH``, NUL, lone surrogates, numbers
of thousands of digits: :func:`realtime.frames.parse`) are answered ``INVALID_PAYLOAD`` (type
``server``, with the uid) and the connection goes on, as after unparseable JSON.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar

from channels.exceptions import StopConsumer
from django.conf import settings

from core.config import Socket
from core.errors import DirectusError, RequestsExceeded
from realtime import frames
from realtime.http_denial import deny_upgrade
from realtime.identity import SocketIdentity
from realtime.limits import POLICY_VIOLATION, MessageBudget, exceeded_message
from realtime.session import AuthPolicy, SocketSession
from realtime.timers import Timers

logger = logging.getLogger("realtime")

NO_STATUS: int | None = None
"""Directus closes without a status code (clients see 1005). uvicorn's websockets-sansio
protocol (our ``serve``: :mod:`realtime.protocol`) sends an empty close frame for ``None``."""
MESSAGE_TOO_BIG = 1009
Handler = Callable[[dict[str, Any]], Awaitable[None]]


class SocketConsumer:
    """One connection. An ASGI app instance: ``SomeSocket.as_asgi()`` in the routing."""

    heartbeat: ClassVar[bool] = False
    unauthorized_message: ClassVar[str] = frames.AUTH_FAILED

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.accepted = self.closed = False
        self.alive = True
        self.timers = Timers()
        self.budget = MessageBudget(self.id)

    # ------------------------------------------------------------ subclass hooks

    def socket(self) -> Socket:
        raise NotImplementedError

    @property
    def auth_timeout_s(self) -> float:
        return float(self.socket().auth_timeout_s)

    def accepts(self, identity: SocketIdentity) -> bool:
        """Whether ``identity`` may use this socket at all (logs: admins only)."""
        return True

    def handler(self, kind: str) -> tuple[str, Handler] | None:
        """The error context and coroutine for a message ``type``; ``None`` = ignored (§2)."""
        return None

    async def on_close(self) -> None:
        """Release what the subclass holds (subscriptions)."""

    # ------------------------------------------------------------ ASGI

    @classmethod
    def as_asgi(cls) -> Callable[..., Coroutine[Any, Any, None]]:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            await cls()(scope, receive, send)

        return app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope, self.base_send = scope, send
        self.session = SocketSession(self.socket(), scope, self, self.timers, self.auth_policy())
        with contextlib.suppress(StopConsumer):  # one message at a time, no extra Task
            while True:
                await self.dispatch(await receive())

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.connect":
            await self.websocket_connect()
        elif kind == "websocket.receive":
            await self.websocket_receive(message)
        elif kind == "websocket.disconnect":
            await self.websocket_disconnect()

    def auth_policy(self) -> AuthPolicy:
        return AuthPolicy(
            accepts=self.accepts,
            unauthorized_message=self.unauthorized_message,
            auth_timeout_s=self.auth_timeout_s,
        )

    # ------------------------------------------------------------ upgrade

    async def websocket_connect(self) -> None:
        status = await self.session.upgrade()
        if status is not None:
            await self.deny(status)
        await self.base_send({"type": "websocket.accept"})
        self.accepted = True
        self.session.start()
        self.start_heartbeat()

    async def deny(self, status: int) -> None:
        """Answer the upgrade with a plain HTTP ``status`` (ASGI WebSocket Denial Response);
        servers without that extension turn a close before accept into 403."""
        await deny_upgrade(self.scope, self.base_send, status)
        raise StopConsumer()

    # ------------------------------------------------------------ frames in

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        self.alive = True
        if self.closed or not await self.admit(message):
            return
        text = message.get("text")
        if text is None:
            text = (message.get("bytes") or b"").decode("utf-8", "replace")
        parsed = frames.parse(text)
        if self.session.awaiting_handshake:
            await self.session.handshake(parsed)
        elif isinstance(parsed, frames.Refused):
            await self.send_frame(frames.refused_frame(parsed))
        elif not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
            await self.send_frame(
                frames.error_frame("server", "INVALID_PAYLOAD", frames.UNPARSEABLE)
            )
        elif parsed["type"] == "auth":
            await self.session.reauthenticate(parsed)
        else:
            await self.handle(parsed)

    async def admit(self, message: dict[str, Any]) -> bool:
        """Frame size (MAX_PAYLOAD_SIZE → close 1009) and message budget (§8)."""
        raw = message.get("bytes") or (message.get("text") or "").encode()
        if len(raw) > settings.DIRECTUS.server.max_payload_size:
            await self.send_frame(
                frames.error_frame("server", "CONTENT_TOO_LARGE", "The message is too large.")
            )
            await self.close(MESSAGE_TOO_BIG)
            return False
        error = await self.budget.spend()
        if error is None:
            return True
        text = exceeded_message(error) if isinstance(error, RequestsExceeded) else error.message
        await self.send_frame(frames.error_frame("server", error.code, text))
        if self.budget.flooding:
            await self.close(POLICY_VIOLATION)
        return False

    async def handle(self, message: dict[str, Any]) -> None:
        """Revalidate the identity, then run the handler; no error escapes (a frame instead)."""
        found = self.handler(message["type"])
        if found is None:
            return
        context, handler = found
        uid = frames.uid_of(message)
        try:
            await self.session.refresh()
            await handler(message)
        except frames.SocketError as error:
            await self.send_frame(error.frame())
        except DirectusError as error:
            await self.send_frame(frames.from_directus(context, error, uid))
        except Exception:
            logger.exception("Socket handler %r failed", message["type"])
            await self.send_frame(frames.internal_error(context, uid))

    # ------------------------------------------------------------ heartbeat (§4)

    def start_heartbeat(self) -> None:
        sockets = settings.DIRECTUS.websockets
        if self.heartbeat and sockets.heartbeat_enabled:
            self.timers.start("heartbeat", float(sockets.heartbeat_period_s), self.beat)

    async def beat(self) -> None:
        """Ping every period; a client silent for a whole period is closed."""
        if self.closed:
            return
        if not self.alive:
            await self.close()
            return
        self.alive = False
        await self.send_frame({"type": "ping"})
        if not self.closed:
            self.start_heartbeat()

    # ------------------------------------------------------------ frames out, closing

    async def send_frame(self, frame: frames.Frame) -> None:
        if self.closed or not self.accepted:
            return
        try:
            await self.base_send({"type": "websocket.send", "text": frames.dumps(frame)})
        except Exception:  # the client went away mid-send
            self.closed = True

    async def end(self) -> None:
        """The session's close after an auth failure: no status code (§12)."""
        await self.close()

    async def close(self, code: int | None = NO_STATUS) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            await self.base_send({"type": "websocket.close", "code": code})

    async def websocket_disconnect(self) -> None:
        self.closed = True
        self.timers.cancel_all()
        try:
            await self.on_close()
        finally:
            await self.session.release()
        raise StopConsumer()
