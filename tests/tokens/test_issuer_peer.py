"""The external-issuer peer itself (npm ``oidc-provider``, tests/tokens/js/issuer.mjs): what its
client-credentials JWTs carry, verified with PyJWT against the JWKS it publishes over HTTP, its
ES256 tokens, and a key rotation at the issuer (restart with a new key set, same port)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from tests.support.issuer import ExternalIssuer, ec_jwk, rsa_jwk
from tests.support.jwks_faults import JwksServer, sign

pytestmark = pytest.mark.server

AUDIENCE = "https://api.example.test"
CLIENTS: list[dict[str, Any]] = [
    {
        "client_id": "billing",
        "client_secret": "billing-secret-1234567890",
        "scope": "svc#read svc#write",
        "groups": ["finance", "ops"],
    },
    {
        "client_id": "edge",
        "client_secret": "edge-secret-12345678901234",
        "scope": "svc#read",
        "signing_alg": "ES256",
        "token_endpoint_auth_method": "client_secret_post",
    },
]


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExternalIssuer]:
    issuer = ExternalIssuer(
        tmp_path_factory.mktemp("idp"),
        keys=[rsa_jwk("k1"), ec_jwk("e1")],
        clients=CLIENTS,
        resource=[AUDIENCE, "https://other.example.test"],
        ttl_seconds=300,
    )
    with issuer:
        yield issuer


def fetch_jwks(idp: ExternalIssuer) -> jwt.PyJWKSet:
    discovery = httpx.get(idp.discovery_url, trust_env=False).json()
    assert discovery["issuer"] == idp.issuer
    assert discovery["jwks_uri"] == idp.jwks_uri
    return jwt.PyJWKSet.from_dict(httpx.get(discovery["jwks_uri"], trust_env=False).json())


def verify(token: str, idp: ExternalIssuer, audience: str = AUDIENCE) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    key = next(k for k in fetch_jwks(idp).keys if k.key_id == header["kid"])
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=[header["alg"]], audience=audience, issuer=idp.issuer
    )
    return claims


def test_a_client_credentials_token_and_what_it_carries(idp: ExternalIssuer) -> None:
    token = idp.token("billing", scope="svc#read")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": idp.keys[0]["kid"]}
    claims = verify(token, idp)
    assert set(claims) == {
        "iss", "aud", "sub", "client_id", "scope", "iat", "exp", "jti", "gty", "groups"
    }  # fmt: skip
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == claims["client_id"] == "billing"
    assert claims["scope"] == "svc#read"
    assert claims["gty"] == "client-credentials"
    assert claims["groups"] == ["finance", "ops"]
    assert claims["exp"] - claims["iat"] == 300
    # By default the fixture asks for every allowed scope, space separated.
    assert verify(idp.token("billing"), idp)["scope"] == "svc#read svc#write"
    # Another accepted resource is another audience; no scope asked, no scope claim.
    other = verify(idp.token("billing", scope="", resource="https://other.example.test"), idp,
                   audience="https://other.example.test")  # fmt: skip
    assert "scope" not in other


def test_refusals_of_the_provider(idp: ExternalIssuer) -> None:
    not_allowed = idp.token_response("edge", scope="svc#write")
    assert (not_allowed.status_code, not_allowed.json()["error"]) == (400, "invalid_scope")
    unknown = idp.token_response("billing", resource="https://elsewhere.test")
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_target")


def test_an_es256_token(idp: ExternalIssuer) -> None:
    token = idp.token("edge")
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "typ": "at+jwt", "kid": "e1"}
    claims = verify(token, idp)
    assert (claims["sub"], claims["scope"], "groups" in claims) == ("edge", "svc#read", False)


def test_key_rotation_at_the_issuer(idp: ExternalIssuer) -> None:
    before = idp.token("billing")
    old_kid = jwt.get_unverified_header(before)["kid"]
    port = idp.port
    idp.restart(keys=[rsa_jwk("k2"), *idp.keys])
    assert idp.port == port
    rotated = idp.token("billing")
    assert jwt.get_unverified_header(rotated)["kid"] == "k2"
    published = [key.key_id for key in fetch_jwks(idp).keys]
    assert published[0] == "k2"
    assert old_kid in published
    assert verify(rotated, idp)["sub"] == verify(before, idp)["sub"] == "billing"
    idp.restart(keys=[key for key in idp.keys if key["kid"] != old_kid])
    assert old_kid not in [key.key_id for key in fetch_jwks(idp).keys]


def test_the_fault_server_and_crafted_tokens() -> None:
    key = rsa_jwk("f1")
    with JwksServer() as faults:
        faults.discovery()
        faults.serve({"keys": [{k: v for k, v in key.items() if k in {"kty", "kid", "n", "e"}}]})
        assert httpx.get(faults.discovery_url).json()["jwks_uri"] == faults.jwks_url
        jwks = jwt.PyJWKSet.from_dict(httpx.get(faults.jwks_url).json())
        token = sign({"sub": "x"}, key, headers={"kid": 7, "crit": ["exp"]})
        # PyJWT will not even read a non-string kid: decode the header by hand.
        head = token.split(".")[0]
        assert json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))) == {
            "alg": "RS256", "typ": "JWT", "kid": 7, "crit": ["exp"]
        }  # fmt: skip
        jws = jwt.PyJWS()
        jws.decode(sign({"sub": "x"}, key), jwks.keys[0].key, algorithms=["RS256"])
        faults.garbage()
        assert httpx.get(faults.jwks_url).text.startswith("<html>")
        faults.error(503)
        assert httpx.get(faults.jwks_url).status_code == 503
        faults.huge(100_000, declare_length=False)
        assert len(httpx.get(faults.jwks_url).content) == 100_000
        faults.hang(5)
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(faults.jwks_url, timeout=0.3)
        assert faults.count("/jwks") == 5
        assert faults.count("/.well-known/openid-configuration") == 1
