"""Directory sign-in end to end: a real server process (on PostgreSQL when the suite runs there)
with an ``ldap`` provider on a real slapd over LDAPS, a person signing in through the API with
their groups mapped to roles by name, and ``manage.py sync_directory`` — another process, as
cron would run it — changing their role and then suspending them once they left the directory,
which the server sees at once (their refresh token stops working)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.realtime.support import realtime_env, shell
from tests.signin.conftest import MAE_PASSWORD, company_over_ldaps
from tests.support.server import Server, manage, postgres_database
from tests.support.slapd import PEOPLE, READER_PASSWORD, Slapd

pytestmark = pytest.mark.server

ROLES = """
from accounts.models import Role
for name in ("directus_admin", "directus_editors", "directus_users"):
    Role.objects.create(name=name)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mae_directory: Slapd) -> Iterator[Server]:
    env = realtime_env(
        tmp_path_factory.mktemp("server"),
        AUTH_PROVIDERS="company",
        **company_over_ldaps(mae_directory),
        LOG_LEVEL="debug",
    )
    with postgres_database(env) as prepared:
        assert manage(prepared, "bootstrap").returncode == 0
        shell(prepared, ROLES)
        running = Server(prepared).start(bootstrap=False)
        try:
            yield running
        finally:
            running.stop()


def role_of(server: Server, email: str) -> list[str]:
    out = shell(
        server.env,
        f"""
from accounts.models import User
u = User.objects.select_related("role").get(email="{email}")
print(u.provider, u.status, u.role.name if u.role else "-")
""",
    )
    return out.strip().splitlines()[-1].split()


def test_sign_in_sync_and_leaving(server: Server, mae_directory: Slapd) -> None:
    login = httpx.post(
        f"{server.url}/auth/login/company", json={"identifier": "mae", "password": MAE_PASSWORD}
    )
    assert login.status_code == 200, login.text
    assert role_of(server, "mae@example.test") == ["company", "active", "directus_users"]
    tokens = login.json()["data"]

    mae_directory.leave("mae", "directus_users")
    mae_directory.join("mae", "directus_editors")
    sync = manage(server.env, "sync_directory")
    assert sync.returncode == 0, sync.stderr
    assert "role directus_users → directus_editors" in sync.stdout
    assert role_of(server, "mae@example.test") == ["company", "active", "directus_editors"]
    # The role change ended the session the sign-in opened.
    refresh = httpx.post(
        f"{server.url}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401

    again = httpx.post(
        f"{server.url}/auth/login/company", json={"identifier": "mae", "password": MAE_PASSWORD}
    ).json()["data"]
    mae_directory.delete(f"uid=mae,{PEOPLE}")
    sync = manage(server.env, "sync_directory")
    assert "left the directory, suspended" in sync.stdout
    assert role_of(server, "mae@example.test")[1] == "suspended"
    refresh = httpx.post(
        f"{server.url}/auth/refresh", json={"refresh_token": again["refresh_token"]}
    )
    assert refresh.status_code == 401
    for secret in (MAE_PASSWORD, READER_PASSWORD, tokens["refresh_token"], again["access_token"]):
        assert secret not in server.log()
