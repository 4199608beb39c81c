"""/users and /users/me over HTTP with JWTs."""

from __future__ import annotations

import pytest

from accounts.models import User, UserStatus
from tokens.models import RefreshSession

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def sign_in(api, email: str, password: str = PASSWORD, mode: str = "json") -> dict:
    response = api.post(
        "/auth/login", {"email": email, "password": password, "mode": mode}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["data"]


def bearer(api, data: dict) -> None:
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {data['access_token']}")


def code(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.fixture
def editor(make_role, make_user, grant):
    role, policy = make_role("Editors")
    grant(
        policy,
        "directus_users",
        "read",
        fields="id,email,first_name",
        permissions={"id": {"_eq": "$CURRENT_USER"}},
    )
    grant(
        policy,
        "directus_users",
        "update",
        fields="first_name,password,email",
        permissions={"id": {"_eq": "$CURRENT_USER"}},
    )
    return make_user("editor@example.com", PASSWORD, role=role, first_name="Ed")


def test_me_needs_a_user(api):
    response = api.get("/users/me")
    assert response.status_code == 401
    assert code(response) == "INVALID_CREDENTIALS"


def test_me_reads_through_permissions(api, editor):
    bearer(api, sign_in(api, "editor@example.com"))
    assert api.get("/users/me").json() == {
        "data": {"id": str(editor.pk), "email": "editor@example.com", "first_name": "Ed"}
    }
    assert api.get("/users/me?fields=first_name").json() == {"data": {"first_name": "Ed"}}


def test_me_without_read_permission_is_just_the_id(api, make_user):
    user = make_user("plain@example.com", PASSWORD)
    bearer(api, sign_in(api, "plain@example.com"))
    assert api.get("/users/me?fields=id,email").json() == {"data": {"id": str(user.pk)}}


def test_admin_reads_everything_with_secrets_concealed(api, admin_user):
    bearer(api, sign_in(api, "admin@example.com", "admin-password-1"))
    data = api.get("/users/me").json()["data"]
    assert data["email"] == "admin@example.com"
    assert data["password"] == "**********"
    assert data["tfa_secret"] is None
    listed = api.get("/users?fields=email").json()["data"]
    assert listed == [{"email": "admin@example.com"}]


def test_patch_me_updates_own_fields(api, editor):
    bearer(api, sign_in(api, "editor@example.com"))
    response = api.patch("/users/me", {"first_name": "Edna"}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["first_name"] == "Edna"
    forbidden = api.patch("/users/me", {"last_name": "X"}, format="json")
    assert forbidden.status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"tfa_secret": "ABC"}, 400, "INVALID_PAYLOAD"),
        ({"provider": "sso"}, 400, "INVALID_PAYLOAD"),
        ({"external_identifier": "x"}, 400, "INVALID_PAYLOAD"),
        ({"password": ""}, 400, "INVALID_PAYLOAD"),
        ({"email": 5}, 400, "INVALID_PAYLOAD"),
        ([1, 2], 400, "INVALID_PAYLOAD"),
    ],
)
def test_patch_me_bad_input(api, editor, body, status, error):
    bearer(api, sign_in(api, "editor@example.com"))
    response = api.patch("/users/me", body, format="json")
    assert response.status_code == status
    assert code(response) == error
    editor.refresh_from_db()
    assert editor.first_name == "Ed"


def test_password_change_ends_other_sessions_but_keeps_the_current_session(api, editor):
    other = sign_in(api, "editor@example.com")
    sign_in(api, "editor@example.com", mode="session")  # this client now has the session cookie
    assert api.patch(
        "/users/me", {"password": "a brand new password"}, format="json"
    ).status_code in (200, 204)
    editor.refresh_from_db()
    assert editor.check_password("a brand new password")
    live = RefreshSession.objects.filter(user=editor, revoked_at__isnull=True)
    assert [row.mode for row in live] == ["session"]
    assert code(
        api.post("/auth/refresh", {"refresh_token": other["refresh_token"]}, format="json")
    ) == ("INVALID_CREDENTIALS")
    assert api.get("/users/me").status_code == 200


def test_password_policy(api, editor):
    from accounts.models import ProjectSettings

    ProjectSettings.objects.update_or_create(pk=1, defaults={"auth_password_policy": "/^.{20,}$/"})
    bearer(api, sign_in(api, "editor@example.com"))
    response = api.patch("/users/me", {"password": "too short"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {
        "field": "password",
        "type": "regex",
        "code": "FAILED_VALIDATION",
    }
    assert "too short" not in response.content.decode()


def test_admin_creates_updates_and_deletes_users(api, admin_user, make_role):
    role, _ = make_role("Writers")
    bearer(api, sign_in(api, "admin@example.com", "admin-password-1"))
    created = api.post(
        "/users",
        {"email": "new@example.com", "password": "new user password", "role": str(role.pk)},
        format="json",
    )
    assert created.status_code == 200, created.content
    key = created.json()["data"]["id"]
    assert User.objects.get(pk=key).check_password("new user password")
    duplicate = api.post("/users", {"email": "NEW@example.com"}, format="json")
    assert duplicate.status_code == 400
    assert code(duplicate) == "RECORD_NOT_UNIQUE"
    assert api.patch(f"/users/{key}", {"status": "suspended"}, format="json").status_code == 200
    assert User.objects.get(pk=key).status == UserStatus.SUSPENDED
    assert api.delete(f"/users/{key}").status_code == 204
    assert not User.objects.filter(pk=key).exists()


def test_the_last_admin_cannot_be_removed(api, admin_user):
    bearer(api, sign_in(api, "admin@example.com", "admin-password-1"))
    for response in (
        api.patch(f"/users/{admin_user.pk}", {"status": "suspended"}, format="json"),
        api.patch(f"/users/{admin_user.pk}", {"role": None}, format="json"),
        api.delete(f"/users/{admin_user.pk}"),
    ):
        assert response.status_code == 422
        assert response.json()["errors"][0]["message"] == (
            "Can't process content. Cannot remove the last admin user from the system."
        )
    admin_user.refresh_from_db()
    assert admin_user.status == UserStatus.ACTIVE
    assert (
        api.patch(f"/users/{admin_user.pk}", {"first_name": "Still"}, format="json").status_code
        == 200
    )


def test_non_admins_cannot_touch_other_users(api, editor, admin_user):
    bearer(api, sign_in(api, "editor@example.com"))
    assert api.get(f"/users/{admin_user.pk}").status_code == 403
    assert (
        api.patch(f"/users/{admin_user.pk}", {"first_name": "x"}, format="json").status_code == 403
    )
    assert api.delete(f"/users/{admin_user.pk}").status_code == 403
    assert api.get("/users/not-a-uuid").status_code == 403
