"""``/graphql/system`` over HTTP: the system collections through their services, ``users_me``,
``server_ping``, the auth mutations (the REST twins' flows, errors, cookies and events) and
the limits of ``/graphql``. Contract system-api.md "/graphql/system"."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.test import Client

from accounts.models import AuthEvent, User
from factors import totp
from tests.support.factors import code_at

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = {"email": "admin@example.com", "password": "admin-password-1"}
PASSWORD = "password-123"
LOGIN = """mutation($email: String!, $password: String!, $mode: auth_mode) {
  auth_login(email: $email, password: $password, mode: $mode) {
    access_token refresh_token expires
  }
}"""
REFRESH = """mutation($rt: String, $mode: auth_mode) {
  auth_refresh(refresh_token: $rt, mode: $mode) { access_token refresh_token expires }
}"""
LOGOUT = "mutation($rt: String, $mode: auth_mode) { auth_logout(refresh_token: $rt, mode: $mode) }"


def post(client: Client, query: str, token: str | None = None, **variables: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    body = {"query": query, "variables": variables}
    return client.post("/graphql/system", body, content_type="application/json", **headers)


def gql(client: Client, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
    response = post(client, query, token, **variables)
    assert response.status_code == 200, response.content
    return dict(response.json())


def codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", [])]


def rest_login(client: Client, email: str, password: str) -> dict[str, Any]:
    response = client.post(
        "/auth/login", {"email": email, "password": password}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return dict(response.json()["data"])


def graphql_login(client: Client, mode: str = "json", **who: str) -> dict[str, Any]:
    credentials = who or ADMIN
    result = gql(client, LOGIN, mode=mode, **credentials)
    assert "errors" not in result, result
    return dict(result["data"]["auth_login"])


@pytest.fixture
def admin_token(client: Client, admin_user: User) -> str:
    return str(rest_login(client, **ADMIN)["access_token"])


@pytest.fixture
def member(make_role: Any, make_user: Any) -> User:
    """A user whose role grants nothing on the system collections."""
    role, _ = make_role("Members")
    return make_user("member@example.com", role=role)  # type: ignore[no-any-return]


@pytest.fixture
def member_token(client: Client, member: User) -> str:
    return str(rest_login(client, member.email, PASSWORD)["access_token"])


# ---------------------------------------------------------------- collections


def test_admin_reads_the_system_collections_with_nested_many_to_one(
    client: Client, admin_token: str, admin_user: User, member: User
) -> None:
    query = '{ users(sort: ["email"]) { email role { name } } }'
    assert gql(client, query, admin_token) == {
        "data": {"users": [{"email": "admin@example.com", "role": {"name": "Administrator"}},
                           {"email": "member@example.com", "role": {"name": "Members"}}]}
    }  # fmt: skip
    one = gql(client, f'{{ users_by_id(id: "{member.pk}") {{ email }} }}', admin_token)
    assert one == {"data": {"users_by_id": {"email": "member@example.com"}}}
    roles = gql(client, '{ roles(filter: {name: {_eq: "Members"}}) { name } }', admin_token)
    assert roles == {"data": {"roles": [{"name": "Members"}]}}
    access = gql(client, "{ access { role { name } policy { name } } }", admin_token)
    members = {"role": {"name": "Members"}, "policy": {"name": "Members policy"}}
    assert members in access["data"]["access"]
    policies = gql(client, "{ policies { name admin_access } }", admin_token)
    assert {"name": "Members policy", "admin_access": False} in policies["data"]["policies"]
    assert "errors" not in gql(client, "{ permissions { id collection } }", admin_token)


def test_admin_writes_through_the_system_services(client: Client, admin_token: str) -> None:
    created = gql(
        client,
        "mutation($d: [JSON!]!) { create_roles_items(data: $d) { id name } }",
        admin_token,
        d=[{"name": "One"}, {"name": "Two"}],
    )["data"]["create_roles_items"]
    assert [row["name"] for row in created] == ["One", "Two"]
    ids = [row["id"] for row in created]
    renamed = gql(
        client,
        'mutation($ids: [ID!]!) { update_roles_items(ids: $ids, data: {icon: "star"}) { icon } }',
        admin_token,
        ids=ids,
    )
    assert renamed == {"data": {"update_roles_items": [{"icon": "star"}, {"icon": "star"}]}}
    batch = gql(
        client,
        "mutation($d: [JSON!]!) { update_roles_batch(data: $d) { name } }",
        admin_token,
        d=[{"id": ids[0], "name": "Uno"}],
    )
    assert batch == {"data": {"update_roles_batch": [{"name": "Uno"}]}}
    gone = gql(client, "mutation($ids: [ID!]!) { delete_roles_items(ids: $ids) { ids } }",
               admin_token, ids=ids)  # fmt: skip
    assert sorted(gone["data"]["delete_roles_items"]["ids"]) == sorted(ids)


def test_the_users_service_rules_apply(client: Client, admin_token: str, member: User) -> None:
    """A duplicate e-mail is the users service's RECORD_NOT_UNIQUE, as on ``/users``."""
    result = gql(
        client,
        'mutation { create_users_item(data: {email: "MEMBER@example.com"}) { id } }',
        admin_token,
    )
    assert codes(result) == ["RECORD_NOT_UNIQUE"]


