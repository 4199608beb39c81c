"""/roles, /policies, /permissions, /access and the "about me" routes over HTTP."""

from __future__ import annotations

import pytest

from accounts.models import (
    PUBLIC_POLICY_ID,
    Access,
    AuthEvent,
    Permission,
    Policy,
    Role,
    User,
)
from items.models import Article
from tests.support.clients import SignedInAPIClient

pytestmark = pytest.mark.django_db

ADMIN_PASSWORD = "admin-password-1"
PASSWORD = "correct horse battery"


def sign_in(api, email: str, password: str) -> str:
    response = api.post("/auth/login", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["data"]["access_token"]


@pytest.fixture
def admin(api, admin_user):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, admin_user.email, ADMIN_PASSWORD)}")
    return api


def code(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def data(response, status: int = 200):
    assert response.status_code == status, response.content
    return response.json()["data"]


@pytest.mark.parametrize("route", ["/roles", "/policies", "/permissions", "/access"])
def test_the_public_and_plain_users_may_not_touch_the_access_model(
    api, make_user, make_role, route
) -> None:
    assert api.get(route).status_code == 403
    assert api.post(route, {"name": "x"}, format="json").status_code == 403
    role, _ = make_role("Plain")
    make_user("plain@example.com", PASSWORD, role=role)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, 'plain@example.com', PASSWORD)}")
    response = api.get(route)
    assert response.status_code == 403
    assert code(response) == "FORBIDDEN"
    assert api.post(route, {"name": "x"}, format="json").status_code == 403
    assert not Role.objects.filter(name="x").exists()
    assert not Policy.objects.filter(name="x").exists()


def test_a_script_builds_a_role_policy_permissions_user_and_token(admin) -> None:
    api = SignedInAPIClient()
    Article.objects.create(title="Published", status="published")
    Article.objects.create(title="Draft", status="draft")
    policy = data(
        admin.post(
            "/policies",
            {
                "name": "Readers",
                "app_access": False,
                "permissions": [
                    {
                        "collection": "articles",
                        "action": "read",
                        "fields": ["id", "title"],
                        "permissions": {"status": {"_eq": "published"}},
                    }
                ],
            },
            format="json",
        )
    )
    assert policy["name"] == "Readers"
    assert len(policy["permissions"]) == 1
    role = data(
        admin.post(
            "/roles",
            {"name": "Reader", "policies": [{"policy": policy["id"]}]},
            format="json",
        )
    )
    user = data(
        admin.post(
            "/users",
            {"email": "reader@example.com", "password": PASSWORD, "role": role["id"]},
            format="json",
        )
    )
    admin.patch(f"/users/{user['id']}", {"token": "reader-static-token-1234567890"}, format="json")

    api.credentials(HTTP_AUTHORIZATION="Bearer reader-static-token-1234567890")
    rows = data(api.get("/items/articles"))
    assert rows == [{"id": rows[0]["id"], "title": "Published"}]

    # the role's policies, read back through the junction with nested fields
    read = data(admin.get(f"/roles/{role['id']}", {"fields": "name,policies.policy.name"}))
    assert read == {"name": "Reader", "policies": [{"policy": {"name": "Readers"}}]}

    # a new permission applies to the live token at once
    permission = data(
        admin.post(
            "/permissions",
            {"policy": policy["id"], "collection": "articles", "action": "create", "fields": "*"},
            format="json",
        )
    )
    created = api.post("/items/articles", {"title": "Mine"}, format="json")
    assert created.status_code in (200, 204), created.content
    admin.delete(f"/permissions/{permission['id']}")
    assert api.post("/items/articles", {"title": "No"}, format="json").status_code == 403
    # and detaching the policy from the role ends reading
    assert data(admin.patch(f"/roles/{role['id']}", {"policies": []}, format="json"))
    assert not Access.objects.filter(role_id=role["id"]).exists()
    assert api.get("/items/articles").status_code == 403


def test_star_lists_aliases_as_keys(admin, make_role) -> None:
    role, policy = make_role("Editors")
    access = Access.objects.get(role=role)
    row = data(admin.get(f"/roles/{role.pk}"))
    assert row["policies"] == [str(access.pk)]
    assert row["users"] == []
    assert row["children"] == []
    assert data(admin.get(f"/policies/{policy.pk}"))["roles"] == [str(access.pk)]


