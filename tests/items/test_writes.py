"""Create, update and delete over HTTP: permissions, validation, presets, atomic batches."""

from __future__ import annotations

import uuid

import pytest

from items.models import Article
from tests.items.helpers import error, forbidden, invalid_payload, no_collection, no_field

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_admin(api, admin_user):
    api.force_login(admin_user)
    return api


def test_admin_creates_one_and_many(as_admin):
    response = as_admin.post("/items/articles?fields=title,status", {"title": "One"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"data": {"title": "One", "status": "draft"}}
    response = as_admin.post(
        "/items/articles?fields=title", [{"title": "Two"}, {"title": "Three"}], format="json"
    )
    assert response.json() == {"data": [{"title": "Two"}, {"title": "Three"}]}
    assert Article.objects.count() == 3


def test_create_answers_204_when_the_result_is_not_readable(api, writer, grant):
    user, _, policy = writer
    grant(policy, "articles", "create", fields="title")
    api.force_login(user)
    response = api.post("/items/articles", {"title": "Blind"}, format="json")
    assert response.status_code == 204
    assert Article.objects.get().title == "Blind"


def test_create_without_permission(api, writer, public):
    assert api.post("/items/articles", {"title": "x"}, format="json").json() == no_collection(
        action="create"
    )
    user, _, _ = writer
    api.force_login(user)
    response = api.post("/items/articles", {"title": "x"}, format="json")
    assert response.status_code == 403
    assert response.json() == no_collection(action="create")
    assert not Article.objects.exists()


def test_presets_fill_defaults_in_policy_order_and_payload_wins(
    api, writer, grant, make_role, make_user
):
    parent, parent_policy = make_role("Parent")
    child, child_policy = make_role("Child", parent=parent)
    user = make_user("child@example.com", role=child)
    grant(parent_policy, "articles", "create", fields="title,status,body",
          presets={"status": "published", "body": "from parent"})  # fmt: skip
    grant(child_policy, "articles", "create", fields="title,status,body",
          presets={"body": "from child", "author": "$CURRENT_USER"})  # fmt: skip
    grant(child_policy, "articles", "read", fields="*")
    api.force_login(user)
    data = api.post("/items/articles", {"title": "T"}, format="json").json()["data"]
    assert (data["status"], data["body"], data["author"]) == (
        "published",
        "from child",
        str(user.pk),
    )
    data = api.post("/items/articles", {"title": "T", "status": "draft"}, format="json").json()
    assert data["data"]["status"] == "draft"


def test_validation_rules_on_create_and_update(api, writer, grant, make_article):
    user, _, policy = writer
    grant(policy, "articles", "create", fields="*",
          validation={"title": {"_starts_with": "OK"}})  # fmt: skip
    grant(policy, "articles", "update", fields="*",
          validation={"status": {"_in": ["draft", "archived"]}})  # fmt: skip
    api.force_login(user)
    response = api.post("/items/articles", {"title": "Bad"}, format="json")
    assert response.status_code == 400
    assert response.json() == error(
        "FAILED_VALIDATION",
        'Validation failed for field "title". Value has to start with "OK".',
        field="title",
        type="starts_with",
        substring="OK",
    )
    assert api.post("/items/articles", {"title": "OK fine"}, format="json").status_code == 204
    article = Article.objects.get()
    url = f"/items/articles/{article.pk}"
    assert api.patch(url, {"body": "no status given"}, format="json").status_code == 204
    response = api.patch(url, {"status": "published"}, format="json")
    assert response.json() == error(
        "FAILED_VALIDATION",
        'Validation failed for field "status". Value has to be one of "draft", "archived".',
        field="status",
        type="in",
        valid=["draft", "archived"],
    )
    article.refresh_from_db()
    assert (article.status, article.body) == ("draft", "no status given")


def test_required_field_missing(as_admin):
    response = as_admin.post("/items/articles", {"body": "no title"}, format="json")
    assert response.status_code == 400
    assert response.json() == error(
        "FAILED_VALIDATION",
        'Validation failed for field "title". Value is required.',
        field="title",
        type="required",
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"title": 5}, 'Field "title" has to be a string'),
        ({"title": "x", "author": "not-a-uuid"}, 'Field "author" has to be a UUID'),
        ({"title": "x", "author": 7}, 'Field "author" has to be a UUID'),
        ({"title": "x", "author": str(uuid.UUID(int=1))},
         f'Invalid foreign key "{uuid.UUID(int=1)}" for field "author"'),
        ({"title": "x", "id": str(uuid.UUID(int=2))}, 'Field "id" is read-only'),
        ({"title": "x", "date_created": "2024-01-01T00:00:00Z"},
         'Field "date_created" is read-only'),
        ({"title": "x", "nope": 1}, 'Unknown field "nope"'),
        ({"title": "x" * 256}, 'Value for field "title" in collection "articles" is too long'),
    ],
)  # fmt: skip
def test_bad_payload_values(as_admin, payload, reason):
    response = as_admin.post("/items/articles", payload, format="json")
    assert response.status_code == 400
    assert response.json() == invalid_payload(reason)
    assert not Article.objects.exists()


