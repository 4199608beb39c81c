"""One case per attack class of docs/security.md against a real server process (SQLite here,
PostgreSQL with ``DB_CLIENT=pg``): secrets in filter/aggregate/GraphQL, sort on secrets,
search over hashes, dynamic variables through relations, and the input caps, anonymously."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import Server, base_env, manage, postgres_database

pytestmark = pytest.mark.server

ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}
READER = {"email": "reader@example.com", "password": "reader-password-1"}
TFA_SECRET = "JBSWY3DPEHPK3PXP"
SETUP = f"""
from accounts.bootstrap import public_policy
from accounts.models import Access, Permission, Policy, Role, User
from items.models import Article
role = Role.objects.create(name="User readers")
policy = Policy.objects.create(name="User readers policy")
Access.objects.create(role=role, policy=policy)
Permission.objects.create(policy=policy, collection="directus_users", action="read",
    fields="*", permissions={{"status": {{"_eq": "active"}}}})
Permission.objects.create(policy=policy, collection="articles", action="read", fields="*")
User.objects.create_user("reader@example.com", "reader-password-1", role=role)
victim = User.objects.create_user("victim@example.com", "victim-password-1", role=role)
User.objects.filter(pk=victim.pk).update(tfa_secret="{TFA_SECRET}")
Article.objects.create(title="By victim", author=victim)
for action in ("read", "create"):
    Permission.objects.create(policy=public_policy(), collection="articles", action=action,
        fields="*")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp: Path = tmp_path_factory.mktemp("query-security")
    env = base_env(tmp, LOGIN_STALL_TIME="0", WEBSOCKETS_ENABLED="false")
    env = {k: v for k, v in env.items() if not k.startswith("REDIS")}
    with postgres_database(env) as prepared:
        assert manage(prepared, "bootstrap").returncode == 0
        result = manage(prepared, "shell", "-c", textwrap.dedent(SETUP))
        assert result.returncode == 0, result.stderr
        running = Server(prepared).start(bootstrap=False)
        yield running
        running.stop()


def token(server: Server, credentials: dict[str, str]) -> str:
    response = httpx.post(f"{server.url}/auth/login", json=credentials, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["access_token"])


@pytest.fixture(scope="module")
def admin(server: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(server, ADMIN)}"}


@pytest.fixture(scope="module")
def reader(server: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(server, READER)}"}


def get(server: Server, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    started = time.monotonic()
    response = httpx.get(f"{server.url}{path}", params=params, headers=headers or {}, timeout=10)
    assert time.monotonic() - started < 1.0, (path, params)
    return response


def code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["errors"][0]["extensions"]["code"]


def test_1_secrets_are_not_filterable_aggregatable_or_graphql_arguments(server, admin, reader):
    for guess in (TFA_SECRET[:4], "ZZZZ"):
        found = get(server, "/users", reader, **{"filter[tfa_secret][_starts_with]": guess})
        assert code(found) == (403, "FORBIDDEN")
    assert code(get(server, "/users", admin, **{"filter[password][_gte]": "$"})) == (
        403,
        "FORBIDDEN",
    )
    assert code(get(server, "/users", admin, **{"aggregate[max]": "password"})) == (
        403,
        "FORBIDDEN",
    )
    query = '{ articles(filter: {author: {tfa_secret: {_starts_with: "J"}}}) { id } }'
    graphql = httpx.post(f"{server.url}/graphql", json={"query": query}, headers=admin, timeout=10)
    assert [e["extensions"]["code"] for e in graphql.json()["errors"]] == ["FORBIDDEN"]


def test_2_sort_obeys_field_permissions(server, admin, reader):
    assert code(get(server, "/items/articles", reader, sort="-author.password")) == (
        403,
        "FORBIDDEN",
    )
    assert code(get(server, "/users", admin, sort="tfa_secret")) == (403, "FORBIDDEN")


def test_3_search_never_covers_hashes_or_secrets(server, admin):
    for text in ("argon2", TFA_SECRET):
        assert get(server, "/users", admin, search=text, fields="email").json() == {"data": []}


def test_4_variables_through_relations_are_invalid_query(server, reader):
    for variable in ("$CURRENT_USER.role.users.password", "$CURRENT_USER.tfa_secret"):
        response = get(server, "/users", reader, **{"filter[email][_eq]": variable})
        assert code(response) == (400, "INVALID_QUERY")
    mine = get(server, "/users", reader, fields="email", **{"filter[id][_eq]": "$CURRENT_USER.id"})
    assert mine.json() == {"data": [{"email": "reader@example.com"}]}


def nested(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"title": {"_nnull": True}}
    for _ in range(levels - 2):
        node = {"_or": [node]}
    return node


@pytest.mark.parametrize(
    "params",
    [
        {"filter": json.dumps(nested(21))},
        {"filter": "[" * 5_000},
        {"filter": json.dumps({"_or": [{"title": {"_nnull": True}}] * 101})},
        {"filter[title]": "a", "filter[title][_eq]": "b"},
        {"offset": str(2**64)},
        {"page": str(2**64), "limit": "10"},
        {"limit": str(2**64)},
        {"filter": '{"title":{"_eq":' + "9" * 4000 + "}}"},
        {"search": "x" * 1001},
        {"filter": '{"title":{"_eq":"\\ud800"}}'},
    ],
)
def test_5_caps_answer_anonymous_callers_with_invalid_query(server, params):
    assert code(get(server, "/items/articles", None, **params)) == (400, "INVALID_QUERY")


def test_5_lone_surrogates_in_bodies_are_invalid_payload(server):
    started = time.monotonic()
    response = httpx.post(
        f"{server.url}/items/articles",
        content=b'{"title": "a\\ud800b"}',
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert time.monotonic() - started < 1.0
    assert code(response) == (400, "INVALID_PAYLOAD")
    assert get(server, "/items/articles", None, fields="title").json() == {
        "data": [{"title": "By victim"}]
    }
