"""Which keys and rows of a change one subscriber may see (realtime.visibility), in-process on
the test database: the change events are the ones real deletes publish."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts.accountability import Accountability, accountability_for_user
from accounts.models import Permission, User
from items.events import ItemChange, item_changed
from items.models import Article
from items.service import ItemsService
from realtime.graphql.operations import event_payloads
from realtime.visibility import change_of, visible_change

pytestmark = pytest.mark.django_db

OWN_ROWS = {"author": {"_eq": "$CURRENT_USER"}}


@pytest.fixture
def changes() -> Iterator[list[ItemChange]]:
    """The changes published while the test runs."""
    seen: list[ItemChange] = []

    def receiver(change: ItemChange, **kwargs: Any) -> None:
        seen.append(change)

    item_changed.connect(receiver)
    yield seen
    item_changed.disconnect(receiver)


@pytest.fixture
def admin(make_role: Any, make_user: Any) -> Accountability:
    role, _ = make_role("Admins", admin_access=True)
    return accountability_for_user(make_user("admin@example.com", role=role))


@pytest.fixture
def reader(make_role: Any, make_user: Any) -> Callable[..., tuple[User, Accountability]]:
    """A user whose role may read the ``articles`` its ``rule`` covers."""

    def make(rule: Any, email: str = "owner@example.com") -> tuple[User, Accountability]:
        role, policy = make_role(f"Role of {email}")
        Permission.objects.create(
            policy=policy, collection="articles", action="read", fields="*", permissions=rule
        )
        user = make_user(email, role=role)
        return user, accountability_for_user(user)

    return make


def delete(
    admin: Accountability, keys: list[str], changes: list[ItemChange], capture: Any
) -> ItemChange:
    """Delete ``keys`` as the admin; the change event that delete published."""
    with capture(execute=True):
        ItemsService("articles", admin).delete_many(keys)
    return changes[-1]


def test_a_delete_names_only_the_keys_of_rows_the_subscriber_could_read(
    admin: Accountability,
    reader: Any,
    changes: list[ItemChange],
    django_capture_on_commit_callbacks: Any,
) -> None:
    owner, acc = reader(OWN_ROWS)
    own = str(Article.objects.create(title="Mine", author=owner).pk)
    other = str(Article.objects.create(title="Someone else's").pk)
    change = delete(admin, [own, other], changes, django_capture_on_commit_callbacks)
    assert set(change.keys) == {own, other}
    assert visible_change(change, acc).keys == (own,)
    assert set(visible_change(change, admin).keys) == {own, other}


def test_the_decision_survives_the_channel_layer_message(
    admin: Accountability,
    reader: Any,
    changes: list[ItemChange],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Other processes decide from the JSON-safe message (the snapshot travels with it)."""
    owner, acc = reader({"_and": [OWN_ROWS, {"status": {"_in": ["draft", "published"]}}]})
    own = str(Article.objects.create(title="Mine", author=owner, status="draft").pk)
    archived = str(Article.objects.create(title="Old", author=owner, status="archived").pk)
    change = delete(admin, [own, archived], changes, django_capture_on_commit_callbacks)
    assert visible_change(change_of(change.as_message()), acc).keys == (own,)


def test_a_rule_across_a_relation_is_checked_on_the_related_row(
    admin: Accountability,
    reader: Any,
    make_user: Any,
    changes: list[ItemChange],
    django_capture_on_commit_callbacks: Any,
) -> None:
    """``author.role = $CURRENT_ROLE``: articles of anyone in the subscriber's role."""
    owner, acc = reader({"author": {"role": {"_eq": "$CURRENT_ROLE"}}})
    colleague = make_user("colleague@example.com", role=owner.role)
    stranger = make_user("stranger@example.com")
    ours = str(Article.objects.create(title="Ours", author=colleague).pk)
    theirs = str(Article.objects.create(title="Theirs", author=stranger).pk)
    change = delete(admin, [ours, theirs], changes, django_capture_on_commit_callbacks)
    assert visible_change(change, acc).keys == (ours,)


def test_a_subscriber_without_read_access_is_refused(
    admin: Accountability,
    make_role: Any,
    make_user: Any,
    changes: list[ItemChange],
    django_capture_on_commit_callbacks: Any,
) -> None:
    from core.errors import Forbidden

    role, _ = make_role("Nobody")
    acc = accountability_for_user(make_user("nobody@example.com", role=role))
    key = str(Article.objects.create(title="Gone").pk)
    change = delete(admin, [key], changes, django_capture_on_commit_callbacks)
    with pytest.raises(Forbidden):
        visible_change(change, acc)


def test_graphql_delete_payloads_skip_rows_the_subscriber_could_not_read(
    admin: Accountability,
    reader: Any,
    changes: list[ItemChange],
    django_capture_on_commit_callbacks: Any,
) -> None:
    owner, acc = reader(OWN_ROWS)
    own = str(Article.objects.create(title="Mine", author=owner).pk)
    other = str(Article.objects.create(title="Theirs").pk)
    change = delete(admin, [other, own], changes, django_capture_on_commit_callbacks)
    payloads = event_payloads("articles", acc, change.as_message(), ("id",))
    assert [(p["key"], p["data"]) for p in payloads] == [(own, None)]


def test_creates_and_updates_are_read_with_the_subscribers_permissions(
    admin: Accountability, reader: Any
) -> None:
    owner, acc = reader(OWN_ROWS)
    own = str(Article.objects.create(title="Mine", author=owner).pk)
    other = str(Article.objects.create(title="Theirs").pk)
    change = ItemChange("articles", "update", (other, own))
    each = visible_change(change, acc, {"fields": ["title"]}, per_key=True)
    assert (each.keys, each.rows) == ((own,), ({"title": "Mine"},))
    together = visible_change(change, acc, {"fields": ["id"], "meta": ["filter_count"]})
    assert together.rows == ({"id": own},)
