"""Log formatting: JSON lines (``LOG_STYLE=raw``) or readable lines (``pretty``), with ids.

No token, key or secret reaches a log line: :func:`record_fields` (what both formatters and the
logs socket print) passes the message, the exception and every ``extra`` field through
:func:`scrub_secrets`, which masks ``access_token=``/``refresh_token=`` values, Bearer
credentials, JWTs and ``dak_`` keys wherever they stand (a request path's query string in
Django's request logger, an exception message, an ``extra`` field)."""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}


MASK = "[redacted]"
_SECRETS = re.compile(
    r"(?P<param>(?:access_token|refresh_token|token|password|secret)=)[^&\s'\"<>]+"
    r"|(?P<bearer>\bBearer\s+)[^\s'\"<>]+"
    r"|\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*"
    r"|\bdak_[\w-]+",
    re.IGNORECASE,
)


def scrub_secrets(text: str) -> str:
    """``text`` with every token-looking value replaced by :data:`MASK`."""
    return _SECRETS.sub(lambda m: (m.group("param") or m.group("bearer") or "") + MASK, text)


def scrubbed(value: object) -> object:
    """``value`` with its text scrubbed, keeping JSON structure (dicts, lists, numbers)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrubbed(item) for item in value]
    return scrub_secrets(str(value))


class RequestContextFilter(logging.Filter):
    """Stamps each record with the id of the request being served, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def record_fields(record: logging.LogRecord) -> dict[str, object]:
    """The structured content of a record: level, time, logger, message and ``extra`` fields."""
    fields: dict[str, object] = {
        "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": scrub_secrets(record.getMessage()),
    }
    if getattr(record, "request_id", None):
        fields["request_id"] = record.request_id  # type: ignore[attr-defined]
    for key, value in vars(record).items():
        if key not in _STANDARD_ATTRS and not key.startswith("_"):
            fields[key] = scrubbed(value)
    if record.exc_info:
        fields["exc"] = scrub_secrets(logging.Formatter().formatException(record.exc_info))
    return fields


class RefusedUpgradeFilter(logging.Filter):
    """uvicorn reports every WebSocket upgrade the application refuses on purpose (HTTP 401/403
    before the handshake) as an error; those are answers, not failures."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing handshake" not in record.getMessage()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record_fields(record), default=str)


class PrettyFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = record_fields(record)
        head = f"[{fields.pop('time')}] {str(fields.pop('level')).upper():7} {fields.pop('msg')}"
        fields.pop("logger", None)
        exc = fields.pop("exc", None)
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        return f"{head} {extra}".rstrip() + (f"\n{exc}" if exc else "")
