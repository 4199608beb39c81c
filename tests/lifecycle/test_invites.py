"""``POST /users/invite`` and ``/users/invite/accept`` in-process (contract §7.10)."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from accounts.bootstrap import administrator_role
from accounts.models import AuthEvent, User, UserStatus
from lifecycle import tokens

from .conftest import PUBLIC_URL

PASSWORD = "a good passphrase 17"


def invite(api, **body):
    return api.post("/users/invite", body, format="json")


def accept(api, **body):
    return api.post("/users/invite/accept", body, format="json")


def error(response) -> dict:
    return response.json()["errors"][0]


def token_of(message) -> str:
    url = re.search(r"https?://\S+", message.body).group(0)
    return parse_qs(urlsplit(url).query)["token"][0]


@pytest.fixture
def writers(make_role):
    role, _ = make_role("Writers")
    return role


@pytest.fixture
def as_admin(api, admin_user):
    api.force_login(admin_user)
    return api


def test_anonymous_is_401_before_the_body_is_read(api, db) -> None:
    response = invite(api, email=42)
    assert (response.status_code, error(response)["extensions"]["code"]) == (
        401,
        "INVALID_CREDENTIALS",
    )


def test_without_create_permission_is_403_before_the_body_is_read(api, make_user, writers) -> None:
    api.force_login(make_user("writer@example.com", role=writers))
    for body in ({"email": 42}, {"email": "new@example.com", "role": "not-a-uuid"}, {}):
        response = invite(api, **body)
        assert (response.status_code, error(response)["extensions"]["code"]) == (403, "FORBIDDEN")
    assert not User.objects.filter(email="new@example.com").exists()


def test_admin_invites_two_addresses(as_admin, writers, outbox) -> None:
    emails = ["one@example.com", "Two@Example.com"]
    response = invite(as_admin, email=emails, role=str(writers.pk))
    assert response.status_code == 204
    users = User.objects.filter(email__in=emails)
    assert {(u.email, u.status, u.role_id, u.has_usable_password()) for u in users} == {
        (e, UserStatus.INVITED, writers.pk, False) for e in emails
    }
    messages = outbox()
    assert sorted(m.to[0] for m in messages) == sorted(emails)
    for message in messages:
        assert message.subject == "You've been invited"
        assert f"{PUBLIC_URL}/admin/accept-invite?token=" in message.body
        assert message.alternatives[0][1] == "text/html"
        assert tokens.verify(token_of(message), tokens.INVITE_SCOPE).email == message.to[0]
    assert AuthEvent.objects.filter(kind="invite.sent").count() == 2


def test_one_address_as_a_string(as_admin, writers, outbox) -> None:
    assert invite(as_admin, email="solo@example.com", role=str(writers.pk)).status_code == 204
    assert [m.to for m in outbox()] == [["solo@example.com"]]


def test_a_still_invited_user_is_mailed_again_in_the_new_role(as_admin, writers, make_role, outbox):
    editors, _ = make_role("Editors")
    invite(as_admin, email="again@example.com", role=str(writers.pk))
    assert invite(as_admin, email="again@example.com", role=str(editors.pk)).status_code == 204
    assert User.objects.get(email="again@example.com").role == editors
    assert len(outbox()) == 2


def test_an_active_user_is_left_alone(as_admin, writers, make_user, outbox) -> None:
    member = make_user("member@example.com")
    assert invite(as_admin, email="member@example.com", role=str(writers.pk)).status_code == 204
    member.refresh_from_db()
    assert (member.status, member.role) == (UserStatus.ACTIVE, None)
    assert outbox() == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"role": "r"}, '"email" is required'),
        ({"email": 42}, '"email" must be one of [string, array]'),
        ({"email": {"a": 1}}, '"email" must be one of [string, array]'),
        ({"email": []}, '"email" must contain at least 1 items'),
        ({"email": [f"u{i}@example.com" for i in range(101)]}, "less than or equal to 100 items"),
        ({"email": "not-an-email"}, '"email" must be a valid email'),
        ({"email": ["ok@example.com", "nope@"]}, '"email[1]" must be a valid email'),
        ({"email": ["ok@example.com", 7]}, '"email[1]" must be a valid email'),
        ({"email": "a@example.com"}, '"role" is required'),
        ({"email": "a@example.com", "role": "writers"}, '"role" must be a valid GUID'),
        ({"email": "a@example.com", "role": 12}, '"role" must be a valid GUID'),
        ({"email": "a@example.com", "role": str(uuid.uuid4())}, '"role" must be an existing role'),
    ],
)
def test_bad_bodies(as_admin, writers, body, reason) -> None:
    response = invite(as_admin, **body)
    assert response.status_code == 400
    assert error(response)["extensions"]["code"] == "INVALID_PAYLOAD"
    assert reason in error(response)["extensions"]["reason"]
    assert not User.objects.filter(status=UserStatus.INVITED).exists()


def test_an_invite_url_off_the_allow_list(as_admin, writers, outbox) -> None:
    url = "https://evil.example.com/invite"
    response = invite(as_admin, email="x@example.com", role=str(writers.pk), invite_url=url)
    assert response.status_code == 400
    assert error(response)["extensions"]["reason"] == f'URL "{url}" can\'t be used to invite users'
    assert not User.objects.filter(email="x@example.com").exists()
    assert outbox() == []


def test_an_invite_url_on_the_allow_list(as_admin, writers, outbox) -> None:
    url = "https://app.example.com/invite"
    assert (
        invite(as_admin, email="x@example.com", role=str(writers.pk), invite_url=url).status_code
        == 204
    )
    assert f"{url}?token=" in outbox()[0].body


def test_create_permission_limited_by_validation_applies_to_invites(
    api, make_user, make_role, grant, writers
) -> None:
    """Someone allowed to create users only in one role cannot invite into another."""
    managers, policy = make_role("Managers")
    grant(
        policy,
        "directus_users",
        "create",
        fields="email,role,status",  # privilege fields are granted by name only
        validation={"role": {"_eq": str(writers.pk)}},
    )
    grant(policy, "directus_users", "read")
    api.force_login(make_user("manager@example.com", role=managers))
    admins = administrator_role()
    response = invite(api, email="sneaky@example.com", role=str(admins.pk))
    assert response.status_code in (400, 403), response.content
    assert not User.objects.filter(email="sneaky@example.com").exists()
    assert invite(api, email="fine@example.com", role=str(writers.pk)).status_code == 204
    assert User.objects.get(email="fine@example.com").status == UserStatus.INVITED


def test_accepting_activates_the_user(as_admin, writers, outbox) -> None:
    invite(as_admin, email="new@example.com", role=str(writers.pk))
    token = token_of(outbox()[0])
    as_admin.logout()
    assert accept(as_admin, token=token, password=PASSWORD).status_code == 204
    user = User.objects.get(email="new@example.com")
    assert user.status == UserStatus.ACTIVE
    assert user.check_password(PASSWORD)
    assert AuthEvent.objects.filter(kind="invite.accepted", user=user).exists()
    signed_in = as_admin.post(
        "/auth/login", {"email": "new@example.com", "password": PASSWORD}, format="json"
    )
    assert signed_in.status_code == 200
    again = accept(as_admin, token=token, password="another passphrase 8")
    assert (again.status_code, error(again)["extensions"]["code"]) == (400, "INVALID_INVITE")
    assert error(again)["message"] == "This invite is no longer valid."


def test_the_token_works_until_accepted(api, make_user) -> None:
    User.objects.create_user("pending@example.com", status=UserStatus.INVITED)
    token = tokens.invite_token("pending@example.com")
    response = accept(api, token=token, password="123")
    assert response.status_code == 400
    assert error(response)["extensions"]["code"] == "FAILED_VALIDATION"
    assert "123" not in error(response)["message"]
    assert accept(api, token=token, password=PASSWORD).status_code == 204


def test_an_invite_for_nobody_is_invalid(api, db) -> None:
    response = accept(api, token=tokens.invite_token("ghost@example.com"), password=PASSWORD)
    assert (response.status_code, error(response)["extensions"]["code"]) == (400, "INVALID_INVITE")


def test_a_reset_token_is_no_invite_token(api, make_user) -> None:
    user = User.objects.create_user("pending@example.com", status=UserStatus.INVITED)
    response = accept(api, token=tokens.reset_token(user), password=PASSWORD)
    assert (response.status_code, error(response)["extensions"]["code"]) == (403, "FORBIDDEN")


def test_an_expired_invite(api, db) -> None:
    User.objects.create_user("late@example.com", status=UserStatus.INVITED)
    claims = {
        "email": "late@example.com",
        "scope": "invite",
        "iss": "directus",
        "exp": int(time.time()) - 1,
    }
    token = jwt.encode(claims, tokens.signing_key(), algorithm="HS256")
    response = accept(api, token=token, password=PASSWORD)
    assert (response.status_code, error(response)["extensions"]["code"]) == (401, "TOKEN_EXPIRED")


def test_a_tampered_invite(api, db) -> None:
    User.objects.create_user("late@example.com", status=UserStatus.INVITED)
    token = tokens.invite_token("late@example.com")
    response = accept(api, token=token[:-3] + "abc", password=PASSWORD)
    assert (response.status_code, error(response)["extensions"]["code"]) == (403, "INVALID_TOKEN")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"password": PASSWORD}, '"token" field is required'),
        ({"token": "x"}, '"password" field is required'),
        ({"token": "x", "password": 5}, '"password" field is required'),
    ],
)
def test_accept_bodies(api, db, body, reason) -> None:
    response = accept(api, **body)
    assert response.status_code == 400
    assert error(response)["extensions"]["reason"] == reason
