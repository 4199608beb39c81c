"""Fixtures for the OAuth provider: a reader with a role, clients of each kind, PKCE."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client as HttpClient

from accounts.models import User
from items.models import Article
from oauth.models import Client
from tests.support.clients import SignedInClient

REDIRECT = "https://app.example/callback"
PASSWORD = "reader-password-1"


@pytest.fixture
def reader(make_role: Any, make_user: Any, grant: Any) -> User:
    role, policy = make_role("Readers", app_access=True)
    grant(policy, "articles", "read")
    grant(policy, "articles", "create")
    grant(policy, "directus_users", "read", permissions={"id": {"_eq": "$CURRENT_USER"}})
    Article.objects.create(title="Hello")
    return make_user("reader@example.com", PASSWORD, role=role, first_name="Rea", last_name="Der")


@pytest.fixture
def make_client(db: Any) -> Callable[..., tuple[Client, str]]:
    """A client and its secret (``""`` for public clients)."""

    def make(**fields: Any) -> tuple[Client, str]:
        secret = secrets.token_urlsafe(24)
        fields.setdefault("client_type", Client.CLIENT_CONFIDENTIAL)
        fields.setdefault("name", "Third party")
        fields.setdefault("redirect_uris", REDIRECT)
        if fields["client_type"] == Client.CLIENT_PUBLIC:
            secret = ""
        policies = fields.pop("policies", [])
        client = Client(client_secret=secret, **fields)
        client.full_clean(exclude=["client_id", "client_secret"])
        client.save()
        client.policies.set(policies)
        return client, secret

    return make


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def authorize(
    browser: HttpClient, client: Client, scope: str, challenge: str | None, **extra: str
) -> Any:
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "s-1",
        **extra,
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return browser.get("/oauth/authorize", params)


def approve(browser: HttpClient, page: Any) -> str:
    """Post the consent form of ``page`` with "allow"; the code from the redirect."""
    form = page.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["allow"] = "Authorize"
    response = browser.post("/oauth/authorize", data)
    assert response.status_code == 302, response.content
    return code_of(response["Location"])


def code_of(location: str) -> str:
    query = parse_qs(urlsplit(location).query)
    assert "code" in query, location
    assert query["state"] == ["s-1"]
    return query["code"][0]


@pytest.fixture
def browser(reader: User) -> SignedInClient:
    signed_in = SignedInClient()
    signed_in.force_login(reader)
    return signed_in
