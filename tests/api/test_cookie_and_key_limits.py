"""Credentials a browser adds by itself are not usable from another site's forms, and a
narrowed API key cannot widen itself."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tokens.keys import create_key
from tokens.models import RefreshSession

pytestmark = pytest.mark.django_db

ADMIN = {"email": "admin@example.com", "password": "admin-password-1"}


def code(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.fixture
def cookie_client(admin_user) -> APIClient:
    client = APIClient()
    assert client.post("/auth/login", {**ADMIN, "mode": "cookie"}, format="json").status_code == 200
    return client


@pytest.mark.parametrize("path", ["/auth/refresh", "/auth/logout"])
@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
def test_cross_site_forms_cannot_use_the_refresh_cookie(cookie_client, path, content_type):
    response = cookie_client.post(
        path, b"", content_type=content_type, HTTP_ORIGIN="https://evil.example.net"
    )
    assert response.status_code == 403
    assert code(response) == "FORBIDDEN"
    assert (
        RefreshSession.objects.filter(revoked_at__isnull=True, rotated_at__isnull=True).count() == 1
    )


def test_json_and_same_origin_requests_still_work(cookie_client):
    same = cookie_client.post(
        "/auth/refresh", b"", content_type="text/plain", HTTP_ORIGIN="http://testserver"
    )
    assert same.status_code == 200
    json_body = cookie_client.post(
        "/auth/refresh",
        {"mode": "cookie"},
        format="json",
        HTTP_ORIGIN="https://app.example.com",
    )
    assert json_body.status_code == 200
    no_origin = cookie_client.post("/auth/logout", b"", content_type="text/plain")
    assert no_origin.status_code == 204


@pytest.fixture
def keys(admin_user):
    full = create_key(name="full", user=admin_user).secret
    read_only = create_key(name="ro", user=admin_user, scope={"read_only": True}).secret
    scoped = create_key(
        name="articles", user=admin_user, scope={"collections": {"directus_users": ["update"]}}
    ).secret
    return {"full": full, "read_only": read_only, "scoped": scoped}


def with_key(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.mark.parametrize("kind", ["read_only", "scoped"])
def test_a_narrowed_key_cannot_set_the_owners_static_token(keys, admin_user, kind):
    response = with_key(keys[kind]).patch("/users/me", {"token": "x" * 40}, format="json")
    assert response.status_code == 403
    admin_user.refresh_from_db()
    assert admin_user.token_id is None


@pytest.mark.parametrize("kind", ["read_only", "scoped"])
def test_a_narrowed_key_cannot_end_the_owners_sessions(keys, admin_user, kind):
    APIClient().post("/auth/login", ADMIN, format="json")
    response = with_key(keys[kind]).post("/auth/logout/all")
    assert response.status_code == 403
    assert RefreshSession.objects.filter(user=admin_user, revoked_at__isnull=True).count() == 1


def test_an_unscoped_key_keeps_the_owners_rights(keys, admin_user):
    assert with_key(keys["full"]).post("/auth/logout/all").status_code == 204
