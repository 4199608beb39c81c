"""Self-tests of tests.support.oidc_faults.FaultyProvider: the code flow with PKCE as a relying
party drives it (with ``requests``, the redirect read from ``Location``, never followed), the
id_token checked with PyJWT against its JWKS, and every fault and switch doing what it says."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from tests.support.issuer import ec_jwk
from tests.support.oidc_faults import ID_TOKEN_TTL, FaultyProvider

CALLBACK = "http://127.0.0.1:9/cb"
SECRET = "rp-secret"
USER = {
    "sub": "u-1",
    "email": "ada@example.com",
    "email_verified": True,
    "given_name": "Ada",
    "family_name": "Lovelace",
    "groups": ["staff", "admins"],
}


@pytest.fixture(scope="module")
def shared() -> Iterator[FaultyProvider]:
    with FaultyProvider(
        clients={
            "rp": {"secret": SECRET, "redirect_uris": [CALLBACK]},
            "spa": {"redirect_uris": [CALLBACK]},
        },
        user=USER,
    ) as provider:
        yield provider


@pytest.fixture
def idp(shared: FaultyProvider) -> Iterator[FaultyProvider]:
    """The module's provider (one key pair for all tests), switches reset after each test."""
    yield shared
    shared.fault(None)
    shared.discovery_ok()
    shared.authorize_error(None)
    shared.userinfo_sub(None)
    shared.userinfo_ok()
    shared.set_user(USER)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # no proxies from the environment for 127.0.0.1
        yield session


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


class Flow:
    """One sign-in attempt of the relying party: its state, nonce and PKCE verifier."""

    def __init__(
        self, idp: FaultyProvider, http: requests.Session, *, scope: str = "openid email profile"
    ) -> None:
        self.idp, self.http, self.scope = idp, http, scope
        self.state = secrets.token_urlsafe(16)
        self.nonce = secrets.token_urlsafe(16)
        self.verifier = secrets.token_urlsafe(48)

    def authorize(self, client_id: str = "rp", **extra: str) -> requests.Response:
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": s256(self.verifier),
            "code_challenge_method": "S256",
            **extra,
        }
        return self.http.get(
            self.idp.authorization_endpoint, params=params, allow_redirects=False, timeout=5
        )

    def code(self, client_id: str = "rp") -> str:
        response = self.authorize(client_id)
        assert response.status_code == 302
        query = callback_query(response)
        assert query["state"] == self.state
        return query["code"]

    def exchange(
        self,
        code: str,
        *,
        auth: str = "basic",
        secret: str = SECRET,
        verifier: str | None = None,
        client_id: str = "rp",
    ) -> requests.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier or self.verifier,
        }
        basic: tuple[str, str] | None = None
        if auth == "basic":
            basic = (client_id, secret)
        elif auth == "post":
            form.update(client_id=client_id, client_secret=secret)
        else:
            form.update(client_id=client_id)
        return self.http.post(self.idp.token_endpoint, data=form, auth=basic, timeout=5)

    def tokens(self, client_id: str = "rp", **exchange: Any) -> dict[str, Any]:
        response = self.exchange(self.code(client_id), client_id=client_id, **exchange)
        assert response.status_code == 200, response.text
        return dict(response.json())


def callback_query(response: requests.Response) -> dict[str, str]:
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return {k: v[0] for k, v in parse_qs(location.query, keep_blank_values=True).items()}