def test_a_member_without_permission_is_forbidden(client: Client, member_token: str) -> None:
    for query in ("{ users { id } }", "{ roles { id } }", "{ policies { id } }"):
        result = gql(client, query, member_token)
        assert codes(result) == ["FORBIDDEN"], query
    write = gql(client, 'mutation { create_roles_item(data: {name: "x"}) { id } }', member_token)
    assert codes(write) == ["FORBIDDEN"]


# ---------------------------------------------------------------- me, ping


def test_users_me(client: Client, admin_token: str, member: User, member_token: str) -> None:
    assert gql(client, "{ users_me { email role { name } } }", admin_token) == {
        "data": {"users_me": {"email": "admin@example.com", "role": {"name": "Administrator"}}}
    }
    only_id = gql(client, "{ users_me { id email } }", member_token)
    assert only_id == {"data": {"users_me": {"id": str(member.pk), "email": None}}}
    assert gql(client, "{ users_me { id } }") == {"data": {"users_me": None}}


def test_update_users_me(client: Client, admin_token: str, admin_user: User) -> None:
    result = gql(
        client, 'mutation { update_users_me(data: {first_name: "Ada"}) { first_name } }',
        admin_token,
    )  # fmt: skip
    assert result == {"data": {"update_users_me": {"first_name": "Ada"}}}
    assert User.objects.get(pk=admin_user.pk).first_name == "Ada"
    public = gql(client, 'mutation { update_users_me(data: {first_name: "x"}) { id } }')
    assert public == {"data": {"update_users_me": None}}


def test_server_ping_over_post_and_get(client: Client) -> None:
    assert gql(client, "{ server_ping }") == {"data": {"server_ping": "pong"}}
    response = client.get("/graphql/system", {"query": "{ server_ping }"})
    assert response.json() == {"data": {"server_ping": "pong"}}


def test_a_bad_token_gets_the_http_error_before_graphql(client: Client) -> None:
    response = post(client, "{ server_ping }", "garbage")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"


# ---------------------------------------------------------------- auth modes


def test_auth_login_json_returns_both_tokens(client: Client, admin_user: User) -> None:
    tokens = graphql_login(client)
    assert tokens["expires"] == "900000"  # GraphQLBigInt: a string, as Directus sends it
    assert tokens["refresh_token"]
    assert tokens["access_token"]
    me = gql(client, "{ users_me { email } }", tokens["access_token"])
    assert me == {"data": {"users_me": {"email": "admin@example.com"}}}
    assert AuthEvent.objects.filter(kind="login.success", user=admin_user).exists()


def test_auth_login_cookie_sets_the_refresh_cookie(client: Client, admin_user: User) -> None:
    response = post(client, LOGIN, mode="cookie", **ADMIN)
    tokens = response.json()["data"]["auth_login"]
    assert tokens["refresh_token"] is None
    assert tokens["access_token"]
    cookie = response.cookies["directus_refresh_token"]
    assert cookie.value
    assert cookie["httponly"]
    assert cookie["path"] == "/"
    assert "directus_session_token" not in response.cookies


