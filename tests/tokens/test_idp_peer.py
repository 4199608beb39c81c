"""The sign-on peer itself (npm ``oidc-provider``, tests/tokens/js/idp.mjs): an
authorization-code + PKCE round trip through its login form, what the id_token and userinfo
carry, and what it refuses (a wrong password, an unregistered redirect URI, a missing PKCE
challenge), so the SSO tests stand on a provider whose behaviour is known."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from tests.support.idp import IdpFormError, OidcIdp, browser_session, sign_in_at_idp

pytestmark = pytest.mark.server

REDIRECT = "http://127.0.0.1:9/callback"
ADA: dict[str, Any] = {
    "login": "ada",
    "password": "correct horse",
    "sub": "ada-sub-1",
    "email": "ada@example.test",
    "email_verified": True,
    "given_name": "Ada",
    "family_name": "Lovelace",
    "groups": ["staff", "admins"],
}


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcIdp]:
    peer = OidcIdp(
        tmp_path_factory.mktemp("idp"),
        accounts=[ADA],
        clients=[{"client_id": "rp", "client_secret": "rp-secret", "redirect_uris": [REDIRECT]}],
    )
    with peer:
        yield peer


def authorize_url(idp: OidcIdp, **overrides: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    params = {
        "client_id": "rp",
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid email profile groups",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
        **overrides,
    }
    return f"{idp.authorize_endpoint}?{urlencode(params)}", verifier


def code_from(response: requests.Response) -> dict[str, list[str]]:
    assert response.is_redirect, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT)
    return parse_qs(urlsplit(location).query)


def test_a_code_round_trip_through_the_login_form(idp: OidcIdp) -> None:
    url, verifier = authorize_url(idp)
    query = code_from(
        sign_in_at_idp(browser_session(), url, "ada", "correct horse", stop_at=REDIRECT)
    )
    assert query["state"] == ["st-1"]
    token = requests.post(
        idp.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=("rp", "rp-secret"),
        timeout=10,
    )
    assert token.status_code == 200, token.text
    body = token.json()
    keys = jwt.PyJWKSet.from_dict(requests.get(idp.jwks_uri, timeout=10).json())
    claims = jwt.decode(
        body["id_token"], keys.keys[0], algorithms=["RS256"], audience="rp", issuer=idp.issuer
    )
    assert claims["sub"] == "ada-sub-1"
    assert claims["nonce"] == "n-1"
    assert claims["groups"] == ["staff", "admins"]
    assert claims["email"] == "ada@example.test"
    assert claims["email_verified"] is True
    info = requests.get(
        idp.userinfo_endpoint,
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=10,
    ).json()
    assert info["sub"] == "ada-sub-1"
    assert info["given_name"] == "Ada"
    assert info["groups"] == ["staff", "admins"]
    # The code is single use.
    again = requests.post(
        idp.token_endpoint,
        data={"grant_type": "authorization_code", "code": query["code"][0],
              "redirect_uri": REDIRECT, "code_verifier": verifier},
        auth=("rp", "rp-secret"),
        timeout=10,
    )  # fmt: skip
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_a_signed_in_user_is_not_asked_again(idp: OidcIdp) -> None:
    session = browser_session()
    url, _ = authorize_url(idp)
    code_from(sign_in_at_idp(session, url, "ada", "correct horse", stop_at=REDIRECT))
    url, _ = authorize_url(idp)
    # Straight back with a code, no form (wrong credentials would raise if it showed): the
    # IdP session remembers the user.
    response = sign_in_at_idp(session, url, "nobody", "wrong", stop_at=REDIRECT)
    assert "code" in code_from(response)


def test_a_wrong_password_shows_the_form_again(idp: OidcIdp) -> None:
    url, _ = authorize_url(idp)
    with pytest.raises(IdpFormError):
        sign_in_at_idp(browser_session(), url, "ada", "wrong", stop_at=REDIRECT)


def test_an_unregistered_redirect_or_no_pkce_is_refused(idp: OidcIdp) -> None:
    url, _ = authorize_url(idp, redirect_uri="http://127.0.0.1:9/elsewhere")
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    url, _ = authorize_url(idp, code_challenge="", code_challenge_method="")
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.is_redirect
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["invalid_request"]
