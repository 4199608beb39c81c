"""A third-party application (authlib's OAuth client) against a real server process: the code
grant with PKCE through the login and consent pages, refresh with rotation and reuse, revocation
and introspection, the password and client-credentials grants — and one identity: the OAuth
access token works on REST, the ``/websocket`` (upgrade and ``auth`` message) and GraphQL (HTTP
and ``graphql-transport-ws``), narrowed by its scopes everywhere."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from websockets.sync.client import connect

from tests.realtime.support import READER, realtime_env, shell, socket, ws_url
from tests.support.server import Server, manage, postgres_database

pytestmark = pytest.mark.server

CALLBACK = "http://127.0.0.1:9/callback"
SETUP = """
from accounts.models import Access, Permission, Policy, Role, User
from items.models import Article
role = Role.objects.create(name="Readers")
policy = Policy.objects.create(name="Readers policy", app_access=True)
Access.objects.create(role=role, policy=policy)
for action in ("read", "create"):
    Permission.objects.create(policy=policy, collection="articles", action=action, fields="*")
Permission.objects.create(policy=policy, collection="directus_users", action="read", fields="*",
    permissions={"id": {"_eq": "$CURRENT_USER"}})
User.objects.create_user("reader@example.com", "reader-password-1", role=role)
Article.objects.create(title="Visible", status="published")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp: Path = tmp_path_factory.mktemp("oauth")
    planned = Server({})
    env = realtime_env(
        tmp,
        PUBLIC_URL=planned.url,
        WEBSOCKETS_REST_AUTH="handshake",
        WEBSOCKETS_GRAPHQL_ENABLED="true",
        WEBSOCKETS_GRAPHQL_AUTH="handshake",
        OAUTH_REFRESH_GRACE_PERIOD="1s",
    )
    with postgres_database(env) as prepared:
        assert manage(prepared, "bootstrap").returncode == 0
        shell(prepared, SETUP)
        running = Server(prepared, port=planned.port).start(bootstrap=False)
        yield running
        running.stop()


def register(server: Server, *args: str) -> dict[str, str]:
    result = manage(server.env, "create_oauth_client", "--name", "Third party", *args)
    assert result.returncode == 0, result.stderr
    registered: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return registered


def sign_in_and_consent(server: Server, authorize_url: str) -> str:
    """A person in a browser: the login page, then the consent page; the callback URL."""
    with httpx.Client(base_url=server.url) as browser:
        page = browser.get(authorize_url)
        assert page.status_code == 302
        login = browser.get(page.headers["location"])
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
        assert csrf is not None
        target = urlsplit(authorize_url)
        form = {
            "csrfmiddlewaretoken": csrf.group(1),
            **READER,
            "redirect": f"{target.path}?{target.query}",
        }
        signed_in = browser.post("/login", data=form)
        assert signed_in.status_code == 302, signed_in.text
        consent = browser.get(signed_in.headers["location"])
        assert consent.status_code == 200, consent.text
        assert "items" in consent.text.lower() or "read" in consent.text.lower()
        hidden = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text)
        )
        answer = browser.post(target.path, data={**hidden, "allow": "Authorize"})
        assert answer.status_code == 302, answer.text
        location: str = answer.headers["location"]
        assert location.startswith(CALLBACK)
        return location


def items_over_socket(server: Server, token: str) -> dict[str, Any]:
    with socket(server) as ws:
        assert ws.auth(access_token=token) == {"type": "auth", "status": "ok"}
        return ws.ask({"type": "items", "collection": "articles", "action": "read"})


def graphql_over_socket(server: Server, token: str) -> dict[str, Any]:
    url = ws_url(server, "/graphql")
    with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=5) as conn:  # type: ignore[list-item]
        conn.send(json.dumps({"type": "connection_init", "payload": {"access_token": token}}))
        assert json.loads(conn.recv(timeout=5))["type"] == "connection_ack"
        query = {"query": "{ articles { title } }"}
        conn.send(json.dumps({"id": "1", "type": "subscribe", "payload": query}))
        frame: dict[str, Any] = json.loads(conn.recv(timeout=5))
        return frame


