"""Server frames of the sockets (contract websockets.md §2): JSON text, errors as
``{"type": <context>, "status": "error", "error": {"code", "message"}, "uid"?}``.

Deliberate deviation (allowed by §2): every error frame answering a client message echoes that
message's ``uid`` when it had one; Directus drops it for service errors. Clients match by uid, so
this is a superset."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

import orjson

from core.errors import DirectusError
from core.text import DEPTH_MESSAGE, NUL_MESSAGE, contains_nul, nested_deeper_than

Frame = dict[str, Any]

AUTH_HANDSHAKE_FAILED = "Authentication handshake failed."
AUTH_FAILED = "Authentication failed."
UNPARSEABLE = "Unable to parse the incoming message."
INVALID_COLLECTION = "The provided collection does not exists or is not accessible."
SURROGATE_MESSAGE = "Text can't contain lone UTF-16 surrogates (\\ud800-\\udfff)"
DIGITS_MESSAGE = "Numbers can't have more than {} digits"


class SocketError(Exception):
    """An error answered as a frame of type ``context`` (a WebSocket error in Directus)."""

    def __init__(self, context: str, code: str, message: str, uid: Any = None) -> None:
        super().__init__(message)
        self.context, self.code, self.message, self.uid = context, code, message, uid

    def frame(self) -> Frame:
        return error_frame(self.context, self.code, self.message, self.uid)


NOT_JSON = object()
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""JSON decoding joins escaped surrogate pairs into one character: any surrogate left is lone,
text that cannot be encoded as UTF-8 (sending it back, or storing it, would fail)."""


@dataclass(frozen=True)
class Refused:
    """A frame that is JSON but is refused before any handler sees it (:func:`parse`):
    ``value`` is the parsed frame when parsing got that far (for its ``uid``)."""

    message: str
    value: Any = None


class _TooManyDigits:
    """Stands in for an integer literal Python would refuse to convert (``ValueError`` beyond
    ``sys.get_int_max_str_digits()`` digits), so the frame still parses and keeps its uid."""


def _int(text: str) -> Any:
    limit = sys.get_int_max_str_digits()
    return _TooManyDigits() if limit and len(text.lstrip("-")) > limit else int(text)


def parse(text: str) -> Any:
    """The JSON value of a client's text frame, :data:`NOT_JSON`, or :class:`Refused` for JSON
    nested deeper than ``core.text.MAX_JSON_DEPTH``, text with the NUL character or a lone
    surrogate, and integers with too many digits: input no handler or database can take, each
    refused at the edge as ``INVALID_PAYLOAD`` instead of crashing the connection."""
    try:
        value = json.loads(text, parse_int=_int)
    except RecursionError:
        return Refused(DEPTH_MESSAGE)
    except ValueError:
        return NOT_JSON
    reason = refusal(value)
    return value if reason is None else Refused(reason, value)


def refusal(value: Any) -> str | None:
    """Why a parsed frame (or a part of one) is refused, or ``None``."""
    if nested_deeper_than(value):
        return DEPTH_MESSAGE
    if contains_nul(value):  # safe to recurse now: at most MAX_JSON_DEPTH levels
        return NUL_MESSAGE
    for leaf in _leaves(value):
        if isinstance(leaf, str) and LONE_SURROGATE.search(leaf):
            return SURROGATE_MESSAGE
        if isinstance(leaf, _TooManyDigits):
            return DIGITS_MESSAGE.format(sys.get_int_max_str_digits())
    return None


def _leaves(value: Any) -> Any:
    """Every string (dict keys included) and number of a parsed frame."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            yield item


def refused_frame(refused: Refused) -> Frame:
    """The answer to a refused frame: ``INVALID_PAYLOAD`` of type ``server``, with its uid
    (unless the uid is what was refused: a lone surrogate cannot be sent back)."""
    uid = uid_of(refused.value)
    if isinstance(uid, str) and LONE_SURROGATE.search(uid):
        uid = None
    return error_frame("server", "INVALID_PAYLOAD", refused.message, uid)


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
    """Compact JSON like ``JSON.stringify``; ids, dates and decimals become strings. orjson
    encodes it (every subscriber of an event gets a frame of its own); what orjson refuses (an
    integer beyond 64 bits, a lone surrogate, a non-string key) goes to ``json``, same text."""
    try:
        return orjson.dumps(frame, default=str, option=orjson.OPT_PASSTHROUGH_DATETIME).decode()
    except orjson.JSONEncodeError:
        return json.dumps(frame, default=str, separators=(",", ":"), ensure_ascii=False)


def uid_of(message: Any) -> Any:
    """The client uid (string or number) of a parsed message, else ``None``."""
    if not isinstance(message, dict):
        return None
    uid = message.get("uid")
    return uid if isinstance(uid, str | int | float) and not isinstance(uid, bool) else None
