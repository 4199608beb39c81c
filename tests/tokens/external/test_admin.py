"""Claim: an issuer defined in the admin is trusted at once, without a restart, with its rules
inline; one of the environment wins over it; a disabled or deleted one is trusted no more."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.test import Client

from accounts.models import Policy, Role, User
from core.config.issuers import TrustedIssuer as ConfiguredIssuer
from tests.support.clients import SignedInClient
from tests.tokens.external.conftest import AUDIENCE, Mint, bearer, error_code
from tokens.models import IssuerRule, TrustedIssuer

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(admin_user: Any) -> Client:
    client = SignedInClient()
    client.force_login(admin_user)
    return client


@pytest.fixture
def untrusted(settings: Any) -> None:
    """No issuer in the environment."""
    settings.DIRECTUS = replace(settings.DIRECTUS, issuers=())


def form(jwks_server: Any, role: Role, policy: Policy, **changes: str) -> dict[str, str]:
    data = {
        "name": "corp",
        "issuer": jwks_server.issuer,
        "audience": AUDIENCE,
        "enabled": "on",
        "jwks_url": jwks_server.jwks_url,
        "algorithms": "RS256,ES256",
        "jwks_ttl": "600",
        "jwks_refetch_limit": "10",
        "timeout": "2",
        "required_claims": "{}",
        "clock_skew": "30",
        "scope_claim": "scope",
        "group_claim": "groups",
        "rules-TOTAL_FORMS": "1",
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
        "rules-0-sort": "0",
        "rules-0-match": "scope",
        "rules-0-value": "svc#read",
        "rules-0-role": str(role.pk),
        "rules-0-policies": str(policy.pk),
    }
    data.update(changes)
    return data


def test_an_issuer_made_in_the_admin_is_trusted_at_once(
    site: Client, untrusted: None, jwks_server: Any, mint: Mint, readers: Any
) -> None:
    role, _policy = readers
    extra = Policy.objects.create(name="Extra")
    assert bearer(mint()).get("/users/me").status_code == 401
    response = site.post("/admin/tokens/trustedissuer/add/", form(jwks_server, role, extra))
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = IssuerRule.objects.get()
    assert (rule.role_id, list(rule.policies.all())) == (role.pk, [extra])
    me = bearer(mint()).get("/users/me")
    assert me.status_code == 200, me.content
    user = User.objects.get(pk=me.json()["data"]["id"])
    assert (user.provider, user.role_id) == ("corp", role.pk)
    assert bearer(mint()).get("/items/articles").status_code == 200

    issuer = TrustedIssuer.objects.get()
    issuer.enabled = False
    issuer.save()
    response = bearer(mint()).get("/users/me")
    assert (response.status_code, error_code(response)) == (401, "INVALID_CREDENTIALS")


def test_the_admin_refuses_bad_issuers(
    site: Client, untrusted: None, jwks_server: Any, readers: Any
) -> None:
    role, policy = readers
    for changes, text in [
        ({"algorithms": "HS256"}, "not allowed"),
        ({"issuer": "directus"}, "this server"),
        ({"name": "default"}, "reserved"),
        ({"audience": " , "}, "at least one audience"),
        ({"rules-0-value": ""}, "Name the scope or group"),
    ]:
        response = site.post(
            "/admin/tokens/trustedissuer/add/", form(jwks_server, role, policy, **changes)
        )
        assert response.status_code == 200, changes
        assert text in response.content.decode(), changes
    assert not TrustedIssuer.objects.exists()


def test_the_environment_wins_over_an_admin_row(
    settings: Any, site: Client, trust: Any, jwks_server: Any, mint: Mint, readers: Any
) -> None:
    role, policy = readers
    response = site.post("/admin/tokens/trustedissuer/add/", form(jwks_server, role, policy))
    assert response.status_code == 200
    assert "environment already defines" in response.content.decode()
    # A row written around the form (or before the variable was set) is ignored.
    other = Role.objects.create(name="Other")
    TrustedIssuer.objects.create(name="corp-admin", issuer=jwks_server.issuer, audience=AUDIENCE)
    IssuerRule.objects.create(issuer=TrustedIssuer.objects.get(), match="any", role=other)
    me = bearer(mint()).get("/users/me")
    assert User.objects.get(pk=me.json()["data"]["id"]).role_id == role.pk
    listing = site.get("/admin/tokens/trustedissuer/").content.decode()
    assert "from the environment (TRUSTED_ISSUERS): corp" in listing
    assert isinstance(settings.DIRECTUS.issuers[0], ConfiguredIssuer)
