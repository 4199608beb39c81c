"""Caps on hostile query and body input (attack class 5 of docs/security.md): each is a 400
with the contract's code (INVALID_QUERY for queries, INVALID_PAYLOAD for bodies), never a 500,
answered at once. Every case runs anonymously against the public policy, which may read and
create articles, so the cap and not a permission answers."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import pytest

from accounts.accountability import accountability_for
from accounts.permissions import MAX_DEPTH, MAX_LOGICAL_ITEMS
from core.errors import InvalidPayload, InvalidQuery
from items.models import Article
from items.query import MAX_SEARCH_LENGTH
from items.service import ItemsService

pytestmark = pytest.mark.django_db

BIG = 2**64
HUGE_INTEGER = "9" * 4000  # fewer digits than Python's 4300-digit parsing limit


@pytest.fixture
def anonymous(api: Any, public: Any, grant: Any, make_article: Any) -> Any:
    grant(public, "articles", "read", fields="*")
    grant(public, "articles", "create", fields="*")
    make_article("Public article")
    assert api.get("/items/articles").status_code == 200  # warm up: imports, URL resolver
    return api


def nested(levels: int) -> dict[str, Any]:
    """A filter of exactly ``levels`` nested objects (the root is level 1)."""
    node: dict[str, Any] = {"title": {"_nnull": True}}  # two levels
    for _ in range(levels - 2):
        node = {"_and": [node]}
    return node


def answer(client: Any, query: str) -> tuple[int, str | None]:
    started = time.monotonic()
    response = client.get(f"/items/articles?{query}")
    assert time.monotonic() - started < 1.0, query[:80]
    body = response.json()
    code = body["errors"][0]["extensions"]["code"] if "errors" in body else None
    return response.status_code, code


def filter_param(value: Any) -> str:
    return "filter=" + quote(json.dumps(value))


def test_nesting_depth_is_capped_at_20(anonymous):
    assert MAX_DEPTH == 20
    assert answer(anonymous, filter_param(nested(MAX_DEPTH))) == (200, None)
    assert answer(anonymous, filter_param(nested(MAX_DEPTH + 1))) == (400, "INVALID_QUERY")


def test_deep_object_params_are_capped_too(anonymous):
    deep = "filter" + "[title]" * 30 + "[_eq]=x"
    assert answer(anonymous, deep) == (400, "INVALID_QUERY")


def test_json_nested_past_the_recursion_limit_is_invalid_query(anonymous):
    assert answer(anonymous, "filter=" + "[" * 100_000) == (400, "INVALID_QUERY")
    assert answer(anonymous, "filter=" + '{"a":' * 100_000) == (400, "INVALID_QUERY")


@pytest.mark.parametrize("logical", ["_and", "_or"])
def test_logical_lists_are_capped_at_100(anonymous, logical):
    item = {"title": {"_nnull": True}}
    assert answer(anonymous, filter_param({logical: [item] * MAX_LOGICAL_ITEMS})) == (200, None)
    too_many = {logical: [item] * (MAX_LOGICAL_ITEMS + 1)}
    assert answer(anonymous, filter_param(too_many)) == (400, "INVALID_QUERY")


def test_total_conditions_are_capped(anonymous):
    wide = {"_and": [{"_or": [{"title": {"_eq": str(n)}}] * 100} for n in range(11)]}
    assert answer(anonymous, filter_param(wide)) == (400, "INVALID_QUERY")


@pytest.mark.parametrize(
    "query",
    [
        "filter[title]=a&filter[title][_eq]=b",
        "filter[title][_eq]=b&filter[title]=a",
        "filter[title][_eq]=b&filter[title][_eq][x]=c",
    ],
)
def test_conflicting_deep_object_forms_are_invalid_query(anonymous, query):
    assert answer(anonymous, query) == (400, "INVALID_QUERY")


@pytest.mark.parametrize(
    "query",
    [
        f"offset={BIG}",
        f"offset={2**63}",
        f"page={BIG}&limit=10",
        f"page={2**62}&limit=10",
        f"limit={BIG}",
        f"offset={'9' * 5000}",
    ],
)
def test_offsets_pages_and_limits_beyond_64_bits_are_invalid_query(anonymous, query):
    assert answer(anonymous, query) == (400, "INVALID_QUERY")


def test_the_largest_64_bit_offset_is_answered(anonymous):
    assert answer(anonymous, f"offset={2**63 - 1}") == (200, None)


@pytest.mark.parametrize(
    "value",
    [
        {"title": {"_eq": int(HUGE_INTEGER)}},
        {"title": {"_in": [1, int(HUGE_INTEGER)]}},
        {"title": {"_between": [0, BIG]}},
        {"title": {"_eq": -BIG}},
    ],
)
def test_integers_beyond_64_bits_in_filters_are_invalid_query(anonymous, value):
    assert answer(anonymous, filter_param(value)) == (400, "INVALID_QUERY")


def test_integers_beyond_the_parser_limit_and_non_finite_numbers(anonymous):
    beyond = '{"title":{"_eq":' + "9" * 5000 + "}}"
    assert answer(anonymous, "filter=" + quote(beyond)) == (400, "INVALID_QUERY")
    assert answer(anonymous, "filter=" + quote('{"title":{"_eq":1e400}}')) == (
        400,
        "INVALID_QUERY",
    )


def test_huge_integer_text_for_a_date_field_is_invalid_query(anonymous):
    query = f"filter[date_created][_gt]={HUGE_INTEGER}"
    assert answer(anonymous, query) == (400, "INVALID_QUERY")


def test_search_is_capped_at_1000_characters(anonymous):
    assert MAX_SEARCH_LENGTH == 1000
    assert answer(anonymous, "search=" + "a" * MAX_SEARCH_LENGTH) == (200, None)
    assert answer(anonymous, "search=" + "a" * (MAX_SEARCH_LENGTH + 1)) == (400, "INVALID_QUERY")


@pytest.mark.parametrize(
    "query",
    [
        "filter=" + quote('{"title":{"_eq":"a\\ud800b"}}'),
        "filter=" + quote('{"title":{"_in":["x","\\udfff"]}}'),
        "filter=" + quote('{"\\ud800":{"_eq":"x"}}'),
        "fields=" + quote('["\\ud800"]'),
        "aggregate=" + quote('{"count":["\\ud800"]}'),
    ],
)
def test_lone_surrogates_in_queries_are_invalid_query(anonymous, query):
    assert answer(anonymous, query) == (400, "INVALID_QUERY")


@pytest.mark.parametrize(
    "body",
    ['{"title": "a\\ud800b"}', '[{"title": "ok"}, {"title": "\\udc00"}]', '{"\\ud800": "x"}'],
)
def test_lone_surrogates_in_bodies_are_invalid_payload(anonymous, body):
    response = anonymous.post("/items/articles", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"
    assert Article.objects.count() == 1


def test_the_service_applies_the_caps_for_sockets_and_graphql(public, grant):
    grant(public, "articles", "read", fields="*")
    grant(public, "articles", "create", fields="*")
    service = ItemsService("articles", accountability_for(None))
    for query in (
        {"filter": nested(MAX_DEPTH + 1)},
        {"filter": {"title": {"_eq": "\ud800"}}},
        {"search": "x" * (MAX_SEARCH_LENGTH + 1)},
        {"search": "\udfff"},
        {"offset": BIG},
        {"limit": BIG},
        {"filter": {"title": {"_eq": BIG}}},
    ):
        with pytest.raises(InvalidQuery):
            service.read_many(query)
    with pytest.raises(InvalidPayload):
        service.create_one({"title": "\ud800"})
    assert not Article.objects.exists()
