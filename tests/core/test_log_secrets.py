"""No token or key ever reaches the server log, whatever the log style and whatever failed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.logging import JsonFormatter, PrettyFormatter, record_fields, scrub_secrets
from tests.support.server import Server, base_env, postgres_database

ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}


@pytest.mark.parametrize(
    "text",
    [
        "GET /items/articles?access_token=abc.def-ghi&limit=1",
        "Authorization: Bearer dak_0123456789abcdef",
        "token eyJhbGciOiJIUzI1NiJ9.eyJpZCI6IjEifQ.c2lnbmF0dXJl in a message",
        "refresh_token=Zm9vYmFyYmF6 rest",
    ],
)
def test_scrub_masks_tokens(text):
    scrubbed = scrub_secrets(text)
    for secret in ("abc.def-ghi", "dak_0123456789abcdef", "eyJpZCI6IjEifQ", "Zm9vYmFyYmF6"):
        assert secret not in scrubbed
    assert "[redacted]" in scrubbed


def test_extra_fields_and_exceptions_are_scrubbed():
    try:
        raise ValueError("bad token dak_secretsecretsecret")
    except ValueError:
        record = logging.LogRecord("x", logging.WARNING, "", 0, "path %s", ("?access_token=s3",), 1)
        import sys

        record.exc_info = sys.exc_info()
    record.request = "<WSGIRequest: GET '/items/a?access_token=s3cr3t'>"
    for formatter in (JsonFormatter(), PrettyFormatter()):
        line = formatter.format(record)
        assert "s3cr3t" not in line
        assert "dak_secretsecretsecret" not in line
        assert "s3" not in line.replace("s3cr3t", "")
    assert record_fields(record)["msg"] == "path ?access_token=[redacted]"


@pytest.fixture(params=["pretty", "raw"])
def server(request, tmp_path: Path) -> Iterator[Server]:
    env = base_env(tmp_path, LOG_LEVEL="info", LOG_STYLE=request.param, LOGIN_STALL_TIME="0")
    with postgres_database(env) as prepared:
        running = Server(prepared).start()
        yield running
        running.stop()


@pytest.mark.server
def test_tokens_in_failing_requests_never_reach_the_server_log(server: Server) -> None:
    tokens = httpx.post(f"{server.url}/auth/login", json=ADMIN).json()["data"]
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    fake_key = "dak_" + "k" * 40
    base = server.url
    httpx.get(f"{base}/items/nonexistent", params={"access_token": access})
    httpx.get(f"{base}/items/articles", params={"access_token": fake_key})
    httpx.get(f"{base}/items/articles", headers={"Authorization": f"Bearer {fake_key}"})
    httpx.post(f"{base}/auth/refresh", json={"refresh_token": refresh + "x"})
    httpx.post(f"{base}/auth/login", params={"access_token": access}, content=b"{bad")
    httpx.get(f"{base}/users/me", params={"access_token": access + "tampered"})
    log = server.log()
    assert "/items/nonexistent" in log  # the failures were logged ...
    for secret in (access, refresh, fake_key, access.split(".")[1]):
        assert secret not in log  # ... without the credentials
