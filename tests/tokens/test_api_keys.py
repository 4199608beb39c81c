"""API keys over HTTP: create (secret once), use, list, narrow, expire, rotate, revoke."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import AuthEvent, Role, User, UserStatus
from items.models import Article
from tests.tokens.conftest import code, with_token
from tokens.keys import KEY_PATTERN, create_key
from tokens.models import ApiKey

pytestmark = pytest.mark.django_db


def create(client: Any, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "ci")
    response = client.post("/keys", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["data"]


def read_articles(token: str, **extra: Any) -> Any:
    return with_token(token).get("/items/articles", **extra)


# ------------------------------------------------------------------ creating and using


def test_created_key_is_shown_once_and_authenticates(login_client, editor, article) -> None:
    data = create(login_client("editor@example.com"), name="deploy")
    assert re.fullmatch(KEY_PATTERN.strip("\\b"), data["secret"])
    assert data["prefix"] == data["secret"][:10]
    assert data["user"] == str(editor.pk)
    response = read_articles(data["secret"])
    assert response.status_code == 200
    assert [a["title"] for a in response.json()["data"]] == ["First"]
    listed = login_client("editor@example.com").get("/keys").json()["data"]
    assert [k["id"] for k in listed] == [data["id"]]
    assert "secret" not in listed[0]
    assert (
        "secret" not in login_client("editor@example.com").get(f"/keys/{data['id']}").json()["data"]
    )


def test_key_in_access_token_query(login_client, editor, article) -> None:
    secret = create(login_client("editor@example.com"))["secret"]
    client = with_token("x")
    client.credentials()
    assert client.get(f"/items/articles?access_token={secret}").status_code == 200


def test_key_acts_as_its_user(login_client, editor) -> None:
    secret = create(login_client("editor@example.com"))["secret"]
    me = with_token(secret).get("/users/me?fields=id")
    assert me.json()["data"]["id"] == str(editor.pk)


def test_key_writes_with_the_owner_permissions(login_client, editor) -> None:
    secret = create(login_client("editor@example.com"))["secret"]
    response = with_token(secret).post("/items/articles", {"title": "By key"}, format="json")
    assert response.status_code == 200
    assert Article.objects.filter(title="By key").exists()


def test_users_only_see_their_own_keys_admins_see_all(
    login_client, editor, make_user, admin_client
) -> None:
    make_user("other@example.com")
    mine = create(login_client("editor@example.com"))
    theirs = create(login_client("other@example.com"))
    listed = {k["id"] for k in login_client("editor@example.com").get("/keys").json()["data"]}
    assert listed == {mine["id"]}
    forbidden = login_client("editor@example.com").get(f"/keys/{theirs['id']}")
    missing = login_client("editor@example.com").get("/keys/00000000-0000-0000-0000-000000000000")
    assert forbidden.status_code == missing.status_code == 403
    assert forbidden.json() == missing.json()
    every = {k["id"] for k in admin_client.get("/keys").json()["data"]}
    assert {mine["id"], theirs["id"]} <= every


def test_only_admins_create_keys_for_others_or_roles(
    login_client, editor, editors, make_user, admin_client
) -> None:
    other = make_user("other@example.com")
    client = login_client("editor@example.com")
    assert (
        client.post("/keys", {"name": "x", "user": str(other.pk)}, format="json").status_code == 403
    )
    role_attempt = client.post("/keys", {"name": "x", "role": str(editors[0].pk)}, format="json")
    assert role_attempt.status_code == 403
    assert create(admin_client, user=str(other.pk))["user"] == str(other.pk)


def test_public_cannot_manage_keys(api) -> None:
    assert code(api.get("/keys")) == "INVALID_CREDENTIALS"
    assert code(api.post("/keys", {"name": "x"}, format="json")) == "INVALID_CREDENTIALS"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, '"name" has to be a non-empty string'),
        ({"name": "x", "expires_at": "yesterday"}, '"expires_at" has to be an ISO 8601 timestamp'),
        (
            {"name": "x", "expires_at": "2001-01-01T00:00:00Z"},
            '"expires_at" has to be in the future',
        ),
        ({"name": "x", "scope": {"write": True}}, None),
        ({"name": "x", "scope": {"collections": {"articles": ["fly"]}}}, None),
        ({"name": "x", "colour": "red"}, 'Unknown field "colour"'),
    ],
)
def test_bad_create_bodies_are_invalid_payload(login_client, editor, body, reason) -> None:
    response = login_client("editor@example.com").post("/keys", body, format="json")
    assert response.status_code == 400
    assert code(response) == "INVALID_PAYLOAD"
    if reason:
        assert response.json()["errors"][0]["extensions"]["reason"] == reason


# ------------------------------------------------------------------ narrowing


def test_read_only_key_cannot_write(login_client, editor, article) -> None:
    secret = create(login_client("editor@example.com"), scope={"read_only": True})["secret"]
    client = with_token(secret)
    assert client.get("/items/articles").status_code == 200
    response = client.post("/items/articles", {"title": "nope"}, format="json")
    assert response.status_code == 403
    assert code(response) == "FORBIDDEN"
    patch = client.patch(f"/items/articles/{article.pk}", {"title": "x"}, format="json")
    assert code(patch) == "FORBIDDEN"


def test_read_only_key_of_an_admin_cannot_write(admin_client, article) -> None:
    secret = create(admin_client, scope={"read_only": True})["secret"]
    client = with_token(secret)
    assert client.get("/items/articles").status_code == 200
    assert code(client.delete(f"/items/articles/{article.pk}")) == "FORBIDDEN"
    assert Article.objects.filter(pk=article.pk).exists()


def test_collection_scope_lists_collections_and_actions(login_client, editor, article) -> None:
    scope = {"collections": {"articles": ["read", "update"]}}
    client = with_token(create(login_client("editor@example.com"), scope=scope)["secret"])
    assert (
        client.patch(
            f"/items/articles/{article.pk}", {"title": "Renamed"}, format="json"
        ).status_code
        == 200
    )
    assert code(client.post("/items/articles", {"title": "x"}, format="json")) == "FORBIDDEN"
    assert code(client.get("/users?fields=id")) == "FORBIDDEN"


def test_scope_never_adds_permissions(login_client, make_user, make_role, grant) -> None:
    role, policy = make_role("Readers")
    grant(policy, "articles", "read")
    make_user("reader@example.com", role=role)
    scope = {"collections": {"articles": ["read", "create"]}}
    client = with_token(create(login_client("reader@example.com"), scope=scope)["secret"])
    assert code(client.post("/items/articles", {"title": "x"}, format="json")) == "FORBIDDEN"


def test_scoped_key_cannot_mint_or_rotate_keys(login_client, editor) -> None:
    owner = login_client("editor@example.com")
    full = create(owner)
    scoped = with_token(create(owner, scope={"read_only": True})["secret"])
    assert code(scoped.post("/keys", {"name": "escalate"}, format="json")) == "FORBIDDEN"
    assert code(scoped.post(f"/keys/{full['id']}/rotate", {}, format="json")) == "FORBIDDEN"


# ------------------------------------------------------------------ role keys


def test_role_key_acts_with_the_role_policies(admin_client, editors, article) -> None:
    role, _ = editors
    data = create(admin_client, role=str(role.pk), name="integration")
    assert data["user"] is None
    assert data["role"] == str(role.pk)
    client = with_token(data["secret"])
    assert client.get("/items/articles").status_code == 200
    assert client.post("/items/articles", {"title": "by role"}, format="json").status_code == 200
    assert code(client.get("/users/me")) == "INVALID_CREDENTIALS"


def test_role_key_is_not_public(admin_client, make_role, grant, public, article) -> None:
    grant(public, "articles", "read")
    role, _ = make_role("Nothing")
    client = with_token(create(admin_client, role=str(role.pk))["secret"])
    assert code(client.get("/items/articles")) == "FORBIDDEN"  # no public policies for a role


def test_role_key_dies_with_its_role(admin_client, editors) -> None:
    role, _ = editors
    secret = create(admin_client, role=str(role.pk))["secret"]
    Role.objects.filter(pk=role.pk).delete()
    assert not ApiKey.objects.filter(role_id=role.pk).exists()
    assert code(read_articles(secret)) == "INVALID_CREDENTIALS"


# ------------------------------------------------------------------ revoke, rotate, expire


def test_revoked_key_stops_at_once(login_client, editor, article) -> None:
    client = login_client("editor@example.com")
    data = create(client)
    assert read_articles(data["secret"]).status_code == 200  # now cached
    assert client.delete(f"/keys/{data['id']}").status_code == 204
    assert code(read_articles(data["secret"])) == "INVALID_CREDENTIALS"
    assert client.get(f"/keys/{data['id']}").json()["data"]["revoked_at"] is not None


def test_revoke_through_post(login_client, editor, article) -> None:
    client = login_client("editor@example.com")
    data = create(client)
    assert client.post(f"/keys/{data['id']}/revoke").status_code == 204
    assert code(read_articles(data["secret"])) == "INVALID_CREDENTIALS"


def test_rotation_without_overlap_ends_the_old_secret(login_client, editor, article) -> None:
    client = login_client("editor@example.com")
    old = create(client, scope={"read_only": True})
    new = client.post(f"/keys/{old['id']}/rotate", {}, format="json").json()["data"]
    assert new["secret"] != old["secret"]
    assert new["rotated_from"] == old["id"]
    assert new["scope"] == {"read_only": True}
    assert new["name"] == old["name"]
    assert code(read_articles(old["secret"])) == "INVALID_CREDENTIALS"
    assert read_articles(new["secret"]).status_code == 200


def test_rotation_with_overlap_keeps_the_old_secret_for_a_while(
    login_client, editor, article
) -> None:
    client = login_client("editor@example.com")
    old = create(client)
    new = client.post(f"/keys/{old['id']}/rotate", {"overlap": 3600}, format="json")
    assert new.status_code == 200
    assert read_articles(old["secret"]).status_code == 200
    ends = ApiKey.objects.get(pk=old["id"]).expires_at
    assert ends is not None
    assert ends - timezone.now() <= timedelta(hours=1)
    ApiKey.objects.filter(pk=old["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    from tokens.keycache import clear_local

    clear_local()
    assert code(read_articles(old["secret"])) == "INVALID_CREDENTIALS"
    assert read_articles(new.json()["data"]["secret"]).status_code == 200


@pytest.mark.parametrize("overlap", [-1, 10**9, "soon", True])
def test_bad_overlap_is_invalid_payload(login_client, editor, overlap) -> None:
    client = login_client("editor@example.com")
    old = create(client)
    response = client.post(f"/keys/{old['id']}/rotate", {"overlap": overlap}, format="json")
    assert code(response) == "INVALID_PAYLOAD"


def test_expired_key_is_refused_and_logged_once(editor, article) -> None:
    issued = create_key(name="short", user=editor, expires_at=timezone.now() + timedelta(hours=1))
    ApiKey.objects.filter(pk=issued.key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    for _ in range(5):
        assert code(read_articles(issued.secret)) == "INVALID_CREDENTIALS"
    events = AuthEvent.objects.filter(kind="key.expired_use")
    assert events.count() == 1
    assert events.get().details["key_id"] == str(issued.key.pk)


# ------------------------------------------------------------------ bad input, same answers


@pytest.fixture
def bad_tokens(editor, make_user, make_role) -> dict[str, str]:
    revoked = create_key(name="r", user=editor)
    ApiKey.objects.filter(pk=revoked.key.pk).update(revoked_at=timezone.now())
    expired = create_key(name="e", user=editor, expires_at=timezone.now() + timedelta(hours=1))
    ApiKey.objects.filter(pk=expired.key.pk).update(expires_at=timezone.now())
    suspended_user = make_user("gone@example.com")
    suspended = create_key(name="s", user=suspended_user)
    suspended_user.status = UserStatus.SUSPENDED
    suspended_user.save()
    role, _ = make_role("Temporary")
    role_key = create_key(name="t", role=role)
    role.delete()
    valid = create_key(name="v", user=editor).secret
    return {
        "unknown": "dak_" + "A" * 44,
        "revoked": revoked.secret,
        "expired": expired.secret,
        "suspended owner": suspended.secret,
        "deleted role": role_key.secret,
        "malformed": "dak_\u00e9\u0000%%%",
        "oversized": valid + "A" * 10_240,
        "padded": f"{valid}\t",
        "newline": f"{valid}\n",
        "truncated": valid[:-1],
        "foreign jwt": "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJvdGhlciJ9.c2ln",
    }


def test_every_bad_token_gets_the_same_answer(bad_tokens, article) -> None:
    answers = {}
    for label, token in bad_tokens.items():
        response = read_articles(token)
        answers[label] = (response.status_code, response.json())
    expected = (
        401,
        {
            "errors": [
                {
                    "message": "Invalid user credentials.",
                    "extensions": {"code": "INVALID_CREDENTIALS"},
                }
            ]
        },
    )
    assert answers == {label: expected for label in bad_tokens}


def test_space_padded_bearer_header_is_ignored_as_the_contract_says(editor, article) -> None:
    """``Authorization`` is split on single spaces; any other shape is ignored (§3.1)."""
    valid = create_key(name="v", user=editor).secret
    response = read_articles(f" {valid}")
    assert response.status_code == 403
    assert code(response) == "FORBIDDEN"


def test_bad_tokens_in_the_query_get_the_same_answer(bad_tokens, article) -> None:
    from rest_framework.test import APIClient

    for token in [*bad_tokens.values(), f" {bad_tokens['padded'].strip()} "]:
        response = APIClient().get("/items/articles", {"access_token": token})
        assert response.status_code == 401, token
        assert code(response) == "INVALID_CREDENTIALS"


def test_key_beyond_its_scope_is_forbidden_like_any_missing_permission(
    login_client, editor
) -> None:
    client = with_token(
        create(login_client("editor@example.com"), scope={"read_only": True})["secret"]
    )
    response = client.post("/items/articles", {"title": "x"}, format="json")
    assert response.json() == {
        "errors": [
            {
                "message": 'You don\'t have permission to perform "create" for collection '
                '"articles" or it does not exist.',
                "extensions": {
                    "reason": 'You don\'t have permission to perform "create" for collection '
                    '"articles" or it does not exist.',
                    "code": "FORBIDDEN",
                },
            }
        ]
    }


# ------------------------------------------------------------------ usage tracking and events


def test_last_used_is_written_at_most_once_a_minute(editor, article) -> None:
    issued = create_key(name="k", user=editor)
    for _ in range(3):
        read_articles(issued.secret, REMOTE_ADDR="10.0.0.1")
    row = ApiKey.objects.get(pk=issued.key.pk)
    assert row.last_used_ip == "10.0.0.1"
    assert row.last_used_at is not None
    first = row.last_used_at
    read_articles(issued.secret, REMOTE_ADDR="10.0.0.1")
    assert ApiKey.objects.get(pk=issued.key.pk).last_used_at == first


def test_use_from_a_new_ip_is_an_event_once_per_ip(editor, article) -> None:
    issued = create_key(name="k", user=editor)
    for ip in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2"):
        from tokens.keycache import clear_local

        clear_local()  # the next use re-reads last_used_ip
        read_articles(issued.secret, REMOTE_ADDR=ip)
    events = AuthEvent.objects.filter(kind="key.used_new_ip").order_by("created_at")
    assert [e.ip for e in events] == ["10.0.0.1", "10.0.0.2"]
    assert events.last().details["previous_ip"] == "10.0.0.1"
    assert ApiKey.objects.get(pk=issued.key.pk).last_used_ip == "10.0.0.2"


def test_lifecycle_events(login_client, editor) -> None:
    client = login_client("editor@example.com")
    data = create(client)
    new = client.post(f"/keys/{data['id']}/rotate", {}, format="json").json()["data"]
    client.delete(f"/keys/{new['id']}")
    kinds = list(
        AuthEvent.objects.filter(kind__startswith="key.")
        .order_by("created_at")
        .values_list("kind", flat=True)
    )
    assert kinds == ["key.created", "key.rotated", "key.revoked"]
    for event in AuthEvent.objects.filter(kind__startswith="key."):
        assert event.user_id == editor.pk
        assert data["secret"] not in str(event.details)
        assert new["secret"] not in str(event.details)


def test_owner_suspension_stops_the_key(editor, article) -> None:
    issued = create_key(name="k", user=editor)
    assert read_articles(issued.secret).status_code == 200
    editor.status = UserStatus.SUSPENDED
    editor.save()
    assert code(read_articles(issued.secret)) == "INVALID_CREDENTIALS"


def test_keys_die_with_their_user(editor, article) -> None:
    issued = create_key(name="k", user=editor)
    User.objects.filter(pk=editor.pk).delete()
    assert code(read_articles(issued.secret)) == "INVALID_CREDENTIALS"


# ------------------------------------------------------------------ the database holds no secret


def test_database_holds_no_usable_secret(login_client, editor, admin_client, editors) -> None:
    secrets = [
        create(login_client("editor@example.com"))["secret"],
        create(admin_client, role=str(editors[0].pk))["secret"],
    ]
    admin_client.patch(f"/users/{editor.pk}", {"token": "my-own-static-token"}, format="json")
    secrets.append("my-own-static-token")
    from django.db import connection

    tables = [ApiKey._meta.db_table, User._meta.db_table, AuthEvent._meta.db_table]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}"')
            dump = repr(cursor.fetchall())
            for secret in secrets:
                assert secret not in dump, table
                assert secret[4:] not in dump, table
