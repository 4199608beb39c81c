"""``aggregate`` and ``groupBy`` as Directus answers them, under the read rows: only visible
items are counted, and a field is aggregated only where the caller could read it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from items.models import Article, ArticleStatus
from tests.items.helpers import invalid_query, no_field

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_admin(api: Any, admin_user: Any) -> Any:
    api.force_login(admin_user)
    return api


@pytest.fixture
def articles(make_article: Any, admin_user: Any) -> list[Article]:
    return [
        make_article("alpha", status=ArticleStatus.PUBLISHED, author=admin_user),
        make_article("beta", status=ArticleStatus.PUBLISHED),
        make_article("gamma", status=ArticleStatus.DRAFT, author=admin_user),
    ]


def data(client: Any, **params: str) -> Any:
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())
    response = client.get(f"/items/articles?{query}")
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def test_count_star_and_fields(as_admin, articles):
    assert data(as_admin, **{"aggregate[count]": "*"}) == [{"count": 3}]
    assert data(as_admin, **{"aggregate[count]": "author"}) == [{"count": {"author": 2}}]
    assert data(as_admin, **{"aggregate[countDistinct]": "author,status"}) == [
        {"countDistinct": {"author": 1, "status": 2}}
    ]
    assert data(as_admin, **{"aggregate[count]": "*,title"}) == [{"count": {"*": 3, "title": 3}}]


def test_min_max_and_filters_apply_first(as_admin, articles):
    answer = data(
        as_admin,
        **{
            "aggregate[min]": "title",
            "aggregate[max]": "title",
            "filter[status][_eq]": "published",
        },
    )
    assert answer == [{"min": {"title": "alpha"}, "max": {"title": "beta"}}]


def test_group_by_with_sort_limit_and_offset(as_admin, articles):
    grouped = data(as_admin, **{"aggregate[count]": "*", "groupBy[]": "status", "sort": "-status"})
    assert grouped == [{"status": "published", "count": 2}, {"status": "draft", "count": 1}]
    second = data(
        as_admin, **{"aggregate[count]": "*", "groupBy": "status", "sort": "status", "offset": "1"}
    )
    assert second == [{"status": "published", "count": 2}]
    assert data(as_admin, groupBy="status", sort="status") == [
        {"status": "draft"},
        {"status": "published"},
    ]


def test_only_visible_items_and_values_are_aggregated(api, writer, grant, articles, make_article):
    user, _, policy = writer
    grant(
        policy, "articles", "read", fields="id,status", permissions={"status": {"_eq": "published"}}
    )
    grant(policy, "articles", "read", fields="*", permissions={"author": {"_eq": "$CURRENT_USER"}})
    make_article("zeta (own draft)", status=ArticleStatus.DRAFT, author=user)
    api.force_login(user)
    assert data(api, **{"aggregate[count]": "*"}) == [{"count": 3}]
    # Titles are readable only on the writer's own article, so max/countDistinct see only it.
    assert data(api, **{"aggregate[max]": "title", "aggregate[countDistinct]": "title"}) == [
        {"max": {"title": "zeta (own draft)"}, "countDistinct": {"title": 1}}
    ]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"aggregate[nope]": "title"}, '"nope" is not a valid aggregate function'),
        ({"aggregate[max]": "*"}, '"aggregate[max]" needs field names'),
        ({"aggregate[sum]": "title"}, '"sum" can\'t be used on field "title"'),
        ({"aggregate[avg]": "author"}, '"avg" can\'t be used on field "author"'),
        ({"aggregate[max]": "id"}, '"max" can\'t be used on field "id"'),
        ({"aggregate": "[1]"}, '"aggregate" has to be an object of functions and fields'),
        (
            {"aggregate[count]": "*", "groupBy": "status", "sort": "title"},
            '"sort" on "title" needs "title" in "groupBy"',
        ),
    ],
)
def test_malformed_aggregates_are_invalid_query(as_admin, articles, params, reason):
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())
    response = as_admin.get(f"/items/articles?{query}")
    assert response.status_code == 400
    assert response.json() == invalid_query(reason)


def test_aggregating_an_unreadable_field_is_403(api, writer, grant, articles):
    user, _, policy = writer
    grant(policy, "articles", "read", fields="id,title")
    api.force_login(user)
    response = api.get("/items/articles?aggregate[countDistinct]=body")
    assert response.status_code == 403
    assert response.json() == no_field("body")
    assert api.get("/items/articles?groupBy=status").json() == no_field("status")
