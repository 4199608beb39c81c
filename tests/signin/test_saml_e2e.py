"""SAML sign-in end to end: two server processes on one database (PostgreSQL when the suite
runs there) and a real pysaml2 identity provider that reads this server's metadata over HTTP,
as an operator would set it up. A person follows the login page's button, signs in at the IdP's
form, posts its answer to the ACS and comes back signed in; an IdP-initiated answer used at one
process is refused at the other (the used assertions are in the database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import requests

from tests.realtime.support import realtime_env, shell
from tests.support.saml_idp import Person, SamlIdp, Sent, read_form
from tests.support.server import Server, free_port, postgres_database

pytestmark = pytest.mark.server

CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
ADA = Person(
    login="ada",
    password="ada-idp-password",
    attributes={
        CLAIMS + "nameidentifier": ["ada"],
        CLAIMS + "emailaddress": ["ada@corp.test"],
        CLAIMS + "givenname": ["Ada"],
    },
)


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlIdp]:
    with SamlIdp(tmp_path_factory.mktemp("saml-idp"), [ADA]) as peer:
        yield peer


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, idp: SamlIdp) -> Iterator[list[Server]]:
    port, other_port = free_port(), free_port()
    env = realtime_env(
        tmp_path_factory.mktemp("server"),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        NO_PROXY="127.0.0.1",
        LOG_LEVEL="info",
        AUTH_PROVIDERS="corp",
        AUTH_CORP_DRIVER="saml",
        AUTH_CORP_IDP_METADATA_URL=idp.metadata_url,
        AUTH_CORP_SP_ENTITY_ID="urn:test:directus-auth",
        AUTH_CORP_ALLOW_PUBLIC_REGISTRATION="true",
        AUTH_CORP_ALLOW_IDP_INITIATED="true",
        AUTH_CORP_LABEL="Corp SAML",
    )
    with postgres_database(env) as prepared:
        first = Server(prepared, port=port).start()
        second = Server(prepared, port=other_port).start(bootstrap=False)
        try:
            idp.trust(httpx.get(f"{first.url}/auth/login/corp/metadata").text)
            yield [first, second]
        finally:
            second.stop()
            first.stop()


def sign_in(session: requests.Session, server: Server, idp: SamlIdp) -> requests.Response:
    page = session.get(f"{server.url}/login", timeout=10)
    assert "Sign in with Corp SAML" in page.text
    began = session.get(f"{server.url}/auth/login/corp", allow_redirects=False, timeout=10)
    assert began.status_code == 302, began.text
    form = session.get(began.headers["Location"], timeout=10)
    ticket = form.text.split('name="ticket" value="')[1].split('"')[0]
    answer = session.post(
        f"{idp.issuer}/login",
        data={"ticket": ticket, "login": "ada", "password": ADA.password},
        timeout=10,
    )
    return post(session, read_form(answer.text))


def post(session: requests.Session, sent: Sent, via: Server | None = None) -> requests.Response:
    """The browser posts the answer to the ACS and follows the 303 (``via`` another process of
    the same public URL, as behind a load balancer)."""
    parts = urlsplit(sent.action)
    base = via.url if via else f"{parts.scheme}://{parts.netloc}"
    headers = {"Host": parts.netloc}
    posted = session.post(
        f"{base}{parts.path}", data=sent.form, headers=headers, allow_redirects=False, timeout=10
    )
    assert posted.status_code == 303, posted.text
    return session.get(
        f"{base}{posted.headers['Location']}", headers=headers, allow_redirects=False, timeout=10
    )


def test_a_person_signs_in_through_the_login_page(servers: list[Server], idp: SamlIdp) -> None:
    server = servers[0]
    session = requests.Session()
    done = sign_in(session, server, idp)
    assert done.status_code == 302, done.text
    assert done.headers["Location"] == "/account"
    token = session.cookies["directus_session_token"]
    me = httpx.get(f"{server.url}/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    row = shell(
        server.env,
        'from accounts.models import User\nu = User.objects.get(email="ada@corp.test")\n'
        "print(u.provider, u.external_identifier, u.first_name)",
    )
    assert row.strip().splitlines()[-1] == "corp ada Ada"
    assert ADA.password not in server.log()


def test_an_assertion_used_at_one_process_is_refused_at_the_other(
    servers: list[Server], idp: SamlIdp
) -> None:
    first, second = servers
    sent = idp.unsolicited("ada", f"{first.url}/auth/login/corp/acs", "urn:test:directus-auth")
    assert post(requests.Session(), sent).headers["Location"] == "/account"
    refused = post(requests.Session(), sent, via=second)
    assert refused.status_code == 302
    assert "reason=INVALID_CREDENTIALS" in refused.headers["Location"]
    assert "saml_replay" in second.log()


def test_the_metadata_is_served_for_the_idp(servers: list[Server], tmp_path: Path) -> None:
    metadata = httpx.get(f"{servers[0].url}/auth/login/corp/metadata")
    assert metadata.status_code == 200
    assert 'entityID="urn:test:directus-auth"' in metadata.text
