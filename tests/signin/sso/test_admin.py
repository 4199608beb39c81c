"""Claim: a sign-in provider defined in the admin works at once, without a restart; its client
secret is write-only (stored sealed, never shown, kept when the field is left empty); bad
settings and a name the environment already uses are refused by the form; disabling or
deleting it removes it from the login page and from ``/auth/login/<name>``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import requests
from django.test import Client

from accounts.models import Role, User
from core.config import EnvReader
from core.config.auth import load_auth
from signin.drivers import forget
from signin.models import SsoProvider
from tests.signin.sso.test_flow import CALLBACK, PUBLIC_URL, callback
from tests.support.clients import SignedInClient
from tests.support.oidc_faults import FaultyProvider

pytestmark = pytest.mark.django_db

SECRET = "admin-typed-client-secret-0123456789"


@pytest.fixture
def idp() -> Any:
    with FaultyProvider(
        clients={"rp": {"secret": SECRET, "redirect_uris": [CALLBACK]}},
        user={"sub": "U-9", "email": "lin@example.com", "email_verified": True, "groups": ["ops"]},
    ) as provider:
        yield provider


@pytest.fixture
def site(settings: Any, admin_user: Any) -> Client:
    settings.DIRECTUS = replace(
        settings.DIRECTUS,
        auth=load_auth(EnvReader({})),
        server=replace(settings.DIRECTUS.server, public_url=PUBLIC_URL),
    )
    forget()
    client = SignedInClient()
    client.force_login(admin_user)
    return client


def form(idp: FaultyProvider, role: Role, **changes: str) -> dict[str, str]:
    data = {
        "name": "acme",
        "driver": "openid",
        "enabled": "on",
        "label": "Acme SSO",
        "client_id": "rp",
        "new_client_secret": SECRET,
        "token_auth_method": "client_secret_basic",
        "issuer_url": idp.issuer,
        "allow_public_registration": "on",
        "group_claim_name": "groups",
        "role_mapping": f'{{"ops": "{role.pk}"}}',
        "policy_mapping": "null",
        "params": "null",
        "role_mapping_mode": "login",
        "mode": "session",
        "timeout": "5",
        "login_timeout": "300",
    }
    data.update(changes)
    return data


def sign_in(client: Client) -> Any:
    began = client.get("/auth/login/acme")
    assert began.status_code == 302, began.content
    answer = requests.get(began["Location"], allow_redirects=False, timeout=5)
    return callback(client, answer.headers["Location"])


def test_a_provider_made_in_the_admin_signs_people_in_at_once(
    site: Client, idp: FaultyProvider
) -> None:
    ops = Role.objects.create(name="Ops")
    assert Client().get("/auth/login/acme").status_code == 404
    response = site.post("/admin/signin/ssoprovider/add/", form(idp, ops))
    assert response.status_code == 302, response.content.decode()[:3000]
    row = SsoProvider.objects.get()
    assert SECRET not in row.client_secret
    assert row.plain_client_secret() == SECRET
    assert "Sign in with Acme SSO" in Client().get("/login").content.decode()

    person = Client()
    done = sign_in(person)
    assert done.status_code == 302
    assert done["Location"].endswith("/account"), done["Location"]
    user = User.objects.get(email="lin@example.com")
    assert (user.provider, user.external_identifier, user.role_id) == ("acme", "U-9", ops.pk)
    assert idp.token_requests[-1]["auth"] == "basic"


def test_the_secret_is_write_only_and_kept_when_left_empty(
    site: Client, idp: FaultyProvider
) -> None:
    ops = Role.objects.create(name="Ops")
    assert site.post("/admin/signin/ssoprovider/add/", form(idp, ops)).status_code == 302
    row = SsoProvider.objects.get()
    page = site.get(f"/admin/signin/ssoprovider/{row.pk}/change/").content.decode()
    assert SECRET not in page
    assert row.client_secret not in page
    changed = form(idp, ops, new_client_secret="", label="Acme again")
    response = site.post(f"/admin/signin/ssoprovider/{row.pk}/change/", changed)
    assert response.status_code == 302, response.content.decode()[:3000]
    row.refresh_from_db()
    assert (row.label, row.plain_client_secret()) == ("Acme again", SECRET)
    # The change applies without a restart: the login page shows the new label.
    assert "Sign in with Acme again" in Client().get("/login").content.decode()


def test_the_admin_refuses_bad_providers(site: Client, idp: FaultyProvider) -> None:
    ops = Role.objects.create(name="Ops")
    for changes, text in [
        ({"issuer_url": ""}, "Issuer url"),
        ({"driver": "oauth2", "issuer_url": ""}, "Authorize url"),
        ({"role_mapping": '{"ops": "not-a-role"}'}, "Role mapping"),
        ({"name": "default"}, "reserved"),
    ]:
        response = site.post("/admin/signin/ssoprovider/add/", form(idp, ops, **changes))
        assert response.status_code == 200, changes
        assert text in response.content.decode(), (changes, response.content.decode()[:4000])
    assert not SsoProvider.objects.exists()


def test_the_environment_wins_over_an_admin_row(settings: Any, site: Client, idp: Any) -> None:
    ops = Role.objects.create(name="Ops")
    settings.DIRECTUS = replace(
        settings.DIRECTUS,
        auth=load_auth(
            EnvReader(
                {
                    "AUTH_PROVIDERS": "acme",
                    "AUTH_ACME_DRIVER": "openid",
                    "AUTH_ACME_CLIENT_ID": "rp",
                    "AUTH_ACME_CLIENT_SECRET": SECRET,
                    "AUTH_ACME_ISSUER_URL": idp.issuer,
                    "AUTH_ACME_LABEL": "From the environment",
                }
            )
        ),
    )
    forget()
    response = site.post("/admin/signin/ssoprovider/add/", form(idp, ops))
    assert response.status_code == 200
    assert "AUTH_PROVIDERS already defines" in response.content.decode()
    listing = site.get("/admin/signin/ssoprovider/").content.decode()
    assert "from the environment (AUTH_PROVIDERS): acme (openid)" in listing
    # A row written around the form is ignored: the environment's provider is the one used.
    SsoProvider.objects.create(name="acme", client_id="rp", issuer_url=idp.issuer, label="Row")
    page = Client().get("/login").content.decode()
    assert "Sign in with From the environment" in page
    assert "Sign in with Row" not in page


def test_disabling_or_deleting_removes_the_provider(site: Client, idp: FaultyProvider) -> None:
    ops = Role.objects.create(name="Ops")
    assert site.post("/admin/signin/ssoprovider/add/", form(idp, ops)).status_code == 302
    row = SsoProvider.objects.get()
    row.enabled = False
    row.save()
    assert Client().get("/auth/login/acme").status_code == 404
    assert "Acme SSO" not in Client().get("/login").content.decode()
    row.enabled = True
    row.save()
    assert Client().get("/auth/login/acme").status_code == 302
    row.delete()
    assert Client().get("/auth/login/acme").status_code == 404
