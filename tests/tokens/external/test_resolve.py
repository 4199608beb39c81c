"""Claim: a JWT of a trusted issuer is a credential like any other — verified against the
issuer's keys, mapped by its scopes or groups to a role, standing for a service user — and every
token that should not pass is refused with the contract's code and an auth-log reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import jwt
import pytest

from accounts.models import Access, AuthEvent, Policy, Role, User, UserStatus
from core.config.issuers import IssuerRule
from tests.tokens.external.conftest import AUDIENCE, Mint, bearer, error_code, service_id

pytestmark = pytest.mark.django_db


def refusals() -> list[str]:
    return [
        e.details["reason"]
        for e in AuthEvent.objects.filter(kind="external.refused").order_by("created_at")
    ]


def test_a_token_reads_as_its_service_user(trust: Any, mint: Mint, readers: Any) -> None:
    issuer = trust()
    token = mint()
    me = bearer(token).get("/users/me")
    assert me.status_code == 200, me.content
    user_id = service_id(issuer.issuer, "billing-service")
    assert me.json()["data"]["id"] == str(user_id)  # the reader role may not read users
    user = User.objects.get(pk=user_id)
    assert (user.provider, user.external_identifier) == ("corp", "billing-service")
    assert (user.role_id, user.status, user.email) == (readers[0].pk, UserStatus.ACTIVE, None)
    assert not user.has_usable_password()
    articles = bearer(token).get("/items/articles")
    assert articles.status_code == 200
    assert len(articles.json()["data"]) == 1
    # Reads only: the reader role grants nothing else.
    assert bearer(token).post("/items/articles", {"title": "x"}, format="json").status_code == 403
    created = AuthEvent.objects.filter(kind="external.user_created")
    assert created.count() == 1
    assert created.get().details["issuer"] == "corp"
    assert bearer(mint()).get("/users/me").status_code == 200
    assert User.objects.filter(provider="corp").count() == 1


def test_es256_tokens_and_the_scp_claim(trust: Any, mint: Mint) -> None:
    trust()
    token = mint(key="ec", scope=None, scp=["svc#read"])
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert bearer(token).get("/items/articles").status_code == 200


def test_two_issuers_never_share_a_service_user() -> None:
    assert service_id("https://a.example", "svc") != service_id("https://b.example", "svc")
    assert service_id("https://a.example", "svc") == service_id("https://a.example", "svc")
    assert service_id("https://a.example", "svc").version == 5


def test_an_untrusted_issuer_is_an_unknown_token(trust: Any, mint: Mint) -> None:
    trust()
    response = bearer(mint(iss="https://elsewhere.example")).get("/users/me")
    assert (response.status_code, error_code(response)) == (401, "INVALID_CREDENTIALS")
    assert refusals() == []


@pytest.mark.parametrize(
    ("claims", "status", "code", "reason"),
    [
        ({"aud": "https://other.example"}, 403, "INVALID_TOKEN", "wrong-audience"),
        ({"aud": None}, 403, "INVALID_TOKEN", "missing-claim:aud"),
        ({"exp": int(time.time()) - 120}, 401, "TOKEN_EXPIRED", "expired"),
        ({"exp": None}, 403, "INVALID_TOKEN", "missing-claim:exp"),
        ({"nbf": int(time.time()) + 600}, 403, "INVALID_TOKEN", "not-yet-valid"),
        ({"iat": int(time.time()) + 600}, 403, "INVALID_TOKEN", "not-yet-valid"),
        ({"sub": None}, 403, "INVALID_TOKEN", "missing-claim:sub"),
        ({"scope": "other"}, 401, "INVALID_CREDENTIALS", "no-matching-rule"),
    ],
)
def test_bad_claims_are_refused_with_their_code(
    trust: Any, mint: Mint, claims: dict[str, Any], status: int, code: str, reason: str
) -> None:
    trust()
    response = bearer(mint(**claims)).get("/users/me")
    assert (response.status_code, error_code(response)) == (status, code)
    assert refusals() == [reason]
    assert not User.objects.filter(provider="corp").exists()


def test_the_clock_skew_is_allowed(trust: Any, mint: Mint) -> None:
    trust(clock_skew_s=60)
    assert bearer(mint(exp=int(time.time()) - 20)).get("/users/me").status_code == 200


def test_required_claims(trust: Any, mint: Mint) -> None:
    trust(required_claims={"gty": "client-credentials"})
    assert bearer(mint()).get("/users/me").status_code == 200
    response = bearer(mint(gty="password")).get("/users/me")
    assert (response.status_code, error_code(response)) == (403, "INVALID_TOKEN")
    assert refusals() == ["missing-claim:gty"]


def test_a_signature_by_a_key_not_in_the_jwks(trust: Any, mint: Mint, jwks_server: Any) -> None:
    trust()
    # Same kid as the published RSA key, another private key.
    response = bearer(mint(key="other")).get("/users/me")
    assert (response.status_code, error_code(response)) == (403, "INVALID_TOKEN")
    assert refusals() == ["bad-signature"]


def test_an_unknown_kid_refetches_once_within_the_budget(
    trust: Any, mint: Mint, jwks_server: Any
) -> None:
    trust(refetch_per_minute=2)
    assert bearer(mint()).get("/users/me").status_code == 200
    served = jwks_server.requests
    for _ in range(5):
        response = bearer(mint(headers={"kid": "rotated-away"})).get("/users/me")
        assert (response.status_code, error_code(response)) == (403, "INVALID_TOKEN")
    assert jwks_server.requests - served == 2
    assert set(refusals()) == {"unknown-key"}


def test_rotation_at_the_issuer_is_followed(
    trust: Any, mint: Mint, jwks_server: Any, keys: dict[str, Any]
) -> None:
    from tests.support.issuer import public_jwks, rsa_jwk

    trust()
    assert bearer(mint()).get("/users/me").status_code == 200
    keys["new"] = rsa_jwk("rsa-2")
    jwks_server.serve(public_jwks([keys["new"]]))
    assert bearer(mint(key="new")).get("/users/me").status_code == 200
    # The old key is gone from the JWKS now fetched: a new token it signed is refused (one it
    # signed and that was verified before stays usable for the verified-token memo's 30 s).
    assert bearer(mint(key="rsa", jti="after-rotation")).get("/users/me").status_code == 403


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"alg": "none"}, "algorithm-not-allowed"),
        ({"alg": "HS256"}, "algorithm-not-allowed"),
        ({"alg": "RS256", "kid": "ec-1"}, "key-algorithm-mismatch"),
        ({"crit": ["exp"]}, "critical-header"),
        ({"kid": 7}, "bad-kid"),
    ],
)
def test_headers_crafted_to_confuse_key_selection(
    trust: Any, mint: Mint, keys: dict[str, Any], headers: dict[str, Any], reason: str
) -> None:
    trust()
    if headers.get("alg") in {"none", "HS256"}:
        # The classic confusion: HMAC with the issuer's public key as the secret, or no signature.
        claims = jwt.decode(mint(), options={"verify_signature": False})
        public_pem = jwt.algorithms.RSAAlgorithm.from_jwk(
            {k: v for k, v in keys["rsa"].items() if k not in {"d", "p", "q", "dp", "dq", "qi"}}
        )
        from cryptography.hazmat.primitives import serialization

        secret = public_pem.public_bytes(  # type: ignore[union-attr]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        token = (
            jwt.encode(claims, None, algorithm="none")
            if headers["alg"] == "none"
            else _hs256(claims, secret)
        )
    elif "kid" in headers and headers["kid"] == "ec-1":
        token = mint(key="rsa", headers={"kid": "ec-1"})
    else:
        # Headers PyJWT will not write: forged around a real token's claims and signature.
        _head, body, signature = mint().split(".")
        head = {"alg": "RS256", "kid": "rsa-1", **headers}
        token = f"{_b64(json.dumps(head).encode())}.{body}.{signature}"
    response = bearer(token).get("/users/me")
    assert (response.status_code, error_code(response)) == (403, "INVALID_TOKEN")
    assert refusals() == [reason]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256(claims: dict[str, Any], secret: bytes) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def test_header_urls_are_never_fetched(trust: Any, mint: Mint) -> None:
    from tests.support.issuer import public_jwks, rsa_jwk
    from tests.support.jwks_faults import JwksServer, sign

    trust()
    attacker_key = rsa_jwk("attacker")
    with JwksServer() as attacker:
        attacker.serve(public_jwks([attacker_key]))
        claims = jwt.decode(mint(), options={"verify_signature": False})
        public = {
            k: v for k, v in attacker_key.items() if k not in {"d", "p", "q", "dp", "dq", "qi"}
        }
        token = sign(claims, attacker_key, headers={"jku": attacker.jwks_url, "jwk": public})
        response = bearer(token).get("/users/me")
        assert (response.status_code, error_code(response)) == (403, "INVALID_TOKEN")
        assert attacker.requests == 0


def test_a_rule_decides_role_and_policies_and_changes_are_recorded(
    trust: Any, mint: Mint, readers: tuple[Role, Policy]
) -> None:
    writers = Role.objects.create(name="API writers")
    extra = Policy.objects.create(name="Extra")
    trust(
        rules=(
            IssuerRule(scope="svc#write", role=writers.pk, policies=(extra.pk,)),
            IssuerRule(group="ops", role=readers[0].pk),
            IssuerRule(scope="svc#read", role=readers[0].pk),
        )
    )
    assert bearer(mint()).get("/users/me").status_code == 200
    user = User.objects.get(provider="corp")
    assert user.role_id == readers[0].pk
    assert bearer(mint(scope="svc#write svc#read")).get("/users/me").status_code == 200
    user.refresh_from_db()
    assert user.role_id == writers.pk
    assert set(Access.objects.filter(user=user).values_list("policy_id", flat=True)) == {extra.pk}
    changed = AuthEvent.objects.get(kind="external.role_changed")
    assert changed.details["role_from"] == str(readers[0].pk)
    assert changed.details["role_to"] == str(writers.pk)
    assert changed.details["policies_to"] == [str(extra.pk)]
    # Groups match too (first rule that matches decides).
    assert bearer(mint(scope="x", groups=["ops"])).get("/items/articles").status_code == 200
    user.refresh_from_db()
    assert user.role_id == readers[0].pk
    assert not Access.objects.filter(user=user).exists()


def test_a_nested_group_claim(trust: Any, mint: Mint, readers: tuple[Role, Policy]) -> None:
    trust(group_claim="realm_access.roles", rules=(IssuerRule(group="ops", role=readers[0].pk),))
    token = mint(scope=None, realm_access={"roles": ["ops"]})
    assert bearer(token).get("/items/articles").status_code == 200


def test_a_suspended_service_user_is_refused_at_once(trust: Any, mint: Mint) -> None:
    from tokens.external import users

    trust()
    assert bearer(mint()).get("/users/me").status_code == 200
    User.objects.filter(provider="corp").update(status=UserStatus.SUSPENDED)
    users.forget()  # as after the one-second re-check
    response = bearer(mint()).get("/users/me")
    assert (response.status_code, error_code(response)) == (401, "INVALID_CREDENTIALS")
    assert refusals() == ["user-not-active"]


def test_a_deleted_role_refuses_instead_of_failing(trust: Any, mint: Mint) -> None:
    trust(rules=(IssuerRule(scope="svc#read", role=uuid.uuid4()),))
    response = bearer(mint()).get("/users/me")
    assert (response.status_code, error_code(response)) == (401, "INVALID_CREDENTIALS")
    assert refusals() == ["rule-target-missing"]


def test_a_subject_taken_by_another_user_is_not_merged(
    trust: Any, mint: Mint, make_user: Any
) -> None:
    trust()
    make_user("person@example.com", external_identifier="billing-service", provider="sso")
    response = bearer(mint()).get("/users/me")
    assert (response.status_code, error_code(response)) == (401, "INVALID_CREDENTIALS")
    assert refusals() == ["identifier-taken"]


def test_last_access_is_written_at_most_once_a_minute(trust: Any, mint: Mint) -> None:
    from tokens.external import users

    trust()
    assert bearer(mint()).get("/users/me").status_code == 200
    first = User.objects.get(provider="corp").last_access
    assert first is not None
    users.forget()
    assert bearer(mint()).get("/users/me").status_code == 200
    assert User.objects.get(provider="corp").last_access == first


def test_refusal_events_are_throttled_and_never_hold_the_token(
    trust: Any, mint: Mint, caplog: Any
) -> None:
    trust()
    token = mint(aud="https://other.example")
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert bearer(token).get("/users/me").status_code == 403
    assert refusals() == ["wrong-audience"]
    assert sum("refused: wrong-audience" in r.getMessage() for r in caplog.records) == 3
    event = AuthEvent.objects.get(kind="external.refused")
    assert token not in str(event.details)
    assert token not in caplog.text
    assert event.details["issuer"] == "corp"
    assert event.details["kid"] == "rsa-1"


def test_the_audience_list(trust: Any, mint: Mint) -> None:
    trust(audiences=("https://first.example", AUDIENCE))
    assert (
        bearer(mint(aud=["https://unrelated.example", AUDIENCE])).get("/users/me").status_code
        == 200
    )
