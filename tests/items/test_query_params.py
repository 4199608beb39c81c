"""Query parameters over HTTP: limit/offset/page, sort, fields, filter, search, meta, nesting."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import quote

import pytest
from django.test import override_settings

from accounts.models import PUBLIC_POLICY_ID
from core.config import CONFIG
from tests.items.helpers import invalid_query, no_field

pytestmark = pytest.mark.django_db


@pytest.fixture
def numbered(make_article):
    return [make_article(f"Article {n:02d}", body=f"body {n}") for n in range(1, 13)]


@pytest.fixture
def as_admin(api, admin_user):
    api.force_login(admin_user)
    return api


def titles(response):
    assert response.status_code == 200, response.json()
    return [item["title"] for item in response.json()["data"]]


def with_filter(filter, extra=""):
    return f"/items/articles?fields=title&sort=title&filter={quote(json.dumps(filter))}{extra}"


def test_limit_offset_page_and_sort(as_admin, numbered):
    base = "/items/articles?fields=title&sort=title"
    assert titles(as_admin.get(f"{base}&limit=2")) == ["Article 01", "Article 02"]
    assert titles(as_admin.get(f"{base}&limit=2&offset=3")) == ["Article 04", "Article 05"]
    assert titles(as_admin.get(f"{base}&limit=5&page=3")) == ["Article 11", "Article 12"]
    assert titles(as_admin.get("/items/articles?fields=title&sort=-title&limit=1")) == [
        "Article 12"
    ]
    assert len(titles(as_admin.get(f"{base}&limit=0"))) == 0


def test_default_limit(as_admin, numbered):
    limited = dataclasses.replace(
        CONFIG, limits=dataclasses.replace(CONFIG.limits, query_default=5)
    )
    with override_settings(DIRECTUS=limited):
        assert len(titles(as_admin.get("/items/articles"))) == 5


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", '"limit" has to be an integer'),
        ("-1", '"limit" has to be between 0 and 1000'),
        ("1001", '"limit" has to be between 0 and 1000'),
    ],
)
def test_bad_limits(as_admin, value, reason):
    response = as_admin.get(f"/items/articles?limit={value}")
    assert response.status_code == 400
    assert response.json() == invalid_query(reason)


def test_unlimited_only_when_the_maximum_is_unlimited(as_admin, numbered):
    unlimited = dataclasses.replace(
        CONFIG, limits=dataclasses.replace(CONFIG.limits, query_max=-1, query_default=5)
    )
    with override_settings(DIRECTUS=unlimited):
        assert len(titles(as_admin.get("/items/articles?limit=-1"))) == 12


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("offset=-1", '"offset" has to be 0 or more'),
        ("offset=x", '"offset" has to be an integer'),
        ("page=0", '"page" has to be 1 or more'),
        ("filter={bad", '"filter" has to be valid JSON'),
        ("filter=[1]", "A filter must be a JSON object"),
        ('filter={"title":{"_nope":1}}', '"_nope" is not a valid filter operator'),
        ('filter={"title":{"_in":{"a":1}}}', '"_in" needs an array of values'),
        ('filter={"title":{"_between":[1]}}', '"_between" needs exactly two values'),
        ('filter={"title":{"_null":"maybe"}}', '"_null" needs true or false'),
        ('filter={"_eq":1}', '"_eq" has to be used on a field'),
        ('filter={"id":{"_eq":"not-a-uuid"}}', 'Invalid value "not-a-uuid" for field "id"'),
        (
            'filter={"date_created":{"_gt":"never"}}',
            'Invalid value "never" for field "date_created"',
        ),
    ],
)
def test_malformed_queries_are_invalid_query(as_admin, query, reason):
    response = as_admin.get(f"/items/articles?{query}")
    assert response.status_code == 400
    assert response.json() == invalid_query(reason)


OPERATOR_CASES = [
    ({"title": {"_eq": "Article 03"}}, ["Article 03"]),
    ({"title": {"_neq": "Article 03"}}, 11),
    ({"title": {"_lt": "Article 03"}}, ["Article 01", "Article 02"]),
    ({"title": {"_lte": "Article 02"}}, ["Article 01", "Article 02"]),
    ({"title": {"_gt": "Article 11"}}, ["Article 12"]),
    ({"title": {"_gte": "Article 11"}}, ["Article 11", "Article 12"]),
    ({"title": {"_in": ["Article 01", "Article 05"]}}, ["Article 01", "Article 05"]),
    ({"title": {"_in": "Article 01,Article 05"}}, ["Article 01", "Article 05"]),
    ({"title": {"_nin": ["Article 01", "Article 05"]}}, 10),
    ({"author": {"_null": True}}, 12),
    ({"author": {"_nnull": True}}, []),
    ({"body": {"_contains": "body 1"}}, ["Article 01", "Article 10", "Article 11", "Article 12"]),
    ({"body": {"_ncontains": "body 1"}}, 8),
    ({"title": {"_icontains": "ARTICLE 1"}}, ["Article 10", "Article 11", "Article 12"]),
    ({"title": {"_starts_with": "Article 0"}}, 9),
    ({"title": {"_ends_with": "2"}}, ["Article 02", "Article 12"]),
    (
        {"title": {"_between": ["Article 02", "Article 04"]}},
        ["Article 02", "Article 03", "Article 04"],
    ),
    ({"title": {"_nbetween": ["Article 02", "Article 11"]}}, ["Article 01", "Article 12"]),
    ({"status": {"_empty": False}}, 12),
    ({"status": {"_nempty": False}}, []),
    (
        {"_or": [{"title": {"_eq": "Article 01"}}, {"title": {"_eq": "Article 02"}}]},
        ["Article 01", "Article 02"],
    ),
    (
        {"_and": [{"title": {"_starts_with": "Article 1"}}, {"body": {"_ends_with": "1"}}]},
        ["Article 11"],
    ),
    ({"date_created": {"_lte": "$NOW"}}, 12),
    ({"date_created": {"_gt": "$NOW(-1 day)"}}, 12),
    ({"date_created": {"_gt": "$NOW(+1 hour)"}}, []),
]


@pytest.mark.parametrize(("filter", "expected"), OPERATOR_CASES)
def test_every_operator(as_admin, numbered, filter, expected):
    found = titles(as_admin.get(with_filter(filter)))
    assert found == expected if isinstance(expected, list) else len(found) == expected


def test_deep_object_filter_syntax(as_admin, numbered):
    response = as_admin.get("/items/articles?fields=title&filter[title][_eq]=Article 07")
    assert titles(response) == ["Article 07"]


def test_search_covers_readable_text_fields(as_admin, numbered):
    assert titles(as_admin.get("/items/articles?fields=title&sort=title&search=BODY 12")) == [
        "Article 12"
    ]
    assert titles(as_admin.get("/items/articles?fields=title&search=zzz")) == []


def test_search_ignores_fields_hidden_on_an_item(api, writer, grant, make_article):
    user, _, policy = writer
    make_article("Visible body", body="needle")
    make_article("Hidden body", body="needle", status="published")
    grant(policy, "articles", "read", fields="title")
    grant(policy, "articles", "read", fields="body", permissions={"status": {"_eq": "draft"}})
    api.force_login(user)
    assert titles(api.get("/items/articles?fields=title&search=needle")) == ["Visible body"]
    response = api.get(with_filter({"body": {"_eq": "needle"}}))
    assert titles(response) == ["Visible body"]


def test_filter_sort_on_forbidden_fields_is_403(api, writer, grant, make_article):
    user, _, policy = writer
    make_article()
    grant(policy, "articles", "read", fields="title")
    api.force_login(user)
    assert api.get(with_filter({"body": {"_eq": "x"}})).json() == no_field("body")
    assert api.get("/items/articles?sort=-body").json() == no_field("body")
    assert api.get(with_filter({"author": {"email": {"_eq": "x"}}})).json() == no_field("author")


def test_meta_counts(as_admin, numbered):
    response = as_admin.get(with_filter({"title": {"_lt": "Article 04"}}, "&meta=*&limit=1"))
    assert response.json() == {
        "data": [{"title": "Article 01"}],
        "meta": {"total_count": 12, "filter_count": 3},
    }
    only_total = as_admin.get("/items/articles?fields=title&meta=total_count&limit=0").json()
    assert only_total == {"data": [], "meta": {"total_count": 12}}


def test_meta_total_count_is_what_permissions_allow(api, public, grant, make_article):
    make_article("A", status="published")
    make_article("B", status="published")
    make_article("C")
    grant(public, "articles", "read", fields="title", permissions={"status": {"_eq": "published"}})
    response = api.get(with_filter({"title": {"_eq": "A"}}, "&meta=*"))
    assert response.json()["meta"] == {"total_count": 2, "filter_count": 1}


def test_nested_author_fields_need_read_on_users(api, writer, grant, make_article, make_user):
    user, _, policy = writer
    other = make_user("other@example.com", first_name="Other")
    make_article("Mine", author=user)
    make_article("Theirs", author=other)
    make_article("Nobody's")
    grant(policy, "articles", "read", fields="title,author")
    api.force_login(user)
    response = api.get("/items/articles?fields=title,author.email")
    assert response.json() == no_field("email", "directus_users", '"author"')
    grant(
        policy,
        "directus_users",
        "read",
        fields="id,email",
        permissions={"id": {"_eq": "$CURRENT_USER"}},
    )
    data = api.get("/items/articles?fields=title,author.email&sort=title").json()["data"]
    assert data == [
        {"title": "Mine", "author": {"email": "writer@example.com"}},
        {"title": "Nobody's", "author": None},
        {"title": "Theirs", "author": None},
    ]
    assert api.get("/items/articles?fields=author.first_name").json() == no_field(
        "first_name", "directus_users", '"author"'
    )
    star = api.get("/items/articles?fields=title,author.*&sort=title").json()["data"][0]
    assert star == {"title": "Mine", "author": {"id": str(user.pk), "email": "writer@example.com"}}
    sorted_by_email = api.get(with_filter({"author": {"email": {"_nnull": True}}})).json()
    assert sorted_by_email == {"data": [{"title": "Mine"}]}


def test_concealed_fields_and_nested_admin_reads(as_admin, admin_user, make_article):
    make_article("A", author=admin_user)
    data = as_admin.get("/items/articles?fields=author.password,author.tfa_secret").json()
    assert data == {"data": [{"author": {"password": "**********", "tfa_secret": None}}]}


def test_fields_param_shapes(as_admin, make_article, admin_user):
    make_article("A", author=admin_user)
    assert as_admin.get("/items/articles?fields[]=title&fields[]=status").json() == {
        "data": [{"title": "A", "status": "draft"}]
    }
    assert as_admin.get("/items/articles?fields=title, status").json() == {
        "data": [{"title": "A", "status": "draft"}]
    }
    assert as_admin.get("/items/articles?fields=title.x").json() == no_field("x", where='"title"')
    [item] = as_admin.get("/items/articles?fields=title,*.*").json()["data"]
    assert item["title"] == "A"
    assert item["author"]["email"] == "admin@example.com"
    assert item["author"]["password"] == "**********"
    both = as_admin.get("/items/articles?fields=author,author.email").json()
    assert both == {"data": [{"author": {"email": "admin@example.com"}}]}


def test_public_policy_id_is_the_contract_one(public):
    assert public.pk == PUBLIC_POLICY_ID


def test_operator_unsupported_by_the_field_type_is_invalid_query(as_admin, numbered):
    response = as_admin.get(with_filter({"author": {"_contains": "x"}}))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_QUERY"
    assert response.json()["errors"][0]["message"].startswith("Invalid query. Unsupported filter:")


def test_wildcard_relations_keep_the_other_fields(as_admin, make_article, admin_user):
    """``*.*`` is every field, with each relation expanded (Directus's ``convertWildcards``)."""
    make_article("A", author=admin_user)
    [item] = as_admin.get("/items/articles?fields=*.*").json()["data"]
    assert {"id", "title", "body", "status", "date_created"} <= set(item)
    assert item["author"]["email"] == "admin@example.com"
    [deeper] = as_admin.get("/items/articles?fields=*.*.*").json()["data"]
    assert deeper["title"] == "A"
    assert deeper["author"]["email"] == "admin@example.com"


def test_now_beyond_the_calendar_is_invalid_query(as_admin):
    response = as_admin.get(with_filter({"date_created": {"_gt": "$NOW(+99999999 years)"}}))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_QUERY"
