"""The self-hosted stack of docs/guides/self-hosted-sso.md, end to end: a directory of people and
groups (real slapd), an OpenID Connect portal in front of it with its own second factor (npm
oidc-provider checking passwords with the directory and asking a TOTP code), and our server (a
real process, on PostgreSQL when the suite runs there) signing people in through the portal with
the directory's groups mapped to roles, and ``manage.py sync_directory`` — another process —
keeping those roles right between sign-ins and suspending a person who left."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pyotp
import pytest

from tests.realtime.support import realtime_env, shell
from tests.signin.conftest import MAE_PASSWORD, company_over_ldaps
from tests.support.idp import IdpFormError, OidcIdp, browser_session, sign_in_at_idp
from tests.support.server import Server, free_port, manage, postgres_database
from tests.support.slapd import GROUPS, PEOPLE, READER_DN, READER_PASSWORD, Slapd

pytestmark = pytest.mark.server

TOTP_SECRET = pyotp.random_base32()
PORTAL_SECRET = "portal-client-secret-0123456789"
ROLES = {
    "directus_admin": uuid.UUID("5e1f0000-0000-4000-8000-000000000001"),
    "directus_editors": uuid.UUID("5e1f0000-0000-4000-8000-000000000002"),
    "directus_users": uuid.UUID("5e1f0000-0000-4000-8000-000000000003"),
}
SETUP = "from accounts.models import Role\n" + "".join(
    f'Role.objects.create(id="{pk}", name="{name}")\n' for name, pk in ROLES.items()
)


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def portal(
    tmp_path_factory: pytest.TempPathFactory, mae_directory: Slapd, port: int
) -> Iterator[OidcIdp]:
    with OidcIdp(
        tmp_path_factory.mktemp("portal"),
        accounts=[],
        clients=[
            {
                "client_id": "directus",
                "client_secret": PORTAL_SECRET,
                "redirect_uris": [f"http://127.0.0.1:{port}/auth/login/portal/callback"],
            }
        ],
        directory={
            "url": mae_directory.url,
            "people": PEOPLE,
            "groups": GROUPS,
            "bind_dn": READER_DN,
            "bind_password": READER_PASSWORD,
        },
        totp={"mae": TOTP_SECRET},
    ) as peer:
        yield peer


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, mae_directory: Slapd, portal: OidcIdp, port: int
) -> Iterator[Server]:
    env = realtime_env(
        tmp_path_factory.mktemp("server"),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        NO_PROXY="127.0.0.1",
        LOG_LEVEL="info",
        AUTH_PROVIDERS="portal,company",
        AUTH_PORTAL_DRIVER="openid",
        AUTH_PORTAL_CLIENT_ID="directus",
        AUTH_PORTAL_CLIENT_SECRET=PORTAL_SECRET,
        AUTH_PORTAL_ISSUER_URL=portal.issuer,
        AUTH_PORTAL_SCOPE="openid email profile groups",
        AUTH_PORTAL_ALLOW_PUBLIC_REGISTRATION="true",
        AUTH_PORTAL_ROLE_MAPPING="json:" + json.dumps({k: str(v) for k, v in ROLES.items()}),
        AUTH_PORTAL_DIRECTORY="company",
        AUTH_PORTAL_LABEL="Company portal",
        **company_over_ldaps(mae_directory),
    )
    with postgres_database(env) as prepared:
        assert manage(prepared, "bootstrap").returncode == 0
        shell(prepared, SETUP)
        running = Server(prepared, port=port).start(bootstrap=False)
        try:
            yield running
        finally:
            running.stop()


def person(server: Server) -> list[str]:
    out = shell(
        server.env,
        'from accounts.models import User\nu = User.objects.select_related("role")'
        '.get(email="mae@example.test")\n'
        'print(u.provider, u.external_identifier, u.status, u.role.name if u.role else "-")',
    )
    return out.strip().splitlines()[-1].split()


def refresh_works(server: Server, session: object) -> bool:
    cookie = next(c.value for c in session.cookies if c.name == "directus_session_token")  # type: ignore[attr-defined]
    return httpx.get(
        f"{server.url}/users/me", headers={"Authorization": f"Bearer {cookie}"}
    ).is_success


def test_the_walk(server: Server, mae_directory: Slapd, portal: OidcIdp) -> None:
    # 1. Mae signs in through the portal: directory password, then the portal's own code.
    start = f"{server.url}/auth/login/portal"
    with pytest.raises(IdpFormError, match="code"):
        sign_in_at_idp(browser_session(), start, "mae", MAE_PASSWORD, code=lambda: "000000")
    with pytest.raises(IdpFormError, match="refused 'mae'"):
        sign_in_at_idp(browser_session(), start, "mae", "not-her-password")
    session = browser_session()
    totp = pyotp.TOTP(TOTP_SECRET)
    final = sign_in_at_idp(session, start, "mae", MAE_PASSWORD, code=totp.now)
    assert final.url == f"{server.url}/account", final.text
    assert person(server) == ["portal", "mae", "active", "directus_users"]
    assert refresh_works(server, session)

    # 2. An admin moves her to the editors in the directory; the sync (cron) follows, and
    #    ends the session that carried the old role.
    mae_directory.leave("mae", "directus_users")
    mae_directory.join("mae", "directus_editors")
    sync = manage(server.env, "sync_directory")
    assert sync.returncode == 0, sync.stderr
    assert "portal: mae: role directus_users → directus_editors" in sync.stdout
    assert person(server) == ["portal", "mae", "active", "directus_editors"]
    assert not refresh_works(server, session)

    # 3. Her next sign-in through the portal keeps the role the directory gives.
    session = browser_session()
    sign_in_at_idp(session, start, "mae", MAE_PASSWORD, code=totp.now)
    assert person(server)[3] == "directus_editors"

    # 4. She leaves: the sync suspends her, and the server refuses her session at once.
    mae_directory.delete(f"uid=mae,{PEOPLE}")
    sync = manage(server.env, "sync_directory")
    assert "portal: mae: left the directory, suspended" in sync.stdout
    assert person(server)[2] == "suspended"
    assert not refresh_works(server, session)
    for secret in (MAE_PASSWORD, READER_PASSWORD, PORTAL_SECRET, TOTP_SECRET):
        assert secret not in server.log()
