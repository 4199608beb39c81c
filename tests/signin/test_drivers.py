"""The auth-driver registry: a driver registered by kind, a provider configured for it through
``AUTH_PROVIDERS`` / ``AUTH_<NAME>_*``, listed by ``GET /auth`` and signed in through
``POST /auth/login/<name>`` with the same limits, stall, failure counting and auth-log events
as the built-in local provider."""

from __future__ import annotations

import hmac
import time
from dataclasses import replace

import pytest
from django.core import checks

import signin.drivers as registry
from accounts.models import AuthEvent, ProjectSettings, User, UserStatus
from core.config import EnvReader
from core.config.auth import load_auth
from signin.drivers.base import AuthDriver
from signin.payload import LoginPayload
from tokens.sessions import SessionContext

pytestmark = pytest.mark.django_db

DIRECTORY = {"ada": "difference-engine", "bob": "bobs-password"}


class DirectoryDriver(AuthDriver):
    """A credentials driver over a fixed directory (the shape of the ldap driver)."""

    kind = "directory"

    def check(self) -> list[checks.CheckMessage]:
        if not self.provider.option("realm"):
            return [checks.Error(f"AUTH_{self.name.upper()}_REALM is required", id="test.E1")]
        return []

    def find_user(self, payload: LoginPayload, context: SessionContext) -> User | None:
        return User.objects.filter(
            provider=self.name, external_identifier__iexact=payload.identifier
        ).first()

    def verify(self, user: User | None, payload: LoginPayload) -> bool:
        expected = DIRECTORY.get(payload.identifier.lower(), "")
        return hmac.compare_digest(expected.encode(), payload.password.encode()) and bool(user)


@pytest.fixture
def corp(monkeypatch, settings):
    monkeypatch.setitem(registry._drivers, DirectoryDriver.kind, DirectoryDriver)
    environ = {
        "AUTH_PROVIDERS": "corp,ghost",
        "AUTH_CORP_DRIVER": "directory",
        "AUTH_CORP_LABEL": "Corporate directory",
        "AUTH_CORP_ICON": "key",
        "AUTH_CORP_REALM": "example",
        "AUTH_GHOST_DRIVER": "nonexistent",
    }
    settings.DIRECTUS = replace(settings.DIRECTUS, auth=load_auth(EnvReader(environ)))
    yield registry.provider("corp")
    registry.forget()


@pytest.fixture
def ada(corp, make_role):
    role, _ = make_role("Staff", app_access=True)
    return User.objects.create_user(
        "ada@example.com", None, role=role, provider="corp", external_identifier="ada"
    )


def login(api, identifier: str, password: str, **extra):
    body = {"identifier": identifier, "password": password, **extra}
    return api.post("/auth/login/corp", body, format="json")


def test_the_provider_is_listed(api, corp):
    body = api.get("/auth").json()
    assert body == {
        "data": [
            {"name": "corp", "driver": "directory", "label": "Corporate directory", "icon": "key"}
        ],
        "disableDefault": False,
    }


def test_unknown_drivers_are_skipped_with_a_warning(corp):
    messages = checks.run_checks()
    assert any(m.id == "signin.W001" and "nonexistent" in m.msg for m in messages)
    with pytest.raises(Exception, match="ghost"):
        registry.provider("ghost")


def test_provider_checks_run_at_start_up(corp, settings):
    environ = {"AUTH_PROVIDERS": "corp", "AUTH_CORP_DRIVER": "directory"}
    settings.DIRECTUS = replace(settings.DIRECTUS, auth=load_auth(EnvReader(environ)))
    assert any(m.id == "test.E1" for m in checks.run_checks())


def test_sign_in_through_the_provider(api, ada):
    response = login(api, "ada", "difference-engine")
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"expires", "refresh_token", "access_token"}
    me = api.get("/users/me", HTTP_AUTHORIZATION=f"Bearer {data['access_token']}")
    assert me.json()["data"]["email"] == "ada@example.com"
    success = AuthEvent.objects.get(kind="login.success")
    assert success.user_id == ada.pk
    assert success.details["provider"] == "corp"


def test_session_mode_through_the_provider(api, ada):
    response = login(api, "ada", "difference-engine", mode="session")
    assert response.status_code == 200
    assert "directus_session_token" in response.cookies


def test_wrong_password_and_unknown_user_answer_alike(api, ada):
    wrong = login(api, "ada", "nope")
    unknown = login(api, "nobody", "nope")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"
    reasons = sorted(
        AuthEvent.objects.filter(kind="login.failure").values_list("details__reason", flat=True)
    )
    assert reasons == ["unknown_user", "wrong_password"]
    assert set(
        AuthEvent.objects.filter(kind="login.failure").values_list("details__provider", flat=True)
    ) == {"corp"}


def test_a_user_signs_in_only_through_their_own_provider(api, ada, make_user):
    make_user("local@example.com", "local-password-1")
    assert login(api, "local@example.com", "local-password-1").status_code == 401
    # and a provider's user cannot use the local password door
    response = api.post(
        "/auth/login", {"email": "ada@example.com", "password": "difference-engine"}, format="json"
    )
    assert response.status_code == 401


def test_the_same_stall(api, ada, settings):
    settings.DIRECTUS = replace(
        settings.DIRECTUS, tokens=replace(settings.DIRECTUS.tokens, login_stall_ms=300)
    )
    for password in ("nope", "difference-engine"):
        started = time.monotonic()
        login(api, "ada", password)
        assert time.monotonic() - started >= 0.3


def test_the_same_per_account_limit(api, ada, settings, one_rate_window):
    points = settings.DIRECTUS.limits.login_account.points
    for _ in range(points):
        assert login(api, "ada", "nope").status_code == 401
    refused = login(api, "ada", "difference-engine")
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "REQUESTS_EXCEEDED"
    assert AuthEvent.objects.filter(kind="login.locked_out").count() == 1


def test_the_same_failure_counting_and_suspension(api, ada, make_user, admin_user):
    ProjectSettings.objects.update_or_create(pk=1, defaults={"auth_login_attempts": 2})
    for _ in range(3):
        assert login(api, "ada", "nope").status_code == 401
    ada.refresh_from_db()
    assert ada.status == UserStatus.SUSPENDED
    assert login(api, "ada", "difference-engine").status_code == 401
    assert AuthEvent.objects.filter(kind="user.suspended", user=ada).count() == 1


def test_bad_bodies_and_unknown_providers(api, ada):
    missing = api.post("/auth/login/corp", {"password": "x"}, format="json")
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"
    for name in ("nonexistent", "ghost", "default"):
        response = api.post(f"/auth/login/{name}", {}, format="json")
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND"


def test_correct_sign_ins_are_never_refused_by_the_per_account_limit(
    api, admin_user, settings, one_rate_window
):
    """The per-account limit counts failures: a client signing in correctly more often than
    the limit keeps working (the per-IP limit still bounds volume)."""
    points = settings.DIRECTUS.limits.login_account.points
    assert settings.DIRECTUS.limits.login_ip.points > points + 5
    body = {"email": "admin@example.com", "password": "admin-password-1"}
    statuses = [api.post("/auth/login", body, format="json").status_code for _ in range(points + 5)]
    assert statuses == [200] * (points + 5)
    assert not AuthEvent.objects.filter(kind="login.locked_out").exists()