def test_auth_login_session_sets_the_session_cookie(client: Client, admin_user: User) -> None:
    response = post(client, LOGIN, mode="session", **ADMIN)
    assert response.json() == {
        "data": {"auth_login": {"access_token": None, "refresh_token": None,
                                "expires": response.json()["data"]["auth_login"]["expires"]}}
    }  # fmt: skip
    session = response.cookies["directus_session_token"]
    assert session.value
    assert session["httponly"]
    # the session cookie authenticates the next request, not this one
    me = client.post("/graphql/system", {"query": "{ users_me { email } }"},
                     content_type="application/json")  # fmt: skip
    assert me.json() == {"data": {"users_me": {"email": "admin@example.com"}}}


def test_wrong_password_is_invalid_credentials_as_on_rest(client: Client, admin_user: User) -> None:
    result = gql(client, LOGIN, email=ADMIN["email"], password="wrong-password")
    rest = client.post("/auth/login", {"email": ADMIN["email"], "password": "wrong-password"},
                       content_type="application/json")  # fmt: skip
    assert result["data"] == {"auth_login": None}
    assert result["errors"][0]["message"] == rest.json()["errors"][0]["message"]
    assert codes(result) == ["INVALID_CREDENTIALS"]
    assert AuthEvent.objects.filter(kind="login.failure", user=admin_user).count() == 2


def test_a_second_factor_is_asked_for(client: Client, admin_user: User) -> None:
    secret = totp.new_secret()
    totp.enable(admin_user, secret, code_at(secret))
    assert codes(gql(client, LOGIN, **ADMIN)) == ["INVALID_OTP"]


def test_signing_in_does_not_change_the_caller_of_the_request(
    client: Client, admin_user: User
) -> None:
    mutation = """mutation($email: String!, $password: String!) {
      auth_login(email: $email, password: $password) { expires }
      update_users_me(data: {first_name: "Mallory"}) { id }
    }"""
    result = gql(client, mutation, **ADMIN)
    assert result["data"]["update_users_me"] is None
    assert User.objects.get(pk=admin_user.pk).first_name != "Mallory"


def test_auth_refresh_rotates(client: Client, admin_user: User, settings: Any) -> None:
    """The old token dies once the grace window (``SESSION_REFRESH_GRACE_PERIOD``, 0 here) is
    over; reusing it then ends the whole family."""
    config = settings.DIRECTUS
    settings.DIRECTUS = replace(config, tokens=replace(config.tokens, session_refresh_grace_ms=0))
    first = graphql_login(client)["refresh_token"]
    rotated = gql(client, REFRESH, rt=first)["data"]["auth_refresh"]
    assert rotated["refresh_token"]
    assert rotated["refresh_token"] != first
    reused = gql(client, REFRESH, rt=first)
    assert codes(reused) == ["INVALID_CREDENTIALS"]
    assert codes(gql(client, REFRESH, rt=rotated["refresh_token"])) == ["INVALID_CREDENTIALS"]


def test_auth_refresh_in_cookie_mode_reads_and_sets_the_cookie(
    client: Client, admin_user: User
) -> None:
    old = post(client, LOGIN, mode="cookie", **ADMIN).cookies["directus_refresh_token"].value
    response = post(client, REFRESH, mode="cookie")
    tokens = response.json()["data"]["auth_refresh"]
    assert tokens["access_token"]
    assert tokens["refresh_token"] is None
    assert response.cookies["directus_refresh_token"].value not in ("", old)


def test_refresh_and_logout_without_a_token_are_invalid_payload(client: Client) -> None:
    for document in (REFRESH, LOGOUT):
        for mode in ("json", "cookie", "session"):
            result = gql(client, document, mode=mode)
            assert codes(result) == ["INVALID_PAYLOAD"]
            assert result["errors"][0]["message"] == (
                "Invalid payload. The refresh token is required in either the payload or cookie."
            )


def test_auth_logout_ends_the_session(client: Client, admin_user: User) -> None:
    token = graphql_login(client)["refresh_token"]
    assert gql(client, LOGOUT, rt=token) == {"data": {"auth_logout": True}}
    assert codes(gql(client, REFRESH, rt=token)) == ["INVALID_CREDENTIALS"]
    assert AuthEvent.objects.filter(kind="logout", user=admin_user).exists()


