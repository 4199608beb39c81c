"""Who may read what: admin, restricted roles, per-item field cases, public, role trees, IPs."""

from __future__ import annotations

import pytest

from accounts.models import Access, Policy
from tests.items.helpers import forbidden, no_collection, no_field

pytestmark = pytest.mark.django_db


def test_admin_reads_every_field(api, admin_user, make_article):
    article = make_article("First", body="Text", author=admin_user)
    api.force_login(admin_user)
    response = api.get("/items/articles")
    assert response.status_code == 200
    [item] = response.json()["data"]
    assert set(item) == {"id", "title", "body", "status", "author", "date_created", "date_updated"}
    assert item["id"] == str(article.pk)
    assert item["author"] == str(admin_user.pk)
    assert item["date_created"].endswith("Z")


def test_public_without_permission_is_forbidden(api, public, make_article):
    make_article()
    response = api.get("/items/articles")
    assert response.status_code == 403
    assert response.json() == no_collection()


def test_unknown_and_system_collections_look_like_forbidden_ones(api, admin_user):
    api.force_login(admin_user)
    for name in ("nope", "directus_users"):
        assert api.get(f"/items/{name}").json() == no_collection(name)
        assert api.post(f"/items/{name}", {}, format="json").json() == no_collection(name, "create")
        assert api.delete(f"/items/{name}", [], format="json").json() == no_collection(
            name, "delete"
        )


def test_public_policy_grants_anonymous_and_role_less_users(
    api, public, grant, make_user, make_article, writer
):
    make_article("Published", status="published")
    make_article("Draft")
    grant(public, "articles", "read", fields="title", permissions={"status": {"_eq": "published"}})
    assert api.get("/items/articles").json() == {"data": [{"title": "Published"}]}
    api.force_login(make_user("norole@example.com"))
    assert api.get("/items/articles").json() == {"data": [{"title": "Published"}]}
    user, _, _ = writer
    api.force_login(user)  # users with a role do not get the public policy
    assert api.get("/items/articles").json() == no_collection()


def test_restricted_role_reads_only_own_items_and_listed_fields(
    api, writer, grant, make_article, make_user
):
    user, _, policy = writer
    other = make_user("other@example.com")
    mine = make_article("Mine", author=user, body="secret")
    make_article("Theirs", author=other)
    grant(
        policy,
        "articles",
        "read",
        fields="id,title,status",
        permissions={"author": {"_eq": "$CURRENT_USER"}},
    )
    api.force_login(user)
    response = api.get("/items/articles")
    assert response.json() == {"data": [{"id": str(mine.pk), "title": "Mine", "status": "draft"}]}
    assert api.get("/items/articles?fields=body").json() == no_field("body")
    assert api.get("/items/articles?fields=nope").json() == no_field("nope")


def test_two_rules_grant_different_fields_to_different_items(
    api, writer, grant, make_article, make_user
):
    user, _, policy = writer
    own = make_article("Own", author=user, status="published", body="own body")
    draft = make_article("Draft", author=make_user("x@example.com"), body="draft body")
    make_article("Invisible", status="archived")
    grant(
        policy,
        "articles",
        "read",
        fields="id,title",
        permissions={"author": {"_eq": "$CURRENT_USER"}},
    )
    grant(policy, "articles", "read", fields="id,body", permissions={"status": {"_eq": "draft"}})
    api.force_login(user)
    response = api.get("/items/articles?fields=id,title,body&sort=title")
    assert response.json() == {
        "data": [
            {"id": str(draft.pk), "title": None, "body": "draft body"},
            {"id": str(own.pk), "title": "Own", "body": None},
        ]
    }
    star = api.get("/items/articles?sort=title").json()["data"]
    assert [set(item) for item in star] == [{"id", "title", "body"}] * 2


