"""Authorise before validating: a caller who may not create or update users learns nothing
about them from the error (today's attack: RECORD_NOT_UNIQUE told which e-mails exist)."""

from __future__ import annotations

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db


def code(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.mark.parametrize("email", ["admin@example.com", "nobody@example.com"])
def test_anonymous_create_answers_the_same_for_known_and_unknown_emails(api, admin_user, email):
    response = api.post("/users", {"email": email, "password": "pw-123456789"}, format="json")
    assert response.status_code == 403
    assert code(response) == "FORBIDDEN"
    assert User.objects.count() == 1


def test_anonymous_update_learns_nothing(api, admin_user, make_user):
    other = make_user("other@example.com")
    for body in ({"email": "admin@example.com"}, {"tfa_secret": "x"}, {"provider": "x"}):
        response = api.patch(f"/users/{other.pk}", body, format="json")
        assert response.status_code == 403
        assert code(response) == "FORBIDDEN"
    batch = api.patch(
        "/users", [{"id": str(other.pk), "email": "admin@example.com"}], format="json"
    )
    assert batch.status_code == 403
    other.refresh_from_db()
    assert other.email == "other@example.com"


def test_an_admin_still_gets_record_not_unique(api, admin_user):
    api.force_login(admin_user)
    response = api.post(
        "/users", {"email": "ADMIN@example.com", "password": "x" * 12}, format="json"
    )
    assert response.status_code == 400
    assert code(response) == "RECORD_NOT_UNIQUE"
