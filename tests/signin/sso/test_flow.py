"""The redirect flow in-process, against a provider that produces faults on demand
(tests/support/oidc_faults.py): what the start sends, the callback honoured once, every bad
id_token and IdP error answered as the contract says, never a 500, never an open redirect.
The happy path against a real provider is tests/signin/sso/test_e2e.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from accounts.models import AuthEvent, User, UserStatus
from core.config import EnvReader
from core.config.auth import load_auth
from factors import totp
from signin.drivers import forget
from tests.support.factors import code_at
from tests.support.oidc_faults import FaultyProvider

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/auth/login/acme/callback"
PUBLIC_URL = "http://testserver"


@pytest.fixture
def idp() -> Iterator[FaultyProvider]:
    with FaultyProvider(
        clients={"rp": {"secret": "rp-secret", "redirect_uris": [CALLBACK]}},
        user={
            "sub": "U-1",
            "email": "ada@example.com",
            "email_verified": True,
            "given_name": "Ada",
            "family_name": "Lovelace",
            "groups": ["staff"],
        },
    ) as provider:
        yield provider


def configure(settings: Any, idp: FaultyProvider, **variables: str) -> None:
    environ = {
        "AUTH_PROVIDERS": "acme",
        "AUTH_ACME_DRIVER": "openid",
        "AUTH_ACME_CLIENT_ID": "rp",
        "AUTH_ACME_CLIENT_SECRET": "rp-secret",
        "AUTH_ACME_ISSUER_URL": idp.issuer,
        "AUTH_ACME_ALLOW_PUBLIC_REGISTRATION": "true",
        **{f"AUTH_ACME_{k}": v for k, v in variables.items()},
    }
    settings.DIRECTUS = replace(
        settings.DIRECTUS,
        auth=load_auth(EnvReader(environ)),
        server=replace(settings.DIRECTUS.server, public_url=PUBLIC_URL),
    )
    forget()


@pytest.fixture
def acme(settings: Any, idp: FaultyProvider) -> FaultyProvider:
    configure(settings, idp)
    return idp


def start(client: Client, query: str = "?redirect=/account") -> requests.Response:
    """Start at our server and follow it to the provider, which answers the callback URL."""
    began = client.get(f"/auth/login/acme{query}")
    assert began.status_code == 302, began.content
    answer = requests.get(began["Location"], allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    return answer


def callback(client: Client, location: str) -> Any:
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client: Client, query: str = "?redirect=/account") -> Any:
    return callback(client, start(client, query).headers["Location"])


def reason(response: Any) -> str | None:
    return parse_qs(urlsplit(response["Location"]).query).get("reason", [None])[0]


def test_the_start_sends_state_nonce_and_pkce(acme: FaultyProvider) -> None:
    start(Client())
    (sent,) = acme.authorize_requests
    assert sent["client_id"] == "rp"
    assert sent["redirect_uri"] == CALLBACK
    assert sent["response_type"] == "code"
    assert sent["scope"] == "openid profile email"
    assert sent["code_challenge_method"] == "S256"
    assert len(sent["code_challenge"]) == 43
    assert len(sent["state"]) >= 32
    assert len(sent["nonce"]) >= 32
    assert sent["state"] != sent["nonce"]


def test_a_sign_in_creates_the_user_and_sets_the_session_cookie(acme: FaultyProvider) -> None:
    client = Client()
    done = sign_in(client)
    assert done.status_code == 302
    assert done["Location"] == "/account"
    assert "directus_session_token" in done.cookies
    user = User.objects.get(external_identifier="U-1")
    assert (user.provider, user.email, user.first_name) == ("acme", "ada@example.com", "Ada")
    assert client.get("/users/me").json()["data"]["id"] == str(user.pk)
    (token,) = acme.token_requests
    assert token["auth"] == "basic"
    assert "client_secret" not in token["form"]
    assert AuthEvent.objects.filter(kind="login.success", details__provider="acme").exists()


def test_the_callback_is_honoured_once(acme: FaultyProvider) -> None:
    client = Client()
    location = start(client).headers["Location"]
    assert callback(client, location)["Location"] == "/account"
    replay = callback(client, location)
    assert replay.status_code == 302
    assert reason(replay) == "INVALID_CREDENTIALS"
    assert urlsplit(replay["Location"]).path == "/login"
    assert len(acme.token_requests) == 1


def test_a_forged_or_missing_state_is_refused(acme: FaultyProvider) -> None:
    client = Client()
    location = start(client).headers["Location"]
    forged = location.replace("state=", "state=x")
    assert reason(callback(client, forged)) == "INVALID_CREDENTIALS"
    other = Client()  # another browser: the flow is not in its session
    assert reason(callback(other, location)) == "INVALID_CREDENTIALS"
    assert acme.token_requests == []
    assert reason(Client().get("/auth/login/acme/callback?code=abc")) == "INVALID_CREDENTIALS"


@pytest.mark.parametrize(
    "fault",
    [
        "bad-signature",
        "wrong-audience",
        "wrong-issuer",
        "expired",
        "wrong-nonce",
        "no-nonce",
        "alg-none",
        "hs256",
        "unknown-kid",
        "no-id-token",
    ],
)
def test_a_bad_id_token_is_invalid_credentials(acme: FaultyProvider, fault: str) -> None:
    acme.fault(fault)
    client = Client()
    done = sign_in(client, "?redirect=/somewhere?x=1")
    assert done.status_code == 302
    assert done["Location"] == "/somewhere?reason=INVALID_CREDENTIALS"
    assert "directus_session_token" not in done.cookies
    assert not User.objects.filter(external_identifier="U-1").exists()


def test_a_used_code_is_invalid_token_and_idp_errors_are_unavailable(
    acme: FaultyProvider,
) -> None:
    acme.fault("invalid-grant")
    assert reason(sign_in(Client())) == "INVALID_TOKEN"
    for fault in ("server-error", "not-json"):
        acme.fault(fault)
        assert reason(sign_in(Client())) == "SERVICE_UNAVAILABLE"


def test_an_idp_error_response_comes_back_as_a_reason(acme: FaultyProvider) -> None:
    acme.authorize_error("access_denied", "The user said no")
    assert reason(sign_in(Client())) == "INVALID_CREDENTIALS"
    assert acme.token_requests == []
    assert AuthEvent.objects.filter(details__reason="idp_access_denied").exists()


def test_userinfo_about_someone_else_is_refused(acme: FaultyProvider) -> None:
    acme.userinfo_sub("someone-else")
    assert reason(sign_in(Client())) == "INVALID_CREDENTIALS"
    assert not User.objects.filter(external_identifier="U-1").exists()


@pytest.mark.parametrize(
    "redirect",
    ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"],
)
def test_a_redirect_off_the_allow_list_is_400_never_a_redirect(
    acme: FaultyProvider, redirect: str
) -> None:
    response = Client().get("/auth/login/acme", {"redirect": redirect})
    assert response.status_code == 400
    body = response.json()["errors"][0]
    assert body["extensions"]["code"] == "INVALID_PAYLOAD"
    assert "can't be used to redirect after login" in body["message"]
    assert acme.authorize_requests == []


def test_the_allow_list_admits_another_origin(settings: Any, idp: FaultyProvider) -> None:
    configure(settings, idp, REDIRECT_ALLOW_LIST="https://app.example/callback")
    done = sign_in(Client(), "?redirect=https://app.example/callback?tab=1")
    assert done["Location"] == "https://app.example/callback?tab=1"
    off = Client().get("/auth/login/acme", {"redirect": "https://app.example/other"})
    assert off.status_code == 400


def test_an_unknown_provider_is_route_not_found(acme: FaultyProvider) -> None:
    for path in ("/auth/login/nobody", "/auth/login/nobody/callback", "/auth/login/default"):
        response = Client().get(path)
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND"


def test_closed_registration_and_unverified_email(settings: Any, idp: FaultyProvider) -> None:
    configure(settings, idp, ALLOW_PUBLIC_REGISTRATION="false")
    assert reason(sign_in(Client())) == "INVALID_CREDENTIALS"
    configure(settings, idp, REQUIRE_VERIFIED_EMAIL="true")
    idp.set_user({**idp.user, "email_verified": False})
    assert reason(sign_in(Client())) == "INVALID_CREDENTIALS"
    assert not User.objects.exists()


def test_a_suspended_user_or_one_of_another_provider_is_refused(
    acme: FaultyProvider, make_user: Any
) -> None:
    user = make_user("ada@example.com", provider="acme", external_identifier="U-1")
    User.objects.filter(pk=user.pk).update(status=UserStatus.SUSPENDED)
    assert reason(sign_in(Client())) == "INVALID_CREDENTIALS"
    User.objects.filter(pk=user.pk).update(status=UserStatus.ACTIVE, provider="default")
    assert reason(sign_in(Client())) == "INVALID_CREDENTIALS"


def test_cookie_mode_sets_the_refresh_cookie(settings: Any, idp: FaultyProvider) -> None:
    configure(settings, idp, MODE="cookie")
    client = Client()
    done = sign_in(client)
    assert "directus_refresh_token" in done.cookies
    assert "directus_session_token" not in done.cookies
    refreshed = client.post("/auth/refresh", {"mode": "cookie"}, content_type="application/json")
    assert refreshed.status_code == 200
    assert refreshed.json()["data"]["access_token"]


def test_post_callback_is_resent_as_get(acme: FaultyProvider) -> None:
    client = Client()
    location = start(client).headers["Location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    posted = client.post("/auth/login/acme/callback", params)
    assert posted.status_code == 303
    assert callback(client, "http://testserver" + posted["Location"])["Location"] == "/account"


def test_discovery_failure_is_unavailable_and_retried(
    acme: FaultyProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signin.drivers import openid, provider

    acme.discovery_fails(503)
    began = Client().get("/auth/login/acme", {"redirect": "/account"})
    assert began.status_code == 302
    assert began["Location"] == "/account?reason=SERVICE_UNAVAILABLE"
    assert not provider("acme").available()
    page = Client().get("/login")
    assert b"(unavailable)" in page.content
    assert (
        Client()
        .post(
            "/auth/login",
            {"email": "x@example.com", "password": "p"},
            content_type="application/json",
        )
        .status_code
        == 401
    )
    acme.discovery_ok()
    monkeypatch.setattr(openid, "RETRY_AFTER_FAILURE", 0.0)
    assert sign_in(Client())["Location"] == "/account"


def test_a_second_factor_is_asked_for_and_carried(acme: FaultyProvider, make_user: Any) -> None:
    user = make_user("ada@example.com", provider="acme", external_identifier="U-1")
    secret = enrol_totp(user)
    done = sign_in(Client(), "")
    assert reason(done) == "INVALID_OTP"
    page = Client().get(done["Location"])
    assert b'action="/auth/login/acme"' in page.content
    assert b'name="otp"' in page.content
    wrong = sign_in(Client(), "?otp=000000")
    assert reason(wrong) == "INVALID_OTP"
    right = sign_in(Client(), f"?otp={code_at(secret)}&redirect=/account")
    assert right["Location"] == "/account"


def enrol_totp(user: User) -> str:
    secret = totp.new_secret()
    totp.enable(user, secret, code_at(secret, -1))
    return secret


def test_the_login_page_shows_every_provider(settings: Any, idp: FaultyProvider) -> None:
    configure(settings, idp, LABEL="Acme SSO", ICON="acme-logo")
    page = Client().get("/login?redirect=/account")
    assert b"Sign in with Acme SSO" in page.content
    assert b'href="/auth/login/acme?redirect=%2Faccount"' in page.content
    assert b'data-icon="acme-logo"' in page.content
    back = Client().get("/login?reason=SERVICE_UNAVAILABLE&provider=acme")
    assert b"not answering" in back.content


def test_the_openapi_schema_lists_the_sso_routes(client: Client) -> None:
    schema = client.get("/server/specs/oas", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    start = paths["/auth/login/{provider}"]["get"]
    assert {p["name"] for p in start["parameters"]} >= {"provider", "redirect", "otp", "prompt"}
    back = paths["/auth/login/{provider}/callback"]
    assert set(back) >= {"get", "post"}
    assert {p["name"] for p in back["get"]["parameters"]} >= {"code", "state", "error"}