def test_query_parameters_apply(admin, make_role) -> None:
    for name in ("Bravo", "Alpha", "Charlie"):
        make_role(name)
    response = admin.get(
        "/roles",
        {
            "fields": "name",
            "sort": "-name",
            "limit": 2,
            "meta": "*",
            "filter": '{"name":{"_neq":"Administrator"}}',
        },
    )
    body = response.json()
    assert body["data"] == [{"name": "Charlie"}, {"name": "Bravo"}]
    assert body["meta"]["filter_count"] == 3
    assert data(admin.get("/roles", {"search": "alph", "fields": "name"})) == [{"name": "Alpha"}]
    bad = admin.get("/roles", {"filter": "{not json"})
    assert bad.status_code == 400
    assert code(bad) == "INVALID_QUERY"


def test_a_role_cannot_become_its_own_ancestor(admin) -> None:
    top = Role.objects.create(name="Top")
    middle = Role.objects.create(name="Middle", parent=top)
    response = admin.patch(f"/roles/{top.pk}", {"parent": str(middle.pk)}, format="json")
    assert response.status_code == 400
    assert code(response) == "INVALID_PAYLOAD"
    response = admin.patch(f"/roles/{top.pk}", {"parent": {"id": str(top.pk)}}, format="json")
    assert response.status_code == 400
    top.refresh_from_db()
    assert top.parent_id is None


def test_the_public_policy_and_the_last_admin_stay(admin, admin_user) -> None:
    response = admin.delete(f"/policies/{PUBLIC_POLICY_ID}")
    assert response.status_code == 422
    assert code(response) == "UNPROCESSABLE_CONTENT"
    assert Policy.objects.filter(pk=PUBLIC_POLICY_ID).exists()

    role = admin_user.role
    response = admin.delete(f"/roles/{role.pk}")
    assert response.status_code == 422, response.content
    assert Role.objects.filter(pk=role.pk).exists()
    admin_policy = Policy.objects.get(access__role=role, admin_access=True)
    response = admin.patch(f"/policies/{admin_policy.pk}", {"admin_access": False}, format="json")
    assert response.status_code == 422
    assert Policy.objects.get(pk=admin_policy.pk).admin_access
    response = admin.patch(f"/roles/{role.pk}", {"policies": []}, format="json")
    assert response.status_code == 422
    assert Access.objects.filter(role=role, policy=admin_policy).exists()
    access = Access.objects.get(role=role, policy=admin_policy)
    assert admin.delete(f"/access/{access.pk}").status_code == 422
    assert Access.objects.filter(pk=access.pk).exists()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"collection": "nope", "action": "read"}, 400),
        ({"collection": "articles", "action": "fly"}, 400),
        ({"collection": "articles", "action": "read", "fields": "title,nope"}, 400),
        (
            {"collection": "articles", "action": "read", "permissions": {"title": {"_bogus": 1}}},
            400,
        ),
        ({"collection": "articles", "action": "read", "presets": [1]}, 400),
        ({"collection": "articles", "action": "read", "unknown": 1}, 400),
        ({"collection": 5, "action": "read"}, 400),
    ],
)
def test_bad_permissions_are_refused_before_anything_is_written(
    admin, make_role, body, status
) -> None:
    _, policy = make_role("Target")
    before = Permission.objects.count()
    response = admin.post("/permissions", {"policy": str(policy.pk), **body}, format="json")
    assert response.status_code == status, response.content
    assert Permission.objects.count() == before


