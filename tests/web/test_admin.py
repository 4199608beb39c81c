"""The Django admin: who may use it, and that it manages users, roles and policies."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Access, Permission, Policy, Role, User, UserStatus
from tests.support.clients import SignedInClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = SignedInClient()
    client.force_login(admin_user)
    return client


def sign_in_on_page(client: Client, email: str, password: str, **extra: str):
    """The admin's sign-in: the login page, coming back to the admin."""
    return client.post(
        "/login", {"email": email, "password": password, "redirect": "/admin/", **extra}
    )


def test_admin_login_is_the_login_page():
    response = Client().get("/admin/login/?next=/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"] == "/login?redirect=%2Fadmin%2Faccounts%2Fuser%2F"
    response = Client().get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_django_authenticate_signs_nobody_in(admin_user):
    """No AUTHENTICATION_BACKENDS entry is a side door around the sign-in flow."""
    assert Client().login(username="admin@example.com", password="admin-password-1") is False
    assert Client().login(email="admin@example.com", password="admin-password-1") is False


def test_non_admin_cannot_use_the_admin(make_role, make_user):
    role, _ = make_role("Editors", app_access=True)
    make_user("e@example.com", "editor-password-1", role=role)
    client = Client()
    assert sign_in_on_page(client, "e@example.com", "editor-password-1").status_code == 302
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_signs_in_on_the_login_page(admin_user):
    client = Client()
    response = sign_in_on_page(client, "Admin@Example.COM", "admin-password-1")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_suspended_admin_cannot_sign_in(admin_user):
    admin_user.status = UserStatus.SUSPENDED
    admin_user.save()
    client = Client()
    assert sign_in_on_page(client, "admin@example.com", "admin-password-1").status_code == 401
    assert client.get("/admin/").status_code == 302


def test_sso_user_cannot_use_a_password(make_role, make_user):
    role, _ = make_role("Admins", admin_access=True)
    make_user("sso@example.com", "sso-password-123", role=role, provider="keycloak")
    client = Client()
    assert sign_in_on_page(client, "sso@example.com", "sso-password-123").status_code == 401
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    "path",
    [
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/accounts/role/",
        "/admin/accounts/role/add/",
        "/admin/accounts/policy/",
        "/admin/accounts/policy/add/",
        "/admin/accounts/permission/",
        "/admin/accounts/user/?status__exact=active&q=admin",
        "/admin/accounts/policy/?admin_access__exact=1",
    ],
)
def test_admin_pages_render(admin_client, path):
    assert admin_client.get(path).status_code == 200


def test_admin_creates_a_user_with_a_hashed_password(admin_client):
    role = Role.objects.create(name="Writers")
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new@example.com",
            "first_name": "New",
            "last_name": "Person",
            "role": str(role.pk),
            "status": "active",
            "password1": "a-long-new-password",
            "password2": "a-long-new-password",
            "access-TOTAL_FORMS": "0",
            "access-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    user = User.objects.get(email="new@example.com")
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("a-long-new-password")
    assert user.role == role


