"""The socket state machine shared by every socket (contract websockets.md §1, §3, §4, §5, §8).

:class:`SocketConsumer` owns what the REST-style, logs (and, later, GraphQL) sockets have in
common: the connection limit, the upgrade-time token (§3.2, HTTP 401/403 before the upgrade),
the three auth modes (§3.3), the ``auth`` message and re-authentication (§3.1), the expiry timer
and re-auth wait (§3.4), the heartbeat (§4), the frame size and message rate limits (§8).
Subclasses name their :class:`core.config.Socket` and handle the non-auth messages.

Identity is never ``null`` (§5): before the handshake, after a failed re-auth in public mode and
while waiting for re-auth after expiry the connection acts as the **public** accountability.
Before every message and every event the identity is revalidated (:func:`revalidate`), so a
revoked sign-in or key, a suspended user or a changed permission applies at once; a credential
that died is treated exactly like an expired token (``TOKEN_EXPIRED``, public, re-auth wait).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, ClassVar

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from django.conf import settings

from core.config import Socket
from core.errors import DirectusError, RequestsExceeded
from realtime import frames
from realtime.credentials import AuthRequest, authenticate, parse_auth
from realtime.http_denial import deny_upgrade
from realtime.hub import EventMemo
from realtime.identity import (
    SocketIdentity,
    identity_from_token,
    public_identity,
    revalidate,
    scope_client,
    upgrade_token,
)
from realtime.limits import (
    POLICY_VIOLATION,
    MessageBudget,
    acquire_connection,
    exceeded_message,
    release_connection,
)
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
        self.identity: SocketIdentity | None = None
        self.authenticated = False
        self.accepted = self.closed = self.counted = False
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

    @property
    def mode(self) -> str:
        return self.socket().auth

    # ------------------------------------------------------------ upgrade

    async def websocket_connect(self) -> None:
        config = self.socket()
        if not await acquire_connection(config.path, config.conn_limit):
            await self.deny(403)
        self.counted = config.conn_limit is not None
        identity = await self.upgrade_identity()
        if identity is None:
            await self.deny(401)
        self.identity = identity
        await self.base_send({"type": "websocket.accept"})
        self.accepted = True
        if self.authenticated:
            self.arm_expiry()
        else:
            self.timers.start("handshake", self.auth_timeout_s, self.fail_handshake)
        self.start_heartbeat()

    async def upgrade_identity(self) -> SocketIdentity | None:
        """§3.2: a token on the upgrade (or strict mode) must resolve to an accepted user."""
        token = upgrade_token(self.scope)
        if token is None and self.mode != "strict":
            self.authenticated = self.mode == "public"
            return await self.public()
        if token is None:
            return None
        try:
            identity = await database_sync_to_async(identity_from_token)(token, self.scope)
        except DirectusError:
            return None
        self.authenticated = self.accepts(identity)
        return identity if self.authenticated else None

    async def deny(self, status: int) -> None:
        """Answer the upgrade with a plain HTTP ``status`` (ASGI WebSocket Denial Response);
        servers without that extension turn a close before accept into 403."""
        if self.counted:
            await release_connection(self.socket().path)
            self.counted = False
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
        if not self.authenticated:
            await self.handshake(parsed)
        elif not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
            await self.send_frame(
                frames.error_frame("server", "INVALID_PAYLOAD", frames.UNPARSEABLE)
            )
        elif parsed["type"] == "auth":
            await self.reauthenticate(parsed)
        else:
            await self.handle(parsed)

    async def admit(self, message: dict[str, Any]) -> bool:
        """Frame size (MAX_PAYLOAD_SIZE → close 1009) and message budget (§8)."""
        raw = message.get("bytes") or (message.get("text") or "").encode()
        if len(raw) > settings.DIRECTUS.max_payload_size:
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
            await self.refresh_identity()
            await handler(message)
        except frames.SocketError as error:
            await self.send_frame(error.frame())
        except DirectusError as error:
            await self.send_frame(frames.from_directus(context, error, uid))
        except Exception:
            logger.exception("Socket handler %r failed", message["type"])
            await self.send_frame(frames.internal_error(context, uid))

    # ------------------------------------------------------------ authentication

    async def handshake(self, parsed: Any) -> None:
        """§3.3 handshake mode: the first frame must be a valid ``auth`` message."""
        request = parse_auth(parsed) if _is_auth(parsed) else None
        identity = None if request is None else (await self.try_authenticate(request))[0]
        if request is None or identity is None:
            await self.fail_handshake()
            return
        self.timers.cancel("handshake")
        await self.adopt(identity)
        await self.send_frame(_auth_ok(frames.uid_of(parsed), request, identity))

    async def fail_handshake(self) -> None:
        if self.closed or self.authenticated:
            return
        error = frames.error_frame("auth", "AUTH_FAILED", frames.AUTH_HANDSHAKE_FAILED)
        await self.send_frame(error)
        await self.close()

    async def reauthenticate(self, parsed: dict[str, Any]) -> None:
        """§3.1 on an open connection: malformed frames are ignored; a failure answers with the
        uid and closes, except in public mode (which then acts as the public, §5)."""
        request = parse_auth(parsed)
        if request is None:
            return
        uid = frames.uid_of(parsed)
        identity, failure = await self.try_authenticate(request)
        if identity is None:
            self.timers.cancel("expiry")
            self.identity = await self.public()
            await self.send_frame(frames.error_frame("auth", "AUTH_FAILED", failure, uid))
            if self.mode != "public":
                await self.close()
            return
        self.timers.cancel("reauth")
        await self.adopt(identity)
        await self.send_frame(_auth_ok(uid, request, identity))

    async def try_authenticate(self, request: AuthRequest) -> tuple[SocketIdentity | None, str]:
        """The identity, or ``None`` and the failure message."""
        try:
            identity = await database_sync_to_async(authenticate)(request, self.scope)
        except DirectusError:
            return None, frames.AUTH_FAILED
        except Exception:
            logger.exception("Socket authentication failed unexpectedly")
            return None, frames.AUTH_FAILED
        if not self.accepts(identity):
            return None, self.unauthorized_message
        return identity, ""

    async def adopt(self, identity: SocketIdentity) -> None:
        self.identity, self.authenticated = identity, True
        self.arm_expiry()

    async def public(self, memo: EventMemo | None = None) -> SocketIdentity:
        compute = database_sync_to_async(public_identity)
        if memo is None:
            return await compute(self.scope)
        return await memo.get(("public", self.ip), lambda: compute(self.scope))

    async def refresh_identity(self, memo: EventMemo | None = None) -> SocketIdentity:
        """Revalidate before a message or event (module docstring). Returns the identity;
        ``memo`` shares the work between connections presenting the same token."""
        current = self.identity
        if current is None or current.token is None:
            self.identity = await self.public(memo)
            return self.identity
        fresh = await self._revalidate(current, memo)
        if self.identity is current:
            if fresh.is_public:
                await self.expire()
            else:
                self.identity = fresh
        assert self.identity is not None
        return self.identity

    async def _revalidate(self, current: SocketIdentity, memo: EventMemo | None) -> SocketIdentity:
        compute = database_sync_to_async(revalidate)
        if memo is None:
            return await compute(current, self.scope)
        key = ("identity", current.token, self.ip)
        return await memo.get(key, lambda: compute(current, self.scope))

    @functools.cached_property
    def ip(self) -> str | None:
        return scope_client(self.scope).ip

    # ------------------------------------------------------------ expiry (§3.4)

    def arm_expiry(self) -> None:
        self.timers.cancel("expiry")
        expires_at = self.identity.expires_at if self.identity else None
        if expires_at is not None:
            delay = (expires_at - datetime.now(UTC)).total_seconds()
            self.timers.start("expiry", delay, self.expire)

    async def expire(self) -> None:
        """Drop to the public identity, say ``TOKEN_EXPIRED``, wait for an ``auth`` frame."""
        if self.closed or self.identity is None or self.identity.token is None:
            return
        self.timers.cancel("expiry")
        self.identity = await self.public()
        expired = frames.error_frame("auth", "TOKEN_EXPIRED", "Token expired.")
        await self.send_frame(expired)
        self.timers.start("reauth", self.auth_timeout_s, self.reauth_timeout)

    async def reauth_timeout(self) -> None:
        error = frames.error_frame("auth", "AUTH_TIMEOUT", "Authentication timed out.")
        await self.send_frame(error)
        if self.mode != "public":
            await self.close()

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
            if self.counted:
                await release_connection(self.socket().path)
                self.counted = False
        raise StopConsumer()


def _is_auth(parsed: Any) -> bool:
    return isinstance(parsed, dict) and parsed.get("type") == "auth"


def _auth_ok(uid: Any, request: AuthRequest, identity: SocketIdentity) -> frames.Frame:
    frame = frames.with_uid({"type": "auth", "status": "ok"}, uid)
    if request.returns_refresh_token and identity.refresh_token:
        frame["refresh_token"] = identity.refresh_token
    return frame
