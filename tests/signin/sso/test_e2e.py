"""Single sign-on, end to end: our server (a real process on PostgreSQL when the suite runs
there) with two providers at once on one real IdP (npm ``oidc-provider`` with its own login
form) — ``corp`` through the ``openid`` driver (discovery, id_token, group → role mapping) and
``partner`` through the ``oauth2`` driver (authorize / access / profile URLs, refresh cookie) —
every call to the IdP going through a real outbound proxy (tinyproxy). A person follows the
login page's button, signs in at the IdP's form and comes back signed in; the token works on
REST; a change of groups at the IdP changes the role at the next sign-in."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from tests.realtime.support import realtime_env, shell
from tests.support.idp import OidcIdp, browser_session, sign_in_at_idp
from tests.support.proxy import TinyProxy
from tests.support.server import Server, free_port, manage, postgres_database

pytestmark = pytest.mark.server

READERS = uuid.UUID("0b5c3c1e-8f9a-4d2b-9e61-1c2f3a4b5c01")
EDITORS = uuid.UUID("0b5c3c1e-8f9a-4d2b-9e61-1c2f3a4b5c02")
SETUP = f"""
from accounts.models import Access, Policy, Role
for pk, name in (("{READERS}", "Readers"), ("{EDITORS}", "Editors")):
    role = Role.objects.create(id=pk, name=name)
    Access.objects.create(role=role, policy=Policy.objects.create(name=name, app_access=True))
"""
ADA: dict[str, Any] = {
    "login": "ada",
    "password": "ada-idp-password",
    "sub": "ada-0001",
    "email": "ada@corp.test",
    "email_verified": True,
    "given_name": "Ada",
    "family_name": "Lovelace",
    "groups": ["staff"],
}
GRACE: dict[str, Any] = {
    "login": "grace",
    "password": "grace-idp-password",
    "sub": "grace-0002",
    "email": "grace@partner.test",
    "email_verified": True,
    "given_name": "Grace",
    "family_name": "Hopper",
    "groups": [],
}
CORP_SECRET = "corp-client-secret-0123456789"
PARTNER_SECRET = "partner-client-secret-0123456789"


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory, port: int) -> Iterator[OidcIdp]:
    base = f"http://127.0.0.1:{port}"
    clients = [
        {
            "client_id": "corp-app",
            "client_secret": CORP_SECRET,
            "redirect_uris": [f"{base}/auth/login/corp/callback"],
        },
        {
            "client_id": "partner-app",
            "client_secret": PARTNER_SECRET,
            "redirect_uris": [f"{base}/auth/login/partner/callback"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    ]
    with OidcIdp(tmp_path_factory.mktemp("idp"), accounts=[ADA, GRACE], clients=clients) as peer:
        yield peer


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TinyProxy]:
    with TinyProxy(tmp_path_factory.mktemp("proxy")) as running:
        yield running


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, port: int, idp: OidcIdp, proxy: TinyProxy
) -> Iterator[Server]:
    base = f"http://127.0.0.1:{port}"
    env = realtime_env(
        tmp_path_factory.mktemp("server"),
        PUBLIC_URL=base,
        HTTP_PROXY=proxy.url,
        NO_PROXY="",
        LOG_LEVEL="info",
        AUTH_PROVIDERS="corp,partner",
        AUTH_CORP_DRIVER="openid",
        AUTH_CORP_CLIENT_ID="corp-app",
        AUTH_CORP_CLIENT_SECRET=CORP_SECRET,
        AUTH_CORP_ISSUER_URL=idp.issuer,
        AUTH_CORP_SCOPE="openid email profile groups",
        AUTH_CORP_ALLOW_PUBLIC_REGISTRATION="true",
        AUTH_CORP_REQUIRE_VERIFIED_EMAIL="true",
        AUTH_CORP_ROLE_MAPPING=json.dumps({"admins": str(EDITORS), "staff": str(READERS)}),
        AUTH_CORP_LABEL="Corp",
        AUTH_PARTNER_DRIVER="oauth2",
        AUTH_PARTNER_CLIENT_ID="partner-app",
        AUTH_PARTNER_CLIENT_SECRET=PARTNER_SECRET,
        AUTH_PARTNER_AUTHORIZE_URL=idp.authorize_endpoint,
        AUTH_PARTNER_ACCESS_URL=idp.token_endpoint,
        AUTH_PARTNER_PROFILE_URL=idp.userinfo_endpoint,
        AUTH_PARTNER_SCOPE="openid email profile",
        AUTH_PARTNER_CLIENT_TOKEN_ENDPOINT_AUTH_METHOD="client_secret_post",
        AUTH_PARTNER_ALLOW_PUBLIC_REGISTRATION="true",
        AUTH_PARTNER_DEFAULT_ROLE_ID=str(READERS),
        AUTH_PARTNER_FIRST_NAME_KEY="given_name",
        AUTH_PARTNER_MODE="cookie",
        AUTH_PARTNER_LABEL="Partner",
    )
    with postgres_database(env) as prepared:
        assert manage(prepared, "bootstrap").returncode == 0
        shell(prepared, SETUP)
        running = Server(prepared, port=port).start(bootstrap=False)
        try:
            yield running
        finally:
            running.stop()


def user_row(server: Server, email: str) -> list[str]:
    out = shell(
        server.env,
        f"""
