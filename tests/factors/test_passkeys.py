"""Passkeys over allauth's WebAuthn: the relying party, registration, assertion as a second
factor, removal, and bad answers refused as INVALID_PAYLOAD (never a 500), driven by a software
authenticator with a real key pair (:mod:`tests.support.webauthn`)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpRequest
from django.test import RequestFactory

from accounts.models import AuthEvent, ProjectSettings, User
from core.errors import InvalidPayload
from factors import passkeys, recovery
from factors.enrolled import has_passkey
from tests.support.webauthn import SoftAuthenticator
from tokens.sessions import SessionContext

pytestmark = pytest.mark.django_db


def browser_request(host: str = "localhost") -> HttpRequest:
    request = RequestFactory().post("/", HTTP_HOST=host)
    request.session = SessionStore()
    return request


def register(request: HttpRequest, user: User, key: SoftAuthenticator, name: str = "Laptop"):
    options = passkeys.registration_options(request, user)
    return passkeys.add(request, user, name, key.create(options), SessionContext())


def sign(request: HttpRequest, user: User, key: SoftAuthenticator, **kw: str) -> bool:
    options = passkeys.authentication_options(request, user)
    return passkeys.authenticate(request, user, key.get(options, **kw))


def test_the_relying_party_is_public_urls_host(settings, person):
    settings.DIRECTUS = replace(
        settings.DIRECTUS,
        server=replace(settings.DIRECTUS.server, public_url="https://id.example.com/base"),
    )
    project = ProjectSettings.current()
    project.project_name = "Acme"
    project.save()
    options = passkeys.registration_options(browser_request("other.example.net"), person)
    assert options["publicKey"]["rp"] == {"id": "id.example.com", "name": "Acme"}
    assert options["publicKey"]["user"]["name"] == person.email


def test_with_a_relative_public_url_the_request_host_is_the_relying_party(person):
    options = passkeys.registration_options(browser_request("localhost:8055"), person)
    assert options["publicKey"]["rp"]["id"] == "localhost"


def test_a_registered_passkey_proves_the_second_factor(person):
    request, key = browser_request(), SoftAuthenticator()
    added = register(request, person, key)
    assert added.name == "Laptop"
    assert has_passkey(person)
    assert [p.name for p in passkeys.list_passkeys(person)] == ["Laptop"]
    assert sign(request, person, key)
    assert passkeys.list_passkeys(person)[0].last_used_at is not None
    event = AuthEvent.objects.get(kind="factor.added")
    assert event.details["factor"] == "passkey"


def test_an_existing_passkey_is_excluded_from_a_new_registration(person):
    request, key = browser_request(), SoftAuthenticator()
    register(request, person, key)
    options = passkeys.registration_options(request, person)
    excluded = options["publicKey"]["excludeCredentials"]
    assert [entry["id"] for entry in excluded] == [json.loads(key.get(options))["id"]]


def test_a_challenge_answers_one_attempt_only(person):
    request, key = browser_request(), SoftAuthenticator()
    register(request, person, key)
    options = passkeys.authentication_options(request, person)
    answer = key.get(options)
    assert passkeys.authenticate(request, person, answer)
    assert not passkeys.authenticate(request, person, answer)


def test_another_users_passkey_or_a_foreign_origin_is_refused(person, make_user):
    request, key = browser_request(), SoftAuthenticator()
    register(request, person, key)
    other = make_user("other@example.com")
    register(request, other, SoftAuthenticator())
    options = passkeys.authentication_options(request, other)
    assert not passkeys.authenticate(request, other, key.get(options))
    assert not sign(request, person, key, origin="https://evil.example.net")


def test_a_user_without_passkeys_is_never_proven(person):
    assert not passkeys.authenticate(
        browser_request(), person, SoftAuthenticator().get({"publicKey": {"challenge": "AAAA"}})
    )


@pytest.mark.parametrize(
    "answer",
    ["", "not json", "[]", '{"id": 1}', json.dumps({"response": {"clientDataJSON": "!!"}})],
)
def test_malformed_answers_are_invalid_payload(person, answer):
    request = browser_request()
    passkeys.registration_options(request, person)
    with pytest.raises(InvalidPayload):
        passkeys.add(request, person, "Key", answer, SessionContext())
    register(request, person, key := SoftAuthenticator())
    passkeys.authentication_options(request, person)
    assert not passkeys.authenticate(request, person, answer)
    assert sign(request, person, key)


def test_registration_needs_its_challenge(person):
    request, key = browser_request(), SoftAuthenticator()
    answer = key.create(passkeys.registration_options(request, person))
    fresh = browser_request()
    with pytest.raises(InvalidPayload):
        passkeys.add(fresh, person, "Key", answer, SessionContext())
    assert not has_passkey(person)


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
def test_a_name_is_required(person, name):
    request = browser_request()
    answer = SoftAuthenticator().create(passkeys.registration_options(request, person))
    with pytest.raises(InvalidPayload):
        passkeys.add(request, person, name, answer, SessionContext())


def test_removing_the_last_factor_deletes_the_recovery_codes(person, make_user):
    request, key = browser_request(), SoftAuthenticator()
    added = register(request, person, key)
    recovery.regenerate(person)
    assert recovery.remaining(person) == recovery.COUNT
    other = make_user("other@example.com")
    with pytest.raises(InvalidPayload):
        passkeys.remove(other, added.id, SessionContext())
    with pytest.raises(InvalidPayload):
        passkeys.remove(person, "not-a-number", SessionContext())
    passkeys.remove(person, added.id, SessionContext())
    assert not has_passkey(person)
    assert recovery.remaining(person) == 0
    removed = AuthEvent.objects.get(kind="factor.removed")
    assert removed.details == {"factor": "passkey", "name": "Laptop"}
