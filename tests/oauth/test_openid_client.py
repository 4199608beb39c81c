"""The real ``openid-client`` (the OpenID-certified relying party library, in Node) against a
real server process: discovery, the authorization code flow with PKCE S256, state and nonce (the
person signs in and consents in the browser pages, driven here with httpx), the id_token's
validation, userinfo, refresh rotation and reuse, introspection, revocation and the client
credentials grant. ``tests/oauth/js`` holds the npm peer (``npm ci`` in ``.ci/run``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from accounts.bootstrap import ADMIN_ROLE_NAME
from tests.support.server import Server, base_env, manage, postgres_database

pytestmark = pytest.mark.server

JS = Path(__file__).parent / "js"
ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}
REDIRECT = "http://127.0.0.1:9/callback"  # never fetched: the test reads the Location header
SCOPE = "openid profile email offline_access"


@dataclass
class Registered:
    client_id: str
    client_secret: str


@dataclass
class Provider:
    server: Server
    code_client: Registered
    service_client: Registered

    @property
    def issuer(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def node() -> str:
    binary = shutil.which("node")
    if binary is None:
        pytest.skip("node is not installed: the openid-client peer cannot run")
    if not (JS / "node_modules" / "openid-client").exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed: the openid-client peer cannot be installed")
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            pytest.skip(f"npm ci failed in {JS}: {result.stderr[-500:]}")
    return binary


def register(env: dict[str, str], *args: str) -> Registered:
    result = manage(env, "create_oauth_client", *args)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return Registered(data["client_id"], data["client_secret"])


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    tmp = tmp_path_factory.mktemp("openid-client")
    # The port first: PUBLIC_URL (the issuer) must be the server's own URL.
    server = Server(base_env(tmp))
    overrides = {
        "PUBLIC_URL": server.url,
        "LOGIN_STALL_TIME": "100",
        "OAUTH_REFRESH_GRACE_PERIOD": "0s",
    }
    with postgres_database(base_env(tmp, **overrides)) as env:
        server.env = env
        server.start("--workers", "1")
        try:
            code_client = register(
                env,
                "--name", "openid-client app",
                "--redirect-uri", REDIRECT,
                "--grant", "authorization-code",
                "--scopes", SCOPE,
            )  # fmt: skip
            service_client = register(
                env,
                "--name", "openid-client service",
                "--redirect-uri", REDIRECT,
                "--grant", "client-credentials",
                "--role", ADMIN_ROLE_NAME,
                "--scopes", "items:read",
            )  # fmt: skip
            yield Provider(server, code_client, service_client)
        finally:
            server.stop()


def rp(
    node: str, provider: Provider, step: str, client: Registered | None = None, **extra: Any
) -> dict[str, Any]:
    """One step of ``client.mjs``: ``{"ok": true, "result": …}`` or ``{"ok": false, "error": …}``
    (the library's error: its ``code``, or the server's ``error`` and ``status``)."""
    client = client or provider.code_client
    command = {
        "step": step,
        "issuer": extra.pop("issuer", provider.issuer),
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        **extra,
    }
    result = subprocess.run(
        [node, "client.mjs"],
        cwd=JS,
        input=json.dumps(command),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["ok"], answer["error"]
    return answer["result"]


class FormInputs(HTMLParser):
    """The ``name``/``value`` of the inputs of the form whose id is ``form_id`` (or of every
    form's, without one)."""

    def __init__(self, form_id: str | None = None) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = form_id is None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and self.form_id is not None:
            self.inside = attributes.get("id") == self.form_id
        elif tag == "input" and self.inside and attributes.get("name"):
            self.fields.setdefault(attributes["name"] or "", attributes.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.form_id is not None:
            self.inside = False


def inputs(html: str, form_id: str | None = None) -> dict[str, str]:
    parser = FormInputs(form_id)
    parser.feed(html)
    return parser.fields


def sign_in_and_consent(base: str, authorization_url: str) -> str:
    """The browser part: the login page, then the consent page; the callback URL (with
    ``code`` and ``state``) the server redirects to, never fetched."""
    target = urlsplit(authorization_url)
    assert f"{target.scheme}://{target.netloc}" == base
    path = f"{target.path}?{target.query}"
    with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as browser:
        page = browser.get("/login", params={"redirect": path})
        assert page.status_code == 200, page.text
        csrf = inputs(page.text)["csrfmiddlewaretoken"]
        assert browser.cookies.get("directus_csrftoken")
        signed_in = browser.post(
            "/login",
            data={"csrfmiddlewaretoken": csrf, **ADMIN, "redirect": path},
            headers={"Referer": f"{base}/login"},
        )
        assert signed_in.status_code in (302, 303), signed_in.text
        consent = browser.get(signed_in.headers["Location"])
        if consent.status_code == 302 and consent.headers["Location"].startswith(REDIRECT):
            return consent.headers["Location"]  # consent remembered: no page
        assert consent.status_code == 200, consent.text
        fields = inputs(consent.text, "authorizationForm")
        assert fields.get("client_id"), consent.text
        assert fields.get("csrfmiddlewaretoken"), consent.text
        answer = browser.post(
            "/oauth/authorize",
            data={**fields, "allow": "Authorize"},
            headers={"Referer": str(consent.url)},
        )
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]


def me(base: str, access_token: str) -> httpx.Response:
    return httpx.get(f"{base}/users/me", headers={"Authorization": f"Bearer {access_token}"})


def test_discovery_document_has_what_the_spec_requires(provider: Provider) -> None:
    response = httpx.get(f"{provider.issuer}/.well-known/openid-configuration")
    assert response.status_code == 200, response.text
    document = response.json()
    # OpenID Connect Discovery 1.0, section 3: the REQUIRED fields.
    for name in (
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ):
        assert document.get(name), f"{name} is missing: {document}"
    assert document["userinfo_endpoint"]
    assert "openid" in document["scopes_supported"]
    assert "code" in document["response_types_supported"]
    assert "RS256" in document["id_token_signing_alg_values_supported"]
    assert document["issuer"] == provider.server.env["PUBLIC_URL"]
    endpoints = {k: v for k, v in document.items() if k.endswith(("_endpoint", "_uri"))}
    assert len(endpoints) >= 5, endpoints
    for name, url in endpoints.items():
        assert url.startswith(provider.issuer + "/"), (name, url)
    jwks = httpx.get(document["jwks_uri"]).json()
    assert any(key.get("kty") == "RSA" for key in jwks["keys"]), jwks


def test_discovery_is_validated(node: str, provider: Provider) -> None:
    metadata = ok(rp(node, provider, "discover"))["metadata"]
    assert metadata["issuer"] == provider.issuer
    # The same document fetched under another issuer identifier is refused: the library checks.
    wrong = f"http://localhost:{provider.server.port}"
    refused = rp(node, provider, "discover", issuer=wrong)
    assert not refused["ok"]
    assert refused["error"]["code"] == "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED", refused


def test_authorization_code_flow_refresh_introspection_revocation(
    node: str, provider: Provider
) -> None:
    base = provider.issuer
    started = ok(rp(node, provider, "start", redirect_uri=REDIRECT, scope=SCOPE))
    query = parse_qs(urlsplit(started["url"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] == [started["state"]]
    assert query["nonce"] == [started["nonce"]]

    callback = sign_in_and_consent(base, started["url"])
    assert callback.startswith(REDIRECT + "?"), callback
    assert parse_qs(urlsplit(callback).query)["state"] == [started["state"]]

    # The exchange validates the id_token (RS256 against the JWKS, iss, aud, exp, nonce).
    finished = ok(rp(node, provider, "finish", callback=callback, **started))
    tokens, claims, userinfo = finished["tokens"], finished["claims"], finished["userinfo"]
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["access_token"].startswith("doa_")
    assert tokens["refresh_token"].startswith("dor_")
    assert claims["iss"] == base
    assert claims["aud"] in (provider.code_client.client_id, [provider.code_client.client_id])
    assert claims["nonce"] == started["nonce"]
    response = me(base, tokens["access_token"])
    assert response.status_code == 200, response.text
    user = response.json()["data"]
    assert user["email"] == ADMIN["email"]
    assert claims["sub"] == user["id"]
    assert userinfo["sub"] == user["id"]
    assert userinfo["email"] == ADMIN["email"]

    # Refresh: a new pair; the new access token works.
    refreshed = ok(rp(node, provider, "refresh", refresh_token=tokens["refresh_token"]))
    renewed = refreshed["tokens"]
    assert renewed["access_token"].startswith("doa_")
    assert renewed["access_token"] != tokens["access_token"]
    assert renewed["refresh_token"] not in (None, tokens["refresh_token"])
    if refreshed["claims"] is not None:
        assert refreshed["claims"]["sub"] == user["id"]
    assert me(base, renewed["access_token"]).json()["data"]["id"] == user["id"]

    # The rotated refresh token again, past the (zero) grace period: refused, and its whole
    # family with it — the new refresh token too.
    reused = rp(node, provider, "refresh", refresh_token=tokens["refresh_token"])
    assert not reused["ok"]
    assert reused["error"]["error"] == "invalid_grant", reused
    family = rp(node, provider, "refresh", refresh_token=renewed["refresh_token"])
    assert not family["ok"]
    assert family["error"]["error"] == "invalid_grant", family

    # Introspection and revocation, on a fresh grant (consent is remembered now).
    again = ok(rp(node, provider, "start", redirect_uri=REDIRECT, scope=SCOPE))
    second = ok(
        rp(node, provider, "finish", callback=sign_in_and_consent(base, again["url"]), **again)
    )
    access = second["tokens"]["access_token"]
    active = ok(rp(node, provider, "introspect", token=access))["introspection"]
    assert active["active"] is True, active
    assert active.get("client_id") in (None, provider.code_client.client_id)
    revoked = ok(rp(node, provider, "revoke", token=access))["introspection"]
    assert revoked["active"] is False, revoked
    assert me(base, access).status_code == 401


def test_client_credentials(node: str, provider: Provider) -> None:
    issued = ok(
        rp(node, provider, "client_credentials", provider.service_client, scope="items:read")
    )
    tokens = issued["tokens"]
    assert tokens["access_token"].startswith("doa_")
    assert "refresh_token" not in tokens
    assert "id_token" not in tokens
    active = ok(
        rp(node, provider, "introspect", provider.service_client, token=tokens["access_token"])
    )["introspection"]
    assert active["active"] is True, active
    assert set(active["scope"].split()) == {"items:read"}
    # The token is accepted as a bearer token (an unknown one is not).
    health = f"{provider.issuer}/server/health"
    response = httpx.get(health, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 200, response.text
    assert httpx.get(health, headers={"Authorization": "Bearer doa_unknown"}).status_code == 401
