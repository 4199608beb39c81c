"""``enforce_tfa``: a user any of whose policies enforces TFA, and who has no second factor, is
granted nothing but their identity until they set one up (beyond Directus, which leaves this to
its Data Studio)."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator

from accounts.accountability import accountability_for_user
from accounts.bootstrap import administrator_role
from accounts.models import Access, Policy, User
from factors import totp
from items.models import Article
from tests.support.factors import code_at
from tokens.issue import access_claims

pytestmark = pytest.mark.django_db


@pytest.fixture
def enforced(make_role, make_user, grant) -> User:
    role, policy = make_role("Enforced", app_access=True, enforce_tfa=True)
    grant(policy, "articles", "read")
    Article.objects.create(title="Visible", status="published")
    return make_user("enforced@example.com", role=role)


def test_without_a_factor_the_grants_are_empty(enforced: User) -> None:
    acc = accountability_for_user(enforced)
    assert acc.tfa_setup_required
    assert (acc.policies, acc.admin, acc.app) == ((), False, False)
    assert acc.roles == (enforced.role_id,)


def test_items_are_refused_until_totp_is_set_up_then_allowed(api, enforced: User) -> None:
    api.force_login(enforced)
    refused = api.get("/items/articles")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert api.get("/users/me").json() == {"data": {"id": str(enforced.pk)}}
    generated = api.post(
        "/users/me/tfa/generate", {"password": "password-123"}, format="json"
    ).json()["data"]
    secret = generated["secret"]
    enabled = api.post(
        "/users/me/tfa/enable", {"secret": secret, "otp": code_at(secret)}, format="json"
    )
    assert enabled.status_code == 204
    assert [a["title"] for a in api.get("/items/articles").json()["data"]] == ["Visible"]
    assert not accountability_for_user(User.objects.get(pk=enforced.pk)).tfa_setup_required


def test_removing_the_factor_narrows_the_grants_again(api, enforced: User) -> None:
    secret = totp.new_secret()
    totp.enable(enforced, secret, code_at(secret))
    api.force_login(enforced)
    assert api.get("/items/articles").status_code == 200
    totp.remove(User.objects.get(pk=enforced.pk))
    assert api.get("/items/articles").status_code == 403


def test_a_passkey_is_a_second_factor_too(api, enforced: User) -> None:
    api.force_login(enforced)
    assert api.get("/items/articles").status_code == 403
    key = Authenticator.objects.create(user=enforced, type="webauthn", data={"name": "key"})
    assert api.get("/items/articles").status_code == 200
    key.delete()
    assert api.get("/items/articles").status_code == 403


def test_a_policy_attached_to_the_user_enforces_it_too(make_user) -> None:
    user = make_user("solo@example.com", role=administrator_role())
    assert accountability_for_user(user).admin
    policy = Policy.objects.create(name="Must use TFA", enforce_tfa=True)
    Access.objects.create(user=user, policy=policy)
    acc = accountability_for_user(user)
    assert acc.tfa_setup_required
    assert not acc.admin
    assert not user.is_staff


def test_users_without_enforcement_are_untouched(make_role, make_user) -> None:
    role, _ = make_role("Plain", app_access=True)
    acc = accountability_for_user(make_user("plain@example.com", role=role))
    assert not acc.tfa_setup_required
    assert acc.app
    assert acc.policies


def test_the_access_token_says_enforce_tfa_until_a_factor_is_set_up(enforced: User) -> None:
    assert access_claims(enforced, None)["enforce_tfa"] is True
    Authenticator.objects.create(user=enforced, type="webauthn", data={})
    assert "enforce_tfa" not in access_claims(enforced, None)
