"""Claim, end to end: a real OpenID provider (npm ``oidc-provider``) issues client-credentials
JWTs; our server, trusting it by configuration, accepts them on REST, on the WebSocket in every
auth mode and on GraphQL (HTTP and ``graphql-transport-ws``), fetches the provider's keys
through the outbound proxy, follows a key rotation at the provider without a restart, keeps
working with cached keys while the provider is down, refuses a second, untrusted provider's
tokens, and sees a suspension made by another process within a second."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.realtime.support import realtime_env, shell, socket, ws_url
from tests.support.issuer import ExternalIssuer, rsa_jwk
from tests.support.proxy import TinyProxy
from tests.support.server import Server, manage, postgres_database

pytestmark = pytest.mark.server

AUDIENCE = "https://api.example.test"
ROLE = uuid.UUID("6f1f4f5e-3d1b-4c47-9d0e-5f2e2a1b9c01")
SETUP = f"""
from accounts.models import Access, Permission, Policy, Role
from items.models import Article
role = Role.objects.create(id="{ROLE}", name="Service readers")
policy = Policy.objects.create(name="Service readers policy", app_access=False)
Access.objects.create(role=role, policy=policy)
Permission.objects.create(policy=policy, collection="articles", action="read",
    fields="id,title", permissions={{"status": {{"_eq": "published"}}}})
Article.objects.create(title="Visible", status="published")
Article.objects.create(title="Hidden", status="draft")
"""
SET_STATUS = (
    'from accounts.models import User; User.objects.filter(provider="corp").update(status="{}")'
)
SET_STATUS = (
    'from accounts.models import User; User.objects.filter(provider="corp").update(status="{}")'
)
CLIENTS = [
    {"client_id": "billing", "client_secret": "billing-secret-1234567890", "scope": "svc#read"},
    {"client_id": "stranger", "client_secret": "stranger-secret-123456789", "scope": "svc#other"},
]


def provider(tmp_path_factory: pytest.TempPathFactory, kid: str) -> Iterator[ExternalIssuer]:
    folder = tmp_path_factory.mktemp(f"idp-{kid}")
    with ExternalIssuer(folder, keys=[rsa_jwk(kid)], clients=CLIENTS, resource=AUDIENCE) as idp:
        yield idp


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExternalIssuer]:
    yield from provider(tmp_path_factory, "k1")


@pytest.fixture(scope="module")
def untrusted_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExternalIssuer]:
    yield from provider(tmp_path_factory, "o1")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TinyProxy]:
    with TinyProxy(tmp_path_factory.mktemp("proxy")) as running:
        yield running


def trusting_env(tmp: Path, idp: ExternalIssuer, **extra: str) -> dict[str, str]:
    return realtime_env(
        tmp,
        TRUSTED_ISSUERS="corp",
        TRUSTED_ISSUER_CORP_ISSUER=idp.issuer,  # keys by discovery
        TRUSTED_ISSUER_CORP_AUDIENCE=AUDIENCE,
        TRUSTED_ISSUER_CORP_REQUIRED_CLAIMS='json:{"gty": "client-credentials"}',
        TRUSTED_ISSUER_CORP_RULES=f'json:[{{"scope": "svc#read", "role": "{ROLE}"}}]',
        TRUSTED_ISSUER_CORP_JWKS_TTL="2s",
        LOG_LEVEL="info",
        **extra,
    )


def serving(env: dict[str, str]) -> Iterator[Server]:
    """Bootstrap, add the service readers' role and two articles, serve; stop afterwards."""
    with postgres_database(env) as prepared:
        assert manage(prepared, "bootstrap").returncode == 0
        shell(prepared, SETUP)
        running = Server(prepared).start(bootstrap=False)
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, idp: ExternalIssuer, proxy: TinyProxy
) -> Iterator[Server]:
    env = trusting_env(tmp_path_factory.mktemp("server"), idp, HTTP_PROXY=proxy.url, NO_PROXY="")
    yield from serving(env)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def titles(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["title"] for row in response.json()["data"]]


def test_rest_reads_as_the_service_user(server: Server, idp: ExternalIssuer) -> None:
    token = idp.token("billing", scope="svc#read", resource=AUDIENCE)
    me = httpx.get(f"{server.url}/users/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    seen = shell(
        server.env,
        f"""
from accounts.models import User
u = User.objects.get(pk="{me.json()["data"]["id"]}")
print(u.provider, u.external_identifier, u.role_id)
""",
    )
    assert seen.strip().splitlines()[-1].split() == ["corp", "billing", str(ROLE)]
    assert titles(httpx.get(f"{server.url}/items/articles", headers=bearer(token))) == ["Visible"]
    assert token not in server.log()


