"""The ``/graphql`` WebSocket against real server processes, driven by the real peers: the npm
``graphql-ws`` client (and ``ws`` for frames outside the protocol) and Python ``websockets``
for raw protocol cases. Contract websockets.md §10, §12 and observed.md "GraphQL"."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.support.server import Server, base_env, manage, postgres_database

pytestmark = pytest.mark.server

JS = Path(__file__).parent / "js"
ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}
READER = {"email": "reader@example.com", "password": "reader-password-1"}
TRANSPORT = Subprotocol("graphql-transport-ws")
SUBSCRIPTION = "subscription { articles_mutated { key event data { id title } } }"
READERS = """
from accounts.models import Access, Permission, Policy, Role, User
role = Role.objects.create(name="Readers")
policy = Policy.objects.create(name="Readers policy")
Access.objects.create(role=role, policy=policy)
Permission.objects.create(policy=policy, collection="articles", action="read",
    fields="id,title", permissions={"status": {"_eq": "published"}})
User.objects.create_user("reader@example.com", "reader-password-1", role=role)
"""


# ---------------------------------------------------------------- peers and servers


@pytest.fixture(scope="session")
def node_peers() -> Path:
    """tests/realtime/js with its node_modules (``npm ci`` when they are missing)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the graphql-ws peer (tests/realtime/js)")
    if not (JS / "node_modules" / "graphql-ws").is_dir():
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"npm ci failed in {JS}:\n{result.stderr}"
    return JS


def socket_env(tmp: Path, **overrides: str) -> dict[str, str]:
    """A server of its own: no Redis unless asked (servers sharing one would see each other's
    events)."""
    settings = {
        "WEBSOCKETS_ENABLED": "true",
        "WEBSOCKETS_REST_ENABLED": "false",
        "WEBSOCKETS_LOGS_ENABLED": "false",
        "LOGIN_STALL_TIME": "0",
    }
    env = base_env(tmp, **{**settings, **overrides})
    if "REDIS" not in overrides:
        env = {k: v for k, v in env.items() if not k.startswith("REDIS")}
    return env


def start_server(env: dict[str, str], *, bootstrap: bool = True) -> Server:
    """Bootstrap, add the Readers role (published articles, ``id,title``), serve."""
    if bootstrap:
        assert manage(env, "bootstrap").returncode == 0
        result = manage(env, "shell", "-c", textwrap.dedent(READERS))
        assert result.returncode == 0, result.stderr
    return Server(env).start(bootstrap=False)


@pytest.fixture(scope="module")
def handshake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The default mode (``handshake``)."""
    env = socket_env(tmp_path_factory.mktemp("graphql-handshake"))
    with postgres_database(env) as prepared:
        server = start_server(prepared)
        yield server
        server.stop()


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``strict`` mode, 3-second access tokens, at most 2 connections."""
    env = socket_env(
        tmp_path_factory.mktemp("graphql-strict"),
        WEBSOCKETS_GRAPHQL_AUTH="strict",
        WEBSOCKETS_GRAPHQL_CONN_LIMIT="2",
        ACCESS_TOKEN_TTL="3s",
    )
    with postgres_database(env) as prepared:
        server = start_server(prepared)
        yield server
        server.stop()


def redis_url(db: int) -> str | None:
    try:
        import redis

        client = redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}", socket_timeout=1)
        client.flushdb()
    except Exception:
        return None
    return f"redis://127.0.0.1:6379/{db}"


# ---------------------------------------------------------------- clients


def login(server: Server, credentials: dict[str, str] = ADMIN) -> str:
    response = httpx.post(f"{server.url}/auth/login", json=credentials)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["access_token"])


def ws_url(server: Server, query: str = "") -> str:
    return server.url.replace("http://", "ws://") + "/graphql" + query


