"""The NUL character (``\\u0000``), which PostgreSQL cannot store in text: refused with the
caller's 400 on every database and every way in (REST bodies and queries, the service that the
sockets and GraphQL call), and nothing is written."""

from __future__ import annotations

import json

import pytest

from accounts.accountability import accountability_for_user
from core.errors import InvalidPayload, InvalidQuery
from items.models import Article
from items.service import ItemsService

pytestmark = pytest.mark.django_db

NUL = "a\u0000b"


@pytest.fixture
def as_admin(api, admin_user):
    api.force_login(admin_user)
    return api


def code(response) -> tuple[int, str]:
    return response.status_code, response.json()["errors"][0]["extensions"]["code"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/items/articles", {"title": NUL}),
        ("post", "/items/articles", [{"title": "fine"}, {"title": NUL}]),
        ("post", "/items/articles", {NUL: "key"}),
        ("patch", "/users/me", {"first_name": NUL}),
        ("post", "/keys", {"name": NUL}),
        ("post", "/auth/login", {"email": "admin@example.com", "password": NUL}),
    ],
)
def test_json_bodies_with_nul_are_invalid_payload(as_admin, method, path, body):
    response = getattr(as_admin, method)(path, body, format="json")
    assert code(response) == (400, "INVALID_PAYLOAD")
    assert not Article.objects.exists()


@pytest.mark.parametrize(
    "params",
    [
        {"search": NUL},
        {"filter[title][_eq]": NUL},
        {"filter": json.dumps({"title": {"_in": ["x", NUL]}})},
        {"filter": json.dumps({"_or": [{"body": {"_contains": NUL}}]})},
    ],
)
def test_queries_with_nul_are_invalid_query(as_admin, params):
    assert code(as_admin.get("/items/articles", params)) == (400, "INVALID_QUERY")


def test_users_filter_with_nul_is_invalid_query(as_admin):
    params = {"filter": json.dumps({"email": {"_eq": NUL}})}
    assert code(as_admin.get("/users", params)) == (400, "INVALID_QUERY")


def test_the_service_refuses_nul_for_sockets_and_graphql(admin_user):
    service = ItemsService("articles", accountability_for_user(admin_user))
    with pytest.raises(InvalidPayload):
        service.create_one({"title": NUL})
    article = Article.objects.create(title="kept")
    with pytest.raises(InvalidPayload):
        service.update_one(str(article.pk), {"body": NUL})
    with pytest.raises(InvalidQuery):
        service.read_many({"filter": {"title": {"_eq": NUL}}})
    article.refresh_from_db()
    assert (article.title, article.body) == ("kept", "")