def test_keys_came_through_the_proxy(server: Server, idp: ExternalIssuer, proxy: TinyProxy) -> None:
    token = idp.token("billing", scope="svc#read", resource=AUDIENCE)
    assert httpx.get(f"{server.url}/users/me", headers=bearer(token)).status_code == 200
    forwarded = proxy.requests()
    assert f"GET {idp.issuer}/.well-known/openid-configuration HTTP/1.1" in forwarded
    assert f"GET {idp.jwks_uri} HTTP/1.1" in forwarded


def test_graphql_over_http_and_the_socket(server: Server, idp: ExternalIssuer) -> None:
    token = idp.token("billing", scope="svc#read", resource=AUDIENCE)
    query = {"query": "{ articles { title } }"}
    response = httpx.post(f"{server.url}/graphql", json=query, headers=bearer(token))
    assert response.json() == {"data": {"articles": [{"title": "Visible"}]}}, response.text
    protocol = [Subprotocol("graphql-transport-ws")]
    with connect(ws_url(server, "/graphql"), subprotocols=protocol, open_timeout=5) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"access_token": token}}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "connection_ack"}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": query}))
        assert json.loads(ws.recv(timeout=5))["payload"] == {
            "data": {"articles": [{"title": "Visible"}]}
        }


@pytest.fixture(scope="module", params=["public", "handshake", "strict"])
def mode_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, idp: ExternalIssuer
) -> Iterator[Server]:
    env = trusting_env(
        tmp_path_factory.mktemp(f"ws-{request.param}"),
        idp,
        WEBSOCKETS_REST_AUTH=request.param,
        NO_PROXY="127.0.0.1",
    )
    yield from serving(env)


def test_the_websocket_in_every_mode(mode_server: Server, idp: ExternalIssuer) -> None:
    token = idp.token("billing", scope="svc#read", resource=AUDIENCE)
    read = {"type": "items", "action": "read", "collection": "articles", "uid": "r"}
    with socket(mode_server, query=f"access_token={token}") as ws:
        frame = ws.ask(read)
        assert [row["title"] for row in frame["data"]] == ["Visible"], frame
    if mode_server.env["WEBSOCKETS_REST_AUTH"] != "strict":
        with socket(mode_server) as ws:
            assert ws.auth(access_token=token) == {"type": "auth", "status": "ok"}
            assert [row["title"] for row in ws.ask(read)["data"]] == ["Visible"]


def test_a_token_without_a_matching_rule(server: Server, idp: ExternalIssuer) -> None:
    token = idp.token("stranger", scope="svc#other", resource=AUDIENCE)
    response = httpx.get(f"{server.url}/users/me", headers=bearer(token))
    assert (response.status_code, code(response)) == (401, "INVALID_CREDENTIALS")


def test_a_second_untrusted_provider_is_refused(
    server: Server, untrusted_idp: ExternalIssuer
) -> None:
    token = untrusted_idp.token("billing", scope="svc#read", resource=AUDIENCE)
    response = httpx.get(f"{server.url}/users/me", headers=bearer(token))
    assert (response.status_code, code(response)) == (401, "INVALID_CREDENTIALS")


def test_rotation_and_outage_at_the_provider(server: Server, idp: ExternalIssuer) -> None:
    before = idp.token("billing", scope="svc#read", resource=AUDIENCE)
    assert httpx.get(f"{server.url}/users/me", headers=bearer(before)).status_code == 200
    # The provider rotates: a new key signs, the old one is still published.
    idp.restart(keys=[rsa_jwk("k2"), rsa_jwk("k1-retired")])
    rotated = idp.token("billing", scope="svc#read", resource=AUDIENCE)
    assert json.loads(_b64(rotated.split(".")[0]))["kid"] == "k2"
    assert httpx.get(f"{server.url}/users/me", headers=bearer(rotated)).status_code == 200
    # The provider goes down: cached keys keep working, past their TTL too (a token not yet
    # seen, so it is verified again rather than found in the verified-token memo).
    unseen = idp.token("billing", scope="svc#read", resource=AUDIENCE)
    idp.stop()
    try:
        time.sleep(2.2)
        assert httpx.get(f"{server.url}/users/me", headers=bearer(unseen)).status_code == 200
        assert "cached keys" in server.log()
    finally:
        idp.start()


def test_a_suspension_by_another_process_applies_within_a_second(
    server: Server, idp: ExternalIssuer
) -> None:
    token = idp.token("billing", scope="svc#read", resource=AUDIENCE)
    assert httpx.get(f"{server.url}/users/me", headers=bearer(token)).status_code == 200
    shell(server.env, SET_STATUS.format("suspended"))
    time.sleep(1.2)
    response = httpx.get(f"{server.url}/users/me", headers=bearer(token))
    assert (response.status_code, code(response)) == (401, "INVALID_CREDENTIALS")
    shell(server.env, SET_STATUS.format("active"))


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
