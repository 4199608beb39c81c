"""``/users/me/tfa/*``, ``/users/<id>/tfa/disable`` (contract http-auth.md §7.9) and the recovery
codes endpoints (beyond Directus), over HTTP in-process."""

from __future__ import annotations

import re
import uuid

import pytest

from accounts.models import AuthEvent, ProjectSettings, User, UserStatus
from factors import recovery, totp
from signin.lockout import failed_logins
from tests.support.factors import code_at

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture
def me(api, make_role, make_user) -> User:
    role, _ = make_role("Editors", app_access=True)
    user = make_user("editor@example.com", PASSWORD, role=role)
    api.force_login(user)
    return user


def project(**fields) -> None:
    settings = ProjectSettings.current()
    for name, value in fields.items():
        setattr(settings, name, value)
    settings.save()


def post(api, path: str, body=None, **kwargs):
    if isinstance(body, str):
        return api.post(path, body, content_type="application/json", **kwargs)
    return api.post(path, body, format="json", **kwargs)


def error(response) -> tuple[int, str, str]:
    first = response.json()["errors"][0]
    return response.status_code, first["extensions"]["code"], first["message"]


def wrong_code(secret: str) -> str:
    return next(
        c for c in ("000000", "111111") if c not in {code_at(secret, s) for s in (-1, 0, 1)}
    )


def enable_over_http(api) -> str:
    secret = post(api, "/users/me/tfa/generate", {"password": PASSWORD}).json()["data"]["secret"]
    assert (
        post(
            api, "/users/me/tfa/enable", {"secret": secret, "otp": code_at(secret, -1)}
        ).status_code
        == 204
    )
    return secret


# ------------------------------------------------------------------ generate


def test_generate_returns_a_secret_and_its_url_and_stores_nothing(api, me) -> None:
    project(project_name="Acme")
    response = post(api, "/users/me/tfa/generate", {"password": PASSWORD})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    data = response.json()["data"]
    assert list(data) == ["secret", "otpauth_url"]
    assert re.fullmatch(r"[A-Z2-7]{32}", data["secret"])
    assert data["otpauth_url"].startswith("otpauth://totp/")
    assert f"secret={data['secret']}" in data["otpauth_url"]
    assert "/Acme:editor%40example.com?" in data["otpauth_url"]
    assert User.objects.get(pk=me.pk).tfa_secret is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, (400, "INVALID_PAYLOAD", 'Invalid payload. "password" is required.')),
        ({}, (400, "INVALID_PAYLOAD", 'Invalid payload. "password" is required.')),
        ({"password": ""}, (400, "INVALID_PAYLOAD", 'Invalid payload. "password" is required.')),
        (
            {"password": 12},
            (400, "INVALID_PAYLOAD", 'Invalid payload. "password" must be a string.'),
        ),
        ([PASSWORD], (400, "INVALID_PAYLOAD", 'Invalid payload. "value" must be of type object.')),
        ('"text"', (400, "INVALID_PAYLOAD", 'Invalid payload. "value" must be of type object.')),
        (
            "{nope",
            (400, "INVALID_PAYLOAD", "Invalid payload. Unexpected token in JSON at position 1."),
        ),
        ({"password": "wrong"}, (401, "INVALID_CREDENTIALS", "Invalid user credentials.")),
    ],
)
def test_generate_bad_input(api, me, body, expected) -> None:
    assert error(post(api, "/users/me/tfa/generate", body)) == expected


def test_generate_needs_a_signed_in_user(api) -> None:
    assert error(post(api, "/users/me/tfa/generate", {"password": "x"}))[:2] == (
        401,
        "INVALID_CREDENTIALS",
    )


def test_generate_when_already_enabled(api, me) -> None:
    enable_over_http(api)
    assert error(post(api, "/users/me/tfa/generate", {"password": PASSWORD})) == (
        400,
        "INVALID_PAYLOAD",
        "Invalid payload. TFA Secret is already set for this user.",
    )


def test_a_wrong_password_counts_towards_suspension(api, me) -> None:
    project(auth_login_attempts=2)
    for _ in range(3):
        assert error(post(api, "/users/me/tfa/generate", {"password": "wrong"}))[0] == 401
    assert User.objects.get(pk=me.pk).status == UserStatus.SUSPENDED