@pytest.mark.parametrize("body", ['"text"', "5", "null", "[1]"])
def test_body_that_is_not_an_object(as_admin, body):
    response = as_admin.post("/items/articles", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == invalid_payload("Payload has to be an object")


def test_null_and_choices(as_admin):
    response = as_admin.post("/items/articles", {"title": None}, format="json")
    assert response.json() == error(
        "FAILED_VALIDATION",
        'Validation failed for field "title". Value can\'t be null.',
        field="title",
        type="nnull",
    )
    response = as_admin.post("/items/articles", {"title": "x", "status": "gone"}, format="json")
    assert response.json()["errors"][0]["extensions"] == {
        "field": "status",
        "type": "in",
        "valid": ["draft", "published", "archived"],
        "code": "FAILED_VALIDATION",
    }


def test_malformed_json_body(as_admin):
    response = as_admin.post("/items/articles", "{bad", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"


def test_fields_outside_the_grant_are_403(api, writer, grant):
    user, _, policy = writer
    grant(policy, "articles", "create", fields="title")
    api.force_login(user)
    for payload, field in (({"title": "x", "body": "y"}, "body"), ({"title": "x", "zz": 1}, "zz")):
        response = api.post("/items/articles", payload, format="json")
        assert response.status_code == 403
        assert response.json() == no_field(field)
    assert not Article.objects.exists()


def test_batch_create_is_atomic(as_admin):
    response = as_admin.post("/items/articles", [{"title": "good"}, {"title": 1}], format="json")
    assert response.status_code == 400
    assert not Article.objects.exists()


def test_update_one_many_and_batch(as_admin, make_article):
    a, b, c = (make_article(t) for t in "abc")
    response = as_admin.patch(f"/items/articles/{a.pk}?fields=title", {"title": "A"}, format="json")
    assert response.json() == {"data": {"title": "A"}}
    response = as_admin.patch(
        "/items/articles?fields=status",
        {"keys": [str(b.pk), str(c.pk)], "data": {"status": "published"}},
        format="json",
    )
    assert response.json() == {"data": [{"status": "published"}, {"status": "published"}]}
    response = as_admin.patch(
        "/items/articles?fields=id,title",
        [{"id": str(b.pk), "title": "B"}, {"id": str(c.pk), "title": "C"}],
        format="json",
    )
    assert response.json() == {
        "data": [{"id": str(b.pk), "title": "B"}, {"id": str(c.pk), "title": "C"}]
    }
    assert sorted(Article.objects.values_list("title", flat=True)) == ["A", "B", "C"]


def test_update_batch_is_atomic(as_admin, make_article):
    a, b = make_article("a"), make_article("b")
    response = as_admin.patch(
        "/items/articles",
        [{"id": str(a.pk), "title": "A"}, {"id": str(b.pk), "status": "bogus"}],
        format="json",
    )
    assert response.status_code == 400
    assert sorted(Article.objects.values_list("title", flat=True)) == ["a", "b"]


def test_update_respects_the_item_filter(api, writer, grant, make_article, make_user):
    user, _, policy = writer
    mine = make_article("mine", author=user)
    theirs = make_article("theirs", author=make_user("o@example.com"))
    grant(policy, "articles", "update", fields="title",
          permissions={"author": {"_eq": "$CURRENT_USER"}})  # fmt: skip
    api.force_login(user)
    assert api.patch(f"/items/articles/{mine.pk}", {"title": "M"}, format="json").status_code == 204
    for key in (theirs.pk, "bad-id", uuid.UUID(int=3)):
        response = api.patch(f"/items/articles/{key}", {"title": "T"}, format="json")
        assert response.status_code == 403
        assert response.json() == forbidden()
    response = api.patch(
        "/items/articles",
        {"keys": [str(mine.pk), str(theirs.pk)], "data": {"title": "both"}},
        format="json",
    )
    assert response.json() == forbidden()
    assert sorted(Article.objects.values_list("title", flat=True)) == ["M", "theirs"]


def test_update_field_grants_follow_the_rule_that_covers_the_item(
    api, writer, grant, make_article, make_user
):
    user, _, policy = writer
    mine = make_article("mine", author=user)
    theirs = make_article("theirs", author=make_user("o@example.com"))
    grant(policy, "articles", "update", fields="title",
          permissions={"author": {"_eq": "$CURRENT_USER"}})  # fmt: skip
    grant(policy, "articles", "update", fields="status")
    api.force_login(user)
    assert (
        api.patch(f"/items/articles/{theirs.pk}", {"status": "archived"}, format="json").status_code
        == 204
    )
    assert (
        api.patch(f"/items/articles/{theirs.pk}", {"title": "x"}, format="json").json()
        == forbidden()
    )
    assert api.patch(f"/items/articles/{mine.pk}", {"title": "y"}, format="json").status_code == 204
    response = api.patch(f"/items/articles/{mine.pk}", {"body": "z"}, format="json")
    assert response.json() == no_field("body")


def test_update_bodies(as_admin, make_article):
    article = make_article()
    assert as_admin.patch(
        "/items/articles", {"title": "x"}, format="json"
    ).json() == invalid_payload('Payload has to be an array of items or {"keys", "data"}')
    response = as_admin.patch("/items/articles", [{"title": "x"}], format="json")
    assert response.json() == invalid_payload('Each item has to include its primary key "id"')
    response = as_admin.patch(f"/items/articles/{article.pk}", [1], format="json")
    assert response.json() == invalid_payload("Payload has to be an object")


def test_delete_one_and_many(as_admin, make_article):
    a, b, c = (make_article(t) for t in "abc")
    assert as_admin.delete(f"/items/articles/{a.pk}").status_code == 204
    assert as_admin.delete("/items/articles", [str(b.pk)], format="json").status_code == 204
    response = as_admin.delete("/items/articles", {"keys": [str(c.pk)]}, format="json")
    assert response.status_code == 204
    assert not Article.objects.exists()
    assert as_admin.delete(f"/items/articles/{a.pk}").json() == forbidden()
    assert as_admin.delete("/items/articles", {"x": 1}, format="json").json() == invalid_payload(
        'Payload has to be an array of keys or {"keys": [...]}'
    )


def test_delete_respects_the_item_filter_and_is_atomic(api, writer, grant, make_article):
    user, _, policy = writer
    draft = make_article("draft")
    published = make_article("published", status="published")
    grant(policy, "articles", "delete", permissions={"status": {"_eq": "draft"}})
    api.force_login(user)
    response = api.delete("/items/articles", [str(draft.pk), str(published.pk)], format="json")
    assert response.json() == forbidden()
    assert Article.objects.count() == 2
    assert api.delete(f"/items/articles/{draft.pk}").status_code == 204
    assert api.delete(f"/items/articles/{published.pk}").json() == forbidden()
    assert api.patch(f"/items/articles/{published.pk}", {}, format="json").json() == no_collection(
        action="update"
    )


def test_create_with_a_read_rule_that_hides_the_primary_key(api, writer, grant):
    """The answer of a write is built from what the caller may read; a read rule without the
    primary key still answers with the readable fields, never a 500 after the commit."""
    user, _, policy = writer
    grant(policy, "articles", "create", fields="title")
    grant(policy, "articles", "read", fields="title")
    api.force_login(user)
    one = api.post("/items/articles", {"title": "one"}, format="json")
    assert one.status_code == 200
    assert one.json()["data"] == {"title": "one"}
    many = api.post("/items/articles", [{"title": "a"}, {"title": "b"}], format="json")
    assert many.status_code == 200
    assert many.json()["data"] == [{"title": "a"}, {"title": "b"}]
