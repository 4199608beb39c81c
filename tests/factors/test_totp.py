"""factors.totp: secrets sealed at rest, otpauth URLs, codes accepted once (contract §7.9)."""

from __future__ import annotations

import importlib
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from django.apps import apps

from accounts.models import AuthEvent, ProjectSettings, User
from core.crypto import seal, unseal
from core.errors import InvalidPayload
from factors import totp
from factors.second_factor import has_second_factor, verify_code
from signin.lockout import failed_logins
from signin.reauth import disable_totp
from tests.support.factors import code_at, step_of
from tokens.sessions import SessionContext

pytestmark = pytest.mark.django_db


def stored(user: User) -> str | None:
    return User.objects.filter(pk=user.pk).values_list("tfa_secret", flat=True).get()


def test_new_secrets_are_32_base32_characters() -> None:
    secrets = {totp.new_secret() for _ in range(20)}
    assert len(secrets) == 20
    assert all(re.fullmatch(r"[A-Z2-7]{32}", s) for s in secrets)


def test_otpauth_url_names_the_project_and_the_account(person: User) -> None:
    settings = ProjectSettings.current()
    settings.project_name = "Acme & Co"
    settings.save()
    url = urlsplit(totp.otpauth_url(person, "JBSWY3DPEHPK3PXP"))
    assert (url.scheme, url.netloc) == ("otpauth", "totp")
    assert unquote(url.path) == "/Acme & Co:editor@example.com"
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert params == {
        "secret": "JBSWY3DPEHPK3PXP",
        "period": "30",
        "digits": "6",
        "algorithm": "SHA1",
        "issuer": "Acme & Co",
    }
    assert list(params) == ["secret", "period", "digits", "algorithm", "issuer"]


def test_the_label_falls_back_to_the_external_identifier_then_the_id(make_user) -> None:
    sso = User.objects.create_user(None, provider="github", external_identifier="octo")
    bare = User.objects.create_user(None, provider="github")
    assert totp.account_label(sso) == "octo"
    assert totp.account_label(bare) == f"user_{bare.pk}"


def test_enabling_stores_the_secret_sealed_never_in_clear(person: User) -> None:
    secret = totp.new_secret()
    totp.enable(person, secret, code_at(secret))
    column = stored(person)
    assert column
    assert secret not in column
    assert not re.fullmatch(r"[A-Z2-7=]+", column)
    assert unseal(column, totp.PURPOSE) == secret
    assert has_second_factor(User.objects.get(pk=person.pk))
    event = AuthEvent.objects.get(kind="factor.added")
    assert event.user_id == person.pk
    assert event.details == {"factor": "totp"}
    assert secret not in str(event.details)


def test_enabling_refuses_a_wrong_code_a_bad_secret_and_a_second_secret(person: User) -> None:
    secret = totp.new_secret()
    with pytest.raises(InvalidPayload, match='"otp" is invalid'):
        totp.enable(person, secret, "000000" if code_at(secret) != "000000" else "111111")
    with pytest.raises(InvalidPayload, match="base32"):
        totp.enable(person, "not base32!", "123456")
    with pytest.raises(InvalidPayload, match="base32"):
        totp.enable(person, "ABCDEF", "123456")  # too short
    assert stored(person) is None
    totp.enable(person, secret, code_at(secret))
    other = totp.new_secret()
    with pytest.raises(InvalidPayload, match="TFA Secret is already set for this user"):
        totp.enable(person, other, code_at(other))
    assert unseal(stored(person) or "", totp.PURPOSE) == secret


def test_a_second_process_with_a_stale_user_cannot_overwrite_the_secret(person: User) -> None:
    stale = User.objects.get(pk=person.pk)
    first = totp.new_secret()
    totp.enable(person, first, code_at(first))
    second = totp.new_secret()
    with pytest.raises(InvalidPayload, match="already set"):
        totp.enable(stale, second, code_at(second))
    assert unseal(stored(person) or "", totp.PURPOSE) == first


