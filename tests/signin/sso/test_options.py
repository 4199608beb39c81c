"""A redirect provider's ``AUTH_<NAME>_*`` options, read once into typed options; every
problem named by its variable (and refused by the system check)."""

from __future__ import annotations

import uuid

from core.config import EnvReader
from core.config.auth import load_auth
from signin.drivers.openid import OpenIdDriver
from signin.sso.options import sso_options

ROLE = str(uuid.uuid4())


def provider(**variables: str):
    environ = {"AUTH_PROVIDERS": "acme", **{f"AUTH_ACME_{k}": v for k, v in variables.items()}}
    (found,) = load_auth(EnvReader(environ)).providers
    return found


def test_openid_defaults() -> None:
    options = sso_options(
        provider(
            DRIVER="openid", CLIENT_ID="rp", CLIENT_SECRET="s3cr3t-v4lue", ISSUER_URL="https://idp"
        )
    )
    assert options.problems == ()
    assert options.scope == "openid profile email"
    assert options.mode == "session"
    assert options.role_mapping is None
    assert options.redirect_allow_list is None
    assert options.login_timeout_s == 300
    assert options.timeout_s == 10
    assert options.token_auth_method == "client_secret_basic"
    assert "s3cr3t-v4lue" not in repr(options)


def test_directus_variables_are_read() -> None:
    options = sso_options(
        provider(
            DRIVER="oauth2",
            CLIENT_ID="rp",
            CLIENT_SECRET="s",
            AUTHORIZE_URL="https://idp/authorize",
            ACCESS_URL="https://idp/token",
            PROFILE_URL="https://idp/me",
            IDENTIFIER_KEY="data.username",
            ALLOW_PUBLIC_REGISTRATION="true",
            REQUIRE_VERIFIED_EMAIL="true",
            DEFAULT_ROLE_ID=ROLE,
            SYNC_USER_INFO="true",
            ROLE_MAPPING=f'json:{{"admins": "{ROLE}", "staff": "{ROLE}"}}',
            GROUP_CLAIM_NAME="roles",
            PARAMS__PROMPT="login",
            REDIRECT_ALLOW_LIST="https://app.test/cb,https://other.test",
            MODE="cookie",
            LOGIN_TIMEOUT="2m",
            CLIENT_HTTP_TIMEOUT="2500",
            CLIENT_TOKEN_ENDPOINT_AUTH_METHOD="client_secret_post",
            PROXY="http://127.0.0.1:3128",
            ROLE_MAPPING_MODE="create",
        )
    )
    assert options.problems == ()
    assert options.scope == "email"
    assert options.identifier_key == "data.username"
    assert options.allow_public_registration
    assert options.require_verified_email
    assert options.sync_user_info
    assert options.default_role_id == uuid.UUID(ROLE)
    assert [g for g, _ in options.role_mapping or ()] == ["admins", "staff"]
    assert options.group_claim_name == "roles"
    assert options.params == (("prompt", "login"),)
    assert options.redirect_allow_list == ("https://app.test/cb", "https://other.test")
    assert options.mode == "cookie"
    assert options.login_timeout_s == 120
    assert options.timeout_s == 2.5
    assert options.token_auth_method == "client_secret_post"
    assert options.proxy == "http://127.0.0.1:3128"
    assert options.role_mapping_mode == "create"


def test_problems_name_their_variable() -> None:
    options = sso_options(
        provider(
            DRIVER="oauth2",
            CLIENT_ID="rp",
            AUTHORIZE_URL="ftp://idp",
            ROLE_MAPPING='["admins"]',
            POLICY_MAPPING='{"a": ["not-a-uuid"]}',
            DEFAULT_ROLE_ID="nope",
            MODE="json",
            ALLOW_PUBLIC_REGISTRATION="maybe",
        )
    )
    text = "\n".join(options.problems)
    for variable in (
        "AUTH_ACME_CLIENT_SECRET is required",
        "AUTH_ACME_ACCESS_URL is required",
        "AUTH_ACME_PROFILE_URL is required",
        "AUTH_ACME_AUTHORIZE_URL must be an http",
        "AUTH_ACME_ROLE_MAPPING must be a JSON object",
        "AUTH_ACME_POLICY_MAPPING['a']",
        "AUTH_ACME_DEFAULT_ROLE_ID",
        "AUTH_ACME_MODE",
        "AUTH_ACME_ALLOW_PUBLIC_REGISTRATION",
    ):
        assert variable in text


def test_the_system_check_refuses_a_provider_with_problems() -> None:
    driver = OpenIdDriver(provider(DRIVER="openid", CLIENT_ID="rp"))
    messages = driver.check()
    assert [m.id for m in messages] == ["signin.E010"]
    assert "AUTH_ACME_ISSUER_URL is required" in messages[0].msg
    assert not driver.available()