def test_admin_rejects_a_duplicate_email_in_another_case(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "ADMIN@example.com",
            "status": "active",
            "access-TOTAL_FORMS": "0",
            "access-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert User.objects.filter(email__iexact="admin@example.com").count() == 1


def save_policy(client: Client, policy: Policy, rule: dict[str, str] | None = None, **fields: str):
    """POST the policy change form with at most one new inline permission row."""
    data = {
        "name": policy.name,
        "icon": "badge",
        "permissions-TOTAL_FORMS": "1" if rule else "0",
        "permissions-INITIAL_FORMS": "0",
        "access-TOTAL_FORMS": "0",
        "access-INITIAL_FORMS": "0",
        **fields,
    }
    defaults = {"action": "read", "fields": "*", "permissions": "null", "validation": "null",
                "presets": "null"}  # fmt: skip
    if rule:
        data.update({f"permissions-0-{k}": v for k, v in {**defaults, **rule}.items()})
    return client.post(f"/admin/accounts/policy/{policy.pk}/change/", data)


def test_admin_edits_a_policy_with_inline_permissions(admin_client):
    policy = Policy.objects.create(name="Readers")
    response = save_policy(
        admin_client,
        policy,
        {"collection": "articles", "fields": "id,title",
         "permissions": '{"status": {"_eq": "published"}}'},
        app_access="on",
        public="on",
    )  # fmt: skip
    assert response.status_code == 302, response.content[:3000]
    rule = Permission.objects.get(policy=policy)
    assert (rule.collection, rule.action, rule.field_list) == ("articles", "read", ["id", "title"])
    assert rule.permissions == {"status": {"_eq": "published"}}
    assert Access.objects.filter(policy=policy, role=None, user=None).exists()


def test_admin_rejects_a_malformed_permission_filter(admin_client):
    policy = Policy.objects.create(name="Broken")
    response = save_policy(
        admin_client, policy, {"collection": "articles", "permissions": '{"status": {"_bogus": 1}}'}
    )
    assert response.status_code == 200
    assert not Permission.objects.filter(policy=policy).exists()


def test_unchecking_public_detaches_the_policy(admin_client):
    policy = Policy.objects.create(name="Was public")
    Access.objects.create(policy=policy)
    response = save_policy(admin_client, policy)
    assert response.status_code == 302
    assert not Access.objects.filter(policy=policy).exists()


def test_admin_logs_a_user_out_everywhere(admin_client, make_user):
    from rest_framework.test import APIClient

    from tokens.models import RefreshSession

    user = make_user("victim@example.com", "victim-password-1")
    api = APIClient()
    for _ in range(2):
        api.post(
            "/auth/login",
            {"email": "victim@example.com", "password": "victim-password-1"},
            format="json",
        )
    response = admin_client.post(
        "/admin/accounts/user/",
        {"action": "log_out_everywhere", "_selected_action": [str(user.pk)]},
    )
    assert response.status_code == 302
    assert RefreshSession.objects.filter(user=user, revoked_at__isnull=True).count() == 0
    assert admin_client.get("/admin/tokens/refreshsession/").status_code == 200


def test_admin_revokes_a_sign_in_from_the_session_list(admin_client, make_user):
    from rest_framework.test import APIClient

    from tokens.models import RefreshSession

    make_user("someone@example.com", "someone-password-1")
    APIClient().post(
        "/auth/login",
        {"email": "someone@example.com", "password": "someone-password-1"},
        format="json",
    )
    row = RefreshSession.objects.get(user__email="someone@example.com")
    assert admin_client.get(f"/admin/tokens/refreshsession/{row.pk}/change/").status_code == 200
    assert (
        "token_digest"
        not in admin_client.get(f"/admin/tokens/refreshsession/{row.pk}/change/").content.decode()
    )
    admin_client.post(
        "/admin/tokens/refreshsession/",
        {"action": "revoke_sign_ins", "_selected_action": [str(row.pk)]},
    )
    row.refresh_from_db()
    assert row.revoke_reason == "admin"


def test_permission_collection_must_be_a_registered_collection(admin_client):
    policy = Policy.objects.create(name="Typos")
    page = admin_client.get(f"/admin/accounts/policy/{policy.pk}/change/").content.decode()
    assert '<option value="articles">' in page
    response = save_policy(admin_client, policy, {"collection": "artciles"})
    assert response.status_code == 200
    assert not Permission.objects.filter(policy=policy).exists()


def test_django_groups_are_not_in_the_admin(admin_client):
    assert admin_client.get("/admin/auth/group/").status_code == 404
    assert "/admin/auth/group/" not in admin_client.get("/admin/").content.decode()


def test_empty_json_rules_show_empty_not_null(admin_client):
    policy = Policy.objects.create(name="Readers")
    rule = Permission.objects.create(policy=policy, collection="articles", action="read")
    page = admin_client.get(f"/admin/accounts/permission/{rule.pk}/change/").content.decode()
    assert ">null</textarea>" not in page
    assert 'name="permissions"' in page


def test_constraint_names_never_reach_the_screen(admin_client, make_user):
    policy = Policy.objects.create(name="Both")
    role = Role.objects.create(name="R")
    user = make_user("both@example.com")
    response = admin_client.post(
        f"/admin/accounts/policy/{policy.pk}/change/",
        {
            "name": "Both",
            "icon": "x",
            "access-TOTAL_FORMS": "1",
            "access-INITIAL_FORMS": "0",
            "access-0-role": str(role.pk),
            "access-0-user": str(user.pk),
            "permissions-TOTAL_FORMS": "0",
            "permissions-INITIAL_FORMS": "0",
        },
    )
    page = response.content.decode()
    assert "Attach a policy to a role or to a user, not both." in page
    assert "access_role_or_user_not_both" not in page
    assert not Access.objects.filter(policy=policy).exists()
