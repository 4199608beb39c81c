"""The auth-event record: rows, structured log lines, no secrets, and the read-only admin."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client, RequestFactory

from accounts.audit import is_secret_key, record_event, record_event_from_request
from accounts.models import AuthEvent, ProjectSettings, User
from core.logging import JsonFormatter, RequestContextFilter, request_id_var
from tests.support.clients import SignedInClient

pytestmark = pytest.mark.django_db

SECRETS = {
    "password": "hunter2-password",
    "refresh_token": "rt-4c1d2b9e8f7a6",
    "accessToken": "at-9f8e7d6c5b4a",
    "otp": "493817",
    "client_secret": "cs-77aa88bb",
    "token_digest": "d1g35t0000ffff",
    "api_key": "ak-5551234",
}
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6IjEifQ.c2lnbmF0dXJlLXZhbHVl"


def json_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The captured records as the LOG_STYLE=raw handler would print them."""
    formatter, stamp = JsonFormatter(), RequestContextFilter()
    lines = []
    for record in caplog.records:
        stamp.filter(record)
        lines.append(formatter.format(record))
    return [json.loads(line) for line in lines]


def test_an_event_is_a_row_and_a_json_line(
    make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user("erin@example.com")
    token = request_id_var.set("req-123")
    try:
        with caplog.at_level(logging.INFO, logger="accounts.audit"):
            event = record_event(
                "login.success",
                outcome="success",
                user=user,
                identifier="Erin@Example.com",
                ip="::ffff:203.0.113.4",
                user_agent="Mozilla/5.0",
                mode="json",
            )
            lines = json_lines(caplog)
    finally:
        request_id_var.reset(token)
    event.refresh_from_db()
    assert (event.kind, event.outcome, event.user, event.identifier) == (
        "login.success",
        "success",
        user,
        "Erin@Example.com",
    )
    assert (event.ip, event.user_agent, event.request_id) == (
        "203.0.113.4",
        "Mozilla/5.0",
        "req-123",
    )
    assert event.details == {"mode": "json"}
    assert event.created_at is not None
    (line,) = lines
    assert line["logger"] == "accounts.audit"
    assert line["msg"] == "auth event"
    assert line["level"] == "info"
    assert line["request_id"] == "req-123"
    assert line["event"] == "login.success"
    assert line["event_id"] == str(event.pk)
    assert line["outcome"] == "success"
    assert line["user_id"] == str(user.pk)
    assert line["ip"] == "203.0.113.4"
    assert line["details"] == {"mode": "json"}


def test_secrets_never_reach_the_row_or_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="accounts.audit"):
        event = record_event(
            "refresh.reuse_detected",
            outcome="failure",
            reason="rotated_token_presented",
            key_id="k-1",
            session_family="fam-1",
            headers={"Authorization": "Bearer abc.def", "Cookie": "x=1", "origin": "o"},
            presented=JWT,
            **SECRETS,
        )
        lines = json_lines(caplog)
    event.refresh_from_db()
    assert event.details == {
        "reason": "rotated_token_presented",
        "key_id": "k-1",
        "session_family": "fam-1",
        "headers": {"origin": "o"},
    }
    everything = json.dumps(lines) + json.dumps(event.details)
    for value in [*SECRETS.values(), JWT, "Bearer abc.def"]:
        assert value not in everything
    warning = next(line for line in lines if line["level"] == "warning")
    assert sorted(warning["dropped"]) == sorted(
        [*SECRETS, "presented", "headers.Authorization", "headers.Cookie"]
    )


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("new_password", True),
        ("refresh_token", True),
        ("access_token", True),
        ("accessToken", True),
        ("Authorization", True),
        ("set-cookie", True),
        ("token_digest", True),
        ("tfa_otp", True),
        ("client_secret", True),
        ("api_key", True),
        ("reason", False),
        ("key_id", False),
        ("mode", False),
        ("session_family", False),
        ("limiter", False),
    ],
)
def test_secret_key_detection(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_long_values_are_truncated() -> None:
    event = record_event(
        "login.failure", outcome="failure", identifier="x" * 300, user_agent="u" * 900
    )
    event.refresh_from_db()
    assert len(event.identifier) == 128
    assert len(event.user_agent) == 512


def test_unknown_kind_or_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="AuthEventKind"):
        record_event("login.maybe", outcome="success")
    with pytest.raises(ValueError, match="AuthOutcome"):
        record_event("logout", outcome="partial")
    assert not AuthEvent.objects.exists()


