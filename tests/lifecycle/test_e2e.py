"""Reset and invitation end to end: a real server process mailing a real SMTP server.

The server runs with ``EMAIL_TRANSPORT=smtp`` against the suite's aiosmtpd sink
(:mod:`tests.support.smtp`); each link is read back from the received message and followed
over HTTP. The server's log must never hold a token or a password."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, base_env, free_port, postgres_database
from tests.support.smtp import SmtpSink, html_part, link_in, smtp_sink, token_in

pytestmark = pytest.mark.server

ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}
FIRST = "first passphrase 1"
SECOND = "second passphrase 2"
APP_RESET = "https://app.example.com/reset"


@dataclass
class Running:
    server: Server
    sink: SmtpSink

    @property
    def url(self) -> str:
        return self.server.url


def _start(tmp: Path, sink_port: int) -> Iterator[Server]:
    port = free_port()
    env = base_env(
        tmp,
        EMAIL_TRANSPORT="smtp",
        EMAIL_SMTP_HOST="127.0.0.1",
        EMAIL_SMTP_PORT=str(sink_port),
        EMAIL_SMTP_IGNORE_TLS="true",
        EMAIL_FROM="identity@example.com",
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        PASSWORD_RESET_URL_ALLOW_LIST=APP_RESET,
        USER_INVITE_URL_ALLOW_LIST="https://app.example.com/invite",
        LOG_LEVEL="info",
    )
    with postgres_database(env) as prepared:
        server = Server(prepared, port=port).start("--workers", "1")
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("lifecycle-e2e")
    with smtp_sink(tmp) as sink:
        for server in _start(tmp, sink.port):
            yield Running(server, sink)


def login(base: str, email: str, password: str) -> httpx.Response:
    return httpx.post(f"{base}/auth/login", json={"email": email, "password": password})


def admin_headers(base: str) -> dict[str, str]:
    response = login(base, **ADMIN)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def test_password_reset_end_to_end(running: Running) -> None:
    base, headers = running.url, admin_headers(running.url)
    created = httpx.post(
        f"{base}/users",
        json={"email": "reset-me@example.com", "password": FIRST},
        headers=headers,
    )
    assert created.status_code in (200, 204), created.text
    session = login(base, "reset-me@example.com", FIRST).json()["data"]

    asked = httpx.post(f"{base}/auth/password/request", json={"email": "reset-me@example.com"})
    assert asked.status_code == 204
    message = running.sink.to("reset-me@example.com")
    assert message["Subject"] == "Password Reset Request"
    assert message["From"] == "identity@example.com"
    link = link_in(message)
    assert link.startswith(f"{base}/admin/reset-password?token=")
    assert link in html_part(message)

    page = httpx.get(link)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "same-origin"

    token = token_in(message)
    done = httpx.post(f"{base}/auth/password/reset", json={"token": token, "password": SECOND})
    assert done.status_code == 204, done.text
    assert login(base, "reset-me@example.com", FIRST).status_code == 401
    assert login(base, "reset-me@example.com", SECOND).status_code == 200
    old = httpx.post(f"{base}/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert old.status_code == 401
    reused = httpx.post(f"{base}/auth/password/reset", json={"token": token, "password": FIRST})
    assert (reused.status_code, code(reused)) == (403, "FORBIDDEN")
    _log_holds_no_secret(running.server, token, FIRST, SECOND, session["refresh_token"])


def test_reset_link_to_an_allowed_app(running: Running) -> None:
    url = f"{APP_RESET}?from=mail"
    body = {"email": "admin@example.com", "reset_url": url}
    assert httpx.post(f"{running.url}/auth/password/request", json=body).status_code == 204
    assert link_in(running.sink.to("admin@example.com")).startswith(f"{url}&token=")
    refused = httpx.post(
        f"{running.url}/auth/password/request",
        json={"email": "admin@example.com", "reset_url": "https://evil.example.com/reset"},
    )
    assert (refused.status_code, code(refused)) == (400, "INVALID_PAYLOAD")


def test_invitations_end_to_end(running: Running) -> None:
    base, headers = running.url, admin_headers(running.url)
    me = httpx.get(f"{base}/users/me", params={"fields": "role"}, headers=headers)
    role = me.json()["data"]["role"]
    emails = ["first-invitee@example.com", "second-invitee@example.com"]
    sent = httpx.post(f"{base}/users/invite", json={"email": emails, "role": role}, headers=headers)
    assert sent.status_code == 204, sent.text
    tokens = []
    for number, email in enumerate(emails):
        message = running.sink.to(email)
        assert message["Subject"] == "You've been invited"
        assert link_in(message).startswith(f"{base}/admin/accept-invite?token=")
        tokens.append(token_in(message))
        password = f"invitee passphrase {number}"
        accepted = httpx.post(
            f"{base}/users/invite/accept", json={"token": tokens[-1], "password": password}
        )
        assert accepted.status_code == 204, accepted.text
        assert login(base, email, password).status_code == 200
    again = httpx.post(
        f"{base}/users/invite/accept", json={"token": tokens[0], "password": "whatever 12345"}
    )
    assert (again.status_code, code(again)) == (400, "INVALID_INVITE")
    _log_holds_no_secret(running.server, *tokens, "invitee passphrase 0", "invitee passphrase 1")


def test_smtp_down_still_answers_and_logs_the_failure(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens here
    for server in _start(tmp_path, closed):
        response = httpx.post(f"{server.url}/auth/password/request", json={"email": ADMIN["email"]})
        assert response.status_code == 204
        role = httpx.get(
            f"{server.url}/users/me", params={"fields": "role"}, headers=admin_headers(server.url)
        ).json()["data"]["role"]
        invited = httpx.post(
            f"{server.url}/users/invite",
            json={"email": "nobody-home@example.org", "role": role},
            headers=admin_headers(server.url),
        )
        assert invited.status_code == 204
        log = _wait_for_log(server, "mail not sent", count=2)
        failures = [line for line in log.splitlines() if "mail not sent" in line]
        assert all("ConnectionRefusedError" in line for line in failures)
        assert "recipient_domain=example.org" in failures[-1]
        assert not any("@" in line for line in failures)  # the domain only, never the address
        assert "token=" not in log
        assert "eyJ" not in log


def _wait_for_log(server: Server, text: str, count: int = 1, timeout: float = 30) -> str:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = server.log()
        if log.count(text) >= count:
            return log
        time.sleep(0.1)
    raise AssertionError(f"{text!r} x{count} not in the server log:\n{server.log()}")


def _log_holds_no_secret(server: Server, *secrets: str) -> None:
    log = server.log()
    assert "mail sent" in log  # the log is the real one, at info level
    for secret in secrets:
        assert secret not in log
    assert "eyJ" not in log