def test_a_nested_failure_leaves_nothing_behind(admin) -> None:
    response = admin.post(
        "/policies",
        {"name": "Half", "permissions": [{"collection": "articles", "action": "read"},
                                          {"collection": "nope", "action": "read"}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert not Policy.objects.filter(name="Half").exists()


def test_access_rows_attach_to_a_role_or_a_user_not_both(admin, make_role, make_user) -> None:
    role, policy = make_role("R")
    user = make_user("u@example.com", PASSWORD)
    response = admin.post(
        "/access",
        {"policy": str(policy.pk), "role": str(role.pk), "user": str(user.pk)},
        format="json",
    )
    assert response.status_code == 400
    assert code(response) == "INVALID_PAYLOAD"
    response = admin.post(
        "/access", {"policy": str(policy.pk), "role": "00000000-0000-0000-0000-000000000000"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    row = data(admin.post("/access", {"policy": {"id": str(policy.pk)}, "user": str(user.pk)},
                          format="json"))  # fmt: skip
    assert Access.objects.filter(pk=row["id"], user=user).exists()


def test_user_policies_are_an_alias_too(admin, make_role) -> None:
    _, policy = make_role("Extra")
    user = data(
        admin.post(
            "/users",
            {
                "email": "p@example.com",
                "password": PASSWORD,
                "policies": [{"policy": str(policy.pk)}],
            },
            format="json",
        )
    )
    assert Access.objects.filter(user_id=user["id"], policy=policy).exists()
    read = data(admin.get(f"/users/{user['id']}", {"fields": "email,policies.policy.id"}))
    assert read == {"email": "p@example.com", "policies": [{"policy": {"id": str(policy.pk)}}]}
    attached = str(Access.objects.get(user_id=user["id"]).pk)
    patched = admin.patch(
        f"/users/{user['id']}", {"policies": {"delete": [attached]}}, format="json"
    )
    assert patched.status_code in (200, 204)
    assert not Access.objects.filter(user_id=user["id"]).exists()


def test_a_policy_can_grant_reading_roles(api, make_role, make_user, grant) -> None:
    role, policy = make_role("Auditors")
    grant(policy, "directus_roles", "read", fields="id,name")
    make_user("auditor@example.com", PASSWORD, role=role)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, 'auditor@example.com', PASSWORD)}")
    names = [row["name"] for row in data(api.get("/roles"))]
    assert "Auditors" in names
    response = api.get("/roles", {"fields": "description"})
    assert response.status_code == 403
    assert api.post("/roles", {"name": "Mine"}, format="json").status_code == 403


def test_changes_are_in_the_auth_log(admin) -> None:
    role = data(admin.post("/roles", {"name": "Logged"}, format="json"))
    event = AuthEvent.objects.filter(kind="access.changed").latest("created_at")
    assert event.details["collection"] == "directus_roles"
    assert event.details["action"] == "create"
    assert event.details["keys"] == [role["id"]]
    assert event.user.email == "admin@example.com"


def test_permissions_me(api, admin, make_role, make_user, grant) -> None:
    everything = data(admin.get("/permissions/me"))
    assert everything["articles"]["read"] == {"access": "full", "fields": ["*"]}
    role, policy = make_role("Writers")
    grant(
        policy, "articles", "read", fields="id,title", permissions={"status": {"_eq": "published"}}
    )
    grant(policy, "articles", "create", fields="*", presets={"status": "draft"})
    make_user("writer@example.com", PASSWORD, role=role)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, 'writer@example.com', PASSWORD)}")
    mine = data(api.get("/permissions/me"))
    assert mine["articles"]["read"] == {"access": "partial", "fields": ["id", "title"]}
    assert mine["articles"]["create"] == {
        "access": "full", "fields": ["*"], "presets": {"status": "draft"},
    }  # fmt: skip
    assert mine["articles"]["delete"] == {"access": "none"}
    assert "directus_roles" not in mine
    api.credentials()
    assert api.get("/permissions/me").status_code == 403


def test_permissions_me_for_an_item(api, make_role, make_user, grant) -> None:
    role, policy = make_role("Owners")
    mine = Article.objects.create(title="A", status="draft")
    other = Article.objects.create(title="B", status="published")
    grant(policy, "articles", "update", permissions={"status": {"_eq": "draft"}})
    make_user("owner@example.com", PASSWORD, role=role)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, 'owner@example.com', PASSWORD)}")
    assert data(api.get(f"/permissions/me/articles/{mine.pk}"))["update"] == {"access": True}
    assert data(api.get(f"/permissions/me/articles/{other.pk}"))["update"] == {"access": False}
    assert data(api.get("/permissions/me/articles"))["delete"] == {"access": False}
    assert data(api.get("/permissions/me/nope/1"))["update"] == {"access": False}


def test_policies_me_globals(api, admin, make_role, make_user) -> None:
    assert data(admin.get("/policies/me/globals")) == {
        "app_access": True, "admin_access": True, "enforce_tfa": False,
    }  # fmt: skip
    api.credentials()
    assert data(api.get("/policies/me/globals"))["admin_access"] is False
    role, _ = make_role("Strict", enforce_tfa=True, app_access=True)
    make_user("strict@example.com", PASSWORD, role=role)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, 'strict@example.com', PASSWORD)}")
    assert data(api.get("/policies/me/globals"))["enforce_tfa"] is True


def test_roles_me(api, make_role, make_user) -> None:
    parent, _ = make_role("Parent", app_access=True)
    child, _ = make_role("Child", parent=parent)
    make_user("child@example.com", PASSWORD, role=child)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, 'child@example.com', PASSWORD)}")
    rows = data(api.get("/roles/me", {"fields": "id,name"}))
    assert [row["name"] for row in rows] == ["Parent", "Child"]
    api.credentials()
    assert api.get("/roles/me").status_code == 403


def test_roles_me_without_read_gives_ids(api, make_role, make_user) -> None:
    role, _ = make_role("Bare")
    make_user("bare@example.com", PASSWORD, role=role)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, 'bare@example.com', PASSWORD)}")
    assert data(api.get("/roles/me")) == [{"id": str(role.pk)}]


