"""The second-factor pages in headless Chromium against a real server process: TOTP set-up with
its QR code and a two-step sign-in, a passkey through Chromium's virtual authenticator, and a
sign-in with a recovery code. ``http://localhost``: WebAuthn allows plain HTTP there only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.support.browser import browser_page, virtual_authenticator
from tests.support.server import Server, base_env, free_port, postgres_database

pytestmark = pytest.mark.server

PASSWORD = "a long browser passphrase 7"
SCREENSHOT = Path("/tmp/tfa_setup.png")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("factor-pages")
    port = free_port()
    env = base_env(tmp, PUBLIC_URL=f"http://localhost:{port}")
    with postgres_database(env) as prepared:
        running = Server(prepared, port=port).start("--workers", "1")
        try:
            yield running
        finally:
            running.stop()


def base(server: Server) -> str:
    return f"http://localhost:{server.port}"


def new_user(server: Server, email: str) -> str:
    """An active user with ``PASSWORD``, created by the bootstrap admin over the API."""
    login = httpx.post(
        f"{server.url}/auth/login",
        json={"email": server.env["ADMIN_EMAIL"], "password": server.env["ADMIN_PASSWORD"]},
    )
    assert login.status_code == 200, login.text
    token = login.json()["data"]["access_token"]
    created = httpx.post(
        f"{server.url}/users",
        json={"email": email, "password": PASSWORD, "status": "active"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code in {200, 204}, created.text
    return email


def sign_in_with_password(page: Any, server: Server, email: str) -> None:
    page.goto(f"{base(server)}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def sign_out(page: Any, server: Server) -> None:
    page.goto(f"{base(server)}/account")
    page.click("text=Sign out")
    page.wait_for_url(f"{base(server)}/login")


def set_up_totp(page: Any, server: Server, *, screenshot: bool = False) -> tuple[str, list[str]]:
    """Turn TOTP on through the pages; the secret (read from the page) and the recovery codes."""
    page.goto(f"{base(server)}/account/tfa")
    page.fill("#password", PASSWORD)
    page.click("text=Set up")
    page.wait_for_selector("figure.qr svg")
    secret = page.text_content("#tfa-secret").strip()
    if screenshot:
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.fill("#otp", pyotp.TOTP(secret).now())
    page.click("text=Turn on")
    page.wait_for_selector("#recovery-codes")
    codes = [c.strip() for c in page.locator("#recovery-codes code").all_text_contents()]
    return secret, codes


def next_step_code(secret: str) -> str:
    """The code of the next time step: the current one was spent turning TOTP on, and a code
    works once."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def assert_signed_in(page: Any, server: Server, email: str) -> None:
    page.wait_for_url(f"{base(server)}/account")
    assert email in page.text_content("main")


def test_totp_set_up_then_a_two_step_sign_in(server: Server) -> None:
    email = new_user(server, "totp@example.com")
    with browser_page() as page:
        sign_in_with_password(page, server, email)
        assert_signed_in(page, server, email)
        secret, codes = set_up_totp(page, server, screenshot=True)
        assert len(codes) == 10
        page.click("text=continue")
        assert "Authenticator app: on" in page.text_content("main")
        sign_out(page, server)
        sign_in_with_password(page, server, email)
        page.wait_for_url(f"{base(server)}/login/verify")
        page.fill("#code", "000000")
        page.click("text=Verify")
        assert "not right" in page.text_content(".error")
        page.fill("#code", next_step_code(secret))
        page.click("text=Verify")
        assert_signed_in(page, server, email)


def test_a_passkey_as_the_second_step(server: Server) -> None:
    email = new_user(server, "passkey@example.com")
    with browser_page() as page:
        virtual_authenticator(page)
        sign_in_with_password(page, server, email)
        assert_signed_in(page, server, email)
        page.goto(f"{base(server)}/account/passkeys")
        page.fill("#name", "Virtual key")
        page.fill("#password", PASSWORD)
        page.click("#passkey-add button[type=submit]")
        page.wait_for_selector("#recovery-codes")
        assert "Virtual key" in page.text_content("main")
        page.goto(f"{base(server)}/account/passkeys")
        assert "Virtual key" in page.text_content(".passkeys")
        sign_out(page, server)
        sign_in_with_password(page, server, email)
        page.wait_for_url(f"{base(server)}/login/verify")
        page.click("#passkey-sign-in button[type=submit]")
        assert_signed_in(page, server, email)


def test_a_recovery_code_as_the_second_step(server: Server) -> None:
    email = new_user(server, "recovery@example.com")
    with browser_page() as page:
        sign_in_with_password(page, server, email)
        assert_signed_in(page, server, email)
        _, codes = set_up_totp(page, server)
        sign_out(page, server)
        sign_in_with_password(page, server, email)
        page.wait_for_url(f"{base(server)}/login/verify")
        page.fill("#code", codes[3])
        page.click("text=Verify")
        assert_signed_in(page, server, email)
        page.goto(f"{base(server)}/account/recovery-codes")
        assert page.text_content("#recovery-remaining") == "9"