def test_the_enabling_code_cannot_be_used_again(person: User) -> None:
    secret = totp.new_secret()
    code = code_at(secret)
    totp.enable(person, secret, code)
    assert not verify_code(User.objects.get(pk=person.pk), code)


def test_a_code_is_accepted_once_and_only_for_a_later_step(person: User, enrol) -> None:
    secret = enrol(person)
    user = User.objects.get(pk=person.pk)
    now = code_at(secret)
    assert verify_code(user, now)
    assert not verify_code(user, now)
    assert not verify_code(User.objects.get(pk=person.pk), now)  # also from a fresh load
    assert verify_code(user, code_at(secret, +1))  # one step ahead (clock drift)
    assert not verify_code(user, code_at(secret, 0))  # now earlier than the last accepted step
    assert User.objects.get(pk=person.pk).tfa_last_step == step_of(+1)


def test_codes_two_steps_away_and_malformed_codes_are_refused(person: User, enrol) -> None:
    secret = enrol(person)
    user = User.objects.get(pk=person.pk)
    for code in (code_at(secret, -2), code_at(secret, +2), "", "12345", "abcdef", "1234567"):
        if code not in {code_at(secret, s) for s in (-1, 0, 1)}:
            assert not verify_code(user, code)
    spaced = code_at(secret)
    assert verify_code(user, f" {spaced[:3]} {spaced[3:]} ")


def test_a_secret_sealed_under_another_secret_asks_for_a_code_and_accepts_none(
    person: User, enrol, settings, caplog
) -> None:
    secret = enrol(person)
    settings.SECRET_KEY = "rotated-secret-" + "z" * 40
    user = User.objects.get(pk=person.pk)
    assert has_second_factor(user)
    assert not verify_code(user, code_at(secret))
    assert "unreadable" in caplog.text
    assert secret not in caplog.text
    totp.remove(user)
    assert stored(person) is None


def test_disabling_needs_a_right_code_and_wrong_ones_count(person: User, enrol) -> None:
    secret = enrol(person)
    user = User.objects.get(pk=person.pk)
    wrong = "000000" if code_at(secret) != "000000" else "111111"
    with pytest.raises(InvalidPayload, match='"otp" is invalid'):
        disable_totp(user, wrong, SessionContext())
    assert failed_logins(user) == 1
    disable_totp(user, code_at(secret), SessionContext())
    assert stored(person) is None
    assert not has_second_factor(user)
    event = AuthEvent.objects.get(kind="factor.removed")
    assert event.details == {"factor": "totp", "by": "self"}
    with pytest.raises(InvalidPayload, match=f'User "{user.pk}" doesn\'t have TFA enabled'):
        disable_totp(user, code_at(secret), SessionContext())


def test_an_admin_removes_a_factor_without_a_code(person: User, enrol) -> None:
    enrol(person)
    totp.remove(User.objects.get(pk=person.pk))
    assert stored(person) is None
    assert AuthEvent.objects.get(kind="factor.removed").details["by"] == "admin"
    totp.remove(User.objects.get(pk=person.pk))  # nothing left: nothing happens
    assert AuthEvent.objects.filter(kind="factor.removed").count() == 1


def test_the_migration_seals_clear_secrets_once(person: User, make_user) -> None:
    migration = importlib.import_module("accounts.migrations.0009_tfa_last_step_factor_events")
    assert migration.PURPOSE == totp.PURPOSE
    clear = pyotp.random_base32()
    already = seal("ALREADYSEALEDSECRET234", totp.PURPOSE)
    other = make_user("other@example.com")
    User.objects.filter(pk=person.pk).update(tfa_secret=clear)
    User.objects.filter(pk=other.pk).update(tfa_secret=already)
    migration.seal_plain_secrets(apps, None)
    migration.seal_plain_secrets(apps, None)
    assert unseal(stored(person) or "", totp.PURPOSE) == clear
    assert stored(other) == already
    assert verify_code(User.objects.get(pk=person.pk), pyotp.TOTP(clear).now())
    migration.open_sealed_secrets(apps, None)
    assert stored(person) == clear
