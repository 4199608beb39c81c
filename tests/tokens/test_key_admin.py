"""API keys and static tokens in the Django admin: create (secret once), list, revoke, rotate."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import AuthEvent
from tests.support.clients import SignedInClient
from tests.tokens.conftest import code, with_token
from tokens.keys import create_key
from tokens.models import ApiKey, KeyKind

pytestmark = pytest.mark.django_db
SECRET_RE = re.compile(r'<code class="secret-once"[^>]*>(dak_[A-Za-z0-9]{44})</code>')


@pytest.fixture
def site(admin_user) -> Client:
    client = SignedInClient()
    client.force_login(admin_user)
    return client


def secrets_in(response) -> list[str]:
    return SECRET_RE.findall(response.content.decode())


def test_create_shows_the_secret_once_with_a_copy_button(site, editor, article) -> None:
    posted = site.post(
        "/admin/tokens/apikey/add/",
        {"name": "from admin", "user": str(editor.pk), "scope": '{"read_only": true}'},
    )
    assert posted.status_code == 302  # post/redirect/get: the secrets page is a GET
    response = site.get(posted["Location"])
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [secret] = secrets_in(response)
    assert "data-copy" in response.content.decode()
    key = ApiKey.objects.get(name="from admin")
    assert key.scope == {"read_only": True}
    assert key.user_id == editor.pk
    assert with_token(secret).get("/items/articles").status_code == 200
    assert AuthEvent.objects.filter(kind="key.created").exists()
    change = site.get(f"/admin/tokens/apikey/{key.pk}/change/").content.decode()
    assert secret not in change
    assert key.digest not in change
    listing = site.get("/admin/tokens/apikey/").content.decode()
    assert key.prefix in listing
    assert secret not in listing
    assert "editor@example.com" in listing


def test_create_needs_exactly_one_owner(site, editor, editors) -> None:
    both = site.post(
        "/admin/tokens/apikey/add/",
        {"name": "x", "user": str(editor.pk), "role": str(editors[0].pk)},
    )
    neither = site.post("/admin/tokens/apikey/add/", {"name": "x"})
    bad_scope = site.post(
        "/admin/tokens/apikey/add/", {"name": "x", "user": str(editor.pk), "scope": '{"a": 1}'}
    )
    for response in (both, neither, bad_scope):
        assert response.status_code == 200
        assert b"errornote" in response.content
    assert not ApiKey.objects.exists()


def test_revoke_action(site, editor, article) -> None:
    issued = create_key(name="k", user=editor)
    response = site.post(
        "/admin/tokens/apikey/",
        {"action": "revoke_keys", "_selected_action": [str(issued.key.pk)]},
    )
    assert response.status_code == 302
    assert code(with_token(issued.secret).get("/items/articles")) == "INVALID_CREDENTIALS"


def test_rotate_action_shows_the_new_secrets(site, editor, article) -> None:
    issued = create_key(name="k", user=editor)
    response = site.post(
        "/admin/tokens/apikey/",
        {"action": "rotate_keys", "_selected_action": [str(issued.key.pk)]},
        follow=True,
    )
    [secret] = secrets_in(response)
    assert with_token(secret).get("/items/articles").status_code == 200
    assert code(with_token(issued.secret).get("/items/articles")) == "INVALID_CREDENTIALS"


def test_rotate_with_overlap_keeps_the_old_secret(site, editor, article) -> None:
    issued = create_key(name="k", user=editor)
    response = site.post(
        "/admin/tokens/apikey/",
        {"action": "rotate_keys_with_overlap", "_selected_action": [str(issued.key.pk)]},
        follow=True,
    )
    [secret] = secrets_in(response)
    assert with_token(secret).get("/items/articles").status_code == 200
    assert with_token(issued.secret).get("/items/articles").status_code == 200


def test_user_page_shows_the_users_keys(site, editor) -> None:
    issued = create_key(name="nightly backup", user=editor)
    page = site.get(f"/admin/accounts/user/{editor.pk}/change/").content.decode()
    assert "nightly backup" in page
    assert issued.key.prefix in page
    assert issued.secret not in page
    assert "not set" in page


def test_generate_and_clear_static_token_actions(site, editor, article) -> None:
    response = site.post(
        "/admin/accounts/user/",
        {"action": "generate_static_token", "_selected_action": [str(editor.pk)]},
        follow=True,
    )
    [secret] = secrets_in(response)
    assert with_token(secret).get("/users/me").json()["data"]["id"] == str(editor.pk)
    assert ApiKey.objects.get(user=editor).kind == KeyKind.USER_TOKEN
    assert "set (hidden)" in site.get(f"/admin/accounts/user/{editor.pk}/change/").content.decode()
    site.post(
        "/admin/accounts/user/",
        {"action": "clear_static_token", "_selected_action": [str(editor.pk)]},
    )
    assert code(with_token(secret).get("/users/me")) == "INVALID_CREDENTIALS"


def test_pages_render(site, editor) -> None:
    create_key(name="k", user=editor)
    for path in ("/admin/tokens/apikey/", "/admin/tokens/apikey/add/", "/admin/accounts/user/add/"):
        assert site.get(path).status_code == 200, path


def test_reloading_the_secrets_page_creates_and_shows_nothing(site, editor) -> None:
    posted = site.post("/admin/tokens/apikey/add/", {"name": "once", "user": str(editor.pk)})
    first = site.get(posted["Location"])
    assert len(secrets_in(first)) == 1
    again = site.get(posted["Location"], follow=True)
    assert secrets_in(again) == []
    assert "shown once already" in again.content.decode()
    assert ApiKey.objects.filter(name="once").count() == 1


def test_another_admin_cannot_open_the_secrets_page(site, editor, admin_user, make_user) -> None:
    posted = site.post("/admin/tokens/apikey/add/", {"name": "mine", "user": str(editor.pk)})
    other = SignedInClient()
    other.force_login(make_user("second@example.com", role=admin_user.role))
    assert secrets_in(other.get(posted["Location"], follow=True)) == []
    assert secrets_in(site.get(posted["Location"])) == []  # gone: it was taken once
