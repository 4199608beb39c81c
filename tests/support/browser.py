"""Headless Chromium from Debian's package (``/usr/bin/chromium``) driven by Playwright, for
tests of the HTML pages against a real server process (:mod:`tests.support.server`).

Playwright only drives the browser; it never downloads one. Use the ``page`` fixture from
:func:`browser_page`, and :func:`virtual_authenticator` for WebAuthn passkeys (Chromium's
DevTools ``WebAuthn`` domain: a CTAP2 authenticator with user verification that always
consents)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
]


def chromium_available() -> bool:
    return shutil.which("chromium") is not None


@contextlib.contextmanager
def browser_page() -> Iterator[Any]:
    """A fresh browser context and page; closed (with the browser) on exit."""
    if not chromium_available():
        pytest.skip("Debian's chromium package is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def virtual_authenticator(page: Any) -> tuple[Any, str]:
    """Attach a virtual platform authenticator (resident keys, user verification) to ``page``;
    returns the DevTools session and the authenticator id."""
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable", {"enableUI": False})
    added = session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return session, added["authenticatorId"]
