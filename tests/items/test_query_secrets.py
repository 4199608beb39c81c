"""The query language never leaks what the caller may not read (attack classes 1 to 4 of
docs/security.md): secrets are refused in filter, sort, search, aggregate and groupBy, for
every caller, admins included; sort orders only by values the caller reads; search covers only
queryable fields; ``$CURRENT_USER.<path>`` resolves only through fields the caller may read.

These go through the Django test client (REST) and the service (what sockets and GraphQL call);
tests/items/test_query_security_server.py repeats one case per class on a real server."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from accounts.accountability import accountability_for_user
from accounts.models import User
from core.errors import Forbidden, InvalidQuery
from items.service import ItemsService
from tests.items.helpers import no_field

pytestmark = pytest.mark.django_db

TFA_SECRET = "JBSWY3DPEHPK3PXP"
SECRETS = ("password", "tfa_secret", "token", "auth_data")


@pytest.fixture
def victim(make_user: Any) -> User:
    user = make_user("victim@example.com", "victim-password-1", first_name="Victim")
    User.objects.filter(pk=user.pk).update(
        tfa_secret=TFA_SECRET, auth_data={"refreshToken": "idp-refresh"}
    )
    return user


@pytest.fixture
def user_reader(api: Any, writer: Any, grant: Any, victim: User) -> Any:
    """A role that may read every field (``*``) of active users, and every article."""
    user, _, policy = writer
    grant(policy, "directus_users", "read", fields="*", permissions={"status": {"_eq": "active"}})
    grant(policy, "articles", "read", fields="*")
    api.force_login(user)
    return api


@pytest.fixture
def as_admin(api: Any, admin_user: User, victim: User) -> Any:
    api.force_login(admin_user)
    return api


def get(client: Any, path: str, **params: Any) -> Any:
    query = "&".join(f"{quote(k)}={quote(str(v))}" for k, v in params.items())
    return client.get(f"{path}?{query}")


def as_filter(value: dict[str, Any]) -> str:
    return json.dumps(value)


# ---------------------------------------------------------------- 1. secrets


@pytest.mark.parametrize("field", SECRETS)
def test_secret_fields_cannot_be_filtered_even_with_star_read(user_reader, field):
    for prefix in (TFA_SECRET[:3], "ZZZ"):  # the right and a wrong guess answer the same
        response = get(user_reader, "/users", **{f"filter[{field}][_starts_with]": prefix})
        assert response.status_code == 403
        assert response.json() == no_field(field, "directus_users")


@pytest.mark.parametrize("field", SECRETS)
def test_admins_cannot_bisect_secrets_either(as_admin, field):
    response = get(as_admin, "/users", **{f"filter[{field}][_gte]": "$"})
    assert response.status_code == 403
    assert response.json() == no_field(field, "directus_users")


def test_secrets_through_a_relation_are_refused(as_admin, make_article, victim):
    make_article("By victim", author=victim)
    for field in SECRETS:
        response = get(
            as_admin, "/items/articles", filter=as_filter({"author": {field: {"_null": False}}})
        )
        assert response.status_code == 403
        assert response.json() == no_field(field, "directus_users", '"author"')


@pytest.mark.parametrize("sort", ["password", "-tfa_secret", "token", "auth_data"])
def test_secret_fields_cannot_be_sorted_on(as_admin, sort):
    response = get(as_admin, "/users", sort=sort)
    assert response.status_code == 403
    assert response.json() == no_field(sort.lstrip("-"), "directus_users")


def test_relation_sort_on_a_secret_is_refused(user_reader, make_article, victim):
    make_article("By victim", author=victim)
    response = get(user_reader, "/items/articles", sort="-author.password")
    assert response.json() == no_field("password", "directus_users", '"author"')


def test_search_never_matches_hashes_or_secrets(as_admin, victim):
    assert get(as_admin, "/users", search="argon2", fields="email").json() == {"data": []}
    assert get(as_admin, "/users", search=TFA_SECRET, fields="email").json() == {"data": []}
    assert get(as_admin, "/users", search="idp-refresh", fields="email").json() == {"data": []}
    found = get(as_admin, "/users", search="Victim", fields="email").json()["data"]
    assert found == [{"email": "victim@example.com"}]


@pytest.mark.parametrize(
    "params",
    [
        {"aggregate[max]": "password"},
        {"aggregate[min]": "tfa_secret"},
        {"aggregate[countDistinct]": "token"},
        {"aggregate[count]": "auth_data"},
        {"aggregate[count]": "*", "groupBy[]": "tfa_secret"},
        {"aggregate[count]": "*", "groupBy": "password"},
    ],
)
def test_secret_fields_cannot_be_aggregated_or_grouped(as_admin, params):
    response = get(as_admin, "/users", **params)
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_relation_aggregate_on_a_secret_is_refused(as_admin, make_article, victim):
    make_article("By victim", author=victim)
    response = get(as_admin, "/items/articles", **{"aggregate[max]": "author.password"})
    assert response.json() == no_field("password", "directus_users", '"author"')


def test_service_refuses_secrets_for_sockets_and_graphql(admin_user, victim):
    """Sockets and GraphQL pass native query values to the same service."""
    service = ItemsService("directus_users", accountability_for_user(admin_user), allow_system=True)
    for query in (
        {"filter": {"tfa_secret": {"_starts_with": "J"}}},
        {"sort": ["password"]},
        {"aggregate": {"max": ["password"]}},
        {"groupBy": ["token"]},
    ):
        with pytest.raises(Forbidden):
            service.read_many(query)


# ---------------------------------------------------------------- 2. sort follows field cases


@pytest.fixture
def own_email_reader(api: Any, writer: Any, grant: Any, make_user: Any, make_article: Any) -> Any:
    """Reads every article, but of users only its own row's ``id,email``."""
    user, _, policy = writer
    grant(policy, "articles", "read", fields="*")
    grant(
        policy,
        "directus_users",
        "read",
        fields="id,email",
        permissions={"id": {"_eq": "$CURRENT_USER"}},
    )
    make_article("by a", author=make_user("a@example.com"))
    make_article("by z", author=make_user("z@example.com"))
    make_article("mine", author=user)
    api.force_login(user)
    return api