def test_field_cases_keep_items_without_a_related_row(api, writer, grant, make_article, admin_user):
    """A rule filtering through a nullable relation must not drop items lacking that relation."""
    user, _, policy = writer
    make_article("No author", body="b1")
    make_article("Admin's", author=admin_user, body="b2")
    grant(policy, "articles", "read", fields="title")
    grant(
        policy,
        "articles",
        "read",
        fields="body",
        permissions={"author": {"email": {"_eq": "admin@example.com"}}},
    )
    api.force_login(user)
    data = api.get("/items/articles?fields=title,body&sort=title").json()["data"]
    assert data == [{"title": "Admin's", "body": "b2"}, {"title": "No author", "body": None}]


def test_read_one_and_missing_items(api, writer, grant, make_article, make_user):
    user, _, policy = writer
    mine = make_article("Mine", author=user)
    theirs = make_article("Theirs", author=make_user("o@example.com"))
    grant(
        policy, "articles", "read", fields="title", permissions={"author": {"_eq": "$CURRENT_USER"}}
    )
    api.force_login(user)
    assert api.get(f"/items/articles/{mine.pk}").json() == {"data": {"title": "Mine"}}
    for key in (theirs.pk, "00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = api.get(f"/items/articles/{key}")
        assert response.status_code == 403
        assert response.json() == forbidden()


def test_child_role_inherits_parent_role_policies(api, make_role, make_user, grant, make_article):
    parent, parent_policy = make_role("Staff")
    child, _ = make_role("Interns", parent=parent)
    make_article("Shared")
    grant(parent_policy, "articles", "read", fields="title")
    api.force_login(make_user("intern@example.com", role=child))
    assert api.get("/items/articles").json() == {"data": [{"title": "Shared"}]}


def test_ip_access_excludes_a_policy(api, writer, grant, make_article):
    user, role, _ = writer
    make_article("Office only")
    office = Policy.objects.create(name="Office", ip_access="10.0.0.0/8")
    Access.objects.create(role=role, policy=office)
    grant(office, "articles", "read", fields="title")
    api.force_login(user)
    assert api.get("/items/articles", REMOTE_ADDR="192.0.2.1").json() == no_collection()
    response = api.get("/items/articles", REMOTE_ADDR="10.1.2.3")
    assert response.json() == {"data": [{"title": "Office only"}]}


def test_permission_changes_apply_at_the_next_request(api, writer, grant, make_article):
    user, _, policy = writer
    make_article("A")
    api.force_login(user)
    assert api.get("/items/articles").status_code == 403
    rule = grant(policy, "articles", "read", fields="title")
    assert api.get("/items/articles").status_code == 200
    rule.delete()
    assert api.get("/items/articles").status_code == 403


def test_warm_reads_run_no_permission_queries(
    api, writer, grant, make_article, django_assert_num_queries
):
    user, _, policy = writer
    make_article("A", author=user)
    grant(
        policy, "articles", "read", fields="title", permissions={"author": {"_eq": "$CURRENT_USER"}}
    )
    api.force_login(user)
    api.get("/items/articles")
    # the session behind the session cookie, then the one items query
    with django_assert_num_queries(2):
        assert api.get("/items/articles").status_code == 200


def test_current_user_field_variable(api, writer, grant, make_article):
    user, _, policy = writer
    user.first_name = "Ada"
    user.save()
    make_article("About Ada", body="Ada")
    make_article("About Bob", body="Bob")
    grant(
        policy,
        "articles",
        "read",
        fields="title",
        permissions={"body": {"_eq": "$CURRENT_USER.first_name"}},
    )
    api.force_login(user)
    assert api.get("/items/articles").json() == {"data": [{"title": "About Ada"}]}


def test_current_role_and_policies_variables(api, writer, grant, make_article):
    user, role, policy = writer
    make_article(str(role.pk))
    make_article(str(policy.pk))
    make_article("other")
    grant(
        policy,
        "articles",
        "read",
        fields="title",
        permissions={
            "_or": [
                {"title": {"_eq": "$CURRENT_ROLE"}},
                {"title": {"_in": "$CURRENT_POLICIES"}},
            ]
        },
    )
    api.force_login(user)
    titles = {item["title"] for item in api.get("/items/articles").json()["data"]}
    assert titles == {str(role.pk), str(policy.pk)}
