"""Claim: the ``ldap`` driver signs people in against a real directory (Debian slapd) over plain
LDAP, StartTLS and LDAPS; creates them matched by DN with their groups mapped to roles (by role
name, or ``ROLE_MAPPING``; ``member`` or ``memberUid``); refuses a wrong password, an unknown
person and every filter metacharacter without an injection; answers a directory that is down,
slow, misconfigured or has a certificate that does not verify with a clear 503 while the local
sign-in goes on; and refuses a refresh once the entry is gone or disabled."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from io import StringIO
from typing import Any

import pytest
from django.core import checks
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuthEvent, Role, User
from core.config import EnvReader
from core.config.auth import load_auth
from signin.drivers import forget, provider
from tests.signin.sso.test_flow import enrol_totp
from tests.support.clients import SignedInClient
from tests.support.factors import code_at
from tests.support.server import free_port
from tests.support.slapd import GROUPS, PEOPLE, POSIX, READER_DN, READER_PASSWORD, Slapd, person_dn

pytestmark = [pytest.mark.django_db, pytest.mark.server]

ADA_PASSWORD = "analytical-engine-1843"
GRACE_PASSWORD = "cobol-compiler-1959"


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with Slapd(tmp_path_factory.mktemp("ldap")) as running:
        running.add_person(
            "ada", ADA_PASSWORD, mail="ada@example.test", given_name="Ada",
            surname="Lovelace", groups=["directus_admin", "directus_users"],
        )  # fmt: skip
        running.add_person(
            "grace", GRACE_PASSWORD, mail="grace@example.test", given_name="Grace",
            surname="Hopper", groups=["directus_editors"], uid_number=1001,
        )  # fmt: skip
        running.add_person("st*r(1)\\", "star-password", mail="star@example.test", uid_number=1002)
        yield running


def configure(settings: Any, directory: Slapd, **variables: str) -> None:
    environ = {
        "AUTH_PROVIDERS": "dir",
        "AUTH_DIR_DRIVER": "ldap",
        "AUTH_DIR_CLIENT_URL": directory.url,
        "AUTH_DIR_BIND_DN": READER_DN,
        "AUTH_DIR_BIND_PASSWORD": READER_PASSWORD,
        "AUTH_DIR_USER_DN": PEOPLE,
        "AUTH_DIR_USER_ATTRIBUTE": "uid",
        "AUTH_DIR_GROUP_DN": GROUPS,
        "AUTH_DIR_CLIENT__TIMEOUT": "2000",
        "AUTH_DIR_CLIENT__CONNECT_TIMEOUT": "2000",
        **{f"AUTH_DIR_{k}": v for k, v in variables.items()},
    }
    environ = {k: v for k, v in environ.items() if v != "<unset>"}
    settings.DIRECTUS = replace(settings.DIRECTUS, auth=load_auth(EnvReader(environ)))
    forget()


@pytest.fixture
def dir_provider(settings: Any, directory: Slapd) -> Slapd:
    configure(settings, directory)
    return directory


@pytest.fixture
def roles(db: Any) -> dict[str, Role]:
    return {
        name: Role.objects.create(name=name)
        for name in ("directus_admin", "directus_editors", "directus_users")
    }


def login(identifier: str, password: str, **extra: Any) -> Any:
    return APIClient().post(
        "/auth/login/dir", {"identifier": identifier, "password": password, **extra}, format="json"
    )


def code(response: Any) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def test_a_directory_sign_in_creates_the_user_with_the_group_role(
    dir_provider: Slapd, roles: dict[str, Role]
) -> None:
    response = login("ada", ADA_PASSWORD)
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert set(data) == {"access_token", "refresh_token", "expires"}
    user = User.objects.get(email="ada@example.test")
    assert user.provider == "dir"
    assert user.external_identifier == person_dn("ada")
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")
    # Two groups name roles: the first by name wins.
    assert user.role_id == roles["directus_admin"].pk
    assert not user.has_usable_password()
    me = APIClient().get("/users/me", HTTP_AUTHORIZATION=f"Bearer {data['access_token']}")
    assert me.status_code == 200
    assert me.json()["data"]["id"] == str(user.pk)
    assert AuthEvent.objects.filter(kind="sso.user_created", details__provider="dir").count() == 1
    # Again: the same user, not a second one.
    assert login("ADA", ADA_PASSWORD).status_code == 200
    assert User.objects.filter(provider="dir").count() == 1


def test_cookie_and_session_modes(dir_provider: Slapd, roles: dict[str, Role]) -> None:
    cookie = login("grace", GRACE_PASSWORD, mode="cookie")
    assert cookie.status_code == 200
    assert "refresh_token" not in cookie.json()["data"]
    assert cookie.cookies["directus_refresh_token"].value
    session = login("grace", GRACE_PASSWORD, mode="session")
    assert session.status_code == 200
    assert session.cookies["directus_session_token"].value


def test_wrong_password_and_unknown_person(dir_provider: Slapd, roles: dict[str, Role]) -> None:
    assert login("grace", GRACE_PASSWORD).status_code == 200
    wrong = login("grace", "not-it")
    assert (wrong.status_code, code(wrong)) == (401, "INVALID_CREDENTIALS")
    grace = User.objects.get(email="grace@example.test")
    assert AuthEvent.objects.filter(user=grace, kind="login.failure").exists()
    unknown = login("nobody", "whatever")
    assert (unknown.status_code, code(unknown)) == (401, "INVALID_CREDENTIALS")
    empty = login("grace", "")
    assert empty.status_code in (400, 401)
    assert User.objects.filter(provider="dir").count() == 1


@pytest.mark.parametrize(
    "identifier", ["*", "a*", "ada)(uid=*", "*)(|(uid=*", "ada\\", "gr(ace", "ad\x00a", "st*"]
)
def test_filter_metacharacters_never_match_someone_else(
    dir_provider: Slapd, roles: dict[str, Role], identifier: str
) -> None:
    for password in (ADA_PASSWORD, GRACE_PASSWORD, "star-password"):
        response = login(identifier, password)
        assert response.status_code in (400, 401), (identifier, response.content)
    assert not User.objects.filter(provider="dir").exists()


def test_metacharacters_are_matched_literally(dir_provider: Slapd, roles: dict[str, Role]) -> None:
    response = login("st*r(1)\\", "star-password")
    assert response.status_code == 200, response.content
    assert User.objects.get(provider="dir").email == "star@example.test"


def test_member_uid_groups_and_an_explicit_mapping(
    settings: Any, directory: Slapd, roles: dict[str, Role]
) -> None:
    configure(settings, directory, GROUP_DN=POSIX, GROUP_ATTRIBUTE="memberUid")
    assert login("grace", GRACE_PASSWORD).status_code == 200
    grace = User.objects.get(email="grace@example.test")
    assert grace.role_id == roles["directus_editors"].pk
    mapping = {"directus_users": str(roles["directus_users"].pk)}
    configure(settings, directory, ROLE_MAPPING=f"json:{json.dumps(mapping)}")
    assert login("ada", ADA_PASSWORD).status_code == 200
    assert User.objects.get(email="ada@example.test").role_id == roles["directus_users"].pk
    # Grace's groups are not in the mapping: the default role (none) at her next sign-in.
    assert login("grace", GRACE_PASSWORD).status_code == 200
    grace.refresh_from_db()
    assert grace.role_id is None


def test_a_group_change_changes_the_role_at_next_sign_in(
    dir_provider: Slapd, roles: dict[str, Role]
) -> None:
    assert login("grace", GRACE_PASSWORD).status_code == 200
    dir_provider.join("grace", "directus_admin")
    try:
        assert login("grace", GRACE_PASSWORD).status_code == 200
        grace = User.objects.get(email="grace@example.test")
        assert grace.role_id == roles["directus_admin"].pk
        assert AuthEvent.objects.filter(user=grace, kind="sso.role_changed").exists()
    finally:
        dir_provider.leave("grace", "directus_admin")


def test_starttls_and_ldaps_with_the_ca(
    settings: Any, directory: Slapd, roles: dict[str, Role]
) -> None:
    configure(settings, directory, START_TLS="true", TLS_CA_FILE=str(directory.ca_file))
    assert login("ada", ADA_PASSWORD).status_code == 200
    configure(
        settings, directory, CLIENT_URL=directory.ldaps_url, TLS_CA_FILE=str(directory.ca_file)
    )
    assert login("ada", ADA_PASSWORD).status_code == 200


@pytest.mark.parametrize("case", ["other-ca", "wrong-host", "starttls-other-ca"])
def test_a_certificate_that_does_not_verify_is_refused(
    settings: Any, directory: Slapd, roles: dict[str, Role], case: str
) -> None:
    if case == "other-ca":
        configure(settings, directory, CLIENT_URL=directory.ldaps_url,
                  TLS_CA_FILE=str(directory.other_ca_file))  # fmt: skip
    elif case == "wrong-host":  # the certificate names 127.0.0.1 only
        configure(settings, directory, TLS_CA_FILE=str(directory.ca_file),
                  CLIENT_URL=f"ldaps://localhost:{directory.ldaps_port}")  # fmt: skip
    else:
        configure(settings, directory, START_TLS="true", TLS_CA_FILE=str(directory.other_ca_file))
    response = login("ada", ADA_PASSWORD)
    assert (response.status_code, code(response)) == (503, "SERVICE_UNAVAILABLE"), response.content
    assert not User.objects.filter(provider="dir").exists()


def test_a_directory_that_is_down_or_slow_is_503_and_local_sign_in_goes_on(
    settings: Any, directory: Slapd, roles: dict[str, Role], admin_user: User
) -> None:
    configure(settings, directory, CLIENT_URL=f"ldap://127.0.0.1:{free_port()}")
    down = login("ada", ADA_PASSWORD)
    assert (down.status_code, code(down)) == (503, "SERVICE_UNAVAILABLE")
    local = APIClient().post(
        "/auth/login", {"email": "admin@example.com", "password": "admin-password-1"}, format="json"
    )
    assert local.status_code == 200
    configure(settings, directory, CLIENT__TIMEOUT="1000", CLIENT__CONNECT_TIMEOUT="1000")
    directory.pause()
    try:
        began = time.monotonic()
        slow = login("ada", ADA_PASSWORD)
        waited = time.monotonic() - began
    finally:
        directory.resume()
    assert (slow.status_code, code(slow)) == (503, "SERVICE_UNAVAILABLE"), slow.content
    assert waited < 10  # bounded by the client timeouts, not by the directory
    assert login("ada", ADA_PASSWORD).status_code == 200


def test_a_service_account_the_directory_refuses(
    settings: Any, directory: Slapd, roles: dict[str, Role]
) -> None:
    configure(settings, directory, BIND_PASSWORD="wrong-service-password")
    response = login("ada", ADA_PASSWORD)
    assert (response.status_code, code(response)) == (503, "INVALID_PROVIDER_CONFIG")
    assert READER_PASSWORD not in response.content.decode()


def test_a_refresh_is_refused_once_the_entry_is_disabled_or_gone(
    dir_provider: Slapd, roles: dict[str, Role]
) -> None:
    dn = dir_provider.add_person("lin", "lin-password-123", mail="lin@example.test",
                                 uid_number=1003)  # fmt: skip
    try:
        tokens = login("lin", "lin-password-123").json()["data"]
        again = APIClient().post("/auth/refresh", {"refresh_token": tokens["refresh_token"]},
                                 format="json")  # fmt: skip
        assert again.status_code == 200, again.content
        dir_provider.modify(dn, "userAccountControl", ["514"])  # 0x200 | 0x2: disabled
        refused = APIClient().post(
            "/auth/refresh",
            {"refresh_token": again.json()["data"]["refresh_token"]},
            format="json",
        )
        assert (refused.status_code, code(refused)) == (401, "INVALID_CREDENTIALS")
        dir_provider.modify(dn, "userAccountControl", None)
        fresh = login("lin", "lin-password-123").json()["data"]
        dir_provider.delete(dn)
        gone = APIClient().post("/auth/refresh", {"refresh_token": fresh["refresh_token"]},
                                format="json")  # fmt: skip
        assert (gone.status_code, code(gone)) == (401, "INVALID_CREDENTIALS")
    finally:
        if dir_provider._exists(dn):
            dir_provider.delete(dn)


def test_missing_settings_stop_start_up(settings: Any, directory: Slapd) -> None:
    configure(settings, directory, USER_DN="<unset>", BIND_PASSWORD="<unset>",
              USER_SCOPE="everything", MAIL_ATTRIBUTE="mail)(x")  # fmt: skip
    problems = [m.msg for m in provider("dir").check() if m.level >= checks.ERROR]
    assert any("AUTH_DIR_USER_DN is required" in p for p in problems), problems
    assert any("AUTH_DIR_BIND_PASSWORD is required" in p for p in problems), problems
    assert any("AUTH_DIR_USER_SCOPE" in p for p in problems), problems
    assert any("AUTH_DIR_MAIL_ATTRIBUTE" in p for p in problems), problems


def test_no_secret_reaches_the_log(
    dir_provider: Slapd, roles: dict[str, Role], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    login("ada", ADA_PASSWORD)
    login("ada", "a-wrong-password-xyz")
    text = caplog.text
    for secret in (ADA_PASSWORD, "a-wrong-password-xyz", READER_PASSWORD):
        assert secret not in text


def test_a_directory_user_with_a_second_factor_needs_the_code(
    dir_provider: Slapd, roles: dict[str, Role]
) -> None:
    assert login("ada", ADA_PASSWORD).status_code == 200
    secret = enrol_totp(User.objects.get(email="ada@example.test"))
    without = login("ada", ADA_PASSWORD)
    assert (without.status_code, code(without)) == (401, "INVALID_OTP")
    wrong_password = login("ada", "nope-nope", otp=code_at(secret))
    assert (wrong_password.status_code, code(wrong_password)) == (401, "INVALID_CREDENTIALS")
    assert login("ada", ADA_PASSWORD, otp=code_at(secret)).status_code == 200


def sync(*args: str) -> str:
    out = StringIO()
    call_command("sync_directory", *args, stdout=out)
    return out.getvalue()


def test_the_directory_sync_updates_roles_and_suspends_those_who_left(
    dir_provider: Slapd, roles: dict[str, Role]
) -> None:
    dn = dir_provider.add_person("kim", "kim-password-123", mail="kim@example.test",
                                 groups=["directus_users"], uid_number=1004)  # fmt: skip
    try:
        assert login("kim", "kim-password-123").status_code == 200
        assert login("grace", GRACE_PASSWORD).status_code == 200
        kim = User.objects.get(email="kim@example.test")
        assert kim.role_id == roles["directus_users"].pk
        assert sync() == "dir: changed 0 user(s).\n"

        dir_provider.join("kim", "directus_editors")
        dry = sync("--dry-run")
        assert "directus_users → directus_editors" in dry
        assert "would change 1 user(s)" in dry
        kim.refresh_from_db()
        assert kim.role_id == roles["directus_users"].pk  # a dry run changes nothing

        tokens = login("kim", "kim-password-123").json()["data"]  # now an editor
        dir_provider.leave("kim", "directus_editors")
        dir_provider.join("kim", "directus_admin")
        report = sync("--provider", "dir")
        assert f"dir: {dn}: role directus_editors → directus_admin" in report
        kim.refresh_from_db()
        assert kim.role_id == roles["directus_admin"].pk
        assert AuthEvent.objects.filter(user=kim, kind="sso.role_changed").exists()
        # The role change ended Kim's sessions.
        refresh = APIClient().post("/auth/refresh", {"refresh_token": tokens["refresh_token"]},
                                   format="json")  # fmt: skip
        assert refresh.status_code == 401

        dir_provider.delete(dn)
        report = sync()
        assert f"dir: {dn}: left the directory, suspended" in report
        kim.refresh_from_db()
        assert kim.status == "suspended"
        assert AuthEvent.objects.filter(user=kim, kind="directory.sync").exists()
        # Grace, still in the directory and unchanged, was left alone.
        assert User.objects.get(email="grace@example.test").status == "active"
        assert sync() == "dir: changed 0 user(s).\n"
    finally:
        if dir_provider._exists(dn):
            dir_provider.delete(dn)


def test_the_sync_fails_loudly_when_the_directory_is_down(
    settings: Any, directory: Slapd, roles: dict[str, Role]
) -> None:
    configure(settings, directory)
    assert login("grace", GRACE_PASSWORD).status_code == 200
    configure(settings, directory, CLIENT_URL=f"ldap://127.0.0.1:{free_port()}")
    err = StringIO()
    with pytest.raises(CommandError, match="Could not read the directory of: dir"):
        call_command("sync_directory", stdout=StringIO(), stderr=err)
    assert "SERVICE_UNAVAILABLE" in err.getvalue() or "unavailable" in err.getvalue()
    assert User.objects.get(email="grace@example.test").status == "active"


def test_the_admin_action_syncs_the_selected_users(
    dir_provider: Slapd, roles: dict[str, Role], admin_user: User
) -> None:
    assert login("grace", GRACE_PASSWORD).status_code == 200
    grace = User.objects.get(email="grace@example.test")
    dir_provider.join("grace", "directus_admin")
    try:
        site = SignedInClient()
        site.force_login(admin_user)
        response = site.post(
            "/admin/accounts/user/",
            {
                "action": "sync_from_directory",
                "_selected_action": [str(grace.pk), str(admin_user.pk)],
            },
            follow=True,
        )
        page = response.content.decode()
        assert "directus_editors → directus_admin" in page
        assert "1 user(s) not of a directory were left alone" in page
        grace.refresh_from_db()
        assert grace.role_id == roles["directus_admin"].pk
    finally:
        dir_provider.leave("grace", "directus_admin")


def page_post(browser: Client, path: str, data: dict[str, str]) -> Any:
    page = browser.get(path)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match is not None
    return browser.post(path, {**data, "csrfmiddlewaretoken": match.group(1)})


def test_the_login_page_signs_directory_people_in(
    settings: Any, dir_provider: Slapd, roles: dict[str, Role]
) -> None:
    configure(settings, dir_provider, LABEL="Company directory")
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/login").content.decode()
    assert "Sign in with Company directory" in page
    assert 'name="provider" value="dir"' in page
    wrong = page_post(browser, "/login", {"provider": "dir", "identifier": "grace",
                                          "password": "nope"})  # fmt: skip
    assert wrong.status_code == 401
    assert 'value="grace"' in wrong.content.decode()  # the name typed is kept
    form = {"provider": "dir", "identifier": "grace", "password": GRACE_PASSWORD}
    done = page_post(browser, "/login", {**form, "redirect": "/account"})
    assert (done.status_code, done["Location"]) == (302, "/account")
    assert "grace@example.test" in browser.get("/account").content.decode()


def test_the_login_page_asks_directory_people_for_their_second_factor(
    dir_provider: Slapd, roles: dict[str, Role]
) -> None:
    assert login("ada", ADA_PASSWORD).status_code == 200
    secret = enrol_totp(User.objects.get(email="ada@example.test"))
    browser = Client(enforce_csrf_checks=True)
    first = page_post(browser, "/login", {"provider": "dir", "identifier": "ada",
                                          "password": ADA_PASSWORD})  # fmt: skip
    assert first.status_code == 302
    second = page_post(browser, first["Location"], {"code": code_at(secret)})
    assert second.status_code == 302, second.content.decode()[:2000]
    assert "ada@example.test" in browser.get("/account").content.decode()


def test_the_login_page_says_when_the_directory_is_down(
    settings: Any, directory: Slapd, roles: dict[str, Role]
) -> None:
    configure(settings, directory, CLIENT_URL=f"ldap://127.0.0.1:{free_port()}")
    browser = Client(enforce_csrf_checks=True)
    down = page_post(browser, "/login", {"provider": "dir", "identifier": "ada",
                                         "password": ADA_PASSWORD})  # fmt: skip
    assert down.status_code == 503
    assert "not answering" in down.content.decode()


def test_a_directory_link_must_name_an_ldap_provider(settings: Any, directory: Slapd) -> None:
    from signin.checks import check_providers

    portal = {
        "AUTH_PORTAL_DRIVER": "openid",
        "AUTH_PORTAL_CLIENT_ID": "directus",
        "AUTH_PORTAL_ISSUER_URL": "https://portal.example.test",
    }
    linked = {**portal, "AUTH_PORTAL_DIRECTORY": "dir"}
    environ = {"AUTH_PROVIDERS": "portal", **linked, "AUTH_PORTAL_DIRECTORY": "nowhere"}
    settings.DIRECTUS = replace(settings.DIRECTUS, auth=load_auth(EnvReader(environ)))
    assert "signin.E012" in [m.id for m in check_providers()]
    environ = {
        "AUTH_PROVIDERS": "portal,dir",
        **linked,
        "AUTH_DIR_DRIVER": "ldap",
        "AUTH_DIR_CLIENT_URL": directory.url,
        "AUTH_DIR_BIND_DN": READER_DN,
        "AUTH_DIR_BIND_PASSWORD": READER_PASSWORD,
        "AUTH_DIR_USER_DN": PEOPLE,
    }
    settings.DIRECTUS = replace(settings.DIRECTUS, auth=load_auth(EnvReader(environ)))
    assert "signin.E012" not in [m.id for m in check_providers()]
    forget()
