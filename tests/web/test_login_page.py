"""The HTML sign-in page: no JavaScript, CSRF, session cookie, allow-listed redirects."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tokens.models import RefreshSession

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture
def user(make_user):
    return make_user("person@example.com", PASSWORD)


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def csrf(client: Client, path: str = "/login") -> str:
    page = client.get(path)
    assert page.status_code == 200
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match is not None
    return match.group(1)


def sign_in(client: Client, redirect: str = "", **fields):
    token = csrf(client, f"/login?redirect={redirect}" if redirect else "/login")
    data = {"email": "person@example.com", "password": PASSWORD, "csrfmiddlewaretoken": token}
    return client.post("/login", {**data, "redirect": redirect, **fields})


def test_the_form_renders_without_javascript(browser):
    page = browser.get("/login?redirect=/account").content.decode()
    assert '<form method="post"' in page
    assert 'name="email"' in page
    assert 'name="password"' in page
    assert "<script" not in page
    assert 'value="/account"' in page


def test_signing_in_sets_the_session_cookie_and_redirects(browser, user):
    response = sign_in(browser, redirect="/account")
    assert response.status_code == 302
    assert response["Location"] == "/account"
    assert "directus_session_token" in response.cookies
    assert RefreshSession.objects.get(user=user).mode == "session"
    account = browser.get("/account")
    assert account.status_code == 200
    assert "person@example.com" in account.content.decode()


@pytest.mark.parametrize(
    "target", ["https://evil.example.net/", "//evil.example.net/", "javascript:alert(1)"]
)
def test_foreign_redirects_are_ignored(browser, user, target):
    response = sign_in(browser, redirect=target)
    assert response.status_code == 302
    assert response["Location"] == "/account"


def test_allow_listed_absolute_redirect(browser, user, settings):
    from dataclasses import replace

    auth = replace(
        settings.DIRECTUS.auth, login_redirect_allow_list=["https://app.example.com/callback"]
    )
    settings.DIRECTUS = replace(settings.DIRECTUS, auth=auth)
    response = sign_in(browser, redirect="https://app.example.com/callback?x=1")
    assert response["Location"] == "https://app.example.com/callback?x=1"


def test_wrong_password_shows_one_generic_error(browser, user):
    response = sign_in(browser, password="wrong")
    assert response.status_code == 401
    assert "The email or password is not right." in response.content.decode()
    unknown = sign_in(browser, email="nobody@example.com")
    assert "The email or password is not right." in unknown.content.decode()


def test_post_without_csrf_token_is_refused(browser, user):
    response = browser.post("/login", {"email": "person@example.com", "password": PASSWORD})
    assert response.status_code == 403
    assert not RefreshSession.objects.exists()


def test_sign_out_revokes_the_session(browser, user):
    sign_in(browser)
    token = csrf(browser, "/account")
    response = browser.post("/logout", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert RefreshSession.objects.get(user=user).revoked_at is not None
    assert browser.get("/account").status_code == 302


def test_totp_users_are_asked_for_a_code(browser, user):
    import pyotp

    from factors.totp import seal_secret

    secret = pyotp.random_base32()
    user.tfa_secret = seal_secret(secret)
    user.save()
    response = sign_in(browser)
    assert response.status_code == 302
    assert response["Location"] == "/login/verify"
    assert 'name="code"' in browser.get("/login/verify").content.decode()
    ok = sign_in(browser, otp=pyotp.TOTP(secret).now())  # the one-form path still works
    assert ok.status_code == 302
    assert ok["Location"] == "/account"


def test_the_host_header_never_allows_a_redirect(user):
    """A client chooses its Host header; the redirect check never trusts it."""
    browser = Client(HTTP_HOST="evil.example.net")
    response = sign_in(browser, redirect="http://evil.example.net/steal")
    assert response.status_code == 302
    assert response["Location"] == "/account"
