"""Sign-in limits per IP and per account, and suspension after too many failed sign-ins
(contract http-auth.md §7.1 step 3, with observed.md's "count failures only")."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from accounts.models import AuthEvent, ProjectSettings, User, UserStatus
from core.config import RateLimit
from core.errors import RequestsExceeded, ServiceUnavailable
from signin.lockout import (
    failed_logins,
    login_limits,
    note_failed_attempt,
    record_failed_login,
    reset_failed_logins,
)

pytestmark = pytest.mark.django_db


def login_limits_set(ip: RateLimit, account: RateLimit) -> Any:
    config = settings.DIRECTUS
    limits = dataclasses.replace(config.limits, login_ip=ip, login_account=account)
    return override_settings(DIRECTUS=dataclasses.replace(config, limits=limits))


def attempts(settings_row: int | None) -> None:
    row = ProjectSettings.current()
    row.auth_login_attempts = settings_row
    row.save()


@pytest.fixture
def user(make_user: Any) -> User:
    return make_user("carol@example.com")


# --- login_limits --------------------------------------------------------------------------


def test_login_limit_per_ip_counts_failures() -> None:
    with login_limits_set(RateLimit(True, 3, 60), RateLimit(True, 100, 60)):
        for n in range(3):
            login_limits("203.0.113.5", f"user{n}@example.com")
            note_failed_attempt("203.0.113.5", f"user{n}@example.com")
        with pytest.raises(RequestsExceeded) as refused:
            login_limits("203.0.113.5", "other@example.com")
        login_limits("203.0.113.6", "other@example.com")
    assert refused.value.extensions["limit"] == 3


def test_login_limit_per_account_counts_failures_ignoring_case_and_ip() -> None:
    with login_limits_set(RateLimit(True, 100, 60), RateLimit(True, 2, 60)):
        for _ in range(5):  # attempts alone (correct sign-ins) spend nothing
            login_limits("203.0.113.1", "Carol@Example.com")
        note_failed_attempt("203.0.113.1", "Carol@Example.com")
        note_failed_attempt("203.0.113.2", "carol@example.com ")
        with pytest.raises(RequestsExceeded):
            login_limits("203.0.113.3", "CAROL@EXAMPLE.COM")
        login_limits("203.0.113.3", "dave@example.com")


def test_first_refusal_of_a_window_is_recorded_once() -> None:
    with login_limits_set(RateLimit(True, 1, 60), RateLimit(True, 100, 60)):
        login_limits("203.0.113.5", "a@example.com", user_agent="curl/8")
        note_failed_attempt("203.0.113.5", "a@example.com")
        for _ in range(3):
            with pytest.raises(RequestsExceeded):
                login_limits("203.0.113.5", "a@example.com", user_agent="curl/8")
    events = list(AuthEvent.objects.filter(kind="login.locked_out"))
    assert len(events) == 1
    event = events[0]
    assert (event.outcome, event.identifier, event.ip, event.user_agent) == (
        "failure",
        "a@example.com",
        "203.0.113.5",
        "curl/8",
    )
    assert event.details == {"limiter": "login-ip", "points": 1, "duration_s": 60}


def test_login_limits_can_be_switched_off() -> None:
    with login_limits_set(RateLimit(False, 1, 60), RateLimit(False, 1, 60)):
        for _ in range(10):
            login_limits("203.0.113.5", "a@example.com")


def test_login_limits_without_an_ip_still_limit_the_account() -> None:
    with login_limits_set(RateLimit(True, 1, 60), RateLimit(True, 2, 60)):
        for _ in range(2):
            login_limits(None, "a@example.com")
            note_failed_attempt(None, "a@example.com")
        with pytest.raises(RequestsExceeded):
            login_limits(None, "a@example.com")


def test_store_failure_is_authentication_unavailable() -> None:
    broken = {
        **settings.CACHES,
        "ratelimit": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    with override_settings(CACHES=broken), pytest.raises(ServiceUnavailable) as failed:
        login_limits("203.0.113.5", "a@example.com")
    assert failed.value.message == (
        'Service "authentication" is unavailable. Rate limiter unreachable.'
    )


# --- failed sign-ins and suspension --------------------------------------------------------


def test_default_limit_is_25() -> None:
    assert ProjectSettings.current().auth_login_attempts == 25


def test_the_n_plus_first_failure_suspends(user: User) -> None:
    attempts(3)
    assert [record_failed_login(user) for _ in range(3)] == [False, False, False]
    user.refresh_from_db()
    assert user.status == UserStatus.ACTIVE
    assert failed_logins(user) == 3

    assert record_failed_login(user, ip="203.0.113.9", user_agent="ua") is True
    user.refresh_from_db()
    assert user.status == UserStatus.SUSPENDED
    assert failed_logins(user) == 0
    event = AuthEvent.objects.get(kind="user.suspended")
    assert (event.user, event.outcome, event.ip, event.user_agent) == (
        user,
        "failure",
        "203.0.113.9",
        "ua",
    )
    assert event.details == {"reason": "login_attempts", "failures": 4}


def test_a_success_in_between_resets_the_count(user: User) -> None:
    attempts(3)
    for _ in range(3):
        assert record_failed_login(user) is False
    reset_failed_logins(user)
    for _ in range(3):
        assert record_failed_login(user) is False
    user.refresh_from_db()
    assert user.status == UserStatus.ACTIVE
    assert record_failed_login(user) is True


def test_counters_are_per_user(user: User, make_user: Any) -> None:
    attempts(1)
    other = make_user("dave@example.com")
    assert record_failed_login(user) is False
    assert record_failed_login(other) is False
    assert record_failed_login(user) is True
    other.refresh_from_db()
    assert other.status == UserStatus.ACTIVE


def test_unlimited_when_attempts_is_none(user: User) -> None:
    attempts(None)
    assert not any(record_failed_login(user) for _ in range(100))
    user.refresh_from_db()
    assert user.status == UserStatus.ACTIVE
    assert failed_logins(user) == 0
    assert not AuthEvent.objects.filter(kind="user.suspended").exists()


def test_settings_changes_are_seen_at_once(user: User) -> None:
    assert ProjectSettings.current().auth_login_attempts == 25
    attempts(1)
    assert ProjectSettings.current().auth_login_attempts == 1
    assert ProjectSettings.objects.count() == 1
