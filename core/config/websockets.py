"""The ``websockets`` section: the REST-style, GraphQL and logs sockets (``WEBSOCKETS_*``;
contract websockets.md §2).

Each socket has ``WEBSOCKETS_<KIND>_ENABLED``, ``_PATH``, ``_AUTH`` (the logs socket is always
``strict``), ``_AUTH_TIMEOUT`` and ``_CONN_LIMIT`` (``Infinity`` or ``-1``: no limit). Two enabled
sockets cannot share a path.

``WEBSOCKETS_ALLOWED_ORIGINS`` (CSV of ``scheme://host[:port]``, default empty) adds origins whose
browser pages may open a socket with the session cookie as credential, besides ``PUBLIC_URL``'s
origin, the upgrade's own host and the CORS origins (:mod:`realtime.origin`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from core.config.env import EnvReader
from core.config.server import LOG_LEVELS, LOG_STYLES

AUTH_MODES = ("public", "handshake", "strict")


@dataclass(frozen=True)
class Socket:
    """One WebSocket endpoint (``WEBSOCKETS_<KIND>_*``)."""

    enabled: bool
    path: str
    auth: str
    auth_timeout_s: int
    conn_limit: int | None


@dataclass(frozen=True)
class WebSockets:
    enabled: bool
    rest: Socket
    graphql: Socket
    logs: Socket
    logs_level: str
    logs_style: str
    heartbeat_enabled: bool
    heartbeat_period_s: int
    allowed_origins: tuple[str, ...] = ()
    """``WEBSOCKETS_ALLOWED_ORIGINS``, each as :func:`origin_of` writes it."""


def origin_of(url: str) -> str | None:
    """The origin ``scheme://host[:port]`` of an http(s) URL, lower-cased, without the
    scheme's default port; ``None`` for anything else (``null``, paths, other schemes)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def load_websockets(env: EnvReader) -> WebSockets:
    sockets = WebSockets(
        enabled=env.boolean("WEBSOCKETS_ENABLED", False),
        rest=_socket(env, "REST", "/websocket"),
        graphql=_socket(env, "GRAPHQL", "/graphql"),
        logs=_socket(env, "LOGS", "/websocket/logs", auth="strict"),
        logs_level=env.choice("WEBSOCKETS_LOGS_LEVEL", "info", LOG_LEVELS),
        logs_style=env.choice("WEBSOCKETS_LOGS_STYLE", "pretty", LOG_STYLES),
        heartbeat_enabled=env.boolean("WEBSOCKETS_HEARTBEAT_ENABLED", True),
        heartbeat_period_s=env.integer("WEBSOCKETS_HEARTBEAT_PERIOD", 30, minimum=1),
        allowed_origins=_allowed_origins(env),
    )
    paths = [s.path for s in (sockets.rest, sockets.graphql, sockets.logs) if s.enabled]
    if len(set(paths)) != len(paths):
        env.errors.append("WEBSOCKETS_*_PATH: two enabled sockets share one path.")
    return sockets


def _socket(env: EnvReader, kind: str, path: str, auth: str = "handshake") -> Socket:
    prefix = f"WEBSOCKETS_{kind}"
    socket_path = env.string(f"{prefix}_PATH", path)
    if not socket_path.startswith("/"):
        env.errors.append(f"{prefix}_PATH: must start with /; got {socket_path!r}.")
        socket_path = path
    return Socket(
        enabled=env.boolean(f"{prefix}_ENABLED", True),
        path=socket_path,
        auth=env.choice(f"{prefix}_AUTH", auth, AUTH_MODES) if kind != "LOGS" else "strict",
        auth_timeout_s=env.integer(f"{prefix}_AUTH_TIMEOUT", 10, minimum=1),
        conn_limit=_conn_limit(env, f"{prefix}_CONN_LIMIT"),
    )


def _allowed_origins(env: EnvReader) -> tuple[str, ...]:
    origins = []
    for entry in env.csv("WEBSOCKETS_ALLOWED_ORIGINS"):
        origin = origin_of(entry)
        parts = urlsplit(entry.strip())
        if origin is None or parts.path.strip("/") or parts.query or parts.fragment:
            env.errors.append(
                f"WEBSOCKETS_ALLOWED_ORIGINS: {entry!r} is not an origin (scheme://host[:port])."
            )
        else:
            origins.append(origin)
    return tuple(origins)


def _conn_limit(env: EnvReader, name: str) -> int | None:
    limit = env.optional(name)
    if limit is None or limit.lower() in {"infinity", "-1"}:
        return None
    return env.integer(name, 0, minimum=1) or None
