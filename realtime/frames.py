"""Server frames of the sockets (contract websockets.md §2): JSON text, errors as
``{"type": <context>, "status": "error", "error": {"code", "message"}, "uid"?}``.

Deliberate deviation (allowed by §2): every error frame answering a client message echoes that
message's ``uid`` when it had one; Directus drops it for service errors. Clients match by uid, so
this is a superset."""

from __future__ import annotations

import json
from typing import Any

from core.errors import DirectusError

Frame = dict[str, Any]

AUTH_HANDSHAKE_FAILED = "Authentication handshake failed."
AUTH_FAILED = "Authentication failed."
UNPARSEABLE = "Unable to parse the incoming message."
INVALID_COLLECTION = "The provided collection does not exists or is not accessible."


class SocketError(Exception):
    """An error answered as a frame of type ``context`` (a WebSocket error in Directus)."""

    def __init__(self, context: str, code: str, message: str, uid: Any = None) -> None:
        super().__init__(message)
        self.context, self.code, self.message, self.uid = context, code, message, uid

    def frame(self) -> Frame:
        return error_frame(self.context, self.code, self.message, self.uid)


NOT_JSON = object()


def parse(text: str) -> Any:
    """The JSON value of a client's text frame, or :data:`NOT_JSON`."""
    try:
        return json.loads(text)
    except ValueError:
        return NOT_JSON


def with_uid(frame: Frame, uid: Any) -> Frame:
    """``frame`` plus ``uid`` when the client sent one (the echo is as sent, §2)."""
    if uid is not None:
        frame["uid"] = uid
    return frame


def error_frame(context: str, code: str, message: str, uid: Any = None) -> Frame:
    frame: Frame = {"type": context, "status": "error", "error": {"code": code, "message": message}}
    return with_uid(frame, uid)


def from_directus(context: str, error: DirectusError, uid: Any = None) -> Frame:
    """A service error (FORBIDDEN, INVALID_QUERY, …) as a frame of ``context``."""
    return error_frame(context, error.code, error.message, uid)


def internal_error(context: str, uid: Any = None) -> Frame:
    return error_frame(context, "INTERNAL_SERVER_ERROR", "An unexpected error occurred.", uid)


def dumps(frame: Frame) -> str:
    """Compact JSON like ``JSON.stringify``; ids, dates and decimals become strings."""
    return json.dumps(frame, default=str, separators=(",", ":"), ensure_ascii=False)


def uid_of(message: Any) -> Any:
    """The client uid (string or number) of a parsed message, else ``None``."""
    if not isinstance(message, dict):
        return None
    uid = message.get("uid")
    return uid if isinstance(uid, str | int | float) and not isinstance(uid, bool) else None