def test_sort_orders_by_what_the_caller_reads_back(own_email_reader):
    def order(sort: str) -> list[str]:
        response = get(own_email_reader, "/items/articles", fields="title", sort=f"{sort},title")
        return [item["title"] for item in response.json()["data"]]

    # Others' e-mails read back as null, so they must not order the rows: "by a"/"by z" keep
    # the same relative order both ways (before the fix the descending sort swapped them).
    ascending, descending = order("author.email"), order("-author.email")
    others = ["by a", "by z"]
    assert [t for t in ascending if t in others] == [t for t in descending if t in others]
    emails = get(own_email_reader, "/items/articles", fields="title,author.email", sort="title")
    assert [item["author"] for item in emails.json()["data"]] == [
        None,
        None,
        {"email": "writer@example.com"},
    ]


def test_sort_on_an_unreadable_related_field_is_403(own_email_reader):
    response = get(own_email_reader, "/items/articles", sort="author.first_name")
    assert response.json() == no_field("first_name", "directus_users", '"author"')


def test_group_by_counts_only_readable_values(own_email_reader):
    rows = get(
        own_email_reader,
        "/items/articles",
        **{"aggregate[count]": "*", "groupBy[]": "author.email", "sort": "author.email"},
    ).json()["data"]
    assert sorted(rows, key=lambda r: str(r["author.email"])) == [
        {"author.email": None, "count": 2},
        {"author.email": "writer@example.com", "count": 1},
    ]


# ---------------------------------------------------------------- 3. search


