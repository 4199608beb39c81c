"""The ``/graphql`` and ``/graphql/system`` WebSockets: strawberry's Channels consumer,
``graphql-transport-ws`` only, with Directus's auth modes (contract websockets.md §10,
observed.md "GraphQL"):

* any other subprotocol, or none → accepted, then closed ``4406 Subprotocol not acceptable``;
* more than ``WEBSOCKETS_GRAPHQL_CONN_LIMIT`` connections → HTTP 403 at the upgrade;
* ``?access_token=`` or the session cookie at the upgrade authenticates in every mode (a bad one
  → HTTP 401); ``strict`` without one → HTTP 401 (a cookie counts only without ``Origin`` or
  from an allowed one: :mod:`realtime.origin`);
* ``public``: the ``connection_init`` payload is ignored, public permissions otherwise;
* ``handshake``: the first frame must be ``connection_init`` with ``payload.access_token``;
  no token or another frame → close ``4403 Forbidden`` at once; a bad token → the Directus
  frame ``{"type":"auth","status":"error","error":{"code":"AUTH_FAILED",…}}`` and no ack, so
  the init timeout (3 s, ``4408``) ends the connection; and a ``4403`` timer at
  ``WEBSOCKETS_GRAPHQL_AUTH_TIMEOUT`` while unauthenticated;
* the token's ``exp`` arms a timer that closes the socket with ``4403 Forbidden`` (Directus
  documents this but does not do it; we do);
* every operation and every subscription event revalidates the token first, so revoked
  credentials and changed permissions apply at once (a dead credential acts as public);
* frames no handler can take (:func:`realtime.frames.parse`: JSON nested deeper than
  ``MAX_JSON_DEPTH``, NUL, lone surrogates, integers of thousands of digits) never reach the
  library: a ``subscribe`` gets the protocol's ``error`` message for its id
  (``extensions.code`` ``INVALID_PAYLOAD``) and the connection goes on; any other such message,
  or one too deep to parse at all (its id cannot be read), is an invalid message of the
  protocol: close ``4400``, as graphql-ws closes for a frame that is not JSON.

Those rules are the shared :class:`realtime.session.SocketSession` (the REST-style and logs
sockets hold one too) with the GraphQL policy: no handshake-failure frame, the expiry timer
closes (:attr:`OnExpiry.CLOSE`), and the session's failure close is ``4403 Forbidden``. What
stays here is graphql-transport-ws: the ``connection_init`` gate in front of the library.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from graphql import GraphQLError
from strawberry.channels import GraphQLWSConsumer
from strawberry.schema import Schema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ErrorMessage, Message

from accounts.accountability import Accountability
from realtime import frames
from realtime.credentials import AuthRequest
from realtime.http_denial import deny_upgrade
from realtime.session import AuthPolicy, OnExpiry, SocketSession
from realtime.timers import Timers
from tokens.sessions import SessionContext

from .context import GraphQLContext
from .schema import get_schema
from .system import get_system_schema

INIT_TIMEOUT = timedelta(seconds=3)
"""graphql-ws's default ``connectionInitWaitTimeout`` (close 4408), as Directus runs it."""
FORBIDDEN = (4403, "Forbidden")
POLICY = AuthPolicy(on_expiry=OnExpiry.CLOSE, says_handshake_failed=False)


