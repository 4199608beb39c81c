"""From an identity provider's claims to a user (contract sso.md §3, §3.1): matching on
``external_identifier``, registration, verified e-mail, profile sync, and groups mapped to a
role and extra policies — every change an auth-log event."""

from __future__ import annotations

import pytest

from accounts.models import Access, AuthEvent, Policy, User
from core.config import EnvReader
from core.config.auth import load_auth
from core.errors import InvalidCredentials, InvalidProvider
from signin.sso.options import sso_options
from signin.sso.users import flatten, identity_from, user_for
from tokens.sessions import SessionContext

pytestmark = pytest.mark.django_db
CONTEXT = SessionContext(ip="192.0.2.7", user_agent="pytest")


def options(**variables: str):
    base = {"DRIVER": "openid", "CLIENT_ID": "rp", "ISSUER_URL": "https://idp.test"}
    environ = {
        "AUTH_PROVIDERS": "acme",
        **{f"AUTH_ACME_{k}": v for k, v in {**base, **variables}.items()},
    }
    (provider,) = load_auth(EnvReader(environ)).providers
    found = sso_options(provider)
    assert found.problems == ()
    return found


def claims(**extra):
    return {
        "sub": "U-42",
        "email": "ada@example.com",
        "email_verified": True,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "groups": ["staff"],
        **extra,
    }


@pytest.fixture
def roles(make_role):
    admins, _ = make_role("Admins", admin_access=True)
    staff, _ = make_role("Staff", app_access=True)
    default, _ = make_role("Default")
    return {"admins": admins, "staff": staff, "default": default}


def test_claims_are_flattened_and_identifier_defaults() -> None:
    assert flatten({"data": {"username": "x", "n": {"m": 1}}}) == {
        "data.username": "x",
        "data.n.m": 1,
    }
    identity = identity_from(claims(), options(), openid=True)
    assert identity.identifier == "U-42"
    assert (identity.first_name, identity.last_name) == ("Ada", "Lovelace")
    oauth = identity_from(
        {"data": {"username": "ada"}, "mail": "a@x.test", "roles": "a, b"},
        options(IDENTIFIER_KEY="data.username", EMAIL_KEY="mail", GROUP_CLAIM_NAME="roles"),
        openid=False,
    )
    assert (oauth.identifier, oauth.email, oauth.groups) == ("ada", "a@x.test", ("a", "b"))
    no_key = identity_from({"email": "e@x.test"}, options(), openid=False)
    assert no_key.identifier == "e@x.test"
    with pytest.raises(InvalidCredentials):
        identity_from({"name": "nobody"}, options(), openid=False)


def test_unknown_people_are_refused_without_public_registration() -> None:
    identity = identity_from(claims(), options(), openid=True)
    with pytest.raises(InvalidCredentials):
        user_for("acme", options(), identity, CONTEXT)
    assert not User.objects.filter(external_identifier="U-42").exists()
    assert AuthEvent.objects.filter(kind="login.failure", details__reason="registration_closed")


def test_an_unverified_email_is_refused_when_verification_is_required() -> None:
    opts = options(ALLOW_PUBLIC_REGISTRATION="true", REQUIRE_VERIFIED_EMAIL="true")
    identity = identity_from(claims(email_verified=False), opts, openid=True)
    with pytest.raises(InvalidCredentials):
        user_for("acme", opts, identity, CONTEXT)
    assert AuthEvent.objects.filter(details__reason="email_unverified").exists()


def test_an_email_another_account_has_is_invalid_provider(make_user) -> None:
    make_user("ada@example.com")
    opts = options(ALLOW_PUBLIC_REGISTRATION="true")
    with pytest.raises(InvalidProvider):
        user_for("acme", opts, identity_from(claims(), opts, openid=True), CONTEXT)


def test_created_with_the_mapped_role_and_policies(roles) -> None:
    extra = Policy.objects.create(name="Reporting")
    opts = options(
        ALLOW_PUBLIC_REGISTRATION="true",
        DEFAULT_ROLE_ID=str(roles["default"].pk),
        ROLE_MAPPING=f'json:{{"admins": "{roles["admins"].pk}", "staff": "{roles["staff"].pk}"}}',
        POLICY_MAPPING=f'json:{{"staff": ["{extra.pk}"]}}',
    )
    user = user_for("acme", opts, identity_from(claims(), opts, openid=True), CONTEXT)
    assert (user.provider, user.external_identifier, user.email) == (
        "acme",
        "U-42",
        "ada@example.com",
    )
    assert user.role == roles["staff"]
    assert not user.has_usable_password()
    assert set(Access.objects.filter(user=user).values_list("policy", flat=True)) == {extra.pk}
    event = AuthEvent.objects.get(kind="sso.user_created")
    assert event.user == user
    assert event.details["role"] == str(roles["staff"].pk)


