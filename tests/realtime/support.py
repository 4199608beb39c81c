"""Helpers for the realtime end-to-end tests: servers with WebSockets on, a synchronous
WebSocket client, sign-in and data set-up through the server's own ``manage.py shell``."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.support.server import Server, base_env, manage

ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}
READER = {"email": "reader@example.com", "password": "reader-password-1"}

SETUP = """
from accounts.models import Access, Permission, Policy, Role, User, ProjectSettings
from items.models import Article
role = Role.objects.create(name="Readers")
policy = Policy.objects.create(name="Readers policy", app_access=False)
Access.objects.create(role=role, policy=policy)
Permission.objects.create(policy=policy, collection="articles", action="read",
    fields="id,title", permissions={"status": {"_eq": "published"}})
User.objects.create_user("reader@example.com", "reader-password-1", role=role)
Article.objects.create(title="Visible", status="published")
Article.objects.create(title="Hidden", status="draft")
s = ProjectSettings.objects.first() or ProjectSettings()
s.auth_login_attempts = 2
s.save()
"""


def realtime_env(tmp: Path, **overrides: str) -> dict[str, str]:
    defaults = {
        "WEBSOCKETS_ENABLED": "true",
        "WEBSOCKETS_REST_AUTH_TIMEOUT": "1",
        "WEBSOCKETS_HEARTBEAT_ENABLED": "false",
        "LOGIN_STALL_TIME": "0",
        "RATE_LIMITER_LOGIN_ENABLED": "false",
    }
    return base_env(tmp, **{**defaults, **overrides})


def start(env: dict[str, str], *, bootstrap: bool = True) -> Server:
    """Bootstrap, add the Readers role and two articles, serve."""
    if bootstrap:
        assert manage(env, "bootstrap").returncode == 0
        shell(env, SETUP)
    return Server(env).start(bootstrap=False)


def shell(env: dict[str, str], code: str) -> str:
    result = manage(env, "shell", "-c", textwrap.dedent(code))
    assert result.returncode == 0, result.stderr
    return result.stdout


def ws_url(server: Server, path: str = "/websocket", query: str = "") -> str:
    return server.url.replace("http://", "ws://") + path + (f"?{query}" if query else "")


@contextmanager
def socket(server: Server, path: str = "/websocket", **kwargs: Any) -> Iterator[Client]:
    query = kwargs.pop("query", "")
    with connect(ws_url(server, path, query), open_timeout=5, **kwargs) as conn:
        yield Client(conn)


class Client:
    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn

    def send(self, message: Any) -> None:
        self.conn.send(message if isinstance(message, str) else json.dumps(message))

    def recv(self, timeout: float = 5, pings: bool = False) -> dict[str, Any]:
        """The next frame; server heartbeat pings are skipped unless ``pings``."""
        while True:
            frame: dict[str, Any] = json.loads(self.conn.recv(timeout=timeout))
            if pings or frame != {"type": "ping"}:
                return frame

    def ask(self, message: Any, timeout: float = 5) -> dict[str, Any]:
        self.send(message)
        return self.recv(timeout)

    def silent(self, timeout: float = 0.5) -> bool:
        """Nothing arrives within ``timeout``."""
        try:
            self.conn.recv(timeout=timeout)
        except TimeoutError:
            return True
        return False

    def closed_code(self, timeout: float = 5) -> int | None:
        """Read until the server closes; the close code the client saw."""
        try:
            while True:
                self.conn.recv(timeout=timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    def auth(self, **credentials: Any) -> dict[str, Any]:
        return self.ask({"type": "auth", **credentials})


def login(server: Server, who: dict[str, str] = ADMIN) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/auth/login", json=who)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def rest(server: Server, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.request(method, f"{server.url}{path}", headers=headers, **kwargs)


def auth_error(code: str, message: str, uid: Any = None) -> dict[str, Any]:
    frame: dict[str, Any] = {
        "type": "auth",
        "status": "error",
        "error": {"code": code, "message": message},
    }
    if uid is not None:
        frame["uid"] = uid
    return frame


HANDSHAKE_FAILED = auth_error("AUTH_FAILED", "Authentication handshake failed.")
