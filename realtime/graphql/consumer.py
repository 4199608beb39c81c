"""The ``/graphql`` WebSocket: strawberry's Channels consumer, ``graphql-transport-ws`` only,
with Directus's auth modes (contract websockets.md §10, observed.md "GraphQL"):

* any other subprotocol, or none → accepted, then closed ``4406 Subprotocol not acceptable``;
* more than ``WEBSOCKETS_GRAPHQL_CONN_LIMIT`` connections → HTTP 403 at the upgrade;
* ``?access_token=`` or the session cookie at the upgrade authenticates in every mode (a bad one
  → HTTP 401); ``strict`` without one → HTTP 401;
* ``public``: the ``connection_init`` payload is ignored, public permissions otherwise;
* ``handshake``: the first frame must be ``connection_init`` with ``payload.access_token``;
  no token or another frame → close ``4403 Forbidden`` at once; a bad token → the Directus
  frame ``{"type":"auth","status":"error","error":{"code":"AUTH_FAILED",…}}`` and no ack, so
  the init timeout (3 s, ``4408``) ends the connection; and a ``4403`` timer at
  ``WEBSOCKETS_GRAPHQL_AUTH_TIMEOUT`` while unauthenticated;
* the token's ``exp`` arms a timer that closes the socket with ``4403 Forbidden`` (Directus
  documents this but does not do it; we do);
* every operation and every subscription event revalidates the token first, so revoked
  credentials and changed permissions apply at once (a dead credential acts as public).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from strawberry.channels import GraphQLWSConsumer
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message

from accounts.accountability import Accountability
from core.config import Socket
from core.errors import DirectusError
from realtime.http_denial import deny_upgrade
from realtime.identity import (
    SocketIdentity,
    identity_from_token,
    public_identity,
    revalidate,
    upgrade_token,
)
from realtime.limits import acquire_connection, release_connection
from realtime.timers import Timers

from .context import GraphQLContext
from .schema import get_schema

INIT_TIMEOUT = timedelta(seconds=3)
"""graphql-ws's default ``connectionInitWaitTimeout`` (close 4408), as Directus runs it."""
FORBIDDEN = (4403, "Forbidden")
AUTH_FAILED_FRAME = {
    "type": "auth",
    "status": "error",
    "error": {"code": "AUTH_FAILED", "message": "Authentication failed."},
}


class HandshakeTransportHandler(BaseGraphQLTransportWSHandler[GraphQLContext, None]):
    """graphql-transport-ws, with the ``handshake`` mode's gate in front of the first
    ``connection_init``; everything after it is the library's protocol unchanged."""

    async def handle_message(self, message: Message) -> None:
        socket = self.view
        if (
            isinstance(socket, GraphQLSocket)
            and socket.awaiting_handshake
            and not await self.handshake(socket, message)
        ):
            return
        await super().handle_message(message)

    async def handshake(self, socket: GraphQLSocket, message: Any) -> bool:
        """``True`` when ``message`` authenticated the connection and goes on to the library."""
        if not isinstance(message, dict) or message.get("type") != "connection_init":
            await self.websocket.close(*FORBIDDEN)
            return False
        payload = message.get("payload")
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str):
            await self.websocket.close(*FORBIDDEN)
            return False
        if not await socket.authenticate(token):
            await self.websocket.send_json(AUTH_FAILED_FRAME)
            return False
        return True


class GraphQLSocket(GraphQLWSConsumer[GraphQLContext, None]):
    """One ``/graphql`` connection (see the module docstring for the contract)."""

    graphql_transport_ws_handler_class = HandshakeTransportHandler

    def __init__(self) -> None:
        super().__init__(
            schema=get_schema(),
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=INIT_TIMEOUT,
            # Origins are checked for every socket by the router (ALLOWED_HOSTS).
            allowed_origins=("*",),
        )
        self.config: Socket = settings.DIRECTUS.websockets.graphql
        self.identity: SocketIdentity | None = None
        self.counted = False
        self.timers = Timers()

    # ------------------------------------------------------------ upgrade

    async def connect(self) -> None:
        if not await acquire_connection(self.config.path, self.config.conn_limit):
            await deny_upgrade(self.scope, self.base_send, 403)
            return
        self.counted = self.config.conn_limit is not None
        token = upgrade_token(self.scope)
        if token is None and self.config.auth == "strict":
            await self.deny(401)
            return
        if token is not None and not await self.authenticate(token):
            await self.deny(401)
            return
        if self.identity is None and self.config.auth == "public":
            self.identity = await database_sync_to_async(public_identity)(self.scope)
        if self.awaiting_handshake:
            self.timers.start("auth", self.config.auth_timeout_s, self.forbid)
        await super().connect()

    async def deny(self, status: int) -> None:
        await self.release()
        await deny_upgrade(self.scope, self.base_send, status)

    # ------------------------------------------------------------ identity

    @property
    def awaiting_handshake(self) -> bool:
        return self.config.auth == "handshake" and self.identity is None

    async def authenticate(self, token: str) -> bool:
        """Adopt the identity ``token`` proves (sockets need a user); ``False`` if none."""
        try:
            identity = await database_sync_to_async(identity_from_token)(token, self.scope)
        except DirectusError:
            return False
        self.identity = identity
        self.timers.cancel("auth")
        if identity.expires_at is not None:
            self.timers.start("expiry", _seconds_until(identity.expires_at), self.forbid)
        return True

    async def caller(self) -> Accountability:
        """The accountability for this moment: the token re-checked, public if it died."""
        return await database_sync_to_async(self._current)()

    def _current(self) -> Accountability:
        if self.identity is None:
            return public_identity(self.scope).accountability
        return revalidate(self.identity, self.scope).accountability

    async def get_context(self, request: Any, response: Any) -> GraphQLContext:
        return GraphQLContext(caller=self.caller, consumer=self)

    # ------------------------------------------------------------ timers and teardown

    async def forbid(self) -> None:
        """What the auth and expiry timers do when they fire."""
        await self.close(*FORBIDDEN)

    async def release(self) -> None:
        if self.counted:
            self.counted = False
            await release_connection(self.config.path)

    async def disconnect(self, code: int) -> None:
        self.timers.cancel_all()
        await self.release()
        if self.run_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await super().disconnect(code)


def _seconds_until(moment: datetime) -> float:
    return (moment - datetime.now(UTC)).total_seconds()
