"""Claims: failed-attempt counters live in the database, so no other traffic can evict them;
and the last admin is throttled, never suspended, by failed sign-ins (signin.lockout)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.bootstrap import administrator_role
from accounts.models import AuthEvent, ProjectSettings, User, UserStatus
from signin.lockout import failed_logins, record_failed_login

pytestmark = pytest.mark.django_db

PASSWORD = "password-123"


@pytest.fixture(autouse=True)
def _no_stall(settings: Any) -> None:
    config = django_settings.DIRECTUS
    settings.DIRECTUS = dataclasses.replace(
        config, tokens=dataclasses.replace(config.tokens, login_stall_ms=0)
    )


def attempts(allowed: int) -> None:
    row = ProjectSettings.current()
    row.auth_login_attempts = allowed
    row.save()


def sign_in(email: str, password: str, ip: str = "203.0.113.7") -> Any:
    return APIClient().post(
        "/auth/login", {"email": email, "password": password}, format="json", REMOTE_ADDR=ip
    )


def code(response: Any) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def test_junk_sign_ins_cannot_reset_another_accounts_counter(make_user: Any) -> None:
    attempts(3)
    victim = make_user("victim@example.com", PASSWORD)
    bystander = make_user("bystander@example.com", PASSWORD)
    for _ in range(3):
        assert sign_in("victim@example.com", "wrong").status_code == 401
    assert sign_in("bystander@example.com", "wrong").status_code == 401
    # A burst of junk from many addresses for many accounts: thousands of cache entries.
    for n in range(600):
        sign_in(f"junk{n}@example.net", "wrong", ip=f"198.18.{n // 250}.{n % 250 + 1}")
    for alias in caches:
        caches[alias].set_many({f"junk:{n}": n for n in range(3000)})
    victim.refresh_from_db()
    assert (victim.status, failed_logins(victim)) == (UserStatus.ACTIVE, 3)
    assert code(sign_in("victim@example.com", "wrong")) == "INVALID_CREDENTIALS"
    victim.refresh_from_db()
    assert victim.status == UserStatus.SUSPENDED
    assert AuthEvent.objects.get(kind="user.suspended").user == victim
    bystander.refresh_from_db()
    assert (bystander.status, failed_logins(bystander)) == (UserStatus.ACTIVE, 1)


def test_the_counter_survives_emptied_caches(make_user: Any) -> None:
    attempts(2)
    user = make_user("carol@example.com", PASSWORD)
    assert not record_failed_login(user)
    assert not record_failed_login(user)
    for alias in caches:
        caches[alias].clear()
    assert failed_logins(user) == 2
    assert record_failed_login(user)


def test_a_success_resets_the_stored_counter(make_user: Any) -> None:
    attempts(2)
    user = make_user("carol@example.com", PASSWORD)
    sign_in("carol@example.com", "wrong")
    sign_in("carol@example.com", "wrong")
    assert sign_in("carol@example.com", PASSWORD).status_code == 200
    assert failed_logins(user) == 0
    sign_in("carol@example.com", "wrong")
    sign_in("carol@example.com", "wrong")
    user.refresh_from_db()
    assert user.status == UserStatus.ACTIVE


# --- the last admin ------------------------------------------------------------------------


@pytest.fixture
def only_admin(make_user: Any) -> User:
    user: User = make_user("root@example.com", PASSWORD, role=administrator_role())
    return user


def test_the_last_admin_is_throttled_not_suspended(only_admin: User, make_user: Any) -> None:
    attempts(2)
    make_user("plain@example.com", PASSWORD)
    for _ in range(3):  # the third would suspend anybody else
        assert code(sign_in("root@example.com", "wrong", ip="198.51.100.1")) == (
            "INVALID_CREDENTIALS"
        )
    only_admin.refresh_from_db()
    assert only_admin.status == UserStatus.ACTIVE
    assert not AuthEvent.objects.filter(kind="user.suspended").exists()
    event = AuthEvent.objects.get(kind="login.throttled")
    assert (event.user, event.outcome, event.details["reason"]) == (
        only_admin,
        "failure",
        "last_admin",
    )
    # Refused for the rest of the per-account rate-limit window, right password or not.
    duration = django_settings.DIRECTUS.limits.login_account.duration_s
    until = only_admin.login_throttled_until
    assert until is not None
    assert timezone.now() < until <= timezone.now() + timedelta(seconds=duration)
    assert until.timestamp() % duration == 0
    refused = sign_in("root@example.com", PASSWORD)
    assert (refused.status_code, code(refused)) == (429, "REQUESTS_EXCEEDED")
    assert int(refused.headers["Retry-After"]) >= 1
    assert sign_in("root@example.com", "wrong").status_code == 429
    # Nobody else is affected, and the counter starts again.
    assert sign_in("plain@example.com", PASSWORD).status_code == 200
    assert failed_logins(only_admin) == 0
    # Once the window has passed the admin gets in.
    User.objects.filter(pk=only_admin.pk).update(
        login_throttled_until=timezone.now() - timedelta(seconds=1)
    )
    assert sign_in("root@example.com", PASSWORD).status_code == 200
    only_admin.refresh_from_db()
    assert only_admin.login_throttled_until is None


def test_an_admin_with_another_active_admin_is_suspended(only_admin: User, make_user: Any) -> None:
    attempts(1)
    make_user("second@example.com", PASSWORD, role=administrator_role())
    sign_in("root@example.com", "wrong")
    sign_in("root@example.com", "wrong")
    only_admin.refresh_from_db()
    assert only_admin.status == UserStatus.SUSPENDED
    assert not AuthEvent.objects.filter(kind="login.throttled").exists()


def test_a_suspended_other_admin_does_not_count(only_admin: User, make_user: Any) -> None:
    attempts(1)
    make_user("former@example.com", PASSWORD, role=administrator_role(), status="suspended")
    sign_in("root@example.com", "wrong")
    sign_in("root@example.com", "wrong")
    only_admin.refresh_from_db()
    assert only_admin.status == UserStatus.ACTIVE
    assert AuthEvent.objects.filter(kind="login.throttled").count() == 1
