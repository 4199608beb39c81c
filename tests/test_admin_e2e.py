"""The admin and the users collection, attacked on a real server process (SQLite, or PostgreSQL
with DB_CLIENT=pg): the secret-once page is post/redirect/get, Django's groups are not there,
and a self-service policy with ``*`` cannot promote itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, base_env, manage, postgres_database

pytestmark = pytest.mark.server

ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}
SECRET_RE = re.compile(r"dak_[A-Za-z0-9]{44}")

SETUP = """
from accounts.bootstrap import administrator_role
from accounts.models import Access, Permission, Policy, Role, User
role = Role.objects.create(name="Self service")
policy = Policy.objects.create(name="Self service", app_access=True)
Access.objects.create(role=role, policy=policy)
own = {"id": {"_eq": "$CURRENT_USER"}}
for action in ("read", "update"):
    Permission.objects.create(policy=policy, collection="directus_users", action=action,
                              fields="*", permissions=own)
User.objects.create_user("self@example.com", "self-password-123", role=role)
print(administrator_role().pk)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp: Path = tmp_path_factory.mktemp("admin-e2e")
    with postgres_database(base_env(tmp, LOGIN_STALL_TIME="0")) as env:
        running = Server(env).start()
        yield running
        running.stop()


def signed_in_browser(server: Server) -> httpx.Client:
    client = httpx.Client(base_url=server.url)
    page = client.get("/login")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert csrf is not None
    response = client.post(
        "/login",
        data={**ADMIN, "redirect": "/admin/", "csrfmiddlewaretoken": csrf[1]},
        headers={"Referer": f"{server.url}/login"},
    )
    assert response.status_code == 302
    return client


def form_token(client: httpx.Client, path: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(path).text)
    assert match is not None
    return match[1]


def test_reloading_the_new_key_page_creates_nothing(server: Server) -> None:
    client = signed_in_browser(server)
    admin_id = client.get("/users/me").json()["data"]["id"]
    add = "/admin/tokens/apikey/add/"
    posted = client.post(
        add,
        data={"name": "once", "user": admin_id, "csrfmiddlewaretoken": form_token(client, add)},
        headers={"Referer": f"{server.url}{add}"},
    )
    assert posted.status_code == 302
    shown = client.get(posted.headers["location"])
    assert len(SECRET_RE.findall(shown.text)) == 1
    assert "no-store" in shown.headers["cache-control"]
    again = client.get(posted.headers["location"], follow_redirects=True)
    assert SECRET_RE.findall(again.text) == []
    keys = client.get("/keys").json()["data"]
    assert [key["name"] for key in keys].count("once") == 1


def test_django_groups_are_not_in_the_admin(server: Server) -> None:
    client = signed_in_browser(server)
    assert client.get("/admin/auth/group/").status_code == 404
    assert "/admin/auth/group/" not in client.get("/admin/").text


def test_a_self_service_policy_cannot_promote_itself(server: Server) -> None:
    setup = manage(server.env, "shell", "-c", SETUP)
    assert setup.returncode == 0, setup.stderr
    admin_role = setup.stdout.strip().splitlines()[-1]
    login = httpx.post(
        f"{server.url}/auth/login",
        json={"email": "self@example.com", "password": "self-password-123"},
    )
    token = login.json()["data"]["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for body in ({"role": admin_role}, {"status": "active"}, {"token": "x" * 40}):
        response = httpx.patch(f"{server.url}/users/me", json=body, headers=headers)
        assert response.status_code == 403
    me = httpx.get(f"{server.url}/users/me", params={"fields": "role,first_name"}, headers=headers)
    assert me.json()["data"]["role"] != admin_role
    renamed = httpx.patch(f"{server.url}/users/me", json={"first_name": "Ed"}, headers=headers)
    assert renamed.status_code == 200
