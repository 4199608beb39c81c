"""Compiled list reads (items.plans): reused while nothing they follow from changes, and the
same answer as compiling the read again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from accounts.accountability import accountability_for_user, public_accountability
from items import plans
from items.models import Article
from items.query import parse_query
from items.reader import read, select
from items.service import ItemsService, Page, _narrow

pytestmark = pytest.mark.django_db


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times Django compiled a query (``SQLCompiler.as_sql``)."""
    calls: list[int] = []
    original = SQLCompiler.as_sql

    def counting(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    return calls


@pytest.fixture
def articles(make_article: Any, admin_user: Any) -> list[Article]:
    made = []
    for i in range(12):
        status = "published" if i % 3 else "draft"
        made.append(make_article(f"Article {i:02}", status=status, body=f"body {i}"))
    made[0].author = admin_user
    made[0].save()
    return made


def unplanned(service: ItemsService, query: dict[str, Any]) -> Page:
    """The same read compiled by the ORM as it was before plans."""
    q = parse_query(query)
    scope = service._scope("read")
    selection = select(scope, q.fields)
    visible = service._all().filter(scope.visible())
    filtered = _narrow(visible, service._conditions(scope, q))
    stop = None if q.limit is None else q.offset + q.limit
    ordered = filtered.order_by(*service._ordering(scope, q.sort))
    return Page(read(selection, ordered, q.offset, stop), service._meta(q, visible, filtered))


QUERIES: list[dict[str, Any]] = [
    {},
    {"limit": 5},
    {"limit": 5, "offset": 3, "sort": ["-title"]},
    {"fields": ["id", "title"], "filter": {"status": {"_eq": "published"}}},
    {"sort": ["status", "-date_created"], "meta": ["total_count", "filter_count"], "limit": 4,
     "filter": {"title": {"_contains": "1"}}},
    {"search": "body 1", "meta": ["filter_count"]},
    {"filter": {"title": {"_eq": "nothing like it"}}, "meta": ["*"]},
    {"filter": {"_and": [{"status": {"_in": []}}]}, "meta": ["total_count", "filter_count"]},
]  # fmt: skip


@pytest.mark.parametrize("query", QUERIES)
def test_a_planned_read_answers_as_the_compiled_one(query, articles, writer, grant) -> None:
    user, _, policy = writer
    grant(policy, "articles", "read", fields="id,title,status,date_created")
    grant(policy, "articles", "read", fields="*", permissions={"status": {"_eq": "published"}})
    service = ItemsService("articles", accountability_for_user(user))
    first = service.read_many(query)
    again = ItemsService("articles", accountability_for_user(user)).read_many(query)
    assert len(plans.plans) == 1
    assert first == again
    assert first == unplanned(service, query)  # the ORM's answer
    # Each field shown under the row that grants it: body only on published items.
    for item in first.data:
        if "body" in item and item.get("status") == "draft":
            assert item["body"] is None


def test_a_plan_is_compiled_once_and_then_only_run(articles, admin_user, compiles) -> None:
    acc = accountability_for_user(admin_user)
    query = {"limit": 3, "sort": ["-title"], "meta": ["filter_count"]}
    first = ItemsService("articles", acc).read_many(query)
    compiled = len(compiles)
    assert compiled > 0
    with CaptureQueriesContext(connection) as queries:
        again = ItemsService("articles", acc).read_many(query)
    assert len(compiles) == compiled  # nothing compiled again
    assert again == first
    assert len(queries) == 2  # the rows and the count, nothing else
    assert [item["title"] for item in again.data] == ["Article 11", "Article 10", "Article 09"]
    assert again.meta == {"filter_count": 12}


def test_values_keep_their_types(articles, admin_user) -> None:
    acc = accountability_for_user(admin_user)
    for _ in range(2):
        [item] = ItemsService("articles", acc).read_many({"limit": 1, "sort": ["title"]}).data
        assert item["id"] == str(articles[0].pk)
        assert item["author"] == str(admin_user.pk)
        assert isinstance(item["date_created"], str)
        assert item["date_created"].endswith("Z")


def test_a_permission_change_is_seen_at_once(articles, writer, grant) -> None:
    user, _, policy = writer
    rule = grant(
        policy, "articles", "read", fields="title", permissions={"status": {"_eq": "draft"}}
    )
    acc = accountability_for_user(user)
    assert len(ItemsService("articles", acc).read_many().data) == 4
    rule.permissions = {"status": {"_eq": "published"}}
    rule.save()
    acc = accountability_for_user(user)
    assert len(ItemsService("articles", acc).read_many().data) == 8
    rule.fields = "title,status"
    rule.save()
    acc = accountability_for_user(user)
    item = ItemsService("articles", acc).read_many({"limit": 1}).data[0]
    assert set(item) == {"title", "status"}


def test_value_types_in_a_filter_are_different_plans(articles, admin_user) -> None:
    acc = accountability_for_user(admin_user)
    Article.objects.filter(pk=articles[1].pk).update(title="1")
    Article.objects.filter(pk=articles[2].pk).update(title="True")
    titles = {}
    for value in ("1", 1, True):
        page = ItemsService("articles", acc).read_many({"filter": {"title": {"_eq": value}}})
        titles[repr(value)] = [item["title"] for item in page.data]
    assert titles == {"'1'": ["1"], "1": ["1"], "True": ["True"]}
    assert len(plans.plans) == 3


def test_callers_never_share_a_plan_that_names_them(articles, make_user, make_role, grant) -> None:
    role, policy = make_role("Authors")
    grant(
        policy, "articles", "read", fields="title", permissions={"author": {"_eq": "$CURRENT_USER"}}
    )
    one = make_user("one@example.com", role=role)
    two = make_user("two@example.com", role=role)
    Article.objects.filter(pk=articles[1].pk).update(author=one)
    Article.objects.filter(pk=articles[2].pk).update(author=two)
    for user, title in ((one, "Article 01"), (two, "Article 02"), (one, "Article 01")):
        page = ItemsService("articles", accountability_for_user(user)).read_many()
        assert page.data == [{"title": title}]


def test_reads_that_use_now_or_a_looked_up_value_are_not_kept(articles, writer, grant) -> None:
    user, _, policy = writer
    grant(
        policy, "articles", "read", fields="title", permissions={"date_created": {"_lte": "$NOW"}}
    )
    grant(policy, "directus_users", "read", fields="email")
    acc = accountability_for_user(user)
    assert len(ItemsService("articles", acc).read_many().data) == 12
    assert len(plans.plans) == 0
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    Article.objects.filter(pk=articles[0].pk).update(date_created=future)
    assert len(ItemsService("articles", acc).read_many().data) == 11
    Article.objects.filter(pk=articles[1].pk).update(title=user.email)
    query = {"filter": {"title": {"_eq": "$CURRENT_USER.email"}}}
    assert ItemsService("articles", acc).read_many(query).data == [{"title": user.email}]
    assert len(plans.plans) == 0


def test_the_public_gets_plans_of_its_own(api, public, grant, articles) -> None:
    grant(public, "articles", "read", fields="title", permissions={"status": {"_eq": "draft"}})
    for _ in range(2):
        response = api.get("/items/articles", {"fields": "title", "limit": "2"})
        assert response.json() == {"data": [{"title": "Article 00"}, {"title": "Article 03"}]}
    page = ItemsService("articles", public_accountability()).read_many({"limit": 2})
    assert page.data == [{"title": "Article 00"}, {"title": "Article 03"}]


def test_the_plan_store_is_bounded() -> None:
    store = plans.Plans(size=2)
    plan = plans.Plan(plans.Compiled("default", None, (), (), ()), ())
    for key in (b"a", b"b", b"a", b"c"):
        store.put(key, plan)
    assert store.get(b"b") is None  # a was used again after b
    assert store.get(b"a") is plan
    assert store.get(b"c") is plan