def test_many_at_once(admin) -> None:
    rows = data(admin.post("/roles", [{"name": "One"}, {"name": "Two"}], format="json"))
    keys = [row["id"] for row in rows]
    assert data(admin.patch("/roles", {"keys": keys, "data": {"icon": "star"}}, format="json"))
    assert set(Role.objects.filter(pk__in=keys).values_list("icon", flat=True)) == {"star"}
    assert admin.delete("/roles", keys, format="json").status_code == 204
    assert not Role.objects.filter(pk__in=keys).exists()
    assert User.objects.filter(email="admin@example.com").exists()


def test_only_admins_grant_admin_access(api, make_role, make_user, grant) -> None:
    """A policy may delegate the access model to a non-admin, never admin access itself."""
    role, policy = make_role("Managers")
    for collection in ("directus_policies", "directus_access"):
        for action in ("create", "read", "update"):
            grant(policy, collection, action)
    manager = make_user("manager@example.com", PASSWORD, role=role)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api, 'manager@example.com', PASSWORD)}")
    response = api.post("/policies", {"name": "Mine", "admin_access": True}, format="json")
    assert response.status_code == 403
    assert not Policy.objects.filter(name="Mine").exists()
    admin_policy = Policy.objects.create(name="Admins", admin_access=True)
    response = api.post(
        "/access", {"policy": str(admin_policy.pk), "user": str(manager.pk)}, format="json"
    )
    assert response.status_code == 403
    assert not Access.objects.filter(user=manager).exists()
    own = Access.objects.get(role=role)
    response = api.patch(f"/access/{own.pk}", {"policy": str(admin_policy.pk)}, format="json")
    assert response.status_code == 403
    # what they were granted still works
    created = data(api.post("/policies", {"name": "Plain"}, format="json"))
    assert created["name"] == "Plain"


def test_alias_reads_are_capped(admin, make_role, monkeypatch) -> None:
    from system import base

    monkeypatch.setattr(base, "MAX_ALIAS_ROWS", 2)
    role, _ = make_role("Crowd")
    for n in range(3):
        User.objects.create_user(f"crowd{n}@example.com", PASSWORD, role=role)
    response = admin.get(f"/roles/{role.pk}", {"fields": "users"})
    assert response.status_code == 400
    assert code(response) == "INVALID_QUERY"


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/roles", {"name": 5}),
        ("/roles", {"name": "x", "parent": "not-a-uuid"}),
        ("/roles", {"name": "x", "nope": 1}),
        ("/roles", {"name": "x", "policies": "abc"}),
        ("/roles", {"name": "x", "policies": [{"policy": "00000000-0000-0000-0000-000000000000"}]}),
        ("/roles", {"name": "x", "policies": {"create": "no"}}),
        ("/roles", ["not an object"]),
        ("/roles", "text"),
        ("/policies", {"name": "x", "admin_access": "yes"}),
        ("/policies", {"name": "x", "ip_access": "300.1.1.1"}),
        ("/policies", {"name": "x", "permissions": [5]}),
        ("/policies", {"name": "x", "roles": [{"sort": 1}]}),
        ("/access", {"policy": None}),
        ("/permissions", {"policy": "nope", "collection": "articles", "action": "read"}),
        ("/users", {"email": "bad@example.com", "policies": [{"policy": 7}]}),
    ],
)
def test_bad_bodies_are_4xx_and_write_nothing(admin, route, body) -> None:
    counts = (Role.objects.count(), Policy.objects.count(), Access.objects.count(),
              Permission.objects.count(), User.objects.count())  # fmt: skip
    response = admin.post(route, body, format="json")
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["errors"][0]["extensions"]["code"]
    assert counts == (Role.objects.count(), Policy.objects.count(), Access.objects.count(),
                      Permission.objects.count(), User.objects.count())  # fmt: skip


def test_a_batch_update_is_one_auth_event_and_one_admin_check(admin, monkeypatch) -> None:
    from system import base

    one = data(admin.post("/roles", [{"name": "B1"}, {"name": "B2"}], format="json"))
    before = AuthEvent.objects.filter(kind="access.changed").count()
    counts: list[int] = []
    real = base.active_admins
    monkeypatch.setattr(base, "active_admins", lambda *a, **k: counts.append(1) or real(*a, **k))
    body = [{"id": row["id"], "icon": "star"} for row in one]
    assert admin.patch("/roles", body, format="json").status_code == 200
    events = AuthEvent.objects.filter(kind="access.changed").order_by("created_at")
    assert events.count() == before + 1
    assert sorted(events.last().details["keys"]) == sorted(row["id"] for row in one)
    assert len(counts) == 2  # before and after, by the outermost guard only
