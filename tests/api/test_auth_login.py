"""POST /auth/login over HTTP (contract http-auth.md §7.1, observed.md)."""

from __future__ import annotations

import time

import jwt
import pytest
from django.conf import settings

from accounts.models import AuthEvent, ProjectSettings, UserStatus
from tokens.models import RefreshSession, digest

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture
def user(make_role, make_user):
    role, _ = make_role("Editors", app_access=True)
    return make_user("editor@example.com", PASSWORD, role=role)


def login(api, **body):
    return api.post("/auth/login", body, format="json")


def claims(token: str) -> dict:
    return jwt.decode(
        token, settings.DIRECTUS.server.secret, algorithms=["HS256"], issuer="directus"
    )


def test_json_mode_returns_expires_refresh_and_access_in_that_order(api, user):
    response = login(api, email="editor@example.com", password=PASSWORD)
    assert response.status_code == 200
    data = response.json()["data"]
    assert list(data) == ["expires", "refresh_token", "access_token"]
    assert data["expires"] == 900_000
    assert len(data["refresh_token"]) == 64
    payload = claims(data["access_token"])
    assert payload["id"] == str(user.pk)
    assert payload["role"] == str(user.role_id)
    assert (payload["app_access"], payload["admin_access"]) == (True, False)
    assert payload["exp"] - payload["iat"] == 900
    assert "session" not in payload
    assert response["Cache-Control"] == "no-store"


def test_refresh_token_is_stored_only_as_a_digest(api, user):
    token = login(api, email="editor@example.com", password=PASSWORD).json()["data"][
        "refresh_token"
    ]
    row = RefreshSession.objects.get(user=user)
    assert row.token_digest == digest(token)
    stored = " ".join(str(v) for v in RefreshSession.objects.values_list().get())
    assert token not in stored


def test_cookie_mode_sets_the_refresh_cookie(api, user):
    response = login(api, email="editor@example.com", password=PASSWORD, mode="cookie")
    assert response.status_code == 200
    assert list(response.json()["data"]) == ["expires", "access_token"]
    cookie = response.cookies["directus_refresh_token"]
    assert len(cookie.value) == 64
    assert cookie["max-age"] == 604800
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"


def test_session_mode_returns_no_token_and_sets_the_session_cookie(api, user):
    response = login(api, email="editor@example.com", password=PASSWORD, mode="session")
    assert response.status_code == 200
    assert response.json() == {"data": {"expires": 86_400_000}}
    cookie = response.cookies["directus_session_token"]
    payload = claims(cookie.value)
    assert payload["session"] == str(RefreshSession.objects.get(user=user).pk)
    assert cookie["max-age"] == 86400
    me = api.get("/server/health")  # the session cookie authenticates the next request
    assert me.status_code == 200


def test_email_is_case_insensitive(api, user):
    assert login(api, email="EDITOR@Example.com", password=PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("email", "password"),
    [("editor@example.com", "wrong password"), ("nobody@example.com", PASSWORD)],
)
def test_wrong_password_and_unknown_email_look_the_same(api, user, email, password):
    response = login(api, email=email, password=password)
    assert response.status_code == 401
    assert response.json() == {
        "errors": [
            {"message": "Invalid user credentials.", "extensions": {"code": "INVALID_CREDENTIALS"}}
        ]
    }


@pytest.mark.parametrize("status", ["draft", "invited", "unverified", "suspended", "archived"])
def test_inactive_users_get_invalid_credentials(api, user, status):
    user.status = status
    user.save()
    assert (
        login(api, email="editor@example.com", password=PASSWORD).json()["errors"][0]["extensions"][
            "code"
        ]
        == "INVALID_CREDENTIALS"
    )


def test_sso_users_cannot_use_the_password_endpoint(api, user):
    user.provider = "keycloak"
    user.save()
    assert login(api, email="editor@example.com", password=PASSWORD).status_code == 401


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, '"email" is required'),
        ({"email": 5, "password": "x"}, '"email" must be a string'),
        ({"email": "not-an-email", "password": "x"}, '"email" must be a valid email'),
        ({"email": "a@localhost", "password": "x"}, '"email" must be a valid email'),
        ({"email": "a@example.com"}, '"password" is required'),
        ({"email": "a@example.com", "password": ""}, '"password" is not allowed to be empty'),
        ({"email": "a@example.com", "password": 123}, '"password" must be a string'),
        (
            {"email": "a@example.com", "password": "x", "mode": "jwt"},
            '"mode" must be one of [cookie, json, session]',
        ),
        ({"email": "a@example.com", "password": "x", "otp": 123456}, '"otp" must be a string'),
    ],
)
def test_bad_bodies_are_invalid_payload(api, body, reason):
    response = login(api, **body)
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "message": f"Invalid payload. {reason}.",
        "extensions": {"reason": reason, "code": "INVALID_PAYLOAD"},
    }


