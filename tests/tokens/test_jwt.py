"""Access-token verification over HTTP: every way a token can be wrong (contract §3.3)."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from django.conf import settings

from tokens.jwt import VerifiedTokens, keyring, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(make_role, make_user):
    role, _ = make_role("Editors", app_access=True)
    return make_user("editor@example.com", "password-123", role=role)


def claims_for(user, **extra):
    base = {
        "id": str(user.pk),
        "role": str(user.role_id),
        "app_access": True,
        "admin_access": False,
    }
    return {**base, **extra}


def hs256(payload: dict, secret: str | None = None, **headers) -> str:
    return jwt.encode(
        payload, secret or settings.DIRECTUS.server.secret, "HS256", headers=headers or None
    )


def call(api, token: str):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api.get("/server/health")


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["errors"][0]["extensions"]["code"]


def now() -> int:
    return int(time.time())


def test_a_valid_token_authenticates(api, user):
    assert call(api, sign(claims_for(user), 60_000)).status_code == 200


def test_expired_token_is_401_token_expired(api, user):
    token = hs256({**claims_for(user), "iss": "directus", "iat": now() - 120, "exp": now() - 60})
    assert error(call(api, token)) == (401, "TOKEN_EXPIRED")


def test_not_yet_valid_token_is_invalid(api, user):
    token = hs256(
        {**claims_for(user), "iss": "directus", "iat": now(), "exp": now() + 60, "nbf": now() + 600}
    )
    assert error(call(api, token)) == (403, "INVALID_TOKEN")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-4],  # truncated signature
        lambda t: t + "x",
        lambda t: t.rsplit(".", 1)[0] + ".",  # no signature
    ],
)
def test_tampered_tokens_are_403_invalid_token(api, user, mutate):
    assert error(call(api, mutate(sign(claims_for(user), 60_000)))) == (403, "INVALID_TOKEN")


def test_other_secret_is_invalid_token(api, user):
    token = hs256(
        {**claims_for(user), "iss": "directus", "iat": now(), "exp": now() + 60}, "x" * 40
    )
    assert error(call(api, token)) == (403, "INVALID_TOKEN")


def test_alg_none_is_invalid_token(api, user):
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    body = {**claims_for(user), "iss": "directus", "iat": now(), "exp": now() + 60}
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    assert error(call(api, f"{header}.{payload}.")) == (403, "INVALID_TOKEN")


def test_missing_required_claims_is_invalid_token(api, user):
    token = hs256({"id": str(user.pk), "iss": "directus", "iat": now(), "exp": now() + 60})
    assert error(call(api, token)) == (403, "INVALID_TOKEN")
    no_exp = hs256({**claims_for(user), "iss": "directus", "iat": now()})
    assert error(call(api, no_exp)) == (403, "INVALID_TOKEN")


def test_foreign_issuer_and_garbage_are_looked_up_as_static_tokens(api, user):
    foreign = hs256({**claims_for(user), "iss": "someone-else", "iat": now(), "exp": now() + 60})
    for token in (foreign, "garbage", "x" * 10_000):
        assert error(call(api, token)) == (401, "INVALID_CREDENTIALS")


def test_whitespace_padded_token_is_refused(api, user):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer  {sign(claims_for(user), 60_000)}")
    # "Bearer  x" splits into three parts: the header is ignored, the request is public
    # (which /server/health refuses with 403, not 401).
    assert error(api.get("/server/health")) == (403, "FORBIDDEN")
    api.credentials()
    padded = api.get("/server/health", {"access_token": " " + sign(claims_for(user), 60_000)})
    assert error(padded) == (401, "INVALID_CREDENTIALS")


def test_query_token_and_header_together_is_invalid_payload(api, user):
    token = sign(claims_for(user), 60_000)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.get(f"/server/health?access_token={token}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == (
        "Invalid payload. The request uses more than one method for including an access token."
    )


def test_query_token_authenticates(api, user, admin_user):
    token = sign(claims_for(admin_user, role=str(admin_user.role_id), admin_access=True), 60_000)
    assert "checks" in api.get(f"/server/health?access_token={token}").json()


def test_bearer_scheme_is_case_insensitive_and_other_schemes_are_ignored(api, admin_user):
    token = sign({**claims_for(admin_user), "admin_access": True}, 60_000)
    api.credentials(HTTP_AUTHORIZATION=f"bEaReR {token}")
    assert "checks" in api.get("/server/health").json()
    api.credentials(HTTP_AUTHORIZATION="Basic Zm9vOmJhcg==")
    assert error(api.get("/server/health")) == (403, "FORBIDDEN")  # ignored: the public


def test_a_stale_token_breaks_even_login(api, user):
    token = hs256({**claims_for(user), "iss": "directus", "iat": now() - 120, "exp": now() - 60})
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.post(
        "/auth/login", {"email": "editor@example.com", "password": "password-123"}, format="json"
    )
    assert error(response) == (401, "TOKEN_EXPIRED")
    assert api.get("/server/ping").status_code == 200


def test_role_comes_from_the_token(api, user, admin_user):
    """A token naming the admin role acts with it (contract access-model.md §5)."""
    token = sign(claims_for(user, role=str(admin_user.role_id)), 60_000)
    assert "checks" in call(api, token).json()


def _pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def use_keys(settings, algorithm: str, private: str, previous: str | None = None) -> None:
    tokens = replace(
        settings.DIRECTUS.tokens,
        algorithm=algorithm,
        private_key=private,
        previous_public_keys=previous,
    )
    settings.DIRECTUS = replace(settings.DIRECTUS, tokens=tokens)
    keyring.cache_clear()


@pytest.mark.parametrize(
    ("algorithm", "make_key"),
    [
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate),
    ],
)
def test_asymmetric_keys_rotate_and_publish_jwks(api, user, settings, algorithm, make_key):
    old, new = make_key(), make_key()
    use_keys(settings, algorithm, _pem(old))
    old_token = sign(claims_for(user), 60_000)
    assert call(api, old_token).status_code == 200
    use_keys(settings, algorithm, _pem(new), previous=_public_pem(old))
    new_token = sign(claims_for(user), 60_000)
    assert jwt.get_unverified_header(new_token)["alg"] == algorithm
    assert call(api, new_token).status_code == 200
    assert call(api, old_token).status_code == 200  # still verifies until it expires
    jwks = api.get("/.well-known/jwks.json").json()["keys"]
    assert {k["kid"] for k in jwks} == {
        jwt.get_unverified_header(old_token)["kid"],
        jwt.get_unverified_header(new_token)["kid"],
    }
    client = jwt.PyJWKSet.from_dict({"keys": jwks})
    kid = jwt.get_unverified_header(new_token)["kid"]
    key = next(k for k in client.keys if k.key_id == kid)
    assert jwt.decode(new_token, key.key, algorithms=[algorithm], issuer="directus")["id"]
    use_keys(settings, algorithm, _pem(new))  # the old key retired: its tokens stop working
    assert error(call(api, old_token)) == (403, "INVALID_TOKEN")


def test_hs256_signed_with_the_public_key_is_refused(api, user, settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    use_keys(settings, "RS256", _pem(key))
    kid = jwt.get_unverified_header(sign(claims_for(user), 60_000))["kid"]
    public = _public_pem(key).encode()
    body = {**claims_for(user), "iss": "directus", "iat": now(), "exp": now() + 60}
    import hmac
    from hashlib import sha256

    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    segments = [
        base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=") for part in (header, body)
    ]
    signing_input = b".".join(segments)
    signature = base64.urlsafe_b64encode(hmac.new(public, signing_input, sha256).digest()).rstrip(
        b"="
    )
    forged = (signing_input + b"." + signature).decode()
    assert error(call(api, forged)) == (403, "INVALID_TOKEN")
    # HS256 tokens signed with SECRET are refused once an asymmetric algorithm is configured.
    assert error(call(api, hs256(body))) == (403, "INVALID_TOKEN")


def test_jwks_is_empty_with_hs256(api):
    assert api.get("/.well-known/jwks.json").json() == {"keys": []}


def test_a_remembered_token_still_expires(api, user, monkeypatch):
    token = sign(claims_for(user), 60_000)
    assert call(api, token).status_code == 200
    assert token in keyring().verified
    later = time.time() + 120
    monkeypatch.setattr("tokens.jwt.time.time", lambda: later)
    assert error(call(api, token)) == (401, "TOKEN_EXPIRED")


def test_remembered_tokens_are_bounded():
    memo = VerifiedTokens(size=2)
    for n in range(3):
        memo.add(f"t{n}", {"exp": n})
    assert "t0" not in memo
    assert memo.get("t2") == {"exp": 2}
