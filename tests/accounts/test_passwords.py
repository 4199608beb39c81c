"""The one password policy (accounts.passwords) and every place that sets a password."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import ProjectSettings, User
from accounts.passwords import check_password_policy, matches_policy, password_problems
from core.errors import FailedValidation
from tests.support.clients import SignedInClient

pytestmark = pytest.mark.django_db

GOOD = "correct horse battery 7"


def policy(expression: str) -> None:
    ProjectSettings.objects.update_or_create(pk=1, defaults={"auth_password_policy": expression})


@pytest.mark.parametrize(
    ("expression", "password", "ok"),
    [
        ("", "anything", True),
        ("^.{12,}$", "twelve chars", True),
        ("/^.{12,}$/", "short", False),
        ("[0-9]", "has a 7 inside", True),  # search: anywhere in the password
        ("/[0-9]/", "no digits", False),
        ("([", "whatever", False),  # a broken expression refuses rather than allows
    ],
)
def test_matches_policy(expression: str, password: str, ok: bool) -> None:
    assert matches_policy(password, expression) is ok


def test_a_good_password_passes() -> None:
    assert password_problems(GOOD) == []
    check_password_policy(GOOD)


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("short1!", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("31415926535", "This password is entirely numeric."),
    ],
)
def test_django_validators_say_what_to_fix(password: str, says: str) -> None:
    with pytest.raises(FailedValidation) as raised:
        check_password_policy(password)
    error = raised.value
    assert says in error.message
    assert error.extensions == {"field": "password", "type": "password"}
    assert password not in error.message


def test_similarity_to_the_user() -> None:
    user = User(email="margaret.hamilton@example.com", first_name="Margaret")
    assert any("too similar" in p for p in password_problems("margaret.hamilton", user))
    assert password_problems("margaret.hamilton", None) == []


def test_the_project_policy_comes_first_with_type_regex() -> None:
    policy("/[A-Z]/")
    with pytest.raises(FailedValidation) as raised:
        check_password_policy("all lower case 9")
    assert raised.value.extensions["type"] == "regex"
    assert raised.value.message.startswith(
        'Validation failed for field "password". Value doesn\'t have the correct format.'
    )
    check_password_policy("One Upper case 9")


# ------------------------------------------------------------------ where passwords are set


def test_users_service_create_applies_it(api, admin_user) -> None:
    api.force_login(admin_user)
    response = api.post(
        "/users", {"email": "new@example.com", "password": "password123"}, format="json"
    )
    assert response.status_code == 400
    assert "too common" in response.json()["errors"][0]["message"]
    assert "password123" not in response.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()


def test_users_service_create_compares_with_the_new_user(api, admin_user) -> None:
    api.force_login(admin_user)
    response = api.post(
        "/users",
        {"email": "grace.hopper@example.com", "password": "grace.hopper@example"},
        format="json",
    )
    assert response.status_code == 400
    assert "too similar" in response.json()["errors"][0]["message"]


def test_users_service_update_applies_it(api, admin_user, make_user) -> None:
    target = make_user("target@example.com")
    api.force_login(admin_user)
    response = api.patch(f"/users/{target.pk}", {"password": "12345678901"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "FAILED_VALIDATION"
    ok = api.patch(f"/users/{target.pk}", {"password": GOOD}, format="json")
    assert ok.status_code in (200, 204)


def test_patch_me_applies_it(api, make_user, make_role, grant) -> None:
    role, own = make_role("Self-service")
    grant(
        own,
        "directus_users",
        "update",
        fields="password",
        permissions={"id": {"_eq": "$CURRENT_USER"}},
    )
    me = make_user("me@example.com", role=role)
    api.force_login(me)
    response = api.patch("/users/me", {"password": "qwertyuiop"}, format="json")
    assert response.status_code == 400
    assert "too common" in response.json()["errors"][0]["message"]


def test_without_write_permission_the_answer_is_403_not_the_policy(
    api, make_user, make_role, grant
):
    role, own = make_role("Readers")
    grant(
        own,
        "directus_users",
        "update",
        fields="first_name",
        permissions={"id": {"_eq": "$CURRENT_USER"}},
    )
    me = make_user("me@example.com", role=role)
    api.force_login(me)
    response = api.patch("/users/me", {"password": "123"}, format="json")
    assert response.status_code == 403


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = SignedInClient()
    client.force_login(admin_user)
    return client


def _add_user(client: Client, password: str, **extra: str):
    return client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new@example.com",
            "status": "active",
            "password1": password,
            "password2": password,
            "access-TOTAL_FORMS": "0",
            "access-INITIAL_FORMS": "0",
            **extra,
        },
    )


def test_admin_add_user_form_applies_it(admin_client) -> None:
    policy("/[A-Z]/")
    response = _add_user(admin_client, "no capitals here 5")
    assert response.status_code == 200
    assert b"password policy of this project" in response.content
    assert not User.objects.filter(email="new@example.com").exists()
    assert _add_user(admin_client, "With a Capital 5").status_code == 302


def test_admin_add_user_form_compares_with_the_email(admin_client) -> None:
    response = _add_user(admin_client, "new@example.com")
    assert response.status_code == 200
    assert b"too similar" in response.content


def test_admin_set_password_form_applies_it(admin_client, make_user) -> None:
    target = make_user("target@example.com")
    url = f"/admin/accounts/user/{target.pk}/password/"
    weak = admin_client.post(
        url, {"password1": "password123", "password2": "password123", "usable_password": "true"}
    )
    assert weak.status_code == 200
    assert b"too common" in weak.content
    done = admin_client.post(url, {"password1": GOOD, "password2": GOOD, "usable_password": "true"})
    assert done.status_code == 302
    target.refresh_from_db()
    assert target.check_password(GOOD)


def test_bootstrap_admin_password_is_not_subject_to_it() -> None:
    from accounts.bootstrap import bootstrap

    policy("/^.{40,}$/")
    result = bootstrap("boot@example.com", "12345678")
    assert result.created_admin is not None
    assert result.created_admin.check_password("12345678")
