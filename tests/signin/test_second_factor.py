"""The second-factor step of the one sign-in flow (contract http-auth.md §7.1 step 5): TOTP codes
and recovery codes on ``POST /auth/login`` and on the socket ``auth`` message, each code once,
wrong codes counted like wrong passwords."""

from __future__ import annotations

import pytest

from accounts.models import AuthEvent, ProjectSettings, User, UserStatus
from core.errors import InvalidCredentials, InvalidOtp
from factors import recovery
from realtime.credentials import authenticate, parse_auth
from signin.drivers import provider
from signin.flow import complete_second_factor
from signin.lockout import failed_logins
from tests.support.factors import PASSWORD, code_at, enrol, person
from tokens.sessions import SessionContext

pytestmark = pytest.mark.django_db
__all__ = ["enrol", "person"]  # fixtures

SCOPE = {"type": "websocket", "headers": [], "client": ("127.0.0.1", 50000), "query_string": b""}


def login(api, **body):
    return api.post(
        "/auth/login", {"email": "editor@example.com", "password": PASSWORD, **body}, format="json"
    )


def code(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def wrong_code(secret: str) -> str:
    return next(
        c for c in ("000000", "111111") if c not in {code_at(secret, s) for s in (-1, 0, 1)}
    )


def attempts(n: int) -> None:
    settings = ProjectSettings.current()
    settings.auth_login_attempts = n
    settings.save()


def test_a_totp_code_signs_in_once(api, person, enrol) -> None:
    secret = enrol(person)
    now = code_at(secret)
    assert login(api, otp=now).status_code == 200
    replayed = login(api, otp=now)
    assert (replayed.status_code, code(replayed)) == (401, "INVALID_OTP")
    assert login(api, otp=code_at(secret, +1)).status_code == 200


def test_a_recovery_code_signs_in_once_and_only_once(api, person, enrol) -> None:
    enrol(person)
    codes = recovery.regenerate(User.objects.get(pk=person.pk))
    assert login(api, otp=codes[0].upper()).status_code == 200
    again = login(api, otp=codes[0])
    assert (again.status_code, code(again)) == (401, "INVALID_OTP")
    assert recovery.remaining(person) == 9
    assert AuthEvent.objects.filter(kind="recovery_code.used", user=person).count() == 1
    assert not any(codes[0] in str(e.details) for e in AuthEvent.objects.all())


def test_wrong_codes_lead_to_suspension_like_wrong_passwords(api, person, enrol) -> None:
    attempts(2)
    secret = enrol(person)
    for _ in range(3):
        assert code(login(api, otp=wrong_code(secret))) == "INVALID_OTP"
    assert User.objects.get(pk=person.pk).status == UserStatus.SUSPENDED
    assert code(login(api, otp=code_at(secret))) == "INVALID_CREDENTIALS"
    reasons = list(
        AuthEvent.objects.filter(kind="login.failure").values_list("details__reason", flat=True)
    )
    assert reasons.count("invalid_otp") == 2
    assert "suspended" in reasons


def test_a_right_code_resets_the_count(api, person, enrol) -> None:
    secret = enrol(person)
    login(api, otp=wrong_code(secret))
    assert failed_logins(person) == 1
    assert login(api, otp=code_at(secret)).status_code == 200
    assert failed_logins(person) == 0


def test_the_pending_step_takes_a_recovery_code_once(person, enrol) -> None:
    from factors.second_factor import verify_code

    enrol(person)
    codes = recovery.regenerate(User.objects.get(pk=person.pk))
    context = SessionContext(ip="127.0.0.1")

    def prove(user: User) -> bool:
        return verify_code(user, codes[1], context=context)

    driver = provider("default")
    issued = complete_second_factor(driver, str(person.pk), prove, "json", context)
    assert issued.access_token
    with pytest.raises(InvalidOtp):
        complete_second_factor(driver, person.pk, prove, "json", context)
    with pytest.raises(InvalidCredentials):
        complete_second_factor(driver, "not-a-uuid", prove, "json", context)


def test_the_socket_auth_message_carries_the_otp(person, enrol) -> None:
    secret = enrol(person)
    without = parse_auth({"type": "auth", "email": "editor@example.com", "password": PASSWORD})
    assert without is not None
    with pytest.raises(InvalidOtp):
        authenticate(without, SCOPE)
    request = parse_auth(
        {
            "type": "auth",
            "email": "editor@example.com",
            "password": PASSWORD,
            "otp": code_at(secret),
        }
    )
    assert request is not None
    assert request.otp not in repr(request)
    identity = authenticate(request, SCOPE)
    assert identity.accountability.user == person.pk
    with pytest.raises(InvalidOtp):  # the same code again
        authenticate(request, SCOPE)
    ignored = parse_auth(
        {"type": "auth", "email": "editor@example.com", "password": PASSWORD, "otp": 5}
    )
    assert ignored is not None
    assert ignored.otp is None
