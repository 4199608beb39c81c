"""POST /auth/refresh and /auth/logout: rotation, grace window, reuse detection, revocation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import AuthEvent, UserStatus
from tokens.models import RefreshSession

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture
def user(make_role, make_user):
    role, _ = make_role("Editors", app_access=True)
    return make_user("editor@example.com", PASSWORD, role=role)


def login(api, mode="json"):
    response = api.post(
        "/auth/login",
        {"email": "editor@example.com", "password": PASSWORD, "mode": mode},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response


def refresh(api, **body):
    return api.post("/auth/refresh", body, format="json")


def code(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def age_rotation(seconds: float) -> None:
    RefreshSession.objects.filter(rotated_at__isnull=False).update(
        rotated_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_json_refresh_rotates(api, user):
    first = login(api).json()["data"]["refresh_token"]
    response = refresh(api, refresh_token=first)
    assert response.status_code == 200
    data = response.json()["data"]
    assert list(data) == ["expires", "refresh_token", "access_token"]
    assert data["refresh_token"] != first
    rows = RefreshSession.objects.filter(user=user)
    assert rows.count() == 2
    assert len({row.family for row in rows}) == 1


def test_reuse_after_the_grace_window_revokes_the_family(api, user):
    first = login(api).json()["data"]["refresh_token"]
    second = refresh(api, refresh_token=first).json()["data"]
    age_rotation(60)
    reused = refresh(api, refresh_token=first)
    assert reused.status_code == 401
    assert code(reused) == "INVALID_CREDENTIALS"
    # The thief's reuse also kills the legitimate holder's newer token and its access token.
    assert code(refresh(api, refresh_token=second["refresh_token"])) == "INVALID_CREDENTIALS"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {second['access_token']}")
    assert api.get("/server/health").status_code == 401
    assert AuthEvent.objects.filter(kind="refresh.reuse_detected", user=user).count() == 1


def test_reuse_within_the_grace_window_gets_a_working_sibling(api, user):
    first = login(api).json()["data"]["refresh_token"]
    a = refresh(api, refresh_token=first).json()["data"]["refresh_token"]
    b = refresh(api, refresh_token=first).json()["data"]["refresh_token"]
    assert a != b
    assert refresh(api, refresh_token=a).status_code == 200
    assert refresh(api, refresh_token=b).status_code == 200
    assert not AuthEvent.objects.filter(kind="refresh.reuse_detected").exists()


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    reason="the in-memory SQLite test database serialises threads; tests/test_auth_e2e.py covers "
    "this against a real server",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_all_succeed(user):
    from rest_framework.test import APIClient

    first = login(APIClient()).json()["data"]["refresh_token"]

    def one(_: int) -> int:
        from django.db import connection

        try:
            return refresh(APIClient(), refresh_token=first).status_code
        finally:
            connection.close()  # this thread's connection goes back before the database is dropped

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(one, range(4)))
    assert statuses == [200, 200, 200, 200]
    assert RefreshSession.objects.filter(rotated_at__isnull=False).count() == 1


def test_cookie_mode_refresh(api, user):
    login(api, "cookie")
    old = api.cookies["directus_refresh_token"].value
    response = refresh(api)  # no body: cookie mode inferred
    assert response.status_code == 200
    assert list(response.json()["data"]) == ["expires", "access_token"]
    assert response.cookies["directus_refresh_token"].value != old


def test_session_mode_refresh(api, user):
    login(api, "session")
    old = api.cookies["directus_session_token"].value
    response = refresh(api, mode="session")
    assert response.status_code == 200
    assert response.json() == {"data": {"expires": 86_400_000}}
    new = response.cookies["directus_session_token"].value
    assert new != old
    # Within the grace window the old cookie still works; after it, it is refused and cleared.
    api.cookies["directus_session_token"] = old
    assert api.get("/server/health").status_code == 200
    age_rotation(60)
    stale = api.get("/server/health")
    assert stale.status_code == 401
    assert stale.cookies["directus_session_token"].value == ""


@pytest.mark.parametrize(
    "body",
    [{}, {"mode": "json"}, {"mode": "cookie"}, {"mode": "session"}, {"mode": "other"}],
)
def test_no_token_for_the_mode_is_invalid_payload(api, body):
    response = refresh(api, **body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == (
        "Invalid payload. The refresh token is required in either the payload or cookie."
    )


def test_json_mode_ignores_the_cookie(api, user):
    login(api, "cookie")
    assert refresh(api, mode="json").status_code == 400


@pytest.mark.parametrize("token", ["unknown", "x" * 64, "x" * 5000])
def test_unknown_tokens_are_invalid_credentials(api, token):
    response = refresh(api, refresh_token=token)
    assert response.status_code == 401
    assert code(response) == "INVALID_CREDENTIALS"


def test_expired_refresh_token(api, user):
    token = login(api).json()["data"]["refresh_token"]
    RefreshSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert code(refresh(api, refresh_token=token)) == "INVALID_CREDENTIALS"


def test_suspended_user_gets_user_suspended_and_loses_the_session(api, user):
    token = login(api).json()["data"]["refresh_token"]
    User = type(user)
    User.objects.filter(pk=user.pk).update(status=UserStatus.SUSPENDED)
    response = refresh(api, refresh_token=token)
    assert response.status_code == 401
    assert code(response) == "USER_SUSPENDED"
    User.objects.filter(pk=user.pk).update(status=UserStatus.ACTIVE)
    assert code(refresh(api, refresh_token=token)) == "INVALID_CREDENTIALS"


@pytest.mark.parametrize("status", ["suspended", "archived", "draft"])
def test_leaving_active_revokes_every_session_at_once(api, user, status):
    data = login(api).json()["data"]
    user.status = status
    user.save()
    expected = "USER_SUSPENDED" if status == "suspended" else "INVALID_CREDENTIALS"
    assert code(refresh(api, refresh_token=data["refresh_token"])) == expected
    assert not RefreshSession.objects.filter(user=user, revoked_at__isnull=True).exists()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {data['access_token']}")
    assert api.get("/server/health").status_code == 401


def test_deleting_the_user_ends_its_tokens(api, user):
    data = login(api).json()["data"]
    user.delete()
    assert code(refresh(api, refresh_token=data["refresh_token"])) == "INVALID_CREDENTIALS"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {data['access_token']}")
    assert api.get("/server/health").status_code == 401


def test_password_change_revokes_sessions(api, user):
    data = login(api).json()["data"]
    user.set_password("a new password entirely")
    user.save()
    assert code(refresh(api, refresh_token=data["refresh_token"])) == "INVALID_CREDENTIALS"


def test_logout_revokes_the_refresh_and_access_tokens(api, user):
    data = login(api).json()["data"]
    response = api.post("/auth/logout", {"refresh_token": data["refresh_token"]}, format="json")
    assert response.status_code == 204
    assert response.content == b""
    assert code(refresh(api, refresh_token=data["refresh_token"])) == "INVALID_CREDENTIALS"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {data['access_token']}")
    assert code(api.get("/server/health")) == "INVALID_CREDENTIALS"
    assert AuthEvent.objects.filter(kind="logout", user=user).count() == 1


def test_logout_with_unknown_token_is_still_204(api):
    assert api.post("/auth/logout", {"refresh_token": "garbage"}, format="json").status_code == 204
    assert api.post("/auth/logout", {}, format="json").status_code == 400


def test_cookie_logout_expires_the_cookie(api, user):
    login(api, "cookie")
    response = api.post("/auth/logout", {}, format="json")
    assert response.status_code == 204
    cookie = response.cookies["directus_refresh_token"]
    assert cookie.value == ""
    assert cookie["max-age"] == 0


def test_session_logout_kills_the_session_jwt_at_once(api, user):
    login(api, "session")
    cookie = api.cookies["directus_session_token"].value
    assert api.post("/auth/logout", {"mode": "session"}, format="json").status_code == 204
    api.cookies["directus_session_token"] = cookie
    assert api.get("/server/health").status_code == 401


def test_logout_everywhere(api, user):
    first = login(api).json()["data"]
    second = login(api).json()["data"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {first['access_token']}")
    assert api.post("/auth/logout/all").status_code == 204
    api.credentials()
    for data in (first, second):
        assert code(refresh(api, refresh_token=data["refresh_token"])) == "INVALID_CREDENTIALS"
    assert AuthEvent.objects.filter(kind="logout.everywhere").count() == 1


def test_logout_everywhere_needs_a_user(api):
    assert code(api.post("/auth/logout/all")) == "INVALID_CREDENTIALS"


def test_refresh_ttl_and_session_ttl_come_from_config(api, user, settings):
    tokens = replace(settings.DIRECTUS.tokens, access_ttl_ms=60_000)
    settings.DIRECTUS = replace(settings.DIRECTUS, tokens=tokens)
    assert login(api).json()["data"]["expires"] == 60_000
