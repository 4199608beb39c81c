"""Privilege fields of ``directus_users`` (accounts.permissions.fields): a ``*`` in a non-admin
row does not cover ``role``, ``status``, ``provider``, ``external_identifier``, ``token``,
``auth_data``, ``tfa_secret`` on writes (nor the secret ones on reads), so "edit your own
profile" cannot promote itself; ``auth_data`` is never readable, like ``password``."""

from __future__ import annotations

import pytest

from accounts.accountability import accountability_for_user
from accounts.bootstrap import administrator_role
from accounts.models import User, UserStatus
from accounts.permissions import PRIVILEGE_USER_FIELDS, rules_for

pytestmark = pytest.mark.django_db

OWN_ROW = {"id": {"_eq": "$CURRENT_USER"}}
IDP_DATA = {"refreshToken": "idp-refresh-token"}


def code(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.fixture
def self_editor(make_role, make_user, grant):
    """A user whose policy is the usual self-service one: read and update own row, ``*``."""

    def make(update_fields: str = "*") -> User:
        role, policy = make_role("Self service")
        grant(policy, "directus_users", "read", fields="*", permissions=OWN_ROW)
        grant(policy, "directus_users", "update", fields=update_fields, permissions=OWN_ROW)
        return make_user("self@example.com", role=role, first_name="Ed", auth_data=IDP_DATA)

    return make


def test_star_does_not_cover_privilege_fields_of_users(make_role, make_user, grant):
    role, policy = make_role("Managers")
    for action in ("create", "read", "update"):
        grant(policy, "directus_users", action)
        grant(policy, "articles", action)
    acc = accountability_for_user(make_user("m@example.com", role=role))
    for action in ("create", "update"):
        users = rules_for(acc, "directus_users", action)
        assert users.all_fields
        assert all(users.grants(name) for name in ("first_name", "password", "email"))
        assert not any(users.grants(name) for name in PRIVILEGE_USER_FIELDS)
        assert rules_for(acc, "articles", action).grants("status")  # other collections: all
    read = rules_for(acc, "directus_users", "read")
    assert all(read.grants(name) for name in ("role", "status", "password", "first_name"))
    assert not any(read.grants(name) for name in ("token", "tfa_secret", "auth_data"))


def test_admins_keep_every_field(admin_user):
    acc = accountability_for_user(admin_user)
    for action in ("create", "read", "update"):
        assert all(rules_for(acc, "directus_users", action).grants(f) for f in ("role", "token"))


@pytest.mark.parametrize(
    "body",
    [{"role": "ADMIN"}, {"status": UserStatus.SUSPENDED}, {"token": "t" * 40}, {"auth_data": {}}],
)
def test_self_edit_star_cannot_change_privilege_fields(api, self_editor, body):
    user = self_editor()
    admin_role = administrator_role()
    payload = {k: str(admin_role.pk) if v == "ADMIN" else v for k, v in body.items()}
    api.force_login(user)
    response = api.patch("/users/me", payload, format="json")
    assert (response.status_code, code(response)) == (403, "FORBIDDEN")
    assert response.json()["errors"][0]["message"].startswith(
        f'You don\'t have permission to access field "{next(iter(body))}"'
    )
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.role_id, fresh.status, fresh.token_id) == (user.role_id, "active", None)
    assert fresh.auth_data == IDP_DATA


def test_self_edit_star_cannot_promote_itself_by_id_or_batch(api, self_editor):
    user = self_editor()
    admin_role = str(administrator_role().pk)
    api.force_login(user)
    by_id = api.patch(f"/users/{user.pk}", {"role": admin_role}, format="json")
    batch = api.patch("/users", [{"id": str(user.pk), "role": admin_role}], format="json")
    assert [r.status_code for r in (by_id, batch)] == [403, 403]
    assert User.objects.get(pk=user.pk).role_id == user.role_id


def test_self_edit_star_still_edits_the_profile(api, self_editor):
    user = self_editor()
    api.force_login(user)
    response = api.patch("/users/me", {"first_name": "x"}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["first_name"] == "x"
    assert User.objects.get(pk=user.pk).first_name == "x"


def test_naming_role_explicitly_still_grants_it(api, self_editor):
    user = self_editor(update_fields="*,role")
    admin_role = administrator_role()
    api.force_login(user)
    response = api.patch("/users/me", {"role": str(admin_role.pk)}, format="json")
    assert response.status_code == 200
    assert User.objects.get(pk=user.pk).role_id == admin_role.pk


def test_create_with_star_cannot_choose_the_role(api, make_role, make_user, grant):
    role, policy = make_role("Recruiters")
    grant(policy, "directus_users", "create")
    api.force_login(make_user("r@example.com", role=role))
    admin_role = str(administrator_role().pk)
    response = api.post("/users", {"email": "new@example.com", "role": admin_role}, format="json")
    assert (response.status_code, code(response)) == (403, "FORBIDDEN")
    assert not User.objects.filter(email="new@example.com").exists()
    created = api.post("/users", {"email": "new@example.com"}, format="json")
    assert created.status_code in (200, 204)
    assert User.objects.get(email="new@example.com").role_id is None


def test_auth_data_is_refused_to_a_star_reader(api, self_editor):
    user = self_editor()
    api.force_login(user)
    me = api.get("/users/me").json()["data"]
    assert (me["first_name"], me["password"]) == ("Ed", "**********")
    assert not {"auth_data", "token", "tfa_secret"} & set(me)
    assert api.get("/users/me?fields=auth_data").json() == {"data": {"id": str(user.pk)}}
    by_id = api.get(f"/users/{user.pk}?fields=auth_data")
    assert (by_id.status_code, code(by_id)) == (403, "FORBIDDEN")


def test_auth_data_reads_back_concealed_like_password(api, admin_user, make_role, make_user, grant):
    role, policy = make_role("Auditors")
    grant(policy, "directus_users", "read", fields="*,auth_data", permissions=OWN_ROW)
    named = make_user("auditor@example.com", role=role, auth_data=IDP_DATA)
    User.objects.filter(pk=admin_user.pk).update(auth_data=IDP_DATA)
    for user in (named, admin_user):
        api.force_login(user)
        data = api.get("/users/me?fields=auth_data,password").json()["data"]
        assert data == {"auth_data": "**********", "password": "**********"}
    api.force_login(admin_user)
    listed = api.get("/users?fields=email,auth_data&sort=email").json()["data"]
    assert listed == [
        {"email": "admin@example.com", "auth_data": "**********"},
        {"email": "auditor@example.com", "auth_data": "**********"},
    ]


def test_admin_may_change_privilege_fields(api, admin_user, self_editor):
    user = self_editor()
    api.force_login(admin_user)
    response = api.patch(
        f"/users/{user.pk}", {"status": UserStatus.SUSPENDED, "role": None}, format="json"
    )
    assert response.status_code == 200
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.status, fresh.role_id) == ("suspended", None)
