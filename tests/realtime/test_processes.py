"""Several processes over Redis (websockets.md §9): events and permission changes reach open
sockets on every process."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from accounts.accountability import VERSION_MEMO_SECONDS
from tests.realtime.conftest import ServerFactory
from tests.realtime.support import ADMIN, READER, login, rest, shell, socket, start
from tests.support.server import Server
from tests.test_auth_e2e import redis_url

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def pair(serve: ServerFactory) -> Iterator[tuple[Server, Server]]:
    url = redis_url(11)
    if url is None:
        pytest.skip("Redis at 127.0.0.1:6379 is not reachable")
    a = serve(REDIS=url, WEBSOCKETS_REST_CONN_LIMIT="2")
    b = start(a.env, bootstrap=False)
    yield a, b
    b.stop()


def test_event_from_process_a_reaches_a_subscriber_on_process_b(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    token = login(a)["access_token"]
    with socket(b) as ws:
        ws.auth(**ADMIN)
        ws.ask({"type": "subscribe", "collection": "articles", "uid": "x", "event": "create"})
        created = rest(a, "POST", "/items/articles", token, json={"title": "From A"})
        key = created.json()["data"]["id"]
        frame = ws.recv()
        assert frame["event"] == "create"
        assert frame["data"][0]["id"] == key


def test_connection_limit_spans_processes(pair: tuple[Server, Server]) -> None:
    from websockets.exceptions import InvalidStatus

    a, b = pair
    settled(a)
    with socket(a), socket(b):
        with pytest.raises(InvalidStatus) as refused, socket(a):
            pass
        assert refused.value.response.status_code == 403


def settled(server: Server, within: float = 10.0) -> None:
    """Wait until the sockets of earlier tests are counted off: a close is counted when the
    server's side of it ends, which a loaded machine may do after the client has moved on."""
    from websockets.exceptions import InvalidStatus

    deadline = time.monotonic() + within
    while True:
        try:
            with socket(server), socket(server):
                return
        except InvalidStatus:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_permission_change_applies_to_an_open_subscription(pair: tuple[Server, Server]) -> None:
    a, b = pair
    token = login(a)["access_token"]
    with socket(b) as ws:
        ws.auth(**READER)
        ws.ask({"type": "subscribe", "collection": "articles", "uid": "p"})
        rest(a, "POST", "/items/articles", token, json={"title": "One", "status": "published"})
        assert set(ws.recv()["data"][0]) == {"id", "title"}
        shell(
            a.env,
            """
from accounts.models import Permission
Permission.objects.filter(policy__name="Readers policy").update(fields="id,title,status")
Permission.objects.filter(policy__name="Readers policy").first().save()
""",
        )
        rest(a, "POST", "/items/articles", token, json={"title": "Two", "status": "published"})
        assert set(ws.recv()["data"][0]) == {"id", "title", "status"}
        shell(a.env, "from accounts.models import Permission\nPermission.objects.all().delete()")
        rest(a, "POST", "/items/articles", token, json={"title": "Three", "status": "published"})
        frame = ws.recv()
        assert frame["type"] == "subscribe"
        assert frame["error"]["code"] == "FORBIDDEN"


def test_system_api_changes_apply_to_an_open_subscription_on_another_process(
    pair: tuple[Server, Server],
) -> None:
    """A provisioning script on process A: a policy with a read permission, a role with it, a
    user; the user's socket on process B sees each later change through the system API."""
    a, b = pair
    token = login(a)["access_token"]
    policy = rest(a, "POST", "/policies", token, json={
        "name": "Watchers", "permissions": [
            {"collection": "articles", "action": "read", "fields": ["id", "title"]},
        ],
    }).json()["data"]  # fmt: skip
    role = rest(a, "POST", "/roles", token, json={
        "name": "Watchers", "policies": [{"policy": policy["id"]}],
    }).json()["data"]  # fmt: skip
    watcher = {"email": "watcher@example.com", "password": "watcher-password-1"}
    created = rest(a, "POST", "/users", token, json={**watcher, "role": role["id"]})
    assert created.status_code in (200, 204), created.text
    with socket(b) as ws:
        ws.auth(**watcher)
        ws.ask({"type": "subscribe", "collection": "articles", "uid": "w"})
        rest(a, "POST", "/items/articles", token, json={"title": "W1", "status": "published"})
        assert set(ws.recv()["data"][0]) == {"id", "title"}
        [permission] = policy["permissions"]
        patched = rest(a, "PATCH", f"/permissions/{permission}", token, json={"fields": "*"})
        assert patched.status_code == 200, patched.text
        time.sleep(VERSION_MEMO_SECONDS * 2)  # another process trusts its access version this long
        rest(a, "POST", "/items/articles", token, json={"title": "W2", "status": "published"})
        assert "status" in ws.recv()["data"][0]
        detached = rest(a, "PATCH", f"/roles/{role['id']}", token, json={"policies": []})
        assert detached.status_code == 200, detached.text
        time.sleep(VERSION_MEMO_SECONDS * 2)
        rest(a, "POST", "/items/articles", token, json={"title": "W3", "status": "published"})
        frame = ws.recv()
        assert frame["type"] == "subscribe"
        assert frame["error"]["code"] == "FORBIDDEN"