def test_sso_users_need_no_password_but_default_users_need_an_email(api, make_user) -> None:
    sso = User.objects.create_user(None, provider="github", external_identifier="octo")
    api.force_login(sso)
    response = post(api, "/users/me/tfa/generate", {})
    assert response.status_code == 200
    assert "octo" in response.json()["data"]["otpauth_url"]
    bare = User.objects.create_user(None, "a-password-1")
    api.force_login(bare)
    status, code, message = error(post(api, "/users/me/tfa/generate", {"password": "a-password-1"}))
    assert (status, code) == (400, "INVALID_PAYLOAD")
    assert "email" in message


# ------------------------------------------------------------------ enable


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, '"secret" is required'),
        ({"otp": "123456"}, '"secret" is required'),
        ({"secret": "JBSWY3DPEHPK3PXP"}, '"otp" is required'),
        ({"secret": "JBSWY3DPEHPK3PXP", "otp": ""}, '"otp" is required'),
        ({"secret": ["JBSWY3DPEHPK3PXP"], "otp": "123456"}, '"secret" must be a string'),
        ({"secret": "JBSWY3DPEHPK3PXP", "otp": 123456}, '"otp" must be a string'),
        (
            {"secret": "not-base-32", "otp": "123456"},
            '"secret" must be a base32 string of at least 16 characters',
        ),
    ],
)
def test_enable_bad_input(api, me, body, message) -> None:
    assert error(post(api, "/users/me/tfa/enable", body)) == (
        400,
        "INVALID_PAYLOAD",
        f"Invalid payload. {message}.",
    )


def test_enable_with_a_wrong_code_stores_nothing(api, me) -> None:
    secret = totp.new_secret()
    response = post(api, "/users/me/tfa/enable", {"secret": secret, "otp": wrong_code(secret)})
    assert error(response) == (400, "INVALID_PAYLOAD", 'Invalid payload. "otp" is invalid.')
    assert User.objects.get(pk=me.pk).tfa_secret is None


def test_enable_then_the_secret_reads_back_concealed_and_sign_in_needs_a_code(api, me) -> None:
    secret = enable_over_http(api)
    column = User.objects.filter(pk=me.pk).values_list("tfa_secret", flat=True).get()
    assert secret not in column
    assert api.get("/users/me?fields=tfa_secret").json() == {"data": {"tfa_secret": "**********"}}
    login = {"email": "editor@example.com", "password": PASSWORD}
    assert error(post(api, "/auth/login", login))[:2] == (401, "INVALID_OTP")
    assert post(api, "/auth/login", {**login, "otp": code_at(secret)}).status_code == 200
    again = totp.new_secret()
    assert error(post(api, "/users/me/tfa/enable", {"secret": again, "otp": code_at(again)}))[
        2
    ] == ("Invalid payload. TFA Secret is already set for this user.")


def test_enable_needs_a_signed_in_user(api) -> None:
    assert error(post(api, "/users/me/tfa/enable", {"secret": "x", "otp": "y"}))[:2] == (
        401,
        "INVALID_CREDENTIALS",
    )


# ------------------------------------------------------------------ disable (own)


def test_disable_bad_input_and_no_tfa(api, me) -> None:
    assert error(post(api, "/users/me/tfa/disable", {}))[2] == 'Invalid payload. "otp" is required.'
    assert error(post(api, "/users/me/tfa/disable", {"otp": 1}))[2] == (
        'Invalid payload. "otp" must be a string.'
    )
    assert error(post(api, "/users/me/tfa/disable", ["x"]))[2] == (
        'Invalid payload. "value" must be of type object.'
    )
    assert error(post(api, "/users/me/tfa/disable", {"otp": "123456"})) == (
        400,
        "INVALID_PAYLOAD",
        f'Invalid payload. User "{me.pk}" doesn\'t have TFA enabled.',
    )


def test_disable_with_a_wrong_then_a_right_code(api, me) -> None:
    secret = enable_over_http(api)
    response = post(api, "/users/me/tfa/disable", {"otp": wrong_code(secret)})
    assert error(response) == (400, "INVALID_PAYLOAD", 'Invalid payload. "otp" is invalid.')
    assert failed_logins(me) == 1
    assert post(api, "/users/me/tfa/disable", {"otp": code_at(secret)}).status_code == 204
    assert User.objects.get(pk=me.pk).tfa_secret is None
    assert api.get("/users/me?fields=tfa_secret").json() == {"data": {"tfa_secret": None}}


