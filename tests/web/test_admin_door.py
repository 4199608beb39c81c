"""The Django admin has no door of its own: it signs in on the login page through the one flow
(second factor, limits, stall, failure counting, auth log), and its access ends with that
sign-in — logout, logout everywhere, an admin's revocation, suspension, demotion."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pyotp
import pytest
from django.test import Client

from accounts.models import Access, AuthEvent, Policy, ProjectSettings, UserStatus
from factors.totp import seal_secret
from tokens.models import RefreshSession

pytestmark = pytest.mark.django_db

PASSWORD = "admin-password-1"


def page_sign_in(client: Client, password: str = PASSWORD, **extra: str):
    page = client.get("/admin/login/?next=/admin/", follow=True)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match is not None
    data = {"email": "admin@example.com", "password": password, "redirect": "/admin/"}
    return client.post("/login", {**data, "csrfmiddlewaretoken": match.group(1), **extra})


def code_step(client: Client, code: str):
    """The second step of the login page (``/login/verify``)."""
    page = client.get("/login/verify")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match is not None
    return client.post("/login/verify", {"code": code, "csrfmiddlewaretoken": match.group(1)})


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def signed_in(browser, admin_user) -> Client:
    response = page_sign_in(browser)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert browser.get("/admin/").status_code == 200
    return browser


def locked_out(client: Client) -> bool:
    response = client.get("/admin/")
    return response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_admin_with_a_second_factor_is_asked_for_the_code(browser, admin_user):
    secret = pyotp.random_base32()
    admin_user.tfa_secret = seal_secret(secret)
    admin_user.save()
    asked = page_sign_in(browser)
    assert asked.status_code == 302
    assert asked["Location"] == "/login/verify"
    assert locked_out(browser)
    assert code_step(browser, "000000").status_code == 401
    assert locked_out(browser)
    response = code_step(browser, pyotp.TOTP(secret).now())
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert browser.get("/admin/").status_code == 200
    reasons = list(
        AuthEvent.objects.filter(kind="login.failure").values_list("details__reason", flat=True)
    )
    assert sorted(reasons) == ["invalid_otp", "second_factor_required"]


def test_admin_sign_ins_are_in_the_auth_log(browser, admin_user):
    assert page_sign_in(browser, password="wrong").status_code == 401
    assert page_sign_in(browser).status_code == 302
    events = list(AuthEvent.objects.order_by("created_at").values_list("kind", "details"))
    assert [kind for kind, _ in events] == ["login.failure", "login.success"]
    assert events[0][1]["reason"] == "wrong_password"
    assert events[1][1]["mode"] == "session"
    assert events[1][1]["provider"] == "default"


def test_admin_sign_in_is_rate_limited_per_account(browser, admin_user, settings, one_rate_window):
    limits = settings.DIRECTUS.limits
    points = limits.login_account.points
    for _ in range(points):
        assert page_sign_in(browser, password="wrong").status_code == 401
    assert page_sign_in(browser).status_code == 429
    assert locked_out(browser)


def test_admin_failures_count_towards_suspension(browser, admin_user, make_user):
    make_user("second-admin@example.com", role=admin_user.role)  # not the last admin
    ProjectSettings.objects.update_or_create(pk=1, defaults={"auth_login_attempts": 2})
    for _ in range(3):
        assert page_sign_in(browser, password="wrong").status_code == 401
    admin_user.refresh_from_db()
    assert admin_user.status == UserStatus.SUSPENDED
    assert page_sign_in(browser).status_code == 401
    assert locked_out(browser)


def test_admin_sign_in_is_stalled(browser, admin_user, settings):
    settings.DIRECTUS = replace(
        settings.DIRECTUS, tokens=replace(settings.DIRECTUS.tokens, login_stall_ms=300)
    )
    for password in ("wrong", PASSWORD):
        started = time.monotonic()
        page_sign_in(browser, password=password)
        assert time.monotonic() - started >= 0.3


def test_the_admin_session_authenticates_the_api(signed_in):
    me = signed_in.get("/users/me")
    assert me.status_code == 200
    assert me.json()["data"]["email"] == "admin@example.com"


def test_logout_everywhere_ends_the_admin_session(signed_in):
    assert signed_in.post("/auth/logout/all").status_code == 204
    assert locked_out(signed_in)
    assert signed_in.get("/users/me").status_code in (401, 403)


def test_logging_out_of_the_admin_ends_the_sign_in(signed_in):
    page = signed_in.get("/admin/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    response = signed_in.post("/admin/logout/", {"csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302
    assert RefreshSession.objects.filter(revoked_at__isnull=True).count() == 0
    assert locked_out(signed_in)


def test_an_admin_revoking_the_sign_in_ends_it(signed_in, make_user, admin_user):
    other = make_user("other-admin@example.com", "other-password-1", role=admin_user.role)
    other_browser = Client()
    other_browser.post(
        "/login",
        {"email": other.email, "password": "other-password-1", "redirect": "/admin/"},
    )
    row = RefreshSession.objects.get(user=admin_user)
    other_browser.post(
        "/admin/tokens/refreshsession/",
        {"action": "revoke_sign_ins", "_selected_action": [str(row.pk)]},
    )
    assert locked_out(signed_in)
    assert other_browser.get("/admin/").status_code == 200


def test_suspending_the_admin_ends_the_session(signed_in, admin_user):
    admin_user.status = UserStatus.SUSPENDED
    admin_user.save()
    assert locked_out(signed_in)


def test_demoting_the_admin_ends_admin_access_at_once(signed_in, admin_user):
    Access.objects.filter(role=admin_user.role, policy__admin_access=True).delete()
    assert not Policy.objects.filter(access__role=admin_user.role, admin_access=True).exists()
    assert locked_out(signed_in)
