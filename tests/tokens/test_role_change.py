"""Claim: changing who a user is — their role, their role being deleted, the policies attached
to them — takes effect on their live sign-ins at once (tokens.signals revokes them; the
resolver also checks the claimed role)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.bootstrap import administrator_role
from accounts.models import Access, AuthEvent, Policy, Role, User
from tokens.models import RefreshSession
from tokens.presented import session_cookie_name

pytestmark = pytest.mark.django_db

PASSWORD = "password-123"


def sign_in(email: str, mode: str) -> APIClient:
    """A client holding a json-mode bearer token, or a session cookie."""
    client = APIClient()
    response = client.post(
        "/auth/login", {"email": email, "password": PASSWORD, "mode": mode}, format="json"
    )
    assert response.status_code == 200, response.content
    if mode == "json":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['data']['access_token']}")
    else:
        assert client.cookies[session_cookie_name()].value
    return client


def is_admin(client: APIClient) -> bool:
    """An admin-only read: the list of every user (no other role here may read users)."""
    return int(client.get("/users").status_code) == 200


@pytest.fixture
def editors(make_role: Any) -> Role:
    role, _ = make_role("Editors", app_access=False)
    return role


@pytest.fixture
def boss(make_user: Any) -> APIClient:
    make_user("boss@example.com", PASSWORD, role=administrator_role())
    return sign_in("boss@example.com", "json")


@pytest.fixture
def target(make_user: Any) -> User:
    user: User = make_user("target@example.com", PASSWORD, role=administrator_role())
    return user


def test_a_demoted_admin_loses_admin_at_once(boss: APIClient, target: User, editors: Role) -> None:
    bearer, cookie = sign_in("target@example.com", "json"), sign_in("target@example.com", "session")
    assert is_admin(bearer)
    assert is_admin(cookie)
    response = boss.patch(f"/users/{target.pk}", {"role": str(editors.pk)}, format="json")
    assert response.status_code == 200, response.content
    assert not is_admin(bearer)
    assert not is_admin(cookie)
    assert bearer.get("/users/me").status_code == 401
    assert cookie.get("/users/me").status_code == 401
    assert not RefreshSession.objects.filter(user=target, revoked_at__isnull=True).exists()
    event = AuthEvent.objects.get(kind="session.revoked", user=target)
    assert event.details == {"reason": "role_changed", "sessions": 2}
    # A new sign-in gets what the user has now; the other admin was not touched.
    assert not is_admin(sign_in("target@example.com", "json"))
    assert is_admin(boss)


def test_an_unchanged_role_keeps_the_sign_in(boss: APIClient, target: User) -> None:
    bearer = sign_in("target@example.com", "json")
    boss.patch(f"/users/{target.pk}", {"first_name": "Renamed"}, format="json")
    assert is_admin(bearer)
    assert not AuthEvent.objects.filter(kind="session.revoked").exists()


def test_deleting_the_role_ends_its_users_sign_ins(make_user: Any) -> None:
    role = Role.objects.create(name="Temporary admins")
    Access.objects.create(role=role, policy=Policy.objects.create(name="P", admin_access=True))
    make_user("keeper@example.com", PASSWORD, role=administrator_role())
    user = make_user("temp@example.com", PASSWORD, role=role)
    keeper, bearer = sign_in("keeper@example.com", "json"), sign_in("temp@example.com", "json")
    assert is_admin(bearer)
    role.delete()
    assert bearer.get("/users/me").status_code == 401
    event = AuthEvent.objects.get(kind="session.revoked", user=user)
    assert event.details["reason"] == "role_deleted"
    assert is_admin(keeper)


def test_detaching_a_users_own_admin_policy_ends_their_sign_ins(
    make_user: Any, editors: Role
) -> None:
    make_user("keeper@example.com", PASSWORD, role=administrator_role())
    user = make_user("direct@example.com", PASSWORD, role=editors)
    attached = Access.objects.create(
        user=user, policy=Policy.objects.create(name="Own admin", admin_access=True)
    )
    bearer = sign_in("direct@example.com", "json")
    assert is_admin(bearer)
    attached.delete()
    assert not is_admin(bearer)
    assert bearer.get("/users/me").status_code == 401
    event = AuthEvent.objects.get(kind="session.revoked", user=user)
    assert event.details["reason"] == "policies_changed"
