"""The OAuth provider in process: each grant, consent, the narrowing, and the refusals."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client as HttpClient

from accounts.models import AuthEvent
from oauth.models import Client, Consent
from tests.oauth.conftest import REDIRECT, approve, authorize, pkce


def token(http: HttpClient, client: Client, secret: str, **data: str) -> Any:
    headers = {}
    if secret:
        basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
        headers["HTTP_AUTHORIZATION"] = f"Basic {basic}"
    else:
        data["client_id"] = client.client_id
    return http.post("/oauth/token", data, **headers)


def exchange(http: HttpClient, client: Client, secret: str, code: str, verifier: str) -> Any:
    return token(
        http, client, secret,
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier,
    )  # fmt: skip


@pytest.mark.django_db
def test_authorization_code_with_pkce_end_to_end(browser: Any, make_client: Any) -> None:
    client, secret = make_client()
    verifier, challenge = pkce()
    page = authorize(browser, client, "openid profile items:read offline_access", challenge)
    assert page.status_code == 200
    assert b"Allow" in page.content
    code = approve(browser, page)
    response = exchange(HttpClient(), client, secret, code, verifier)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["access_token"].startswith("doa_")
    assert body["refresh_token"].startswith("dor_")
    assert body["id_token"].count(".") == 2
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api.get("/items/articles").status_code == 200
    assert api.get("/users/me").json()["data"]["email"] == "reader@example.com"
    # items:read only: writing is outside the token's scopes, whatever the policies allow
    assert api.post("/items/articles", {"title": "x"}, "application/json").status_code == 403
    info = api.get("/oauth/userinfo").json()
    assert info["sub"]
    assert info["given_name"] == "Rea"
    assert "email" not in info
    assert Consent.objects.filter(client=client).exists()
    kinds = set(AuthEvent.objects.values_list("kind", flat=True))
    assert {"oauth.consent_granted", "oauth.token_issued"} <= kinds


@pytest.mark.django_db
def test_consent_is_remembered_and_revocable(browser: Any, make_client: Any) -> None:
    client, _secret = make_client()
    _verifier, challenge = pkce()
    approve(browser, authorize(browser, client, "profile", challenge))
    again = authorize(browser, client, "profile", challenge)
    assert again.status_code == 302
    assert "code=" in again["Location"]
    more = authorize(browser, client, "profile items:read", challenge)
    assert more.status_code == 200  # a new scope asks again
    consent = Consent.objects.get(client=client)
    browser.post(f"/account/applications/{consent.pk}/disconnect")
    assert not Consent.objects.filter(client=client).exists()
    assert AuthEvent.objects.filter(kind="oauth.consent_revoked").exists()
