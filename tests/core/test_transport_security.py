"""Behind TLS every cookie is Secure and HSTS is sent; HTML pages carry a CSP."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = {"email": "admin@example.com", "password": "admin-password-1"}


def test_plain_http_sets_no_hsts_and_keeps_cookie_flags(admin_user):
    response = Client().post("/auth/login", {**LOGIN, "mode": "cookie"}, "application/json")
    assert "Strict-Transport-Security" not in response
    assert not response.cookies["directus_refresh_token"]["secure"]


def test_a_trusted_proxy_saying_https_makes_cookies_secure(admin_user, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    for mode, cookie in (
        ("cookie", "directus_refresh_token"),
        ("session", "directus_session_token"),
    ):
        response = client.post("/auth/login", {**LOGIN, "mode": mode}, "application/json")
        assert response.cookies[cookie]["secure"] is True
        assert response["Strict-Transport-Security"].startswith("max-age=")
    page = client.get("/login")
    assert all(morsel["secure"] for morsel in page.cookies.values())


def test_an_https_public_url_makes_cookies_secure(admin_user, settings):
    settings.DIRECTUS = replace_public_url(settings.DIRECTUS, "https://id.example.com")
    response = Client().post("/auth/login", {**LOGIN, "mode": "cookie"}, "application/json")
    assert response.cookies["directus_refresh_token"]["secure"] is True
    assert "Strict-Transport-Security" in response


def replace_public_url(config, url):
    return replace(config, server=replace(config.server, public_url=url))


@pytest.mark.parametrize("path", ["/login", "/admin/login/?next=/admin/"])
def test_html_pages_send_a_content_security_policy(path):
    response = Client().get(path, follow=True)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy


def test_json_answers_carry_no_page_policy():
    # (/server/ping is text/html, as Directus sends it, and so carries the page policy.)
    assert "Content-Security-Policy" not in Client().get("/server/info")
