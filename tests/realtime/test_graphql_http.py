"""``POST /graphql`` over the items collections: admin, a restricted role, public; contract
error codes in ``extensions.code``; bad tokens get the REST error envelope."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from items.models import Article

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "password-123"


def login(client: Client, email: str, password: str = PASSWORD) -> str:
    response = client.post(
        "/auth/login", {"email": email, "password": password}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["data"]["access_token"])


def gql(client: Client, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    body = {"query": query, "variables": variables}
    response = client.post("/graphql", body, content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    return dict(response.json())


def codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


@pytest.fixture
def make_article() -> Any:
    def make(title: str = "An article", **fields: Any) -> Article:
        return Article.objects.create(title=title, **fields)

    return make


@pytest.fixture
def writer(make_role: Any, make_user: Any) -> tuple[User, Any, Any]:
    role, policy = make_role("Writers")
    return make_user("writer@example.com", role=role), role, policy


@pytest.fixture
def admin_token(client: Client, admin_user: User) -> str:
    return login(client, "admin@example.com", "admin-password-1")


@pytest.fixture
def restricted(client: Client, writer: Any, grant: Any) -> tuple[User, str]:
    """A writer reading only ``id,title,status`` of its own articles, creating and updating."""
    user, _, policy = writer
    mine = {"author": {"_eq": "$CURRENT_USER"}}
    grant(policy, "articles", "read", fields="id,title,status", permissions=mine)
    grant(policy, "articles", "create", fields="title,status,author")
    grant(policy, "articles", "update", fields="title", permissions=mine)
    return user, login(client, user.email)


def test_admin_queries_lists_filters_and_relations(
    client: Client, admin_token: str, admin_user: User, make_article: Any
) -> None:
    first = make_article("First", author=admin_user, status="published")
    make_article("Second")
    result = gql(
        client,
        '{ articles(sort: ["-title"], limit: 1) { id title author { email } } }',
        admin_token,
    )
    assert result == {"data": {"articles": [{"id": str(Article.objects.get(title="Second").pk),
                                             "title": "Second", "author": None}]}}  # fmt: skip
    query = "query($f: JSON) { articles(filter: $f) { title author { email } } }"
    result = gql(client, query, admin_token, f={"status": {"_eq": "published"}})
    assert result["data"]["articles"] == [
        {"title": "First", "author": {"email": "admin@example.com"}}
    ]
    one = gql(client, f'{{ articles_by_id(id: "{first.pk}") {{ title }} }}', admin_token)
    assert one == {"data": {"articles_by_id": {"title": "First"}}}
    found = gql(client, '{ articles(search: "sec") { title } }', admin_token)
    assert found["data"]["articles"] == [{"title": "Second"}]


def test_admin_mutations_create_update_delete(client: Client, admin_token: str) -> None:
    created = gql(
        client,
        "mutation($d: JSON!) { create_articles_item(data: $d) { id title status } }",
        admin_token,
        d={"title": "New", "status": "published"},
    )["data"]["create_articles_item"]
    assert (created["title"], created["status"]) == ("New", "published")
    key = created["id"]
    updated = gql(
        client,
        'mutation($id: ID!) { update_articles_item(id: $id, data: {title: "Renamed"}) { title } }',
        admin_token,
        id=key,
    )
    assert updated == {"data": {"update_articles_item": {"title": "Renamed"}}}
    deleted = gql(client, "mutation($id: ID!) { delete_articles_item(id: $id) { id } }",
                  admin_token, id=key)  # fmt: skip
    assert deleted == {"data": {"delete_articles_item": {"id": key}}}
    assert not Article.objects.filter(pk=key).exists()


def test_restricted_role_sees_own_items_and_allowed_fields_only(
    client: Client, restricted: tuple[User, str], make_article: Any, make_user: Any
) -> None:
    user, token = restricted
    mine = make_article("Mine", author=user)
    theirs = make_article("Theirs", author=make_user("other@example.com"))
    assert gql(client, "{ articles { id title } }", token) == {
        "data": {"articles": [{"id": str(mine.pk), "title": "Mine"}]}
    }
    body = gql(client, "{ articles { title body } }", token)
    assert body["data"] is None
    assert codes(body) == ["FORBIDDEN"]
    assert 'field "body"' in body["errors"][0]["message"]
    hidden = gql(client, f'{{ articles_by_id(id: "{theirs.pk}") {{ title }} }}', token)
    assert hidden["data"] == {"articles_by_id": None}
    assert codes(hidden) == ["FORBIDDEN"]
    cannot = gql(
        client,
        f'mutation {{ update_articles_item(id: "{theirs.pk}", data: {{title: "x"}}) {{ id }} }}',
        token,
    )
    assert codes(cannot) == ["FORBIDDEN"]
    assert Article.objects.get(pk=theirs.pk).title == "Theirs"


def test_restricted_create_of_an_unreadable_item_returns_null(
    client: Client, restricted: tuple[User, str]
) -> None:
    _, token = restricted
    result = gql(client, 'mutation { create_articles_item(data: {title: "Orphan"}) { id } }', token)
    assert result == {"data": {"create_articles_item": None}}
    assert Article.objects.filter(title="Orphan").exists()


def test_public_permissions_apply_without_a_token(
    client: Client, public: Any, grant: Any, make_article: Any
) -> None:
    make_article("Draft")
    make_article("Live", status="published")
    denied = gql(client, "{ articles { title } }")
    assert codes(denied) == ["FORBIDDEN"]
    grant(public, "articles", "read", fields="title", permissions={"status": {"_eq": "published"}})
    assert gql(client, "{ articles { title } }") == {"data": {"articles": [{"title": "Live"}]}}
    write = gql(client, 'mutation { create_articles_item(data: {title: "x"}) { id } }')
    assert codes(write) == ["FORBIDDEN"]


def test_invalid_queries_and_payloads_carry_their_codes(client: Client, admin_token: str) -> None:
    bad_filter = gql(client, "{ articles(filter: {title: {_nope: 1}}) { id } }", admin_token)
    assert codes(bad_filter) == ["INVALID_QUERY"]
    bad_limit = gql(client, "{ articles(limit: -5) { id } }", admin_token)
    assert codes(bad_limit) == ["INVALID_QUERY"]
    bad_data = gql(client, "mutation { create_articles_item(data: [1]) { id } }", admin_token)
    assert codes(bad_data) == ["INVALID_PAYLOAD"]
    unknown = gql(client, "{ nope { id } }", admin_token)
    assert codes(unknown) == ["GRAPHQL_VALIDATION"]


def test_bad_tokens_get_the_rest_error_envelope(client: Client, admin_token: str) -> None:
    body = {"query": "{ articles { id } }"}
    garbage = client.post(
        "/graphql", body, content_type="application/json", HTTP_AUTHORIZATION="Bearer garbage"
    )
    assert garbage.status_code == 401
    assert garbage.json() == {
        "errors": [{"message": "Invalid user credentials.",
                    "extensions": {"code": "INVALID_CREDENTIALS"}}]
    }  # fmt: skip
    forged = admin_token[:-4] + ("AAAA" if not admin_token.endswith("AAAA") else "BBBB")
    response = client.post(
        "/graphql", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {forged}"
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"


def test_query_string_token_and_get_requests(
    client: Client, admin_token: str, make_article: Any
) -> None:
    make_article("Visible")
    response = client.get("/graphql", {"query": "{ articles { title } }",
                                       "access_token": admin_token})  # fmt: skip
    assert response.json() == {"data": {"articles": [{"title": "Visible"}]}}
    mutation = client.get(
        "/graphql",
        {"query": 'mutation { delete_articles_item(id: "x") { id } }',
         "access_token": admin_token},
    )  # fmt: skip
    assert mutation.status_code == 405
    assert mutation.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def test_bodies_that_are_not_graphql_are_invalid_payload(client: Client) -> None:
    for body in ("{}", "{nope"):
        response = client.post("/graphql", body, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"


def test_documents_over_the_token_limit_are_refused_before_running(
    client: Client, admin_token: str
) -> None:
    """``GRAPHQL_QUERY_TOKEN_LIMIT`` (5000): an alias bomb never reaches the resolvers."""
    fits = "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }"
    assert "errors" not in gql(client, fits, admin_token)
    bomb = "{ " + " ".join(f"a{i}: articles {{ title }}" for i in range(2000)) + " }"
    response = client.post(
        "/graphql",
        {"query": bomb},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {admin_token}",
    )
    body = response.json()
    assert body.get("data") is None
    assert "5000 tokens" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION"