def test_the_code_that_disabled_cannot_be_replayed_after_re_enabling(api, me) -> None:
    secret = enable_over_http(api)
    code = code_at(secret)
    assert post(api, "/users/me/tfa/disable", {"otp": code}).status_code == 204
    totp.enable(User.objects.get(pk=me.pk), secret, code_at(secret, +1))
    assert error(post(api, "/users/me/tfa/disable", {"otp": code}))[2] == (
        'Invalid payload. "otp" is invalid.'
    )


def test_wrong_codes_on_disable_lead_to_suspension(api, me) -> None:
    project(auth_login_attempts=2)
    secret = enable_over_http(api)
    for _ in range(3):
        post(api, "/users/me/tfa/disable", {"otp": wrong_code(secret)})
    assert User.objects.get(pk=me.pk).status == UserStatus.SUSPENDED
    assert AuthEvent.objects.filter(kind="user.suspended", user=me).exists()
    assert post(api, "/users/me/tfa/disable", {"otp": code_at(secret)}).status_code == 401


def test_a_recovery_code_disables_too(api, me) -> None:
    enable_over_http(api)
    codes = recovery.regenerate(User.objects.get(pk=me.pk))
    assert post(api, "/users/me/tfa/disable", {"otp": codes[0]}).status_code == 204
    assert recovery.remaining(me) == 0  # no second factor left: the codes are gone


# ------------------------------------------------------------------ disable (admin)


def test_only_admins_disable_someone_elses_tfa(api, me, admin_user, make_user) -> None:
    enable_over_http(api)
    path = f"/users/{me.pk}/tfa/disable"
    api.cookies.clear()
    assert error(post(api, path))[:2] == (401, "INVALID_CREDENTIALS")
    api.force_login(make_user("other@example.com"))
    assert error(post(api, path))[:2] == (403, "FORBIDDEN")
    api.force_login(admin_user)
    assert post(api, path).status_code == 204
    assert User.objects.get(pk=me.pk).tfa_secret is None
    assert post(api, path).status_code == 204  # already off: nothing to do
    assert error(post(api, f"/users/{uuid.uuid4()}/tfa/disable"))[:2] == (403, "FORBIDDEN")
    assert error(post(api, "/users/not-a-uuid/tfa/disable"))[:2] == (403, "FORBIDDEN")


# ------------------------------------------------------------------ recovery codes


def test_recovery_codes_need_a_current_totp_code(api, me) -> None:
    assert api.get("/users/me/tfa/recovery-codes").json() == {"data": {"remaining": 0}}
    assert error(post(api, "/users/me/tfa/recovery-codes", {}))[2] == (
        f"Invalid payload. {recovery.NO_FACTOR}."
    )
    secret = enable_over_http(api)
    assert (
        error(post(api, "/users/me/tfa/recovery-codes", {}))[2]
        == 'Invalid payload. "otp" is required.'
    )
    wrong = post(api, "/users/me/tfa/recovery-codes", {"otp": wrong_code(secret)})
    assert error(wrong)[2] == 'Invalid payload. "otp" is invalid.'
    assert failed_logins(me) == 1
    response = post(api, "/users/me/tfa/recovery-codes", {"otp": code_at(secret)})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    codes = response.json()["data"]["codes"]
    assert len(codes) == 10
    assert api.get("/users/me/tfa/recovery-codes").json() == {"data": {"remaining": 10}}
    # a recovery code does not stand in for the TOTP code here
    assert error(post(api, "/users/me/tfa/recovery-codes", {"otp": codes[0]}))[2] == (
        'Invalid payload. "otp" is invalid.'
    )


def test_recovery_codes_need_a_signed_in_user(api) -> None:
    assert api.get("/users/me/tfa/recovery-codes").status_code == 401
    assert post(api, "/users/me/tfa/recovery-codes", {"otp": "123456"}).status_code == 401


def test_passkey_only_users_prove_it_with_their_password(api, me) -> None:
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=me, type="webauthn", data={"name": "key"})
    assert error(post(api, "/users/me/tfa/recovery-codes", {"password": "nope"}))[:2] == (
        401,
        "INVALID_CREDENTIALS",
    )
    response = post(api, "/users/me/tfa/recovery-codes", {"password": PASSWORD})
    assert len(response.json()["data"]["codes"]) == 10


def test_the_openapi_schema_lists_the_tfa_routes(api) -> None:
    schema = api.get("/server/specs/oas", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("generate", "enable", "disable", "recovery-codes"):
        assert f"/users/me/tfa/{path}" in paths
    assert "/users/{id}/tfa/disable" in paths