def verify(idp: FaultyProvider, http: requests.Session, token: str) -> dict[str, Any]:
    """The id_token's claims, verified as a relying party must (keys from the JWKS)."""
    keys = jwt.PyJWKSet.from_dict(http.get(idp.jwks_uri, timeout=5).json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    return dict(
        jwt.decode(token, key, algorithms=["RS256", "ES256"], audience="rp", issuer=idp.issuer)
    )


def test_discovery_document(idp: FaultyProvider, http: requests.Session) -> None:
    document = http.get(idp.discovery_url, timeout=5).json()
    assert idp.issuer == f"http://127.0.0.1:{idp.port}"
    assert document["issuer"] == idp.issuer
    assert document["authorization_endpoint"] == f"{idp.issuer}/authorize"
    assert document["token_endpoint"] == f"{idp.issuer}/token"
    assert document["userinfo_endpoint"] == f"{idp.issuer}/userinfo"
    assert document["jwks_uri"] == f"{idp.issuer}/jwks"
    assert document["response_types_supported"] == ["code"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert document["code_challenge_methods_supported"] == ["S256"]


def test_code_flow_with_pkce(idp: FaultyProvider, http: requests.Session) -> None:
    flow = Flow(idp, http)
    response = flow.authorize(prompt="login")
    assert response.status_code == 302
    query = callback_query(response)
    assert query["state"] == flow.state
    assert query["iss"] == idp.issuer
    sent = idp.authorize_requests[-1]
    assert sent["nonce"] == flow.nonce
    assert sent["code_challenge"] == s256(flow.verifier)
    assert sent["code_challenge_method"] == "S256"
    assert sent["scope"] == "openid email profile"
    assert sent["prompt"] == "login"

    answer = flow.exchange(query["code"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] > 0
    assert tokens["scope"] == "openid email profile"
    assert "refresh_token" not in tokens
    header = jwt.get_unverified_header(tokens["id_token"])
    assert header["alg"] == "RS256"
    assert header["kid"] == idp.signing_key["kid"]
    claims = verify(idp, http, tokens["id_token"])
    assert claims["nonce"] == flow.nonce
    assert claims["sub"] == "u-1"
    assert claims["email"] == "ada@example.com"
    assert claims["groups"] == ["staff", "admins"]
    assert claims["exp"] - claims["iat"] == ID_TOKEN_TTL
    assert idp.token_requests[-1]["auth"] == "basic"
    assert idp.token_requests[-1]["form"]["code_verifier"] == flow.verifier


def test_codes_are_fresh_and_state_is_echoed(idp: FaultyProvider, http: requests.Session) -> None:
    flow = Flow(idp, http)
    assert flow.code() != flow.code()
    stateless = callback_query(flow.authorize(state=""))
    assert stateless["state"] == ""


def test_client_secret_post_is_recorded(idp: FaultyProvider, http: requests.Session) -> None:
    flow = Flow(idp, http)
    flow.tokens(auth="post")
    recorded = idp.token_requests[-1]
    assert recorded["auth"] == "post"
    assert recorded["client_id"] == "rp"
    assert recorded["form"]["client_secret"] == SECRET


def test_public_client_without_secret(idp: FaultyProvider, http: requests.Session) -> None:
    flow = Flow(idp, http)
    flow.tokens(auth="none", client_id="spa")
    assert idp.token_requests[-1]["auth"] == "none"


def test_code_reuse_is_invalid_grant_and_revokes(
    idp: FaultyProvider, http: requests.Session
) -> None:
    flow = Flow(idp, http)
    code = flow.code()
    first = flow.exchange(code)
    assert first.status_code == 200
    again = flow.exchange(code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert http.get(idp.userinfo_endpoint, headers=bearer, timeout=5).status_code == 401


@pytest.mark.parametrize("verifier", ["wrong-" + "v" * 43, None])
def test_wrong_or_missing_verifier_is_invalid_grant(
    idp: FaultyProvider, http: requests.Session, verifier: str | None
) -> None:
    flow = Flow(idp, http)
    code = flow.code()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    if verifier is not None:
        form["code_verifier"] = verifier
    answer = http.post(idp.token_endpoint, data=form, auth=("rp", SECRET), timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_redirect_uri_mismatch_is_invalid_grant(
    idp: FaultyProvider, http: requests.Session
) -> None:
    flow = Flow(idp, http)
    form = {
        "grant_type": "authorization_code",
        "code": flow.code(),
        "redirect_uri": "http://127.0.0.1:9/other",
        "code_verifier": flow.verifier,
    }
    answer = http.post(idp.token_endpoint, data=form, auth=("rp", SECRET), timeout=5)
    assert answer.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_wrong_secret_is_invalid_client(
    idp: FaultyProvider, http: requests.Session, auth: str
) -> None:
    flow = Flow(idp, http)
    answer = flow.exchange(flow.code(), auth=auth, secret="not-the-secret")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert ("WWW-Authenticate" in answer.headers) is (auth == "basic")


def test_unregistered_redirect_uri_is_not_redirected_to(
    idp: FaultyProvider, http: requests.Session
) -> None:
    flow = Flow(idp, http)
    answer = flow.authorize(redirect_uri="http://127.0.0.1:9/evil")
    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert flow.authorize(client_id="nobody").status_code == 400


def test_plain_pkce_is_refused(idp: FaultyProvider, http: requests.Session) -> None:
    flow = Flow(idp, http)
    query = callback_query(flow.authorize(code_challenge_method="plain"))
    assert query["error"] == "invalid_request"
    assert "code" not in query


def test_authorize_error(idp: FaultyProvider, http: requests.Session) -> None:
    idp.authorize_error("access_denied", "The user said no")
    flow = Flow(idp, http)
    query = callback_query(flow.authorize())
    assert query == {
        "error": "access_denied",
        "error_description": "The user said no",
        "state": flow.state,
        "iss": idp.issuer,
    }
    idp.authorize_error(None)
    assert "code" in callback_query(flow.authorize())


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("bad-signature", jwt.InvalidSignatureError),
        ("wrong-audience", jwt.InvalidAudienceError),
        ("wrong-issuer", jwt.InvalidIssuerError),
        ("expired", jwt.ExpiredSignatureError),
        ("alg-none", jwt.InvalidAlgorithmError),
        ("hs256", jwt.InvalidAlgorithmError),
    ],
)
def test_id_token_faults_fail_verification(
    idp: FaultyProvider, http: requests.Session, fault: str, error: type[Exception]
) -> None:
    idp.fault(fault)
    token = Flow(idp, http).tokens()["id_token"]
    assert jwt.get_unverified_header(token)["kid"] == idp.signing_key["kid"]
    with pytest.raises(error):
        verify(idp, http, token)


def test_bad_signature_is_a_real_signature_by_another_key(
    idp: FaultyProvider, http: requests.Session
) -> None:
    idp.fault("bad-signature")
    token = Flow(idp, http).tokens()["id_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == "rp"


def test_expired_id_token_times(idp: FaultyProvider, http: requests.Session) -> None:
    idp.fault("expired")
    token = Flow(idp, http).tokens()["id_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    now = time.time()
    assert now - 610 < claims["exp"] < now - 590
    assert claims["iat"] < claims["exp"]


def test_alg_none_is_unsigned(idp: FaultyProvider, http: requests.Session) -> None:
    idp.fault("alg-none")
    token = Flow(idp, http).tokens()["id_token"]
    assert jwt.get_unverified_header(token)["alg"] == "none"
    assert token.endswith(".")


def test_hs256_is_signed_with_the_client_secret(
    idp: FaultyProvider, http: requests.Session
) -> None:
    idp.fault("hs256")
    token = Flow(idp, http).tokens()["id_token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    signing_input, _, signature = token.rpartition(".")
    expected = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected


@pytest.mark.parametrize("fault", ["wrong-nonce", "no-nonce"])
def test_nonce_faults(idp: FaultyProvider, http: requests.Session, fault: str) -> None:
    idp.fault(fault)
    flow = Flow(idp, http)
    claims = verify(idp, http, flow.tokens()["id_token"])  # valid, except for the nonce
    if fault == "no-nonce":
        assert "nonce" not in claims
    else:
        assert claims["nonce"] != flow.nonce


def test_unknown_kid(idp: FaultyProvider, http: requests.Session) -> None:
    idp.fault("unknown-kid")
    token = Flow(idp, http).tokens()["id_token"]
    published = {key["kid"] for key in http.get(idp.jwks_uri, timeout=5).json()["keys"]}
    assert jwt.get_unverified_header(token)["kid"] not in published


def test_no_id_token(idp: FaultyProvider, http: requests.Session) -> None:
    idp.fault("no-id-token")
    tokens = Flow(idp, http).tokens()
    assert "access_token" in tokens
    assert "id_token" not in tokens


def test_faults_last_until_cleared(idp: FaultyProvider, http: requests.Session) -> None:
    idp.fault("wrong-audience")
    flow = Flow(idp, http)
    for _ in range(2):
        claims = jwt.decode(flow.tokens()["id_token"], options={"verify_signature": False})
        assert claims["aud"] != "rp"
    idp.fault(None)
    verify(idp, http, flow.tokens()["id_token"])
    with pytest.raises(ValueError, match="unknown fault"):
        idp.fault("no-such-fault")


def test_invalid_grant_fault(idp: FaultyProvider, http: requests.Session) -> None:
    idp.fault("invalid-grant")
    flow = Flow(idp, http)
    answer = flow.exchange(flow.code())
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(("fault", "status"), [("server-error", 500), ("not-json", 200)])
def test_html_answers(idp: FaultyProvider, http: requests.Session, fault: str, status: int) -> None:
    idp.fault(fault)
    flow = Flow(idp, http)
    answer = flow.exchange(flow.code())
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "text/html"
    with pytest.raises(requests.JSONDecodeError):
        answer.json()


def test_slow_token_endpoint(idp: FaultyProvider, http: requests.Session) -> None:
    idp.fault("slow", seconds=0.5)
    flow = Flow(idp, http)
    code = flow.code()
    began = time.monotonic()
    answer = flow.exchange(code)
    assert time.monotonic() - began >= 0.5
    assert answer.status_code == 200
    verify(idp, http, answer.json()["id_token"])


def test_userinfo(idp: FaultyProvider, http: requests.Session) -> None:
    access = Flow(idp, http).tokens()["access_token"]
    answer = http.get(
        idp.userinfo_endpoint, headers={"Authorization": f"Bearer {access}"}, timeout=5
    )
    assert answer.status_code == 200
    assert answer.json() == USER
    missing = http.get(idp.userinfo_endpoint, timeout=5)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = {"Authorization": "Bearer not-a-token"}
    assert http.get(idp.userinfo_endpoint, headers=wrong, timeout=5).status_code == 401


def test_userinfo_switches(idp: FaultyProvider, http: requests.Session) -> None:
    bearer = {"Authorization": f"Bearer {Flow(idp, http).tokens()['access_token']}"}
    idp.userinfo_sub("someone-else")
    assert http.get(idp.userinfo_endpoint, headers=bearer, timeout=5).json()["sub"] == (
        "someone-else"
    )
    idp.userinfo_sub(None)
    idp.userinfo_fails()
    assert http.get(idp.userinfo_endpoint, headers=bearer, timeout=5).status_code == 500
    idp.userinfo_ok()
    assert http.get(idp.userinfo_endpoint, headers=bearer, timeout=5).json()["sub"] == "u-1"


def test_set_user_applies_to_the_next_code(idp: FaultyProvider, http: requests.Session) -> None:
    flow = Flow(idp, http)
    earlier = flow.code()
    idp.set_user({"sub": "u-2", "email": "grace@example.com"})
    later = verify(idp, http, flow.tokens()["id_token"])
    assert (later["sub"], later["email"]) == ("u-2", "grace@example.com")
    assert verify(idp, http, flow.exchange(earlier).json()["id_token"])["sub"] == "u-1"


def test_oauth2_without_openid_scope(idp: FaultyProvider, http: requests.Session) -> None:
    tokens = Flow(idp, http, scope="read:user").tokens()
    assert set(tokens) == {"access_token", "token_type", "expires_in", "scope"}
    profile = http.get(
        idp.profile_url, headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=5
    )
    assert profile.json() == {
        "data": {"username": "u-1", "mail": "ada@example.com", "groups": ["staff", "admins"]}
    }
    assert http.get(idp.profile_url, timeout=5).status_code == 401


def test_discovery_switches(idp: FaultyProvider, http: requests.Session) -> None:
    idp.discovery_fails()
    assert http.get(idp.discovery_url, timeout=5).status_code == 503
    idp.discovery_fails(404)
    assert http.get(idp.discovery_url, timeout=5).status_code == 404
    idp.hang(5)
    with pytest.raises(requests.ReadTimeout):
        http.get(idp.discovery_url, timeout=0.2)
    idp.discovery_ok()
    assert http.get(idp.discovery_url, timeout=5).json()["issuer"] == idp.issuer


def test_counters(idp: FaultyProvider, http: requests.Session) -> None:
    before, jwks = idp.requests, idp.count("/jwks")
    http.get(idp.jwks_uri, timeout=5)
    http.get(f"{idp.issuer}/nowhere", timeout=5)
    assert idp.requests == before + 2
    assert idp.paths[-2:] == ["/jwks", "/nowhere"]
    assert idp.count("/jwks") == jwks + 1


def test_refresh_tokens_and_rotation(http: requests.Session) -> None:
    clients = {"rp": {"secret": SECRET, "redirect_uris": [CALLBACK]}}
    with FaultyProvider(clients=clients, refresh_tokens=True) as idp:
        flow = Flow(idp, http)
        tokens = flow.tokens()
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        renewed = http.post(idp.token_endpoint, data=refresh, auth=("rp", SECRET), timeout=5)
        assert renewed.status_code == 200
        assert renewed.json()["access_token"] != tokens["access_token"]
        assert "id_token" not in renewed.json()

        old = idp.signing_key["kid"]
        new = idp.rotate_keys(ec_jwk("e1"), keep_previous=True)
        token = flow.tokens()["id_token"]
        assert jwt.get_unverified_header(token) == {"alg": "ES256", "typ": "JWT", "kid": "e1"}
        assert verify(idp, http, token)["sub"] == "u-1"
        published = [key["kid"] for key in http.get(idp.jwks_uri, timeout=5).json()["keys"]]
        assert published == [new["kid"], old]
        assert "d" not in http.get(idp.jwks_uri, timeout=5).json()["keys"][0]
        latest = idp.rotate_keys()
        published = [key["kid"] for key in http.get(idp.jwks_uri, timeout=5).json()["keys"]]
        assert published == [latest["kid"]] != [old]
        assert jwt.get_unverified_header(flow.tokens()["id_token"])["kid"] == latest["kid"]