def test_search_skips_fields_no_row_grants(api, writer, grant, make_article):
    user, _, policy = writer
    grant(policy, "articles", "read", fields="id,title")
    make_article("Plain", body="needle in the body")
    api.force_login(user)
    assert get(api, "/items/articles", search="needle").json() == {"data": []}
    assert len(get(api, "/items/articles", search="plain").json()["data"]) == 1


# ---------------------------------------------------------------- 4. dynamic variables


@pytest.mark.parametrize(
    "variable",
    [
        "$CURRENT_USER.password",
        "$CURRENT_USER.tfa_secret",
        "$CURRENT_USER.token",
        "$CURRENT_USER.role.users.password",
        "$CURRENT_USER.role__users__password",
        "$CURRENT_USER.articles.author.password",
        "$CURRENT_USER.nope",
        "$CURRENT_ROLE.users.password",
        "$CURRENT_POLICIES.name",
        "$CURRENT_ROLES.users",
    ],
)
def test_variables_outside_readable_fields_are_invalid_query(user_reader, as_admin, variable):
    for client in (user_reader, as_admin):
        response = get(client, "/users", **{"filter[email][_eq]": variable})
        assert response.status_code == 400, variable
        body = response.json()["errors"][0]
        assert body["extensions"]["code"] == "INVALID_QUERY"
        assert variable in body["message"]


def test_role_variables_follow_the_read_permission_on_roles(api, writer, grant, admin_user):
    """``directus_roles`` is a collection: its fields are as readable as its rows say."""
    user, _, policy = writer
    grant(policy, "directus_users", "read", fields="*")
    api.force_login(user)
    response = get(api, "/users", **{"filter[email][_eq]": "$CURRENT_ROLE.name"})
    assert response.status_code == 400
    grant(policy, "directus_roles", "read", fields="name")
    assert get(api, "/users", **{"filter[email][_eq]": "$CURRENT_ROLE.name"}).status_code == 200
    api.force_login(admin_user)
    assert get(api, "/users", **{"filter[email][_eq]": "$CURRENT_ROLE.name"}).status_code == 200


def test_readable_variables_still_work(user_reader, victim):
    response = get(
        user_reader, "/users", fields="email", **{"filter[email][_eq]": "$CURRENT_USER.email"}
    )
    assert response.json() == {"data": [{"email": "writer@example.com"}]}


def test_variables_need_read_access_to_the_users_collection(api, writer, grant, make_article):
    user, _, policy = writer
    grant(policy, "articles", "read", fields="*")
    make_article("x", author=user)
    api.force_login(user)
    response = get(api, "/items/articles", **{"filter[author][_eq]": "$CURRENT_USER.id"})
    assert response.status_code == 400
    plain = get(api, "/items/articles", fields="title", **{"filter[author][_eq]": "$CURRENT_USER"})
    assert plain.json() == {"data": [{"title": "x"}]}


def test_variables_read_only_what_the_caller_sees_on_its_own_row(api, writer, grant, make_article):
    """A field granted only on other rows resolves to null, not to the caller's value."""
    user, _, policy = writer
    User.objects.filter(pk=user.pk).update(first_name="Ada")
    grant(policy, "articles", "read", fields="title,body")
    grant(
        policy,
        "directus_users",
        "read",
        fields="id,first_name",
        permissions={"id": {"_neq": "$CURRENT_USER"}},
    )
    make_article("about Ada", body="Ada")
    api.force_login(user)
    response = get(api, "/items/articles", **{"filter[body][_eq]": "$CURRENT_USER.first_name"})
    assert response.json() == {"data": []}


def test_service_refuses_variables_for_sockets_and_graphql(admin_user):
    service = ItemsService("articles", accountability_for_user(admin_user))
    with pytest.raises(InvalidQuery):
        service.read_many({"filter": {"title": {"_eq": "$CURRENT_USER.password"}}})