def test_first_configured_group_wins_and_unmapped_gets_the_default(roles) -> None:
    opts = options(
        ALLOW_PUBLIC_REGISTRATION="true",
        DEFAULT_ROLE_ID=str(roles["default"].pk),
        ROLE_MAPPING=f'json:{{"admins": "{roles["admins"].pk}", "staff": "{roles["staff"].pk}"}}',
    )
    both = identity_from(claims(groups=["staff", "admins"]), opts, openid=True)
    assert user_for("acme", opts, both, CONTEXT).role == roles["admins"]
    nobody = identity_from(claims(sub="U-43", email="b@x.test", groups=[]), opts, openid=True)
    assert user_for("acme", opts, nobody, CONTEXT).role == roles["default"]


def test_mapping_applies_at_every_login_and_only_takes_back_its_own(roles) -> None:
    mine = Policy.objects.create(name="Mapped")
    theirs = Policy.objects.create(name="Given by an admin")
    opts = options(
        ALLOW_PUBLIC_REGISTRATION="true",
        ROLE_MAPPING=f'json:{{"admins": "{roles["admins"].pk}"}}',
        POLICY_MAPPING=f'json:{{"admins": ["{mine.pk}"]}}',
    )
    user = user_for(
        "acme", opts, identity_from(claims(groups=["admins"]), opts, openid=True), CONTEXT
    )
    Access.objects.create(user=user, policy=theirs)
    assert user.role == roles["admins"]
    demoted = user_for("acme", opts, identity_from(claims(groups=[]), opts, openid=True), CONTEXT)
    assert demoted.pk == user.pk
    assert demoted.role is None  # no default role: an IdP demotion is not ignored
    assert set(Access.objects.filter(user=user).values_list("policy", flat=True)) == {theirs.pk}
    change = AuthEvent.objects.get(kind="sso.role_changed")
    assert change.details["role_from"] == str(roles["admins"].pk)
    assert change.details["role_to"] is None
    assert change.details["policies_removed"] == [str(mine.pk)]
    again = user_for("acme", opts, identity_from(claims(groups=[]), opts, openid=True), CONTEXT)
    assert again.role is None
    assert AuthEvent.objects.filter(kind="sso.role_changed").count() == 1


def test_mapping_only_at_creation_leaves_later_logins_alone(roles) -> None:
    opts = options(
        ALLOW_PUBLIC_REGISTRATION="true",
        ROLE_MAPPING=f'json:{{"admins": "{roles["admins"].pk}"}}',
        ROLE_MAPPING_MODE="create",
    )
    user_for("acme", opts, identity_from(claims(groups=["admins"]), opts, openid=True), CONTEXT)
    later = user_for("acme", opts, identity_from(claims(groups=[]), opts, openid=True), CONTEXT)
    assert later.role == roles["admins"]


def test_matching_is_case_insensitive_and_profile_sync_is_optional(make_user) -> None:
    user = make_user("old@example.com", provider="acme", external_identifier="u-42")
    plain = options()
    found = user_for("acme", plain, identity_from(claims(), plain, openid=True), CONTEXT)
    assert found.pk == user.pk
    assert found.email == "old@example.com"
    synced = options(SYNC_USER_INFO="true")
    found = user_for("acme", synced, identity_from(claims(), synced, openid=True), CONTEXT)
    found.refresh_from_db()
    assert (found.email, found.first_name, found.last_name) == (
        "ada@example.com",
        "Ada",
        "Lovelace",
    )


def test_a_user_of_another_provider_is_found_for_the_flow_to_refuse(make_user) -> None:
    other = make_user("ada@example.com", provider="elsewhere", external_identifier="U-42")
    opts = options(ALLOW_PUBLIC_REGISTRATION="true")
    found = user_for("acme", opts, identity_from(claims(), opts, openid=True), CONTEXT)
    assert found.pk == other.pk
    assert found.provider == "elsewhere"
    assert User.objects.count() == 1