def test_code_grant_with_pkce_and_one_identity_everywhere(server: Server) -> None:
    app = register(server, "--redirect-uri", CALLBACK,
                   "--scopes", "openid profile items:read offline_access")  # fmt: skip
    base = server.url
    client = OAuth2Client(
        app["client_id"], app["client_secret"], redirect_uri=CALLBACK,
        scope="openid profile items:read offline_access", code_challenge_method="S256",
    )  # fmt: skip
    verifier = "v" * 20 + str(time.time_ns()) + "x" * 30
    url, _state = client.create_authorization_url(f"{base}/oauth/authorize", code_verifier=verifier)
    assert create_s256_code_challenge(verifier) in url
    callback = sign_in_and_consent(server, url)
    token = client.fetch_token(
        f"{base}/oauth/token", authorization_response=callback, code_verifier=verifier
    )
    access = token["access_token"]
    assert access.startswith("doa_")
    assert token["id_token"]

    # REST, narrowed: reading is in the scopes, writing is not (the role could write).
    me = httpx.get(f"{base}/users/me", headers={"Authorization": f"Bearer {access}"})
    assert me.json()["data"]["email"] == READER["email"]
    bearer = {"Authorization": f"Bearer {access}"}
    assert httpx.get(f"{base}/items/articles", headers=bearer).status_code == 200
    write = httpx.post(f"{base}/items/articles", headers=bearer, json={"title": "no"})
    assert write.status_code == 403
    # WebSocket: the auth message and the upgrade's access_token.
    assert items_over_socket(server, access)["data"][0]["title"] == "Visible"
    with socket(server, query=f"access_token={access}") as ws:
        created = ws.ask({"type": "items", "collection": "articles", "action": "create",
                          "data": {"title": "no"}})  # fmt: skip
        assert created["status"] == "error"
        assert created["error"]["code"] == "FORBIDDEN"
    # GraphQL over HTTP and over graphql-transport-ws.
    answer = httpx.post(f"{base}/graphql", headers=bearer, json={"query": "{ articles { title } }"})
    assert answer.json()["data"]["articles"][0]["title"] == "Visible"
    assert graphql_over_socket(server, access)["payload"]["data"]["articles"][0]["title"]

    # Refresh rotates; the old refresh token after the grace window revokes the family.
    first_refresh = token["refresh_token"]
    rotated = client.refresh_token(f"{base}/oauth/token", refresh_token=first_refresh)
    assert rotated["refresh_token"] != first_refresh
    new_bearer = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert httpx.get(f"{base}/users/me", headers=new_bearer).status_code == 200
    time.sleep(1.2)
    credentials = (app["client_id"], app["client_secret"])
    again = {"grant_type": "refresh_token", "refresh_token": first_refresh}
    reused = httpx.post(f"{base}/oauth/token", auth=credentials, data=again)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    dead = httpx.post(f"{base}/oauth/token", auth=(app["client_id"], app["client_secret"]),
                      data={"grant_type": "refresh_token",
                            "refresh_token": rotated["refresh_token"]})  # fmt: skip
    assert dead.json()["error"] == "invalid_grant"
    assert httpx.get(f"{base}/users/me", headers=new_bearer).status_code == 401


def test_introspection_then_revocation_ends_the_token_on_every_transport(server: Server) -> None:
    app = register(server, "--grant", "password", "--scopes", "items:read")
    base = server.url
    client = OAuth2Client(app["client_id"], app["client_secret"], scope="items:read")
    token = client.fetch_token(f"{base}/oauth/token", username=READER["email"],
                               password=READER["password"])  # fmt: skip
    access = token["access_token"]
    seen = client.introspect_token(f"{base}/oauth/introspect", token=access).json()
    assert seen["active"] is True
    assert seen["scope"] == "items:read"
    assert items_over_socket(server, access)["data"]
    assert client.revoke_token(f"{base}/oauth/revoke", token=access).status_code == 200
    assert client.introspect_token(f"{base}/oauth/introspect", token=access).json() == {
        "active": False
    }
    bearer = {"Authorization": f"Bearer {access}"}
    assert httpx.get(f"{base}/items/articles", headers=bearer).status_code == 401
    with socket(server) as ws:
        assert ws.auth(access_token=access)["status"] == "error"
    log = server.log()
    for secret in (access, app["client_secret"], READER["password"]):
        assert secret not in log


def test_client_credentials_acts_with_its_role(server: Server) -> None:
    app = register(server, "--grant", "client-credentials", "--role", "Readers",
                   "--scopes", "items:read")  # fmt: skip
    base = server.url
    client = OAuth2Client(app["client_id"], app["client_secret"])
    token = client.fetch_token(f"{base}/oauth/token", grant_type="client_credentials")
    assert "refresh_token" not in token
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(f"{base}/items/articles", headers=bearer).status_code == 200
    assert httpx.get(f"{base}/users/me", headers=bearer).status_code == 401
    assert items_over_socket(server, token["access_token"])["data"]
    wrong = OAuth2Client(app["client_id"], "not-the-secret")
    with pytest.raises(Exception, match="invalid_client"):
        wrong.fetch_token(f"{base}/oauth/token", grant_type="client_credentials")
