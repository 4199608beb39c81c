"""Requests generated from the OpenAPI schema (schemathesis) against a real server: whatever the
method, path, query or body, the answer is a client error or a success, never a 5xx.

The run is seeded and deterministic, so CI is repeatable; run the CLI by hand with more
examples (``--max-examples 200``, no seed) to search further."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import Server, base_env, postgres_database

pytestmark = pytest.mark.server

ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with postgres_database(base_env(tmp_path)) as env:
        running = Server(env).start()
        yield running
        running.stop()


def admin_key(server: Server) -> str:
    """An API key of the admin: unlike a JWT, the fuzzer's own ``/auth/logout/all`` can't end it."""
    token = httpx.post(f"{server.url}/auth/login", json=ADMIN).json()["data"]["access_token"]
    response = httpx.post(
        f"{server.url}/keys", json={"name": "fuzz"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    secret: str = response.json()["data"]["secret"]
    return secret


def with_collection(schema: dict[str, Any], collection: str) -> dict[str, Any]:
    """The schema with ``{collection}`` fixed to ``collection``: random names only reach the
    403 for unknown collections, a real one reaches the query and payload handling."""
    paths = {}
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            if isinstance(operation, dict) and "parameters" in operation:
                operation["parameters"] = [
                    p for p in operation["parameters"] if p.get("name") != "collection"
                ]
        paths[path.replace("{collection}", collection)] = operations
    return {**schema, "paths": paths}


def test_no_generated_request_gets_a_server_error(server: Server, tmp_path: Path) -> None:
    schema = httpx.get(f"{server.url}/server/specs/oas?format=json").json()
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(with_collection(schema, "articles")))
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        str(schema_file),
        "--url",
        server.url,
        "--header",
        f"Authorization: Bearer {admin_key(server)}",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "20",
        "--seed",
        "1",
        "--generation-deterministic",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
