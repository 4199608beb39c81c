"""The HTML pages of the account lifecycle: forgot password, reset, accept an invitation.

In-process tests drive the forms with Django's test client (CSRF enforced); the browser tests
drive them in headless Chromium against a real server process that mails a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from accounts.models import User, UserStatus
from core.mail import wait_for_mail
from lifecycle import tokens
from tests.support.browser import browser_page
from tests.support.server import Server, base_env, free_port, postgres_database
from tests.support.smtp import link_in, smtp_sink

OLD = "old passphrase 1"
NEW = "brand new passphrase 2"


@pytest.fixture(autouse=True)
def _drain() -> Iterator[None]:
    yield
    assert wait_for_mail(15)


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def csrf(client: Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.content
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match is not None
    return match.group(1)


@pytest.fixture
def ann(make_user) -> User:
    return make_user("ann@example.com", OLD)


# ------------------------------------------------------------------ in-process


@pytest.mark.django_db
def test_login_page_links_to_forgot_password(browser) -> None:
    page = browser.get("/login").content.decode()
    assert 'href="/login/forgot"' in page
    assert "Forgot password?" in page


@pytest.mark.django_db
def test_forgot_password_says_the_same_whatever_the_address(browser, ann, mailoutbox) -> None:
    answers = []
    for email in ("ann@example.com", "nobody@example.com"):
        token = csrf(browser, "/login/forgot")
        response = browser.post("/login/forgot", {"email": email, "csrfmiddlewaretoken": token})
        assert response.status_code == 200
        assert response["Cache-Control"].startswith("max-age=0")
        answers.append(re.sub(r'value="[^"]+"', "", response.content.decode()))
    assert answers[0] == answers[1]
    assert "If an account uses this address" in answers[0]
    assert wait_for_mail(10)
    assert [m.to for m in mailoutbox] == [["ann@example.com"]]


@pytest.mark.django_db
def test_forgot_password_needs_an_address(browser) -> None:
    token = csrf(browser, "/login/forgot")
    response = browser.post("/login/forgot", {"email": "", "csrfmiddlewaretoken": token})
    assert response.status_code == 400
    assert "Enter an e-mail address." in response.content.decode()


@pytest.mark.django_db
def test_forms_need_the_csrf_token(browser, ann) -> None:
    assert browser.post("/login/forgot", {"email": "ann@example.com"}).status_code == 403
    token = tokens.reset_token(ann)
    posted = browser.post("/reset-password", {"token": token, "password": NEW, "password2": NEW})
    assert posted.status_code == 403
    ann.refresh_from_db()
    assert ann.check_password(OLD)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/reset-password", "/admin/reset-password"])
def test_reset_page_sets_the_password_and_sends_to_login(browser, ann, path) -> None:
    token = tokens.reset_token(ann)
    page = browser.get(f"{path}?token={token}")
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "same-origin"
    assert "<script" not in page.content.decode()
    csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    response = browser.post(
        path,
        {"token": token, "password": NEW, "password2": NEW, "csrfmiddlewaretoken": csrf_token[1]},
    )
    assert response.status_code == 302
    assert response["Location"] == "/login"
    assert response["Referrer-Policy"] == "same-origin"
    ann.refresh_from_db()
    assert ann.check_password(NEW)
    login = browser.get("/login").content.decode()
    assert "Your password has been changed" in login


def _post_reset(browser: Client, token: str, password: str, password2: str | None = None):
    page = browser.get(f"/reset-password?token={token}")
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    csrf_token = found[1] if found else ""
    return browser.post(
        "/reset-password",
        {
            "token": token,
            "password": password,
            "password2": password if password2 is None else password2,
            "csrfmiddlewaretoken": csrf_token,
        },
    )


@pytest.mark.django_db
def test_reset_page_errors_are_shown_with_a_4xx(browser, ann) -> None:
    token = tokens.reset_token(ann)
    mismatch = _post_reset(browser, token, NEW, "something else 3")
    assert mismatch.status_code == 400
    assert "The two passwords are not the same." in mismatch.content.decode()
    weak = _post_reset(browser, token, "password123")
    assert weak.status_code == 400
    assert "too common" in weak.content.decode()
    assert "password123" not in weak.content.decode()
    assert _post_reset(browser, token, NEW).status_code == 302
    used = _post_reset(browser, token, "another passphrase 4")
    assert used.status_code == 403
    assert "not valid, or has already been used" in used.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token", "status"),
    [("", 403), ("garbage", 403), (tokens.invite_token("ann@example.com"), 403)],
)
def test_reset_page_with_a_bad_link(browser, ann, token, status) -> None:
    page = browser.get(f"/reset-password?token={token}")
    assert page.status_code == status
    assert page["Referrer-Policy"] == "same-origin"
    assert "Ask for a new link" in page.content.decode()
    assert 'name="password"' not in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accept-invite", "/admin/accept-invite"])
def test_accept_invite_page(browser, path) -> None:
    User.objects.create_user("invitee@example.com", status=UserStatus.INVITED)
    token = tokens.invite_token("invitee@example.com")
    page = browser.get(f"{path}?token={token}")
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "same-origin"
    csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    data = {"token": token, "password": NEW, "password2": NEW, "csrfmiddlewaretoken": csrf_token}
    response = browser.post(path, data)
    assert (response.status_code, response["Location"]) == (302, "/login")
    assert User.objects.get(email="invitee@example.com").status == UserStatus.ACTIVE
    again = browser.post(path, data)
    assert again.status_code == 400
    assert "This invite is no longer valid." in again.content.decode()


# ------------------------------------------------------------------ browser, real server


@pytest.fixture
def mailing_server(tmp_path: Path) -> Iterator[tuple[Server, Any]]:
    with smtp_sink(tmp_path) as sink:
        port = free_port()
        env = base_env(
            tmp_path,
            EMAIL_TRANSPORT="smtp",
            EMAIL_SMTP_HOST="127.0.0.1",
            EMAIL_SMTP_PORT=str(sink.port),
            EMAIL_SMTP_IGNORE_TLS="true",
            PUBLIC_URL=f"http://localhost:{port}",
        )
        with postgres_database(env) as prepared:
            server = Server(prepared, port=port).start("--workers", "1")
            try:
                yield server, sink
            finally:
                server.stop()


def _local(server: Server) -> str:
    return f"http://localhost:{server.port}"


@pytest.mark.server
def test_browser_forgot_password_to_signed_in(mailing_server) -> None:
    server, sink = mailing_server
    base = _local(server)
    with browser_page() as page:
        page.goto(f"{base}/login")
        page.click("text=Forgot password?")
        page.fill("#email", "admin@example.com")
        page.click("button[type=submit]")
        page.wait_for_selector("text=If an account uses this address")

        link = link_in(sink.to("admin@example.com"))
        assert link.startswith(f"{base}/admin/reset-password?token=")
        page.goto(link)
        page.fill("#password", NEW)
        page.fill("#password2", NEW)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/login")
        assert "Your password has been changed" in page.content()

        page.fill("#email", "admin@example.com")
        page.fill("#password", NEW)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/account")
        assert "admin@example.com" in page.content()


@pytest.mark.server
def test_browser_accepts_an_invitation(mailing_server) -> None:
    server, sink = mailing_server
    base = _local(server)
    login = httpx.post(
        f"{base}/auth/login", json={"email": "admin@example.com", "password": "e2e-admin-password"}
    )
    headers = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
    role = httpx.get(f"{base}/users/me", params={"fields": "role"}, headers=headers).json()
    sent = httpx.post(
        f"{base}/users/invite",
        json={"email": "newcomer@example.com", "role": role["data"]["role"]},
        headers=headers,
    )
    assert sent.status_code == 204, sent.text
    link = link_in(sink.to("newcomer@example.com"))
    with browser_page() as page:
        page.goto(link)
        assert page.title().startswith("Accept the invitation")
        page.fill("#password", NEW)
        page.fill("#password2", "not the same 5")
        page.click("button[type=submit]")
        page.wait_for_selector("text=The two passwords are not the same.")
        page.fill("#password", NEW)
        page.fill("#password2", NEW)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/login")
        assert "Your account is ready" in page.content()
        page.fill("#email", "newcomer@example.com")
        page.fill("#password", NEW)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/account")
    assert "eyJ" not in server.log()
