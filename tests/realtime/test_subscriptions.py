"""Subscriptions (websockets.md §6): what a subscriber sees is read with its own permissions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.realtime.conftest import ServerFactory
from tests.realtime.support import ADMIN, READER, Client, auth_error, login, rest, socket
from tests.support.server import Server

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(serve: ServerFactory) -> Server:
    return serve()


@pytest.fixture(scope="module")
def admin_token(server: Server) -> str:
    return str(login(server)["access_token"])


@contextmanager
def subscribed(server: Server, who: dict[str, str], **subscribe: object) -> Iterator[Client]:
    with socket(server) as ws:
        assert ws.auth(**who)["status"] == "ok"
        message = {"type": "subscribe", "collection": "articles", "uid": 1, **subscribe}
        init = ws.ask(message)
        assert (init["type"], init["event"]) == ("subscription", "init"), init
        ws.init = init  # type: ignore[attr-defined]
        yield ws


def create(server: Server, token: str, **data: str) -> str:
    response = rest(server, "POST", "/items/articles", token, json=data)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["id"])


def test_reader_sees_only_visible_items_and_readable_fields(
    server: Server, admin_token: str
) -> None:
    with subscribed(server, READER, query={"fields": ["*"]}) as ws:
        assert [row["title"] for row in ws.init["data"]] == ["Visible"]  # type: ignore[attr-defined]
        assert set(ws.init["data"][0]) == {"id", "title"}  # type: ignore[attr-defined]
        assert ws.init["uid"] == "1"  # type: ignore[attr-defined]
        hidden = create(server, admin_token, title="Draft", status="draft")
        shown = create(server, admin_token, title="Published", status="published")
        frame = ws.recv()
        assert frame == {
            "type": "subscription",
            "event": "create",
            "data": [{"id": shown, "title": "Published"}],
            "uid": "1",
        }
        rest(server, "PATCH", f"/items/articles/{hidden}", admin_token, json={"title": "Still"})
        rest(server, "PATCH", f"/items/articles/{shown}", admin_token, json={"title": "New"})
        assert ws.recv() == {
            "type": "subscription",
            "event": "update",
            "data": [{"id": shown, "title": "New"}],
            "uid": "1",
        }
        rest(server, "PATCH", f"/items/articles/{shown}", admin_token, json={"status": "draft"})
        assert ws.silent(0.5)  # no longer visible: no frame
        rest(server, "DELETE", f"/items/articles/{shown}", admin_token)
        assert ws.silent(0.5)  # a draft when deleted: the reader could not read it (ours)
        again = create(server, admin_token, title="Again", status="published")
        assert ws.recv()["data"] == [{"id": again, "title": "Again"}]
        rest(server, "DELETE", f"/items/articles/{again}", admin_token)
        assert ws.recv() == {"type": "subscription", "event": "delete", "data": [again], "uid": "1"}


def test_event_filter_item_subscription_and_unsubscribe(server: Server, admin_token: str) -> None:
    key = create(server, admin_token, title="Tracked", status="published")
    with subscribed(server, ADMIN, event="update", uid=7) as ws:
        assert ws.init == {"type": "subscription", "event": "init", "uid": "7"}  # type: ignore[attr-defined]
        item = ws.ask(
            {
                "type": "subscribe",
                "collection": "articles",
                "item": key,
                "uid": "i",
                "query": {"fields": ["title"]},
            }
        )
        assert item == {
            "type": "subscription",
            "event": "init",
            "data": {"title": "Tracked"},
            "uid": "i",
        }
        create(server, admin_token, title="Other")  # create: filtered out by both
        rest(server, "PATCH", f"/items/articles/{key}", admin_token, json={"title": "T2"})
        frames: dict[str, dict] = {}
        for _ in range(2):
            frame = ws.recv()
            frames[frame["uid"]] = frame
        assert frames["i"]["data"] == {"title": "T2"}
        assert frames["7"]["data"][0]["title"] == "T2"
        assert ws.ask({"type": "unsubscribe", "uid": 7}) == {
            "type": "subscription",
            "event": "unsubscribe",
            "uid": 7,
        }
        rest(server, "DELETE", f"/items/articles/{key}", admin_token)
        assert ws.recv() == {"type": "subscription", "event": "delete", "data": key, "uid": "i"}
        assert ws.ask({"type": "unsubscribe"}) == {"type": "subscription", "event": "unsubscribe"}
        create(server, admin_token, title="After")
        assert ws.silent(0.5)


def test_subscribing_to_a_forbidden_collection_fails_and_registers_nothing(server: Server) -> None:
    with socket(server) as ws:
        ws.auth(**READER)
        refused = ws.ask({"type": "subscribe", "collection": "directus_users", "uid": "u"})
        assert refused["type"] == "subscribe"
        assert refused["status"] == "error"
        assert refused["error"]["code"] == "FORBIDDEN"
        assert refused["uid"] == "u"


def test_suspending_the_user_cuts_the_socket_identity(server: Server, admin_token: str) -> None:
    user = {"email": "victim@example.com", "password": "victim-password-1"}
    from tests.realtime.support import shell

    shell(
        server.env,
        """
from accounts.models import User, Role
User.objects.create_user("victim@example.com", "victim-password-1",
    role=Role.objects.get(name="Readers"))
""",
    )
    with subscribed(server, user) as ws:
        for _ in range(3):  # auth_login_attempts = 2: the third failure suspends
            httpx.post(f"{server.url}/auth/login", json={**user, "password": "wrong"})
        create(server, admin_token, title="After suspension", status="published")
        assert ws.recv() == auth_error("TOKEN_EXPIRED", "Token expired.")
        frame = ws.recv()
        assert frame["type"] == "subscribe"
        assert frame["error"]["code"] == "FORBIDDEN"
        assert frame["uid"] == "1"


OWNERS = """
from accounts.models import Access, Permission, Policy, Role, User
role = Role.objects.create(name="Owners")
policy = Policy.objects.create(name="Owners policy", app_access=False)
Access.objects.create(role=role, policy=policy)
Permission.objects.create(policy=policy, collection="articles", action="read",
    fields="id,title", permissions={"author": {"_eq": "$CURRENT_USER"}})
owner = User.objects.create_user("owner@example.com", "owner-password-1", role=role)
print(owner.pk)
"""


def test_a_delete_names_only_keys_of_rows_the_subscriber_could_read(
    server: Server, admin_token: str
) -> None:
    """A role reading only its own rows is not told that another user's row was deleted."""
    from tests.realtime.support import shell

    owner_id = shell(server.env, OWNERS).strip().splitlines()[-1]
    owner = {"email": "owner@example.com", "password": "owner-password-1"}
    theirs = create(server, admin_token, title="Not yours", status="published")
    mine = create(server, admin_token, title="Yours", author=owner_id)
    with subscribed(server, owner) as ws:
        assert [row["id"] for row in ws.init["data"]] == [mine]  # type: ignore[attr-defined]
        rest(server, "DELETE", f"/items/articles/{theirs}", admin_token)
        rest(server, "DELETE", f"/items/articles/{mine}", admin_token)
        # Had the first delete been announced, its frame would come first.
        assert ws.recv() == {"type": "subscription", "event": "delete", "data": [mine], "uid": "1"}
        assert ws.silent(0.5)