class HandshakeTransportHandler(BaseGraphQLTransportWSHandler[GraphQLContext, None]):
    """graphql-transport-ws, with the ``handshake`` mode's gate in front of the first
    ``connection_init``; everything after it is the library's protocol unchanged."""

    async def handle_message(self, message: Message) -> None:
        socket = self.view
        if (
            isinstance(socket, GraphQLSocket)
            and socket.session.awaiting_handshake
            and not await self.handshake(socket, message)
        ):
            return
        if isinstance(message, frames.Refused):
            await self.refuse(message)
            return
        await super().handle_message(message)

    async def refuse(self, refused: frames.Refused) -> None:
        """A refused frame (module docstring): an ``error`` for a new ``subscribe`` id, else
        close 4400."""
        value = refused.value if isinstance(refused.value, dict) else {}
        operation_id = value.get("id")
        if (
            value.get("type") == "subscribe"
            and isinstance(operation_id, str)
            and self.connection_acknowledged
            and operation_id not in self.operations
        ):
            error = GraphQLError(refused.message, extensions={"code": "INVALID_PAYLOAD"})
            await self.send_message(
                ErrorMessage(id=operation_id, type="error", payload=[error.formatted])
            )
            return
        await self.websocket.close(code=4400, reason=refused.message)

    async def handshake(self, socket: GraphQLSocket, message: Any) -> bool:
        """``True`` when ``message`` authenticated the connection and goes on to the library."""
        if not isinstance(message, dict) or message.get("type") != "connection_init":
            await socket.end()
            return False
        payload = message.get("payload")
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str):
            await socket.end()
            return False
        if not await socket.authenticate(token):
            await socket.send_frame(frames.error_frame("auth", "AUTH_FAILED", frames.AUTH_FAILED))
            return False
        return True


class GraphQLSocket(GraphQLWSConsumer[GraphQLContext, None]):
    """One ``/graphql`` connection (see the module docstring for the contract)."""

    graphql_transport_ws_handler_class = HandshakeTransportHandler

    def __init__(self) -> None:
        super().__init__(
            schema=self.served_schema(),
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=INIT_TIMEOUT,
            # Origins are judged for every socket by the router (realtime.origin.OriginGuard).
            allowed_origins=("*",),
        )
        self.timers = Timers()
        self.closed = False

    def served_schema(self) -> Schema:
        return get_schema()

    @functools.cached_property
    def session(self) -> SocketSession:
        """The connection's auth state (built on first use: ``scope`` comes with the call)."""
        config = settings.DIRECTUS.websockets.graphql
        return SocketSession(config, self.scope, self, self.timers, POLICY)

    # ------------------------------------------------------------ upgrade

    async def connect(self) -> None:
        status = await self.session.upgrade()
        if status is not None:
            await deny_upgrade(self.scope, self.base_send, status)
            return
        self.session.start()
        await super().connect()

    # ------------------------------------------------------------ identity

    async def authenticate(self, token: str) -> bool:
        """Complete the handshake with ``token`` (sockets need a user); ``False`` if none."""
        request = AuthRequest("access_token", token)
        return await self.session.complete_handshake(request) is not None

    async def caller(self) -> Accountability:
        """The accountability for this moment: the token re-checked, public if it died."""
        return (await self.session.refresh()).accountability

    async def get_context(self, request: Any, response: Any) -> GraphQLContext:
        client = SessionContext.of_scope(self.scope)
        return GraphQLContext(caller=self.caller, consumer=self, client=client)

    def decode_json(self, data: str | bytes) -> object:
        """A frame as :func:`realtime.frames.parse` reads it (a :class:`frames.Refused` goes
        to :meth:`HandshakeTransportHandler.refuse`); not JSON → the library's 4400."""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        parsed = frames.parse(text)
        if parsed is frames.NOT_JSON:
            raise json.JSONDecodeError("Invalid JSON", text, 0)
        return parsed

    # ------------------------------------------------------------ session hooks

    async def send_frame(self, frame: frames.Frame) -> None:
        if not self.closed:  # JSON as the library writes its own messages
            await self.send(self.encode_json(frame))

    async def end(self) -> None:
        """Close ``4403 Forbidden``: the handshake or expiry timer fired, or a bad first frame."""
        await self.close(*FORBIDDEN)

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        self.closed = True
        await super().close(code, reason)

    # ------------------------------------------------------------ teardown

    async def disconnect(self, code: int) -> None:
        self.closed = True
        self.timers.cancel_all()
        await self.session.release()
        if self.run_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await super().disconnect(code)


class SystemGraphQLSocket(GraphQLSocket):
    """One ``/graphql/system`` connection: the same transport and auth modes (and the same
    ``WEBSOCKETS_GRAPHQL_*`` settings and connection limit) over the system schema. The auth
    mutations work in ``json`` mode only (a socket cannot set cookies), and none of them
    changes the connection's identity."""

    def served_schema(self) -> Schema:
        return get_system_schema()
