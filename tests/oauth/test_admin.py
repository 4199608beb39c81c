"""OAuth clients and consents in the admin; the id_token key commands."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient
from oauth2_provider.models import AccessToken

from accounts.models import AuthEvent, User
from oauth.models import Client, Consent, SigningKey
from tests.oauth.conftest import PASSWORD
from tests.support.clients import SignedInClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_user: User) -> SignedInClient:
    client = SignedInClient()
    client.force_login(admin_user)
    return client


def test_a_new_client_secret_is_shown_once_and_stored_hashed(admin_client: Any) -> None:
    assert admin_client.get("/admin/oauth/client/add/").status_code == 200
    response = admin_client.post(
        "/admin/oauth/client/add/",
        {
            "name": "Partner",
            "client_id": "partner-app",
            "client_type": "confidential",
            "redirect_uris": "https://partner.example/cb",
            "post_logout_redirect_uris": "",
            "allowed_origins": "",
            "grants": ["authorization-code"],
            "scope_choices": ["openid", "profile"],
            "require_pkce": "on",
            "algorithm": "RS256",
        },
    )
    assert response.status_code == 302, response.content
    page = admin_client.get(response["Location"])
    secret = page.context["issued"][0]["secret"]
    client = Client.objects.get(client_id="partner-app")
    assert client.scopes == "openid profile"
    assert secret not in client.client_secret  # hashed by the toolkit
    assert client.client_secret.startswith(("argon2", "pbkdf2"))
    assert admin_client.get(response["Location"]).status_code == 302  # shown once
    # The secret works at the token endpoint (and nothing else does).
    ok = HttpClient().post("/oauth/token", {"grant_type": "client_credentials"},
                           HTTP_AUTHORIZATION=_basic("partner-app", secret))  # fmt: skip
    assert ok.json()["error"] == "unauthorized_client"  # authenticated, grant not given


def test_client_credentials_need_a_role_or_policies(admin_client: Any) -> None:
    response = admin_client.post(
        "/admin/oauth/client/add/",
        {"name": "Bot", "client_id": "bot", "client_type": "confidential", "redirect_uris": "",
         "post_logout_redirect_uris": "", "allowed_origins": "",
         "grants": ["client-credentials"], "scope_choices": ["items:read"], "algorithm": "RS256"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "need a role or policies" in response.content.decode()


def test_deleting_a_consent_in_the_admin_revokes_the_clients_tokens(
    admin_client: Any, reader: User, make_client: Any
) -> None:
    client, secret = make_client(grants=[Client.GRANT_PASSWORD], scopes="items:read")
    body = {"grant_type": "password", "username": reader.email, "password": PASSWORD}
    HttpClient().post("/oauth/token", body, HTTP_AUTHORIZATION=_basic(client.client_id, secret))
    assert AccessToken.objects.filter(user=reader).exists()
    consent = Consent.objects.create(user=reader, client=client, scopes="items:read")
    response = admin_client.post(f"/admin/oauth/consent/{consent.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not AccessToken.objects.filter(user=reader).exists()
    event = AuthEvent.objects.get(kind="oauth.consent_revoked")
    assert event.details["by"] == "admin"


def test_rotate_oauth_key_keeps_one_current_key() -> None:
    HttpClient().get("/oauth/jwks")
    call_command("rotate_oauth_key")
    assert SigningKey.objects.filter(current=True).count() == 1
    assert SigningKey.objects.count() == 2
    assert "BEGIN" not in " ".join(SigningKey.objects.values_list("sealed_pem", flat=True))


def _basic(client_id: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