from accounts.models import User
u = User.objects.get(email="{email}")
print(u.provider, u.external_identifier, u.role_id, u.first_name)
""",
    )
    return out.strip().splitlines()[-1].split()


def session_token(session: requests.Session) -> str:
    return next(c.value for c in session.cookies if c.name == "directus_session_token")


def me(server: Server, token: str) -> httpx.Response:
    return httpx.get(f"{server.url}/users/me", headers={"Authorization": f"Bearer {token}"})


def test_the_login_page_offers_both_providers(server: Server) -> None:
    page = httpx.get(f"{server.url}/login")
    assert page.status_code == 200
    assert "Sign in with Corp" in page.text
    assert "Sign in with Partner" in page.text
    assert "/auth/login/corp" in page.text
    assert "/auth/login/partner" in page.text


def test_openid_sign_in_creates_the_mapped_user(server: Server, idp: OidcIdp) -> None:
    session = browser_session()
    final = sign_in_at_idp(session, f"{server.url}/auth/login/corp", "ada", ADA["password"])
    assert final.status_code == 200
    assert final.url == f"{server.url}/account"
    assert user_row(server, "ada@corp.test") == ["corp", "ada-0001", str(READERS), "Ada"]
    response = me(server, session_token(session))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["email"] == "ada@corp.test"
    # The session cookie signs the person in to the account page too.
    assert "ada@corp.test" in session.get(f"{server.url}/account", timeout=10).text
    assert CORP_SECRET not in server.log()


def test_oauth2_sign_in_sets_the_refresh_cookie(server: Server, idp: OidcIdp) -> None:
    session = browser_session()
    start = f"{server.url}/auth/login/partner?redirect={server.url}/after"
    final = sign_in_at_idp(
        session, start, "grace", GRACE["password"], stop_at=f"{server.url}/after"
    )
    assert final.headers["Location"] == f"{server.url}/after"
    refresh = session.post(f"{server.url}/auth/refresh", json={"mode": "cookie"}, timeout=10)
    assert refresh.status_code == 200, refresh.text
    response = me(server, refresh.json()["data"]["access_token"])
    assert response.status_code == 200, response.text
    assert user_row(server, "grace@partner.test") == [
        "partner", "grace@partner.test", str(READERS), "Grace"
    ]  # fmt: skip


def test_a_change_of_groups_at_the_idp_changes_the_role_at_next_sign_in(
    server: Server, idp: OidcIdp
) -> None:
    session = browser_session()
    sign_in_at_idp(session, f"{server.url}/auth/login/corp", "ada", ADA["password"])
    idp.restart(accounts=[{**ADA, "groups": ["admins", "staff"]}, GRACE])
    session = browser_session()
    final = sign_in_at_idp(session, f"{server.url}/auth/login/corp", "ada", ADA["password"])
    assert final.url == f"{server.url}/account"
    assert user_row(server, "ada@corp.test")[2] == str(EDITORS)
    events = shell(
        server.env,
        "from accounts.models import AuthEvent\n"
        'print(AuthEvent.objects.filter(kind="sso.role_changed").count())',
    )
    assert events.strip().splitlines()[-1] == "1"


def test_a_wrong_password_at_the_idp_signs_no_one_in(server: Server, idp: OidcIdp) -> None:
    session = browser_session()
    with pytest.raises(AssertionError):
        sign_in_at_idp(session, f"{server.url}/auth/login/corp", "ada", "not-the-password")
    assert not any(c.name == "directus_session_token" for c in session.cookies)


def test_every_call_to_the_idp_went_through_the_proxy(
    server: Server, idp: OidcIdp, proxy: TinyProxy
) -> None:
    forwarded = proxy.requests()
    for line in (
        f"GET {idp.discovery_url} HTTP/1.1",
        f"POST {idp.token_endpoint} HTTP/1.1",
        f"GET {idp.jwks_uri} HTTP/1.1",
        f"GET {idp.userinfo_endpoint} HTTP/1.1",
    ):
        assert line in forwarded, forwarded