def test_a_list_body_is_invalid_payload(api):
    response = api.post("/auth/login", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["reason"] == '"value" must be of type object'


def test_malformed_json_is_invalid_payload(api):
    response = api.post("/auth/login", "{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"


def test_form_bodies_are_unsupported_media_type(api):
    response = api.post("/auth/login", {"email": "a@example.com", "password": "x"})
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_oversized_body_is_content_too_large(api):
    body = '{"email": "a@example.com", "password": "' + "x" * (2 * 1024 * 1024) + '"}'
    response = api.post("/auth/login", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "CONTENT_TOO_LARGE"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "editor@example.com", "password": PASSWORD},
        {"email": "editor@example.com", "password": "wrong"},
        {"email": "nobody@example.com", "password": "wrong"},
        {"email": "not-an-email", "password": "x"},
    ],
)
def test_every_outcome_takes_the_stall_time(api, user, body):
    started = time.monotonic()
    login(api, **body)
    assert time.monotonic() - started >= settings.DIRECTUS.tokens.login_stall_ms / 1000


def test_failures_suspend_after_the_limit_and_successes_reset_the_count(api, user):
    ProjectSettings.objects.update_or_create(pk=1, defaults={"auth_login_attempts": 3})
    for _ in range(3):
        login(api, email="editor@example.com", password="wrong")
    assert login(api, email="editor@example.com", password=PASSWORD).status_code == 200
    for _ in range(3):
        login(api, email="editor@example.com", password="wrong")
    user.refresh_from_db()
    assert user.status == UserStatus.ACTIVE
    assert login(api, email="editor@example.com", password="wrong").status_code == 401
    user.refresh_from_db()
    assert user.status == UserStatus.SUSPENDED
    assert login(api, email="editor@example.com", password=PASSWORD).status_code == 401
    assert AuthEvent.objects.filter(kind="user.suspended", user=user).count() == 1


def test_many_correct_logins_never_suspend(api, user):
    ProjectSettings.objects.update_or_create(pk=1, defaults={"auth_login_attempts": 2})
    for _ in range(5):
        assert login(api, email="editor@example.com", password=PASSWORD).status_code == 200
    user.refresh_from_db()
    assert user.status == UserStatus.ACTIVE


def test_login_events_are_recorded_without_secrets(api, user):
    login(api, email="editor@example.com", password="wrong-secret-pw")
    data = login(api, email="editor@example.com", password=PASSWORD).json()["data"]
    kinds = list(AuthEvent.objects.order_by("created_at").values_list("kind", "outcome"))
    assert kinds == [("login.failure", "failure"), ("login.success", "success")]
    dump = str(list(AuthEvent.objects.values()))
    for secret in ("wrong-secret-pw", PASSWORD, data["refresh_token"], data["access_token"]):
        assert secret not in dump


def test_totp_users_need_an_otp(api, user):
    import pyotp

    from factors.totp import seal_secret

    secret = pyotp.random_base32()
    user.tfa_secret = seal_secret(secret)
    user.save()
    missing = login(api, email="editor@example.com", password=PASSWORD)
    assert missing.status_code == 401
    assert missing.json()["errors"][0]["extensions"]["code"] == "INVALID_OTP"
    wrong = login(api, email="editor@example.com", password=PASSWORD, otp="000000")
    assert wrong.json()["errors"][0]["extensions"]["code"] in {"INVALID_OTP"}
    good = login(api, email="editor@example.com", password=PASSWORD, otp=pyotp.TOTP(secret).now())
    assert good.status_code == 200
    # A wrong password with a TFA user is still INVALID_CREDENTIALS (OTP is checked after).
    bad = login(api, email="editor@example.com", password="nope", otp=pyotp.TOTP(secret).now())
    assert bad.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"


def test_disabled_default_provider_is_route_not_found(api, user, settings):
    from dataclasses import replace

    auth = replace(settings.DIRECTUS.auth, disable_default=True)
    settings.DIRECTUS = replace(settings.DIRECTUS, auth=auth)
    response = login(api, email="editor@example.com", password=PASSWORD)
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND"
    assert api.get("/auth").json() == {"data": [], "disableDefault": True}
