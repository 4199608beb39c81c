"""The post-login redirect check, with the contract's test vectors (sso.md §2.2)."""

from __future__ import annotations

import pytest

from signin.redirects import RedirectRejected, resolve_login_redirect

PUBLIC = "https://directus.app"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "/"),
        ("", "/"),
        (False, "/"),
        (0, "/"),
        ("/admin?tab=users#top", "/admin?tab=users#top"),
        ("#fragment", "/#fragment"),
        ("?foo=bar", "/?foo=bar"),
        ("./admin", "/admin"),
        ("../admin", "/admin"),
        ("\\google.com", "/google.com"),
        ("/\tgoogle.com", "/google.com"),
        ("\t/google.com", "/google.com"),
        ("/ google.com", "/%20google.com"),
        ("%2F%2Fevil.com", "/%2F%2Fevil.com"),
        ("https://directus.app/admin", "https://directus.app/admin"),
    ],
)
def test_allowed(value, expected):
    assert resolve_login_redirect(value, PUBLIC) == expected


@pytest.mark.parametrize(
    "value",
    [
        123,
        {"a": 1},
        ["/admin"],
        "//malicious.com/test",
        "/\\google.com",
        "\\\\google.com",
        "//\\evil.com",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://directus.app/file",
        "https://directus.app@evil.com",
        "https://directus.app.evil.com/admin",
        "http://directus.app/admin",
    ],
)
def test_rejected(value):
    with pytest.raises(RedirectRejected):
        resolve_login_redirect(value, PUBLIC)


def test_allow_list():
    allow = ["https://frontend.com/callback"]
    url = "https://frontend.com/callback?token=x"
    assert resolve_login_redirect(url, PUBLIC, allow) == url
    with pytest.raises(RedirectRejected):
        resolve_login_redirect("https://frontend.com/other", PUBLIC, allow)
    assert resolve_login_redirect("https://directus.app/x", PUBLIC, allow) == (
        "https://directus.app/x"
    )


def test_absolute_redirects_need_an_absolute_public_url():
    with pytest.raises(RedirectRejected):
        resolve_login_redirect("https://directus.app/admin", "/")
    assert resolve_login_redirect("/admin", "/") == "/admin"
