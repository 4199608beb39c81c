"""Claim: a sign-in that was ended stays dead whatever the caches hold (tokens.sessions).

Every way of ending a sign-in is tried; then the caches are flooded with thousands of other
entries and emptied (what a restart does to the in-memory caches), and the old access token is
still refused while an untouched sign-in keeps working. The real-restart and second-process
versions are in test_revocation_e2e.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.bootstrap import administrator_role
from accounts.models import User, UserStatus
from tokens import sessions
from tokens.models import RefreshSession
from tokens.sessions import family_holder, forget_local_families, revoke_family

pytestmark = pytest.mark.django_db

PASSWORD = "password-123"


def sign_in(email: str, mode: str = "json") -> dict[str, Any]:
    response = APIClient().post(
        "/auth/login", {"email": email, "password": PASSWORD, "mode": mode}, format="json"
    )
    assert response.status_code == 200, response.content
    data: dict[str, Any] = response.json()["data"]
    return data


def status_with(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return int(client.get("/users/me").status_code)


def flood_and_forget() -> None:
    """Thousands of unrelated entries in every cache, then every cache and memo emptied."""
    for alias in caches:
        caches[alias].set_many({f"junk:{n}": n for n in range(5000)})
        caches[alias].clear()
    forget_local_families()


def logout(data: dict[str, Any], user: User) -> None:
    response = APIClient().post(
        "/auth/logout", {"refresh_token": data["refresh_token"]}, format="json"
    )
    assert response.status_code == 204


def logout_everywhere(data: dict[str, Any], user: User) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {data['access_token']}")
    assert client.post("/auth/logout/all").status_code in (200, 204)


def admin_revoke(data: dict[str, Any], user: User) -> None:
    family = RefreshSession.objects.filter(user=user).values_list("family", flat=True).first()
    assert family is not None
    revoke_family(family, "admin")


def set_status(status: str) -> Callable[[dict[str, Any], User], None]:
    def end(data: dict[str, Any], user: User) -> None:
        user.status = status
        user.save()

    return end


def delete(data: dict[str, Any], user: User) -> None:
    user.delete()


def change_password(data: dict[str, Any], user: User) -> None:
    user.set_password("another-password-456")
    user.save()


ENDINGS = {
    "logout": logout,
    "logout_everywhere": logout_everywhere,
    "admin_revoke": admin_revoke,
    "suspended": set_status(UserStatus.SUSPENDED),
    "archived": set_status(UserStatus.ARCHIVED),
    "deleted": delete,
    "password_changed": change_password,
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_an_ended_sign_in_stays_dead_after_a_flood_and_a_restart(
    ending: str, make_user: Any
) -> None:
    user = make_user("gone@example.com", PASSWORD, role=administrator_role())
    make_user("bystander@example.com", PASSWORD)
    ended = sign_in("gone@example.com")
    untouched = sign_in("bystander@example.com")
    assert status_with(ended["access_token"]) == 200
    ENDINGS[ending](ended, user)
    assert status_with(ended["access_token"]) == 401
    flood_and_forget()
    assert status_with(ended["access_token"]) == 401
    assert status_with(untouched["access_token"]) == 200


def test_logout_everywhere_path_exists() -> None:
    """The route used above is the real one (a 404 would make that case vacuous)."""
    assert APIClient().post("/auth/logout/all").status_code == 401


def test_a_cached_marker_is_never_trusted_for_live(make_user: Any) -> None:
    """Deleting the shared revocation marker (eviction) does not revive the family; a marker
    for a live family only refuses it (markers are added, never read as "live")."""
    make_user("gone@example.com", PASSWORD)
    data = sign_in("gone@example.com")
    logout(data, User.objects.get())
    caches["default"].delete_many(
        [
            sessions.REVOKED_FAMILY_KEY.format(f)
            for f in RefreshSession.objects.values_list("family", flat=True)
        ]
    )
    forget_local_families()
    assert status_with(data["access_token"]) == 401


def test_cost_is_one_indexed_query_per_family_per_memo_interval(
    make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user("often@example.com", PASSWORD)
    sign_in("often@example.com")
    family = str(RefreshSession.objects.get().family)
    forget_local_families()
    with CaptureQueriesContext(connection) as first:
        assert family_holder(family) is not None
    with CaptureQueriesContext(connection) as again:
        for _ in range(50):
            assert family_holder(family) is not None
    assert len(first) == 1
    assert "family" in first[0]["sql"]
    assert len(again) == 0
    # Past the memo interval the database is asked again (and says "revoked" now).
    RefreshSession.objects.update(revoked_at=RefreshSession.objects.get().created_at)
    monkeypatch.setattr(sessions, "LIVE_MEMO_SECONDS", 0.0)
    with CaptureQueriesContext(connection) as later:
        assert family_holder(family) is None
    assert len(later) == 1


def test_a_token_whose_role_is_no_longer_true_is_refused(make_user: Any, make_role: Any) -> None:
    """The backstop for changes that send no signal (a queryset update)."""
    role, _ = make_role("Editors", app_access=True)
    user = make_user("editor@example.com", PASSWORD, role=administrator_role())
    data = sign_in("editor@example.com")
    assert status_with(data["access_token"]) == 200
    User.objects.filter(pk=user.pk).update(role=role)
    forget_local_families()
    assert status_with(data["access_token"]) == 401
    assert RefreshSession.objects.filter(revoked_at__isnull=True).count() == 1  # no signal ran
