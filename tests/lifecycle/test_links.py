"""The allow-list rule shared by reset and invite links, and how a link is built."""

from __future__ import annotations

import pytest

from lifecycle.links import default_base, url_allowed, with_token

ALLOW = ("https://app.example.com/reset", "http://localhost:3000/auth/reset-password")


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.com/reset",
        "https://app.example.com/reset?lang=fr",
        "https://app.example.com/reset#top",
        "https://APP.example.com:443/reset",
        "http://localhost:3000/auth/reset-password?x=1",
    ],
)
def test_allowed(url: str) -> None:
    assert url_allowed(url, ALLOW)


@pytest.mark.parametrize(
    "url",
    [
        "http://app.example.com/reset",  # another scheme (Directus would allow it)
        "https://app.example.com:8443/reset",  # another port
        "https://app.example.com/reset/evil",
        "https://app.example.com/",
        "https://evil.example.com/reset",
        "https://app.example.com.evil.test/reset",
        "//app.example.com/reset",
        "javascript:alert(1)",
        "https://[::1/reset",
        "",
    ],
)
def test_refused(url: str) -> None:
    assert not url_allowed(url, ALLOW)


def test_nothing_is_allowed_with_an_empty_list() -> None:
    assert not url_allowed("https://app.example.com/reset", ())


def test_token_joins_the_query_it_finds() -> None:
    assert with_token("https://a.test/r", "abc") == "https://a.test/r?token=abc"
    assert with_token("https://a.test/r?lang=fr&token=old", "abc") == (
        "https://a.test/r?lang=fr&token=abc"
    )
    assert with_token("https://a.test/#/reset", "abc") == "https://a.test/?token=abc#/reset"


def test_default_base_follows_public_url() -> None:
    assert default_base("https://id.test/", "/admin/reset-password") == (
        "https://id.test/admin/reset-password"
    )
    assert default_base("/", "/admin/accept-invite") == "/admin/accept-invite"
