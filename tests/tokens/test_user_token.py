"""The Directus user token (contract http-auth.md §7.12): set through /users, stored hashed."""

from __future__ import annotations

from dataclasses import replace
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import AuthEvent, User, UserStatus
from tests.tokens.conftest import code, with_token
from tokens.keycache import key_digest
from tokens.keys import generate_user_token, set_user_token
from tokens.models import ApiKey, KeyKind

pytestmark = pytest.mark.django_db

TOKEN = "a-static-token-chosen-by-the-admin"


def set_token(client: Any, user: User, value: Any, path: str | None = None) -> Any:
    return client.patch(path or f"/users/{user.pk}", {"token": value}, format="json")


def test_admin_sets_a_token_that_then_authenticates(admin_client, editor, article) -> None:
    response = set_token(admin_client, editor, TOKEN)
    assert response.status_code == 200, response.content
    assert response.json()["data"]["token"] == "**********"
    me = with_token(TOKEN).get("/users/me?fields=id,email")
    assert me.json()["data"]["id"] == str(editor.pk)
    assert with_token(TOKEN).get("/items/articles").status_code == 200


def test_token_in_the_query(admin_client, editor, article) -> None:
    set_token(admin_client, editor, TOKEN)
    from rest_framework.test import APIClient

    assert APIClient().get("/items/articles", {"access_token": TOKEN}).status_code == 200


def test_reads_are_masked_or_null(admin_client, editor) -> None:
    assert admin_client.get(f"/users/{editor.pk}?fields=token").json()["data"] == {"token": None}
    set_token(admin_client, editor, TOKEN)
    assert admin_client.get(f"/users/{editor.pk}?fields=token").json()["data"] == {
        "token": "**********"
    }
    listed = admin_client.get("/users?fields=email,token&filter[email][_eq]=editor@example.com")
    assert listed.json()["data"] == [{"email": "editor@example.com", "token": "**********"}]
    # the token is a secret: nobody filters on it, admins included (docs/security.md)
    probe = admin_client.get("/users?fields=email&filter[token][_nnull]=true")
    assert probe.status_code == 403
    assert code(probe) == "FORBIDDEN"


def test_only_a_digest_is_stored(admin_client, editor) -> None:
    set_token(admin_client, editor, TOKEN)
    row = ApiKey.objects.get(user=editor, kind=KeyKind.USER_TOKEN)
    assert row.digest == key_digest(TOKEN)
    assert row.prefix == ""
    assert User.objects.get(pk=editor.pk).token_id == row.pk


def test_setting_replaces_and_null_clears(admin_client, editor, article) -> None:
    set_token(admin_client, editor, TOKEN)
    set_token(admin_client, editor, "second-token-value")
    assert code(with_token(TOKEN).get("/items/articles")) == "INVALID_CREDENTIALS"
    assert with_token("second-token-value").get("/items/articles").status_code == 200
    assert ApiKey.objects.filter(user=editor, kind=KeyKind.USER_TOKEN).count() == 1
    response = set_token(admin_client, editor, None)
    assert response.json()["data"]["token"] is None
    assert code(with_token("second-token-value").get("/items/articles")) == "INVALID_CREDENTIALS"
    assert not ApiKey.objects.filter(user=editor).exists()


def test_users_set_their_own_token_when_permitted(login_client, editor, editors, grant) -> None:
    client = login_client("editor@example.com")
    assert code(set_token(client, editor, TOKEN, "/users/me")) == "FORBIDDEN"
    grant(editors[1], "directus_users", "update", fields="token",
          permissions={"id": {"_eq": "$CURRENT_USER"}})  # fmt: skip
    response = set_token(client, editor, TOKEN, "/users/me")
    assert response.status_code in (200, 204), response.content
    assert with_token(TOKEN).get("/users/me?fields=id").json()["data"]["id"] == str(editor.pk)


def test_a_token_field_grant_covers_only_granted_users(
    login_client, editor, editors, grant, make_user
) -> None:
    other = make_user("other@example.com")
    grant(editors[1], "directus_users", "update", fields="token",
          permissions={"id": {"_eq": "$CURRENT_USER"}})  # fmt: skip
    response = set_token(login_client("editor@example.com"), other, TOKEN)
    assert code(response) == "FORBIDDEN"
    assert not ApiKey.objects.filter(user=other).exists()


@pytest.mark.parametrize(
    "value", ["", " padded", 42, "x" * 256, "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJkaXJlY3R1cyJ9.x"]
)
def test_bad_token_values_are_invalid_payload(admin_client, editor, value) -> None:
    assert code(set_token(admin_client, editor, value)) == "INVALID_PAYLOAD"
    assert not ApiKey.objects.filter(user=editor).exists()


def test_a_token_in_use_by_someone_else_is_not_unique(admin_client, editor, make_user) -> None:
    other = make_user("other@example.com")
    set_token(admin_client, other, TOKEN)
    response = set_token(admin_client, editor, TOKEN)
    assert code(response) == "RECORD_NOT_UNIQUE"
    assert TOKEN not in response.content.decode()


