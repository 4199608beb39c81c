"""factors.recovery: one-time codes, stored as keyed digests, shown once, used once."""

from __future__ import annotations

import logging
import re

import pytest
from allauth.mfa.models import Authenticator

from accounts.models import AuthEvent, User
from core.errors import InvalidPayload
from factors import recovery, totp
from factors.models import RecoveryCode
from factors.second_factor import has_second_factor, verify_code

pytestmark = pytest.mark.django_db

FORMAT = re.compile(r"^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$")


def add_passkey(user: User) -> Authenticator:
    return Authenticator.objects.create(user=user, type="webauthn", data={"name": "test key"})


def test_codes_need_a_second_factor(person: User) -> None:
    with pytest.raises(InvalidPayload, match="second factor"):
        recovery.regenerate(person)
    assert not RecoveryCode.objects.exists()


def test_ten_codes_of_sixty_bits_stored_only_as_digests(person: User, enrol) -> None:
    enrol(person)
    codes = recovery.regenerate(person)
    assert len(set(codes)) == 10
    assert all(FORMAT.match(c) for c in codes)
    rows = " ".join(str(r) for r in RecoveryCode.objects.values_list("digest", flat=True))
    assert not any(c in rows or c.replace("-", "") in rows for c in codes)
    assert recovery.remaining(person) == 10
    event = AuthEvent.objects.get(kind="recovery_codes.generated")
    assert event.details == {"count": 10}


def test_a_code_works_once_in_any_case_with_or_without_dashes(person: User, enrol) -> None:
    enrol(person)
    first, second, third, *_ = recovery.regenerate(person)
    user = User.objects.get(pk=person.pk)
    assert verify_code(user, first)
    assert not verify_code(user, first)
    assert verify_code(user, f" {second.upper().replace('-', ' ')} ")
    assert verify_code(user, third.replace("-", ""))
    assert recovery.remaining(user) == 7
    used = AuthEvent.objects.filter(kind="recovery_code.used").order_by("created_at")
    assert [e.details for e in used] == [{"remaining": 9}, {"remaining": 8}, {"remaining": 7}]


def test_another_users_code_is_not_yours(person: User, make_user, enrol) -> None:
    other = make_user("other@example.com")
    enrol(person)
    enrol(other)
    theirs = recovery.regenerate(other)
    assert not verify_code(User.objects.get(pk=person.pk), theirs[0])
    assert recovery.remaining(other) == 10


def test_regenerating_replaces_every_earlier_code(person: User, enrol) -> None:
    enrol(person)
    old = recovery.regenerate(person)
    new = recovery.regenerate(person)
    user = User.objects.get(pk=person.pk)
    assert not set(old) & set(new)
    assert not verify_code(user, old[0])
    assert verify_code(user, new[0])
    assert RecoveryCode.objects.filter(user=person).count() == 10


def test_removing_the_last_factor_deletes_the_codes(person: User, enrol) -> None:
    enrol(person)
    add_passkey(person)
    codes = recovery.regenerate(person)
    totp.remove(User.objects.get(pk=person.pk))
    assert recovery.remaining(person) == 10  # the passkey is still a second factor
    Authenticator.objects.filter(user=person).delete()
    user = User.objects.get(pk=person.pk)
    assert not has_second_factor(user)
    assert recovery.remaining(user) == 0
    assert not verify_code(user, codes[0])


def test_passkey_only_users_can_have_codes(person: User) -> None:
    add_passkey(person)
    codes = recovery.regenerate(person)
    assert verify_code(User.objects.get(pk=person.pk), codes[0])


def test_no_code_reaches_the_log(person: User, enrol, caplog: pytest.LogCaptureFixture) -> None:
    enrol(person)
    caplog.set_level(logging.DEBUG)
    codes = recovery.regenerate(person)
    verify_code(User.objects.get(pk=person.pk), codes[0])
    assert not any(c in caplog.text or c.replace("-", "") in caplog.text for c in codes)
