"""Change events: after commit only, keys not data, signal and channel-layer group."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from items.events import ItemChange, group_name, item_changed, publish
from items.models import Article

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    changes: list[ItemChange] = []

    def receiver(sender, change, **kwargs):
        changes.append(change)

    item_changed.connect(receiver)
    yield changes
    item_changed.disconnect(receiver)


def test_writes_publish_after_commit(api, admin_user, received, django_capture_on_commit_callbacks):
    api.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        key = api.post("/items/articles", {"title": "x"}, format="json").json()["data"]["id"]
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"/items/articles/{key}", {"title": "y"}, format="json")
        api.delete(f"/items/articles/{key}")
    actor = str(admin_user.pk)
    assert received == [
        ItemChange("articles", "create", (key,), actor),
        ItemChange("articles", "update", (key,), actor),
        ItemChange("articles", "delete", (key,), actor),
    ]


def test_failed_writes_publish_nothing(
    api, admin_user, received, django_capture_on_commit_callbacks
):
    api.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        api.post("/items/articles", [{"title": "ok"}, {"title": 1}], format="json")
    assert callbacks == []
    assert received == []


def test_rollback_drops_the_event(received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                publish(ItemChange("articles", "create", ("1",)))
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert callbacks == []
    assert received == []


def test_channel_layer_group_receives_the_change(
    api, admin_user, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_name("articles"), channel)
    api.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        key = api.post("/items/articles", {"title": "x"}, format="json").json()["data"]["id"]
    message = async_to_sync(layer.receive)(channel)
    assert message == {
        "type": "items.change",
        "collection": "articles",
        "action": "create",
        "keys": [key],
        "actor": str(admin_user.pk),
    }
    assert group_name("articles") == "items.articles"


def test_channel_layer_failure_never_fails_the_write(
    api, admin_user, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    class Broken:
        async def group_send(self, group, message):
            raise ConnectionError("down")

    monkeypatch.setattr("items.events.get_channel_layer", lambda: Broken())
    api.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/items/articles", {"title": "x"}, format="json")
    assert response.status_code == 200
    assert Article.objects.count() == 1
    assert "Could not publish" in caplog.text
