"""The auth state of one socket connection, shared by every socket (contract websockets.md §3,
§5, §10).

:class:`SocketSession` is the one place that knows the auth modes: the connection limit, the
upgrade-time token (§3.2: HTTP 401/403 before the upgrade), ``public`` / ``handshake`` /
``strict`` (§3.3), the handshake timer, authentication and re-authentication (§3.1), the expiry
timer (§3.4) and the revalidation before every message and event. The REST-style and logs
sockets (:class:`realtime.base.SocketConsumer`) and the GraphQL socket
(:class:`realtime.graphql.consumer.GraphQLSocket`) each hold one and delegate to it; what they
differ in is data (:class:`AuthPolicy`) and two transport hooks (:class:`SessionHooks`: send a
frame, close after an auth failure, each with the socket's own frame format and close code).

Identity is never ``null`` (§5): before the handshake, after a failed re-auth in public mode and
while waiting for re-auth after expiry the connection acts as the **public** accountability.
A credential that died (revoked sign-in or key, suspended user) is treated like an expired token
under the socket's :class:`OnExpiry` rule.
"""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from channels.db import database_sync_to_async

from core.config import Socket
from core.errors import DirectusError
from realtime import frames
from realtime.credentials import AuthRequest, authenticate, parse_auth
from realtime.hub import EventMemo
from realtime.identity import (
    SocketIdentity,
    identity_from_token,
    public_identity,
    revalidate,
    scope_client,
    upgrade_token,
)
from realtime.limits import acquire_connection, release_connection
from realtime.offload import on_loop_token, settle
from realtime.timers import Timers

logger = logging.getLogger("realtime")


class SessionHooks(Protocol):
    """What the session needs from its transport."""

    @property
    def closed(self) -> bool: ...

    async def send_frame(self, frame: frames.Frame) -> None:
        """Send ``frame`` to the client (nothing once closed)."""

    async def end(self) -> None:
        """Close after an auth failure: REST and logs without a status (§12), GraphQL 4403."""


class OnExpiry(enum.Enum):
    """What the expiry timer and a dead credential do."""

    FALL_BACK_TO_PUBLIC = "public"
    """§3.4 (REST, logs): ``TOKEN_EXPIRED``, act as public, wait ``auth_timeout_s`` for an
    ``auth`` frame, then ``AUTH_TIMEOUT`` and close unless the mode is ``public``."""
    CLOSE = "close"
    """§10 (GraphQL): the timer closes the socket (4403); a dead credential found by
    revalidation acts as public for that operation or event."""


def _anyone(identity: SocketIdentity) -> bool:
    return True


@dataclass(frozen=True)
class AuthPolicy:
    """The auth rules a socket chooses (the rest is the mode of its :class:`Socket`)."""

    accepts: Callable[[SocketIdentity], bool] = _anyone
    """Whether an identity may use the socket at all (logs: admins only)."""
    unauthorized_message: str = frames.AUTH_FAILED
    """The ``AUTH_FAILED`` message for an identity :attr:`accepts` refuses."""
    auth_timeout_s: float | None = None
    """Handshake and re-auth wait; ``None``: the socket's ``*_AUTH_TIMEOUT``."""
    on_expiry: OnExpiry = OnExpiry.FALL_BACK_TO_PUBLIC
    says_handshake_failed: bool = True
    """Whether a failed or timed-out handshake sends ``AUTH_FAILED`` before closing (§3.3;
    GraphQL just closes, §10)."""


