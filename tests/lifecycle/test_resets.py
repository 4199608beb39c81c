"""``POST /auth/password/request`` and ``/auth/password/reset`` in-process (contract §7.5, §7.6).

Messages go to Django's in-memory outbox (pytest-django's test backend) through the real queue
of :mod:`core.mail`; the end-to-end tests read them from a real SMTP server."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.conf import settings

from accounts.models import AuthEvent, User, UserStatus
from lifecycle import tokens
from tokens.issue import issue_tokens
from tokens.models import RefreshSession, SessionMode
from tokens.sessions import SessionContext, open_session

from .conftest import PUBLIC_URL

NEW_PASSWORD = "a fresh passphrase 42"


def request_reset(api, **body):
    return api.post("/auth/password/request", body, format="json")


def reset(api, **body):
    return api.post("/auth/password/reset", body, format="json")


def error(response) -> dict:
    return response.json()["errors"][0]


def token_of(message) -> str:
    url = re.search(r"https?://\S+", message.body).group(0)
    return parse_qs(urlsplit(url).query)["token"][0]


@pytest.fixture
def ann(make_user) -> User:
    return make_user("ann@example.com", "old password 1")


def test_a_known_address_gets_a_link(api, ann, outbox) -> None:
    response = request_reset(api, email="ANN@example.com")
    assert response.status_code == 204
    assert response.content == b""
    [message] = outbox()
    assert message.to == ["ann@example.com"]
    assert message.subject == "Password Reset Request"
    url = re.search(r"https?://\S+", message.body).group(0)
    assert url.startswith(f"{PUBLIC_URL}/admin/reset-password?token=")
    html, mime = message.alternatives[0]
    assert mime == "text/html"
    assert url.replace("&", "&amp;") in html
    assert tokens.verify(token_of(message), tokens.RESET_SCOPE).email == "ann@example.com"
    event = AuthEvent.objects.get(kind="password.reset_requested")
    assert event.user == ann


def test_unknown_inactive_and_sso_users_get_the_same_answer_in_the_same_time(
    api, make_user, outbox
) -> None:
    make_user("gone@example.com", status=UserStatus.SUSPENDED)
    make_user("sso@example.com", provider="github")
    make_user("here@example.com")
    timings = {}
    for email in ("nobody@example.com", "gone@example.com", "sso@example.com", "here@example.com"):
        started = time.monotonic()
        response = request_reset(api, email=email)
        timings[email] = time.monotonic() - started
        assert response.status_code == 204
    assert [m.to for m in outbox()] == [["here@example.com"]]
    assert all(0.5 <= t < 0.8 for t in timings.values()), timings
    assert not AuthEvent.objects.filter(
        kind="password.reset_requested", identifier="nobody@example.com"
    )


@pytest.mark.parametrize("body", [{}, {"email": 42}, {"email": None}, {"email": ["a@b.c"]}])
def test_email_must_be_a_string(api, db, body) -> None:
    response = request_reset(api, **body)
    assert response.status_code == 400
    assert error(response)["extensions"]["code"] == "INVALID_PAYLOAD"
    assert error(response)["message"] == 'Invalid payload. "email" field is required.'


def test_a_reset_url_off_the_allow_list_is_refused(api, ann, outbox) -> None:
    for url in ("https://evil.example.com/reset", "http://app.example.com/reset", "/reset"):
        response = request_reset(api, email="ann@example.com", reset_url=url)
        assert response.status_code == 400
        assert error(response)["extensions"] == {
            "reason": f'URL "{url}" can\'t be used to reset passwords',
            "code": "INVALID_PAYLOAD",
        }
    assert outbox() == []


def test_a_reset_url_on_the_allow_list_is_the_link(api, ann, outbox) -> None:
    url = "https://app.example.com/reset?lang=fr"
    assert request_reset(api, email="ann@example.com", reset_url=url).status_code == 204
    [message] = outbox()
    assert "https://app.example.com/reset?lang=fr&token=" in message.body


def test_the_reset_sets_the_password_and_ends_every_session(api, ann, outbox) -> None:
    sessions = [open_session(ann.pk, mode, SessionContext()) for mode in ("json", "session")]
    User.objects.filter(pk=ann.pk).update(failed_logins=3)
    request_reset(api, email="ann@example.com")
    token = token_of(outbox()[0])

    assert reset(api, token=token, password=NEW_PASSWORD).status_code == 204

    ann.refresh_from_db()
    assert ann.check_password(NEW_PASSWORD)
    assert not ann.check_password("old password 1")
    assert ann.failed_logins == 0
    assert not RefreshSession.objects.filter(user=ann, revoked_at__isnull=True).exists()
    assert {s.row.pk for s in sessions} <= set(
        RefreshSession.objects.filter(revoke_reason="password_reset").values_list("pk", flat=True)
    )
    assert AuthEvent.objects.filter(kind="password.reset", user=ann).exists()
    again = reset(api, token=token, password="yet another passphrase 7")
    assert again.status_code == 403
    assert error(again)["extensions"]["code"] == "FORBIDDEN"


def test_the_old_refresh_token_stops_working(api, ann, outbox) -> None:
    login = api.post(
        "/auth/login", {"email": "ann@example.com", "password": "old password 1"}, format="json"
    ).json()["data"]
    request_reset(api, email="ann@example.com")
    assert reset(api, token=token_of(outbox()[0]), password=NEW_PASSWORD).status_code == 204
    refused = api.post("/auth/refresh", {"refresh_token": login["refresh_token"]}, format="json")
    assert refused.status_code == 401
    signed_in = api.post(
        "/auth/login", {"email": "ann@example.com", "password": NEW_PASSWORD}, format="json"
    )
    assert signed_in.status_code == 200


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("3141592653589", "entirely numeric"),
        ("ann@example.com!", "too similar"),
    ],
)
def test_a_weak_password_is_refused_without_echoing_it(api, ann, password, says) -> None:
    response = reset(api, token=tokens.reset_token(ann), password=password)
    assert response.status_code == 400
    body = error(response)
    assert body["extensions"] == {
        "field": "password",
        "type": "password",
        "code": "FAILED_VALIDATION",
    }
    assert body["message"].startswith('Validation failed for field "password". ')
    assert says in body["message"]
    assert password not in response.content.decode()
    ann.refresh_from_db()
    assert ann.check_password("old password 1")


def test_the_project_policy_applies(api, ann) -> None:
    from accounts.models import ProjectSettings

    ProjectSettings.objects.update_or_create(pk=1, defaults={"auth_password_policy": "/[A-Z]/"})
    response = reset(api, token=tokens.reset_token(ann), password=NEW_PASSWORD)
    assert response.status_code == 400
    assert error(response)["extensions"]["type"] == "regex"
    assert "password policy" in error(response)["message"]
    assert (
        reset(api, token=tokens.reset_token(ann), password="A fresh passphrase 42").status_code
        == 204
    )


@pytest.mark.parametrize(
    "body", [{"password": NEW_PASSWORD}, {"token": 1, "password": NEW_PASSWORD}]
)
def test_token_is_required(api, db, body) -> None:
    response = reset(api, **body)
    assert response.status_code == 400
    assert error(response)["message"] == 'Invalid payload. "token" field is required.'


def test_password_is_required(api, ann) -> None:
    response = reset(api, token=tokens.reset_token(ann))
    assert response.status_code == 400
    assert error(response)["message"] == 'Invalid payload. "password" field is required.'


def test_an_expired_token(api, ann) -> None:
    claims = {
        "email": ann.email,
        "scope": "password-reset",
        "hash": tokens.password_fingerprint(ann),
        "iss": "directus",
        "exp": int(time.time()) - 1,
    }
    token = jwt.encode(claims, tokens.signing_key(), algorithm="HS256")
    response = reset(api, token=token, password=NEW_PASSWORD)
    assert (response.status_code, error(response)["extensions"]["code"]) == (401, "TOKEN_EXPIRED")


def test_a_tampered_token(api, ann) -> None:
    header, _, signature = tokens.reset_token(ann).split(".")
    other = tokens.reset_token(User.objects.create_user("eve@example.com", "eve password 1"))
    token = f"{header}.{other.split('.')[1]}.{signature}"
    response = reset(api, token=token, password=NEW_PASSWORD)
    assert (response.status_code, error(response)["extensions"]["code"]) == (403, "INVALID_TOKEN")


def test_an_access_token_is_no_reset_token(api, ann) -> None:
    opened = open_session(ann.pk, SessionMode.JSON, SessionContext())
    access = issue_tokens(ann, opened, None).access_token
    response = api.post(
        "/auth/password/reset", {"token": access, "password": NEW_PASSWORD}, format="json"
    )
    assert (response.status_code, error(response)["extensions"]["code"]) == (403, "INVALID_TOKEN")


def test_an_invite_token_is_no_reset_token(api, ann) -> None:
    response = reset(api, token=tokens.invite_token(ann.email), password=NEW_PASSWORD)
    assert (response.status_code, error(response)["extensions"]["code"]) == (403, "FORBIDDEN")


def test_a_suspended_user_cannot_reset(api, ann) -> None:
    token = tokens.reset_token(ann)
    User.objects.filter(pk=ann.pk).update(status=UserStatus.SUSPENDED)
    response = reset(api, token=token, password=NEW_PASSWORD)
    assert (response.status_code, error(response)["extensions"]["code"]) == (403, "FORBIDDEN")


def test_one_address_gets_at_most_three_mails_a_quarter_hour(api, ann, outbox, caplog) -> None:
    for _ in range(4):
        assert request_reset(api, email="ann@example.com").status_code == 204
    assert len(outbox()) == 3
    assert AuthEvent.objects.filter(kind="password.reset_requested").count() == 3
    [dropped] = [r for r in caplog.records if r.getMessage() == "mail not sent"]
    assert dropped.reason == "mail-recipient limit reached"
    assert dropped.recipient_domain == "example.com"
    assert "ann@example.com" not in str(vars(dropped))


def test_requests_are_limited_per_ip(api, ann, configure, one_rate_window) -> None:
    login_ip = settings.DIRECTUS.limits.login_ip
    from dataclasses import replace

    configure(limits={"login_ip": replace(login_ip, enabled=True, points=2)})
    for _ in range(2):
        assert request_reset(api, email="nobody@example.com").status_code == 204
    refused = request_reset(api, email="nobody@example.com")
    assert refused.status_code == 429
    assert error(refused)["extensions"]["code"] == "REQUESTS_EXCEEDED"
    assert reset(api, token="x", password="y").status_code == 429
    # the sign-in budget of the same address is its own
    signed_in = api.post(
        "/auth/login", {"email": "ann@example.com", "password": "old password 1"}, format="json"
    )
    assert signed_in.status_code == 200