def test_from_request_fills_ip_and_user_agent(make_user: Any) -> None:
    user = make_user("frank@example.com")
    request = RequestFactory().post(
        "/auth/logout", REMOTE_ADDR="198.51.100.20", HTTP_USER_AGENT="client/1.0"
    )
    token = request_id_var.set("req-xyz")
    try:
        event = record_event_from_request("logout", request, outcome="success", user=user)
    finally:
        request_id_var.reset(token)
    assert (event.ip, event.user_agent, event.request_id, event.user) == (
        "198.51.100.20",
        "client/1.0",
        "req-xyz",
        user,
    )


def test_deleting_a_user_keeps_their_events(make_user: Any) -> None:
    user = make_user("gone@example.com")
    event = record_event("logout", outcome="success", user=user)
    user.delete()
    event.refresh_from_db()
    assert event.user is None


# --- admin --------------------------------------------------------------------------------


@pytest.fixture
def admin_client(admin_user: User) -> Client:
    client = SignedInClient()
    client.force_login(admin_user)
    return client


@pytest.fixture
def event(admin_user: User) -> AuthEvent:
    return record_event(
        "login.failure",
        outcome="failure",
        user=admin_user,
        identifier="admin@example.com",
        ip="203.0.113.77",
        reason="wrong_password",
    )


def test_event_list_renders_with_filters_and_search(admin_client: Client, event: AuthEvent):
    base = "/admin/accounts/authevent/"
    page = admin_client.get(base)
    assert page.status_code == 200
    assert b"203.0.113.77" in page.content
    assert b"Add auth event" not in page.content
    for query in ("?kind=login.failure", "?outcome=failure", "?q=203.0.113", "?q=admin@"):
        response = admin_client.get(base + query)
        assert response.status_code == 200, query
        assert b"203.0.113.77" in response.content, query
    assert b"203.0.113.77" not in admin_client.get(base + "?kind=logout").content


def test_events_are_read_only_in_the_admin(admin_client: Client, event: AuthEvent):
    url = f"/admin/accounts/authevent/{event.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"wrong_password" in page.content
    assert b'name="_save"' not in page.content
    assert admin_client.post(url, {"kind": "logout"}).status_code == 403
    assert admin_client.get("/admin/accounts/authevent/add/").status_code == 403
    delete = f"/admin/accounts/authevent/{event.pk}/delete/"
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuthEvent.objects.filter(pk=event.pk, kind="login.failure").exists()


def test_settings_admin_edits_the_single_row(admin_client: Client) -> None:
    row = ProjectSettings.current()
    base = "/admin/accounts/projectsettings/"
    assert admin_client.get(base).status_code == 200
    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    response = admin_client.post(
        f"{base}{row.pk}/change/",
        {
            "project_name": "Acme",
            "auth_login_attempts": "5",
            "auth_password_policy": "^.{12,}$",
            "public_registration_verify_email": "on",
            "public_registration_role": "",
        },
    )
    assert response.status_code == 302
    assert ProjectSettings.current().auth_login_attempts == 5
    assert ProjectSettings.current().project_name == "Acme"


def test_settings_admin_rejects_a_bad_password_policy(admin_client: Client) -> None:
    row = ProjectSettings.current()
    response = admin_client.post(
        f"/admin/accounts/projectsettings/{row.pk}/change/",
        {"project_name": "Acme", "auth_login_attempts": "", "auth_password_policy": "(["},
    )
    assert response.status_code == 200
    assert b"Not a valid regular expression" in response.content
    assert ProjectSettings.current().auth_login_attempts == 25


def test_settings_can_be_added_when_none_exists(admin_client: Client) -> None:
    assert admin_client.get("/admin/accounts/projectsettings/add/").status_code == 200