def test_setting_the_same_token_again_is_a_no_op(admin_client, editor) -> None:
    set_token(admin_client, editor, TOKEN)
    first = ApiKey.objects.get(user=editor).pk
    assert set_token(admin_client, editor, TOKEN).status_code == 200
    assert ApiKey.objects.get(user=editor).pk == first


def test_create_user_with_token(admin_client, article) -> None:
    response = admin_client.post(
        "/users", {"email": "new@example.com", "token": TOKEN}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"]["token"] == "**********"
    created = User.objects.get(email="new@example.com")
    assert with_token(TOKEN).get("/users/me").json()["data"]["id"] == str(created.pk)


def test_token_only_works_while_the_user_is_active(admin_client, editor, article) -> None:
    set_token(admin_client, editor, TOKEN)
    assert with_token(TOKEN).get("/items/articles").status_code == 200
    for status in (UserStatus.SUSPENDED, UserStatus.ARCHIVED, UserStatus.INVITED):
        editor.status = status
        editor.save()
        assert code(with_token(TOKEN).get("/items/articles")) == "INVALID_CREDENTIALS"
    editor.status = UserStatus.ACTIVE
    editor.save()
    assert with_token(TOKEN).get("/items/articles").status_code == 200


def test_user_token_acts_with_the_current_role(admin_client, editor, make_role, article) -> None:
    set_token(admin_client, editor, TOKEN)
    assert with_token(TOKEN).get("/items/articles").status_code == 200
    role, _ = make_role("Nobody")
    editor.role = role
    editor.save()
    assert code(with_token(TOKEN).get("/items/articles")) == "FORBIDDEN"


def test_generated_token_and_events(editor, admin_user) -> None:
    from tokens.keys import Actor

    secret = generate_user_token(editor, actor=Actor(user=admin_user, ip="10.1.1.1"))
    assert secret.startswith("dak_")
    set_user_token(editor, None)
    kinds = list(AuthEvent.objects.order_by("created_at").values_list("kind", flat=True))
    assert kinds == ["key.created", "key.revoked"]
    assert AuthEvent.objects.filter(kind="key.created").get().details["actor_id"] == str(
        admin_user.pk
    )


def test_admin_token_at_bootstrap_is_hashed(db, article, settings) -> None:
    settings.DIRECTUS = replace(
        settings.DIRECTUS,
        bootstrap=replace(
            settings.DIRECTUS.bootstrap,
            admin_email="first@example.com",
            admin_password="first-password-1",
            admin_token="bootstrap-admin-token",
        ),
    )
    call_command("bootstrap", "--skip-migrate", stdout=StringIO())
    admin = User.objects.get(email="first@example.com")
    row = ApiKey.objects.get(user=admin)
    assert row.digest == key_digest("bootstrap-admin-token")
    response = with_token("bootstrap-admin-token").get("/items/articles")
    assert response.status_code == 200


def test_user_token_is_not_rotated_through_keys(admin_client, editor) -> None:
    set_token(admin_client, editor, TOKEN)
    row = ApiKey.objects.get(user=editor)
    assert code(admin_client.post(f"/keys/{row.pk}/rotate", {}, format="json")) == (
        "INVALID_PAYLOAD"
    )
    assert admin_client.delete(f"/keys/{row.pk}").status_code == 204
    assert User.objects.get(pk=editor.pk).token_id is None
    assert code(with_token(TOKEN).get("/users/me")) == "INVALID_CREDENTIALS"


def test_create_api_key_command_prints_the_secret_once(editor, capsys, article) -> None:
    call_command("create_api_key", "--user", "EDITOR@example.com", "--read-only",
                 "--expires-in", "30d", "--name", "backup")  # fmt: skip
    out = capsys.readouterr()
    secret = out.out.strip()
    assert secret.startswith("dak_")
    assert secret not in out.err
    row = ApiKey.objects.get(user=editor)
    assert row.scope == {"read_only": True}
    assert row.name == "backup"
    assert row.expires_at
    assert with_token(secret).get("/items/articles").status_code == 200
    assert code(with_token(secret).post("/items/articles", {"title": "x"}, format="json")) == (
        "FORBIDDEN"
    )


def test_create_api_key_command_for_a_role(editors, capsys, article) -> None:
    call_command("create_api_key", "--role", "Editors")
    secret = capsys.readouterr().out.strip()
    assert with_token(secret).get("/items/articles").status_code == 200


def test_create_api_key_command_errors(db) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_api_key", "--user", "nobody@example.com")
    with pytest.raises(CommandError):
        call_command("create_api_key", "--role", "Nope")


@pytest.mark.parametrize(("value", "errors"), [(" padded", 1), ("fine-token", 0), (None, 0)])
def test_admin_token_is_checked_at_start_up(settings, value, errors) -> None:
    from dataclasses import replace

    from tokens.checks import check_admin_token

    settings.DIRECTUS = replace(
        settings.DIRECTUS, bootstrap=replace(settings.DIRECTUS.bootstrap, admin_token=value)
    )
    found = check_admin_token()
    assert len(found) == errors
    assert all(e.id == "directus.E201" and "padded" not in e.msg for e in found)