class SocketSession:
    """The auth state machine of one connection (module docstring). ``identity`` is set by
    :meth:`upgrade`; ``authenticated`` is ``False`` only while a handshake is pending."""

    def __init__(
        self,
        config: Socket,
        scope: dict[str, Any],
        hooks: SessionHooks,
        timers: Timers,
        policy: AuthPolicy | None = None,
    ) -> None:
        self.config, self.scope, self.hooks, self.timers = config, scope, hooks, timers
        self.policy = policy or AuthPolicy()
        self.identity: SocketIdentity | None = None
        self.authenticated = False
        self.counted = False

    @property
    def mode(self) -> str:
        return self.config.auth

    @property
    def auth_timeout_s(self) -> float:
        timeout = self.policy.auth_timeout_s
        return float(self.config.auth_timeout_s if timeout is None else timeout)

    @property
    def awaiting_handshake(self) -> bool:
        return not self.authenticated

    @functools.cached_property
    def ip(self) -> str | None:
        return scope_client(self.scope).ip

    # ------------------------------------------------------------ upgrade (§1, §3.2)

    async def upgrade(self) -> int | None:
        """Count the connection and settle the upgrade identity; the HTTP status to refuse
        the upgrade with (403 over the connection limit, 401 for a missing or bad token),
        with nothing left counted, or ``None`` to accept."""
        if not await acquire_connection(self.config.path, self.config.conn_limit):
            return 403
        self.counted = self.config.conn_limit is not None
        identity = await self._upgrade_identity()
        if identity is None:
            await self.release()
            return 401
        self.identity = identity
        return None

    async def _upgrade_identity(self) -> SocketIdentity | None:
        """A token on the upgrade (or strict mode) must resolve to an accepted user. The
        session cookie of an upgrade from a foreign ``Origin`` never gets here: the router
        removed it (:mod:`realtime.origin`)."""
        token = upgrade_token(self.scope)
        if token is None and self.mode != "strict":
            self.authenticated = self.mode == "public"
            return await self.public()
        if token is None:
            return None
        try:
            identity = await self._offload(token, identity_from_token, token, self.scope)
        except DirectusError:
            return None
        self.authenticated = self.policy.accepts(identity)
        return identity if self.authenticated else None

    def start(self) -> None:
        """After the accept: the expiry timer, or the handshake timer (§3.3)."""
        if self.authenticated:
            self.arm_expiry()
        else:
            self.timers.start("handshake", self.auth_timeout_s, self.fail_handshake)

    async def release(self) -> None:
        """Give the connection back to the limit (once)."""
        if self.counted:
            self.counted = False
            await release_connection(self.config.path)

    # ------------------------------------------------------------ authentication (§3.1)

    async def authenticate(self, request: AuthRequest) -> tuple[SocketIdentity | None, str]:
        """The identity ``request`` proves and the socket accepts, or ``None`` and the failure
        message. Nothing changes on the connection."""
        try:
            token = request.secret if request.kind == "access_token" else ""
            identity = await self._offload(token, authenticate, request, self.scope)
        except DirectusError:
            return None, frames.AUTH_FAILED
        except Exception:
            logger.exception("Socket authentication failed unexpectedly")
            return None, frames.AUTH_FAILED
        if not self.policy.accepts(identity):
            return None, self.policy.unauthorized_message
        return identity, ""

    async def complete_handshake(self, request: AuthRequest) -> SocketIdentity | None:
        """Authenticate the pending handshake; ``None`` (and no change) when it fails."""
        identity, _failure = await self.authenticate(request)
        if identity is not None:
            self.timers.cancel("handshake")
            self.adopt(identity)
        return identity

    async def handshake(self, parsed: Any) -> None:
        """§3.3 handshake mode on the REST-style sockets: the first frame must be a valid
        ``auth`` message; anything else fails the handshake."""
        request = parse_auth(parsed) if _is_auth(parsed) else None
        identity = None if request is None else await self.complete_handshake(request)
        if request is None or identity is None:
            await self.fail_handshake()
            return
        await self.hooks.send_frame(_auth_ok(frames.uid_of(parsed), request, identity))

    async def fail_handshake(self) -> None:
        """The handshake failed or timed out: the socket's failure frame, then close."""
        if self.hooks.closed or self.authenticated:
            return
        if self.policy.says_handshake_failed:
            failed = frames.error_frame("auth", "AUTH_FAILED", frames.AUTH_HANDSHAKE_FAILED)
            await self.hooks.send_frame(failed)
        await self.hooks.end()

    async def reauthenticate(self, parsed: dict[str, Any]) -> None:
        """§3.1 on an open connection: malformed frames are ignored; a failure answers with the
        uid and closes, except in public mode (which then acts as the public, §5)."""
        request = parse_auth(parsed)
        if request is None:
            return
        uid = frames.uid_of(parsed)
        identity, failure = await self.authenticate(request)
        if identity is None:
            self.timers.cancel("expiry")
            self.identity = await self.public()
            await self.hooks.send_frame(frames.error_frame("auth", "AUTH_FAILED", failure, uid))
            if self.mode != "public":
                await self.hooks.end()
            return
        self.timers.cancel("reauth")
        self.adopt(identity)
        await self.hooks.send_frame(_auth_ok(uid, request, identity))

    def adopt(self, identity: SocketIdentity) -> None:
        self.identity, self.authenticated = identity, True
        self.arm_expiry()

    # ------------------------------------------------------------ revalidation

    async def public(self, memo: EventMemo | None = None) -> SocketIdentity:
        if memo is None:
            return await settle(public_identity, self.scope)
        return await memo.get(("public", self.ip), lambda: settle(public_identity, self.scope))

    async def refresh(self, memo: EventMemo | None = None) -> SocketIdentity:
        """The identity to act as now, revalidated (before every message and event), so a
        revoked credential or a changed permission applies at once. ``memo`` shares the work
        between connections presenting the same token."""
        current = self.identity
        if current is None or current.token is None:
            if self.policy.on_expiry is OnExpiry.CLOSE and current is not None:
                return current
            self.identity = await self.public(memo)
            return self.identity
        fresh = await self._revalidate(current, memo)
        if self.policy.on_expiry is OnExpiry.CLOSE:
            return fresh  # a dead credential acts as public; the expiry timer closes
        if self.identity is current:
            if fresh.is_public:
                await self.expire()
            else:
                self.identity = fresh
        assert self.identity is not None
        return self.identity

    async def _revalidate(self, current: SocketIdentity, memo: EventMemo | None) -> SocketIdentity:
        if memo is None:
            return await self._offload(current.token, revalidate, current, self.scope)
        key = ("identity", current.token, self.ip)
        return await memo.get(
            key, lambda: self._offload(current.token, revalidate, current, self.scope)
        )

    @staticmethod
    async def _offload(
        token: str | None, fn: Callable[..., SocketIdentity], *args: Any
    ) -> SocketIdentity:
        """``fn(*args)``, which resolves ``token``: tried on the event loop for our own JWTs
        (:mod:`realtime.offload`), on a worker thread for every other credential."""
        if on_loop_token(token):
            return await settle(fn, *args)
        return await database_sync_to_async(fn)(*args)

    # ------------------------------------------------------------ expiry (§3.4, §10)

    def arm_expiry(self) -> None:
        self.timers.cancel("expiry")
        expires_at = self.identity.expires_at if self.identity else None
        if expires_at is not None:
            delay = (expires_at - datetime.now(UTC)).total_seconds()
            self.timers.start("expiry", delay, self.expire)

    async def expire(self) -> None:
        """The token expired (or died): close, or drop to the public identity, say
        ``TOKEN_EXPIRED`` and wait for an ``auth`` frame (:class:`OnExpiry`)."""
        if self.hooks.closed or self.identity is None or self.identity.token is None:
            return
        self.timers.cancel("expiry")
        if self.policy.on_expiry is OnExpiry.CLOSE:
            await self.hooks.end()
            return
        self.identity = await self.public()
        await self.hooks.send_frame(frames.error_frame("auth", "TOKEN_EXPIRED", "Token expired."))
        self.timers.start("reauth", self.auth_timeout_s, self.reauth_timeout)

    async def reauth_timeout(self) -> None:
        timed_out = frames.error_frame("auth", "AUTH_TIMEOUT", "Authentication timed out.")
        await self.hooks.send_frame(timed_out)
        if self.mode != "public":
            await self.hooks.end()


def _is_auth(parsed: Any) -> bool:
    return isinstance(parsed, dict) and parsed.get("type") == "auth"


def _auth_ok(uid: Any, request: AuthRequest, identity: SocketIdentity) -> frames.Frame:
    frame = frames.with_uid({"type": "auth", "status": "ok"}, uid)
    if request.returns_refresh_token and identity.refresh_token:
        frame["refresh_token"] = identity.refresh_token
    return frame
