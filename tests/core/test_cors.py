"""CORS on a real server: each ``CORS_ORIGIN`` form (``true``, a list, ``*``, ``false``) and
``CORS_ENABLED=false``, for simple requests and preflights (contract env.md §8, observed.md)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.server import Server, base_env, postgres_database

pytestmark = pytest.mark.server

APP = "https://app.example.com"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x"}


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def preflight(server: Server, origin: str = APP) -> httpx.Response:
    return httpx.options(f"{server.url}/auth/login", headers={"Origin": origin, **PREFLIGHT})


def simple(server: Server, origin: str | None = APP) -> httpx.Response:
    headers = {"Origin": origin} if origin else {}
    return httpx.get(f"{server.url}/server/ping", headers=headers)


StartServer = Callable[..., Server]


@pytest.fixture(scope="module")
def start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartServer]:
    """Start a server with the given ``CORS_*`` variables; all are stopped at the module's end."""
    with contextlib.ExitStack() as stack:

        def run(**cors: str) -> Server:
            env = base_env(tmp_path_factory.mktemp("cors"), **cors)
            server = Server(stack.enter_context(postgres_database(env))).start()
            stack.callback(server.stop)
            return server

        yield run


@pytest.fixture(scope="module")
def reflecting(start: StartServer) -> Server:
    return start(CORS_ENABLED="true", CORS_ORIGIN="true")


@pytest.fixture(scope="module")
def listed(start: StartServer) -> Server:
    return start(
        CORS_ENABLED="true",
        CORS_ORIGIN=f"{APP}/, http://localhost:3000",
        CORS_METHODS="GET,POST",
        CORS_ALLOWED_HEADERS="Content-Type",
        CORS_EXPOSED_HEADERS="",
        CORS_CREDENTIALS="false",
        CORS_MAX_AGE="60",
    )


@pytest.fixture(scope="module")
def anyone(start: StartServer) -> Server:
    return start(CORS_ENABLED="true", CORS_ORIGIN="*")


@pytest.fixture(scope="module")
def origin_false(start: StartServer) -> Server:
    return start(CORS_ENABLED="true", CORS_ORIGIN="false")


@pytest.fixture(scope="module")
def disabled(start: StartServer) -> Server:
    return start(CORS_ENABLED="false", CORS_ORIGIN="true")


def test_true_reflects_the_origin_with_the_documented_defaults(reflecting: Server) -> None:
    response = preflight(reflecting)
    assert response.status_code == 204
    assert response.content == b""
    assert cors_headers(response) == {
        "access-control-allow-origin": APP,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET,POST,PATCH,DELETE",
        "access-control-allow-headers": "Content-Type,Authorization",
        "access-control-expose-headers": "Content-Range",
        "access-control-max-age": "18000",
    }
    other = simple(reflecting, "http://elsewhere.test:8080")
    assert other.text == "pong"
    assert cors_headers(other) == {
        "access-control-allow-origin": "http://elsewhere.test:8080",
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "Content-Range",
    }
    assert "origin" in other.headers["vary"].lower()
    assert cors_headers(simple(reflecting, None)) == {}


def test_true_without_credentials_still_reflects(start: StartServer) -> None:
    server = start(CORS_ENABLED="true", CORS_ORIGIN="true", CORS_CREDENTIALS="false")
    assert cors_headers(simple(server)) == {
        "access-control-allow-origin": APP,
        "access-control-expose-headers": "Content-Range",
    }


def test_a_list_allows_only_its_origins_and_the_other_variables_apply(listed: Server) -> None:
    response = preflight(listed, "http://localhost:3000")
    assert response.status_code == 204
    assert cors_headers(response) == {
        "access-control-allow-origin": "http://localhost:3000",
        "access-control-allow-methods": "GET,POST",
        "access-control-allow-headers": "Content-Type",
        "access-control-max-age": "60",
    }
    # The configured trailing slash is ignored: the browser's origin has none.
    assert cors_headers(simple(listed, APP)) == {"access-control-allow-origin": APP}
    for stranger in ("https://evil.example.com", "http://localhost:3001", "null"):
        assert cors_headers(simple(listed, stranger)) == {}
        assert cors_headers(preflight(listed, stranger)) == {}


def test_star_answers_star(anyone: Server) -> None:
    response = preflight(anyone)
    assert response.status_code == 204
    headers = cors_headers(response)
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == "GET,POST,PATCH,DELETE"
    assert cors_headers(simple(anyone))["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("server_name", ["origin_false", "disabled"])
def test_false_or_disabled_sends_no_cors_headers(
    request: pytest.FixtureRequest, server_name: str
) -> None:
    server: Server = request.getfixturevalue(server_name)
    answered = preflight(server)
    assert answered.status_code != 204  # not answered as a preflight: the route answers
    assert cors_headers(answered) == {}
    response = simple(server)
    assert response.text == "pong"
    assert cors_headers(response) == {}
    assert "origin" not in response.headers.get("vary", "").lower()
