"""Several processes over Redis (websockets.md §9): events and permission changes reach open
sockets on every process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
    with socket(a), socket(b):
        with pytest.raises(InvalidStatus) as refused, socket(a):
            pass
        assert refused.value.response.status_code == 403


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
