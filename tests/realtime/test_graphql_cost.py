"""The GraphQL cost and depth limits (realtime/graphql/cost.py) against a real server, anonymously
with a public read permission: a document of hundreds of aliases of a large list is refused
before it runs, over HTTP and the socket, with ``GRAPHQL_VALIDATION``; normal queries run."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.realtime.conftest import ServerFactory
from tests.realtime.support import shell, ws_url
from tests.support.server import Server

pytestmark = pytest.mark.server

PUBLIC_READ = """
from accounts.bootstrap import public_policy
from accounts.models import Permission
from items.models import Article
Permission.objects.create(policy=public_policy(), collection="articles", action="read",
    fields="*")
Article.objects.bulk_create(Article(title=f"Bulk {i}", status="published") for i in range(120))
"""
ALIASES = "{ " + " ".join(f"a{i}: articles(limit: 100) {{ id title }}" for i in range(300)) + " }"
NORMAL = '{ articles(limit: 5, sort: ["title"]) { title } }'


@pytest.fixture(scope="module")
def server(serve: ServerFactory) -> Server:
    running = serve(
        WEBSOCKETS_GRAPHQL_AUTH="public",
        WEBSOCKETS_REST_ENABLED="false",
        GRAPHQL_QUERY_DEPTH_LIMIT="1",
    )
    shell(running.env, PUBLIC_READ)
    return running


def post(server: Server, query: str, **variables: Any) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    body = {"query": query, "variables": variables}
    response = httpx.post(f"{server.url}/graphql", json=body, timeout=30)
    return response.status_code, response.json(), time.monotonic() - started


def validation_error(body: dict[str, Any]) -> str:
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION"
    return str(error["message"])


def test_hundreds_of_aliases_of_a_large_list_are_refused_before_running(server: Server) -> None:
    status, body, elapsed = post(server, ALIASES)
    assert "10000 rows" in validation_error(body)
    assert elapsed < 1.0
    bomb = "{ " + " ".join(f"a{i}: articles {{ title }}" for i in range(2000)) + " }"
    token_status, token_body, _ = post(server, bomb)
    assert "5000 tokens" in validation_error(token_body)
    assert status == token_status  # answered as the token limit is


def test_normal_queries_and_moderate_aliases_still_run(server: Server) -> None:
    status, body, _ = post(server, NORMAL)
    assert status == 200
    assert [a["title"] for a in body["data"]["articles"]] == [
        f"Bulk {i}" for i in (0, 1, 10, 100, 101)
    ]
    fits = "{ " + " ".join(f"a{i}: articles(limit: 100) {{ id }}" for i in range(100)) + " }"
    _, body, _ = post(server, fits)  # exactly 10,000 rows: the budget
    assert "errors" not in body
    assert len(body["data"]["a99"]) == 100


def test_limits_given_as_variables_and_fragments_are_counted(server: Server) -> None:
    query = "query($n: Int) { a: articles(limit: $n) { id } b: articles(limit: $n) { id } }"
    _, body, _ = post(server, query, n=1000)
    assert "errors" not in body
    wide = (
        "query($n: Int) { "
        + " ".join(f"a{i}: articles(limit: $n) {{ id }}" for i in range(11))
        + " }"
    )
    validation_error(post(server, wide, n=1000)[1])
    fragments = (
        "query { ...A ...B } "
        "fragment A on Query { " + " ".join(f"a{i}: articles {{ id }}" for i in range(60)) + " } "
        "fragment B on Query { " + " ".join(f"b{i}: articles {{ id }}" for i in range(60)) + " }"
    )  # no limit: QUERY_LIMIT_DEFAULT (100) each, 12,000 rows
    validation_error(post(server, fragments)[1])


def test_depth_limit(server: Server) -> None:
    """``GRAPHQL_QUERY_DEPTH_LIMIT=1`` on this server: a many-to-one below a list is too deep."""
    message = validation_error(post(server, "{ articles { author { email } } }")[1])
    assert "depth" in message


def test_the_socket_refuses_the_same_document_and_goes_on(server: Server) -> None:
    protocol = [Subprotocol("graphql-transport-ws")]
    with connect(ws_url(server, "/graphql"), subprotocols=protocol) as conn:
        conn.send(json.dumps({"type": "connection_init"}))
        assert json.loads(conn.recv(timeout=5)) == {"type": "connection_ack"}
        started = time.monotonic()
        conn.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": ALIASES}}))
        refused = json.loads(conn.recv(timeout=5))
        assert time.monotonic() - started < 1.0
        assert refused["type"] == "error"
        assert refused["id"] == "1"
        assert refused["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION"
        conn.send(json.dumps({"id": "2", "type": "subscribe", "payload": {"query": NORMAL}}))
        result = json.loads(conn.recv(timeout=5))
        assert result["type"] == "next"
        assert len(result["payload"]["data"]["articles"]) == 5