def rest(server: Server, method: str, path: str, token: str, **body: Any) -> Any:
    response = httpx.request(
        method,
        f"{server.url}/items/articles{path}",
        json=body or None,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (200, 204), response.text
    return response.json()["data"] if response.status_code == 200 else None


class NodePeer:
    """A node script printing JSON lines, read on a thread."""

    def __init__(self, peers: Path, script: str, **options: Any) -> None:
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.process = subprocess.Popen(
            ["node", str(peers / script), json.dumps(options)],
            stdout=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def next_event(self, timeout: float = 10) -> dict[str, Any]:
        return self.lines.get(timeout=timeout)

    def until(self, kind: str, timeout: float = 10) -> list[dict[str, Any]]:
        """Events up to and including the first of type ``kind``."""
        events = []
        deadline = time.monotonic() + timeout
        while not events or events[-1]["type"] != kind:
            events.append(self.next_event(max(deadline - time.monotonic(), 0.01)))
        return events

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def subscriber(peers: Path, server: Server, token: str | None, **options: Any) -> NodePeer:
    options.setdefault("query", SUBSCRIPTION)
    if token is not None:
        options["token"] = token
    return NodePeer(peers, "subscribe.mjs", url=options.pop("url", ws_url(server)), **options)


def raw_node(peers: Path, url: str, **options: Any) -> list[dict[str, Any]]:
    """All events of one raw ``ws`` connection (until it closes)."""
    peer = NodePeer(peers, "raw.mjs", url=url, **options)
    try:
        events = []
        while not events or events[-1]["type"] not in {"closed", "http", "timeout"}:
            events.append(peer.next_event(15))
        return events
    finally:
        peer.stop()


def mutations(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["payload"]["data"]["articles_mutated"] for e in events if e["type"] == "next"]


def open_raw(url: str, protocols: list[Subprotocol] | None = None) -> ClientConnection:
    return connect(url, subprotocols=protocols if protocols is not None else [TRANSPORT])


def close_code(socket: ClientConnection, timeout: float = 5) -> tuple[int, str]:
    """Read until the server closes; the close code and reason it sent."""
    with pytest.raises(ConnectionClosed) as closed:
        _drain(socket, timeout)
    received = closed.value.rcvd
    assert received is not None
    return received.code, received.reason


def _drain(socket: ClientConnection, timeout: float) -> None:
    while True:
        socket.recv(timeout=timeout)


# ---------------------------------------------------------------- graphql-ws peer


def test_subscription_receives_rest_writes(node_peers: Path, handshake_server: Server) -> None:
    server = handshake_server
    token = login(server)
    peer = subscriber(node_peers, server, token)
    try:
        assert [e["type"] for e in peer.until("ready")] == ["connected", "ready"]
        key = rest(server, "POST", "", token, title="Hello")["id"]
        rest(server, "PATCH", f"/{key}", token, title="Renamed")
        rest(server, "DELETE", f"/{key}", token)
        events = [peer.next_event() for _ in range(3)]
    finally:
        peer.stop()
    assert mutations(events) == [
        {"key": key, "event": "create", "data": {"id": key, "title": "Hello"}},
        {"key": key, "event": "update", "data": {"id": key, "title": "Renamed"}},
        {"key": key, "event": "delete", "data": None},
    ]


def test_event_filter_and_restricted_subscriber(node_peers: Path, handshake_server: Server) -> None:
    """The reader sees only published articles, only ``id,title``; ``event: create`` only."""
    server = handshake_server
    admin = login(server)
    query = "subscription { articles_mutated(event: create) { key event data { title } } }"
    peer = subscriber(node_peers, server, login(server, READER), query=query)
    try:
        peer.until("ready")
        rest(server, "POST", "", admin, title="Draft")
        published = rest(server, "POST", "", admin, title="Published", status="published")["id"]
        rest(server, "PATCH", f"/{published}", admin, title="Edited")
        sentinel = rest(server, "POST", "", admin, title="Sentinel", status="published")["id"]
        events = [peer.next_event(), peer.next_event()]
    finally:
        peer.stop()
    assert mutations(events) == [
        {"key": published, "event": "create", "data": {"title": "Published"}},
        {"key": sentinel, "event": "create", "data": {"title": "Sentinel"}},
    ]


def test_restricted_subscriber_asking_for_hidden_fields_gets_nothing(
    node_peers: Path, handshake_server: Server
) -> None:
    server = handshake_server
    admin = login(server)
    query = "subscription { articles_mutated { key data { title body } } }"
    peer = subscriber(node_peers, server, login(server, READER), query=query, timeoutMs=3000)
    try:
        peer.until("ready")
        rest(server, "POST", "", admin, title="Published", status="published")
        events = peer.until("timeout", timeout=5)
    finally:
        peer.stop()
    assert [e["type"] for e in events] == ["timeout"]


OWNERS = """
from accounts.models import Access, Permission, Policy, Role, User
role = Role.objects.create(name="Owners")
policy = Policy.objects.create(name="Owners policy")
Access.objects.create(role=role, policy=policy)
Permission.objects.create(policy=policy, collection="articles", action="read",
    fields="id,title", permissions={"author": {"_eq": "$CURRENT_USER"}})
print(User.objects.create_user("owner@example.com", "owner-password-1", role=role).pk)
"""


def test_a_delete_names_only_keys_of_rows_the_subscriber_could_read(
    node_peers: Path, handshake_server: Server
) -> None:
    """A role reading only its own rows gets no ``next`` for another user's deleted row."""
    server = handshake_server
    created = manage(server.env, "shell", "-c", textwrap.dedent(OWNERS))
    assert created.returncode == 0, created.stderr
    owner_id = created.stdout.strip().splitlines()[-1]
    admin = login(server)
    theirs = rest(server, "POST", "", admin, title="Not yours")["id"]
    mine = rest(server, "POST", "", admin, title="Yours", author=owner_id)["id"]
    owner = login(server, {"email": "owner@example.com", "password": "owner-password-1"})
    query = "subscription { articles_mutated(event: delete) { key event data { id } } }"
    peer = subscriber(node_peers, server, owner, query=query)
    try:
        peer.until("ready")
        rest(server, "DELETE", f"/{theirs}", admin)
        rest(server, "DELETE", f"/{mine}", admin)
        events = [peer.next_event()]
    finally:
        peer.stop()
    # Had the first delete been announced, its event would come first.
    assert mutations(events) == [{"key": mine, "event": "delete", "data": None}]


def test_connection_init_without_token_is_closed_4403(
    node_peers: Path, handshake_server: Server
) -> None:
    peer = subscriber(node_peers, handshake_server, None)
    try:
        events = peer.until("closed", timeout=5)
    finally:
        peer.stop()
    assert events[-1] == {"type": "closed", "code": 4403, "reason": "Forbidden"}
    assert "connected" not in [e["type"] for e in events]


def test_bad_token_gets_the_directus_auth_frame_then_init_timeout(
    node_peers: Path, handshake_server: Server
) -> None:
    init = {"type": "connection_init", "payload": {"access_token": "garbage"}}
    started = time.monotonic()
    events = raw_node(node_peers, ws_url(handshake_server), protocols=[TRANSPORT], send=[init])
    assert events[1] == {
        "type": "message",
        "data": {
            "type": "auth",
            "status": "error",
            "error": {"code": "AUTH_FAILED", "message": "Authentication failed."},
        },
    }
    assert events[-1] == {
        "type": "closed",
        "code": 4408,
        "reason": "Connection initialisation timeout",
    }
    assert 2.5 < time.monotonic() - started < 6


def test_without_subprotocol_4406_and_bad_upgrade_token_401(
    node_peers: Path, handshake_server: Server
) -> None:
    events = raw_node(node_peers, ws_url(handshake_server), protocols=[])
    assert events[-1] == {"type": "closed", "code": 4406, "reason": "Subprotocol not acceptable"}
    refused = raw_node(node_peers, ws_url(handshake_server, "?access_token=garbage"))
    assert refused == [{"type": "http", "status": 401}]


def test_strict_mode_token_expiry_and_connection_limit(
    node_peers: Path, strict_server: Server
) -> None:
    server = strict_server
    assert raw_node(node_peers, ws_url(server), protocols=[TRANSPORT]) == [
        {"type": "http", "status": 401}
    ]
    token = login(server)
    issued = time.monotonic()
    peer = subscriber(node_peers, server, None, url=ws_url(server, f"?access_token={token}"))
    try:
        peer.until("ready")
        key = rest(server, "POST", "", token, title="Before expiry")["id"]
        assert mutations([peer.next_event()])[0]["key"] == key
        closed = peer.until("closed", timeout=6)[-1]
    finally:
        peer.stop()
    assert closed == {"type": "closed", "code": 4403, "reason": "Forbidden"}
    assert 2 < time.monotonic() - issued < 4.5
    _connection_limit(server)


def _connection_limit(server: Server) -> None:
    url = ws_url(server, f"?access_token={login(server)}")
    with open_raw(url), open_raw(url):
        with pytest.raises(InvalidStatus) as refused:
            open_raw(url)
        assert refused.value.response.status_code == 403


def test_an_event_crosses_two_processes_through_redis(node_peers: Path, tmp_path: Path) -> None:
    url = redis_url(11)
    if url is None:
        pytest.skip("Redis at 127.0.0.1:6379 is not reachable")
    env = socket_env(tmp_path, REDIS=url, WEBSOCKETS_GRAPHQL_AUTH="public")
    with postgres_database(env) as prepared:
        first = start_server(prepared)
        second = Server(prepared).start(bootstrap=False)
        try:
            _cross_process_event(node_peers, first, second)
        finally:
            first.stop()
            second.stop()


def _cross_process_event(peers: Path, listening: Server, writing: Server) -> None:
    """Public mode: the upgrade token still authenticates; the write happens on the other
    process and reaches the subscriber through the Redis channel layer."""
    token = login(listening)
    peer = subscriber(peers, listening, None, url=ws_url(listening, f"?access_token={token}"))
    try:
        peer.until("ready")
        key = rest(writing, "POST", "", login(writing), title="Elsewhere")["id"]
        event = peer.next_event()
    finally:
        peer.stop()
    assert mutations([event]) == [
        {"key": key, "event": "create", "data": {"id": key, "title": "Elsewhere"}}
    ]


# ---------------------------------------------------------------- raw protocol (websockets)


def test_legacy_subprotocol_is_closed_4406(handshake_server: Server) -> None:
    with open_raw(ws_url(handshake_server), [Subprotocol("graphql-ws")]) as socket:
        assert socket.subprotocol is None
        assert close_code(socket) == (4406, "Subprotocol not acceptable")


def test_a_first_frame_other_than_connection_init_is_closed_4403(
    handshake_server: Server,
) -> None:
    with open_raw(ws_url(handshake_server)) as socket:
        socket.send(json.dumps({"type": "ping"}))
        assert close_code(socket) == (4403, "Forbidden")


def test_queries_and_mutations_run_over_the_socket(handshake_server: Server) -> None:
    token = login(handshake_server)
    with open_raw(ws_url(handshake_server)) as socket:
        socket.send(json.dumps({"type": "connection_init", "payload": {"access_token": token}}))
        assert json.loads(socket.recv(timeout=5)) == {"type": "connection_ack"}
        create = 'mutation { create_articles_item(data: {title: "Raw"}) { title } }'
        socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": create}}))
        assert json.loads(socket.recv(timeout=5)) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"create_articles_item": {"title": "Raw"}}},
        }
        assert json.loads(socket.recv(timeout=5)) == {"id": "1", "type": "complete"}
        socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert close_code(socket) == (4429, "Too many initialisation requests")
