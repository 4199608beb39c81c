"""Fixtures for external-issuer tokens: a key server, an issuer trusted through the
configuration, token minting, a reader role mapped from a scope."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Permission, Policy, Role
from core.config.issuers import IssuerRule, TrustedIssuer
from items.models import Article
from tests.support.issuer import ec_jwk, public_jwks, rsa_jwk
from tests.support.jwks_faults import JwksServer, sign

AUDIENCE = "https://api.example.test"

Mint = Callable[..., str]


@pytest.fixture
def keys() -> dict[str, dict[str, Any]]:
    return {"rsa": rsa_jwk("rsa-1"), "ec": ec_jwk("ec-1"), "other": rsa_jwk("rsa-1")}


@pytest.fixture
def jwks_server(keys: dict[str, dict[str, Any]]) -> Iterator[JwksServer]:
    with JwksServer() as server:
        server.serve(public_jwks([keys["rsa"], keys["ec"]]))
        yield server


@pytest.fixture
def readers(db: Any) -> tuple[Role, Policy]:
    role = Role.objects.create(name="API readers")
    policy = Policy.objects.create(name="Read articles")
    from accounts.models import Access

    Access.objects.create(role=role, policy=policy)
    Permission.objects.create(policy=policy, collection="articles", action="read", fields=["*"])
    Article.objects.create(title="Published")
    return role, policy


@pytest.fixture
def trust(
    settings: Any, jwks_server: JwksServer, readers: tuple[Role, Policy]
) -> Callable[..., TrustedIssuer]:
    """Trust the key server's issuer (``trust(**changes)`` to change it); by default scope
    ``svc#read`` acts as the reader role."""

    def apply(**changes: Any) -> TrustedIssuer:
        issuer = TrustedIssuer(
            name="corp",
            issuer=jwks_server.issuer,
            audiences=(AUDIENCE,),
            jwks_url=jwks_server.jwks_url,
            rules=(IssuerRule(scope="svc#read", role=readers[0].pk),),
            timeout_s=1.0,
        )
        issuer = replace(issuer, **changes)
        settings.DIRECTUS = replace(settings.DIRECTUS, issuers=(issuer,))
        from tokens.external import registry

        registry.forget()
        return issuer

    apply()
    return apply


@pytest.fixture
def mint(jwks_server: JwksServer, keys: dict[str, dict[str, Any]]) -> Mint:
    """A token of the trusted issuer: ``mint(key="rsa", **claims)``; ``None`` drops a claim."""

    def make(key: str = "rsa", headers: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": jwks_server.issuer,
            "aud": AUDIENCE,
            "sub": "billing-service",
            "iat": now,
            "exp": now + 300,
            "scope": "svc#read other",
            "gty": "client-credentials",
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return sign(body, keys[key], headers=headers)

    return make


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def error_code(response: Any) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def service_id(issuer: str, subject: str) -> uuid.UUID:
    from tokens.external.users import service_user_id

    return service_user_id(issuer, subject)