def test_auth_logout_in_cookie_mode_expires_the_cookie(client: Client, admin_user: User) -> None:
    post(client, LOGIN, mode="cookie", **ADMIN)
    response = post(client, LOGOUT, mode="cookie")
    assert response.json() == {"data": {"auth_logout": True}}
    cleared = response.cookies["directus_refresh_token"]
    assert cleared.value == ""
    assert cleared["max-age"] == 0


# ---------------------------------------------------------------- account mutations


def test_tfa_generate_and_enable(client: Client, admin_user: User, admin_token: str) -> None:
    wrong = gql(client, 'mutation { users_me_tfa_generate(password: "nope") { secret } }',
                admin_token)  # fmt: skip
    assert codes(wrong) == ["INVALID_CREDENTIALS"]
    generated = gql(
        client,
        "mutation($p: String!) { users_me_tfa_generate(password: $p) { secret otpauth_url } }",
        admin_token,
        p=ADMIN["password"],
    )["data"]["users_me_tfa_generate"]
    assert generated["otpauth_url"].startswith("otpauth://totp/")
    secret = generated["secret"]
    enable = "mutation($o: String!, $s: String!) { users_me_tfa_enable(otp: $o, secret: $s) }"
    assert codes(gql(client, enable, admin_token, o="000000", s=secret)) == ["INVALID_PAYLOAD"]
    assert gql(client, enable, admin_token, o=code_at(secret), s=secret) == {
        "data": {"users_me_tfa_enable": True}
    }
    assert totp.has_totp(User.objects.get(pk=admin_user.pk))
    public = gql(client, 'mutation { users_me_tfa_disable(otp: "123456") }')
    assert codes(public) == ["INVALID_CREDENTIALS"]


def test_password_request_and_reset(client: Client, admin_user: User) -> None:
    request = 'mutation { auth_password_request(email: "nobody@example.com") }'
    assert gql(client, request) == {"data": {"auth_password_request": True}}
    reset = gql(client, 'mutation { auth_password_reset(token: "garbage", password: "x1") }')
    assert codes(reset) == ["INVALID_TOKEN"]
    invite = gql(client, 'mutation { users_invite_accept(token: "garbage", password: "x1") }')
    assert codes(invite) == ["INVALID_TOKEN"]


# ---------------------------------------------------------------- limits


def test_the_graphql_limits_apply(client: Client, admin_token: str) -> None:
    bomb = "{ " + " ".join(f"a{i}: users {{ id }}" for i in range(2000)) + " }"
    tokens = gql(client, bomb, admin_token)
    assert tokens["data"] is None
    assert "5000 tokens" in tokens["errors"][0]["message"]
    assert codes(tokens) == ["GRAPHQL_VALIDATION"]
    deep = "{ users { role { " + "parent { " * 10 + "id" + " }" * 10 + " } } }"
    depth = gql(client, deep, admin_token)
    assert depth["data"] is None
    assert codes(depth) == ["GRAPHQL_VALIDATION"]
    assert "depth" in depth["errors"][0]["message"]
    wide = "{ " + " ".join(f"a{i}: users(limit: 100) {{ id }}" for i in range(101)) + " }"
    cost = gql(client, wide, admin_token)
    assert cost["data"] is None
    assert codes(cost) == ["GRAPHQL_VALIDATION"]
    assert "rows" in cost["errors"][0]["message"]


def test_one_to_many_aliases_are_lists_of_the_related_type(
    client: Client, make_role: Any, admin_token: str
) -> None:
    """``roles { policies { policy { name } } }``: the junction rows, through their service."""
    _role, policy = make_role("Graph readers")
    query = (
        '{ roles(filter: {name: {_eq: "Graph readers"}}, limit: 5) '
        "{ name policies { policy { name } } users { email } } "
        f'policies_by_id(id: "{policy.pk}") {{ name roles {{ role {{ name }} }} }} }}'
    )
    body = gql(client, query, admin_token)
    assert "errors" not in body, body
    assert body["data"]["roles"] == [
        {"name": "Graph readers", "policies": [{"policy": {"name": "Graph readers policy"}}],
         "users": []},
    ]  # fmt: skip
    assert body["data"]["policies_by_id"] == {
        "name": "Graph readers policy", "roles": [{"role": {"name": "Graph readers"}}],
    }  # fmt: skip
