"""SAML sign-in against a real identity provider (pysaml2, tests/support/saml_idp.py), in
process: the metadata both ways, the AuthnRequest, the answer posted cross-site to the ACS (the
POST carries no session cookie: it is made by a client without one), and every answer the
service provider must refuse — tampered, unsigned, expired, for another audience, replayed,
SHA-1, from an unknown IdP, unsolicited — each a clear refusal with its reason in the auth log,
never a 500. Single logout both ways."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from django.test import Client

from accounts.models import AuthEvent, Role, User
from core.config import EnvReader
from core.config.auth import load_auth
from signin.drivers import forget
from signin.drivers.saml import forget as forget_metadata
from signin.models import UsedAssertion
from tests.support.saml_idp import Person, SamlIdp, Sent, key_pair, read_form
from tokens.models import RefreshSession

pytestmark = pytest.mark.django_db

CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
GROUPS = "http://schemas.xmlsoap.org/claims/Group"
ACS = "http://testserver/auth/login/corp/acs"
SP_ENTITY = "http://testserver/auth/login/corp/metadata"
EDITORS = uuid.UUID("5a11e000-0000-4000-8000-000000000001")
ADA = Person(
    login="ada",
    password="ada-idp-password",
    name_id="ada-persistent-0001",
    attributes={
        CLAIMS + "nameidentifier": ["Ada@Corp.test"],
        CLAIMS + "emailaddress": ["ada@corp.test"],
        CLAIMS + "givenname": ["Ada"],
        CLAIMS + "surname": ["Lovelace"],
        GROUPS: ["staff", "editors"],
    },
)


@pytest.fixture
def idp(tmp_path: Path) -> Iterator[SamlIdp]:
    with SamlIdp(tmp_path, [ADA]) as peer:
        yield peer


def configure(settings: Any, idp: SamlIdp, **variables: str) -> None:
    options = {
        "DRIVER": "saml",
        "IDP_METADATA_URL": idp.metadata_url,
        "ALLOW_PUBLIC_REGISTRATION": "true",
        "ROLE_MAPPING": "json:" + json.dumps({"editors": str(EDITORS)}),
        **variables,
    }
    environ = {"AUTH_PROVIDERS": "corp", **{f"AUTH_CORP_{k}": v for k, v in options.items()}}
    settings.DIRECTUS = replace(
        settings.DIRECTUS,
        auth=load_auth(EnvReader(environ)),
        server=replace(settings.DIRECTUS.server, public_url="http://testserver"),
    )
    forget()
    forget_metadata()
    idp.trust(Client().get("/auth/login/corp/metadata").content.decode())


@pytest.fixture
def corp(settings: Any, idp: SamlIdp) -> SamlIdp:
    Role.objects.create(id=EDITORS, name="Editors")
    configure(settings, idp)
    return idp


def at_idp(client: Client, idp: SamlIdp, query: str = "", password: str = ADA.password) -> Sent:
    """Start here, sign in at the IdP's form: the answer its page would post to the ACS."""
    began = client.get(f"/auth/login/corp{query}")
    assert began.status_code == 302, began.content
    assert began["Location"].startswith(f"{idp.issuer}/sso?SAMLRequest=")
    page = requests.get(began["Location"], timeout=5)
    assert page.status_code == 200, page.text
    ticket = page.text.split('name="ticket" value="')[1].split('"')[0]
    done = requests.post(
        f"{idp.issuer}/login",
        data={"ticket": ticket, "login": ADA.login, "password": password},
        timeout=5,
    )
    return read_form(done.text)


def post_answer(client: Client, sent: Sent) -> Any:
    """The browser posts the answer cross-site (no session cookie), then follows the 303."""
    assert sent.action == ACS
    posted = Client().post("/auth/login/corp/acs", sent.form)
    assert posted.status_code == 303, posted.content
    for name, morsel in posted.cookies.items():
        client.cookies[name] = morsel.value
    return client.get(posted["Location"])


def reason(response: Any) -> str | None:
    return parse_qs(urlsplit(response["Location"]).query).get("reason", [None])[0]


def failure(why: str) -> bool:
    return AuthEvent.objects.filter(
        kind="login.failure", details__reason=why, details__provider="corp"
    ).exists()


def tampered(sent: Sent, old: str, new: str) -> Sent:
    xml = base64.b64decode(sent.SAMLResponse).decode()
    assert old in xml
    return replace(sent, SAMLResponse=base64.b64encode(xml.replace(old, new).encode()).decode())


def test_the_metadata_names_this_service_provider(corp: SamlIdp) -> None:
    response = Client().get("/auth/login/corp/metadata")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    xml = response.content.decode()
    assert f'entityID="{SP_ENTITY}"' in xml
    assert f'Location="{ACS}"' in xml
    assert "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" in xml
    assert 'WantAssertionsSigned="true"' in xml
    assert Client().get("/auth/login/nope/metadata").status_code == 404


def test_a_sign_in_creates_the_mapped_user(corp: SamlIdp) -> None:
    client = Client()
    done = post_answer(client, at_idp(client, corp))
    assert done.status_code == 302, done.content
    assert done["Location"] == "/account"
    assert "directus_session_token" in done.cookies
    user = User.objects.get(email="ada@corp.test")
    assert (user.provider, user.external_identifier) == ("corp", "ada@corp.test")
    assert (user.first_name, user.last_name, user.role_id) == ("Ada", "Lovelace", EDITORS)
    assert user.auth_data["saml"]["name_id"] == "ada-persistent-0001"
    assert AuthEvent.objects.filter(kind="login.success", details__provider="corp").exists()
    me = client.get("/users/me")
    assert me.status_code == 200, me.content
    assert me.json()["data"]["id"] == str(user.pk)


def test_the_redirect_is_followed_and_checked(corp: SamlIdp) -> None:
    client = Client()
    done = post_answer(client, at_idp(client, corp, "?redirect=/after"))
    assert done["Location"] == "/after"
    refused = Client().get("/auth/login/corp?redirect=https://evil.example/")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"


def test_idp_metadata_given_as_xml(settings: Any, idp: SamlIdp) -> None:
    configure(settings, idp, IDP_METADATA=idp.metadata(), IDP_METADATA_URL="")
    client = Client()
    assert post_answer(client, at_idp(client, idp))["Location"] == "/account"


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"sign_assertion": False}, "saml_signature"),
        ({"sha1": True}, "saml_signature"),
        ({"lifetime_minutes": -10}, "saml_expired"),
        ({"audience": "https://other.example/sp"}, "saml_audience"),
    ],
)
def test_a_bad_answer_is_refused(corp: SamlIdp, answer: dict[str, Any], why: str) -> None:
    client = Client()
    for key, value in answer.items():
        setattr(corp.answer, key, value)
    done = post_answer(client, at_idp(client, corp, "?redirect=/after"))
    assert done.status_code == 302
    assert done["Location"] == "/after?reason=INVALID_CREDENTIALS"
    assert failure(why), list(AuthEvent.objects.values_list("details", flat=True))
    assert not User.objects.filter(email="ada@corp.test").exists()
    assert "directus_session_token" not in done.cookies


def test_a_tampered_answer_is_refused(corp: SamlIdp) -> None:
    client = Client()
    sent = tampered(at_idp(client, corp), "ada@corp.test", "root@corp.test")
    assert reason(post_answer(client, sent)) == "INVALID_CREDENTIALS"
    assert failure("saml_signature")
    assert not User.objects.exists()


def test_an_answer_signed_by_an_unknown_idp_is_refused(corp: SamlIdp, tmp_path: Path) -> None:
    client = Client()
    at_idp(client, corp)  # the flow exists; the answer comes from elsewhere
    (tmp_path / "other").mkdir()
    with SamlIdp(tmp_path / "other", [ADA]) as other:
        other.trust(corp.sp_metadata[0])
        flows = client.session["sso_flows"]
        (state,) = flows
        sent = other.respond(
            ADA,
            request_id=flows[state]["request_id"],
            sp_entity_id=SP_ENTITY,
            acs=ACS,
            relay_state=state,
        )
    assert reason(post_answer(client, sent)) == "INVALID_CREDENTIALS"
    assert failure("saml_issuer") or failure("saml_signature")
    assert not User.objects.exists()


def test_an_answer_is_used_once(corp: SamlIdp) -> None:
    client = Client()
    sent = at_idp(client, corp)
    assert post_answer(client, sent)["Location"] == "/account"
    again = post_answer(client, sent)  # the flow was taken: the answer leads nowhere
    assert reason(again) == "INVALID_CREDENTIALS"
    assert RefreshSession.objects.count() == 1


def test_an_answer_to_another_request_is_refused(corp: SamlIdp) -> None:
    client = Client()
    at_idp(client, corp)
    corp.answer.in_response_to = "_someone-elses-request"
    sent = at_idp(client, corp)
    assert reason(post_answer(client, sent)) == "INVALID_CREDENTIALS"
    assert failure("saml_request_mismatch")


def test_idp_initiated_sign_in_is_off_by_default(corp: SamlIdp) -> None:
    client = Client()
    sent = corp.unsolicited("ada", ACS, SP_ENTITY, relay_state="/after")
    done = post_answer(client, sent)
    assert done["Location"].startswith("/login?")
    assert reason(done) == "INVALID_CREDENTIALS"
    assert failure("sso_state")
    assert not User.objects.exists()


def test_idp_initiated_sign_in_when_allowed(settings: Any, idp: SamlIdp) -> None:
    Role.objects.create(id=EDITORS, name="Editors")
    configure(settings, idp, ALLOW_IDP_INITIATED="true")
    client = Client()
    sent = idp.unsolicited("ada", ACS, SP_ENTITY, relay_state="/after")
    assert post_answer(client, sent)["Location"] == "/after"
    # The same assertion again is a replay, refused by every process (the database).
    assert reason(post_answer(Client(), sent)) == "INVALID_CREDENTIALS"
    assert failure("saml_replay")
    assert UsedAssertion.objects.count() == 1
    # Its RelayState is checked like any redirect.
    evil = idp.unsolicited("ada", ACS, SP_ENTITY, relay_state="https://evil.example/")
    refused = post_answer(Client(), evil)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"
    # An answer to a request of some other browser is not taken as unsolicited.
    other = Client()
    solicited = at_idp(other, idp)
    assert reason(post_answer(Client(), solicited)) == "INVALID_CREDENTIALS"
    assert failure("saml_request_mismatch")


@pytest.mark.parametrize("garbage", ["not base64 at all!", base64.b64encode(b"<x>").decode(), ""])
def test_garbage_at_the_acs_is_refused(corp: SamlIdp, garbage: str) -> None:
    client = Client()
    sent = at_idp(client, corp)
    done = post_answer(client, replace(sent, SAMLResponse=garbage))
    assert done.status_code == 302
    assert reason(done) == "INVALID_CREDENTIALS"
    assert not User.objects.exists()


def test_the_acs_without_an_answer_goes_to_the_login_page(corp: SamlIdp) -> None:
    done = Client().get("/auth/login/corp/acs")
    assert done.status_code == 302
    assert reason(done) == "INVALID_CREDENTIALS"
    assert Client().post("/auth/login/nope/acs", {"SAMLResponse": "x"}).status_code == 404


def test_an_unreachable_idp_is_a_clear_failure(settings: Any, idp: SamlIdp) -> None:
    configure(settings, idp)
    idp.stop()
    done = Client().get("/auth/login/corp?redirect=/after")
    assert done["Location"] == "/after?reason=SERVICE_UNAVAILABLE"
    assert Client().get("/server/ping").status_code == 200


def test_a_bad_configuration_is_a_system_check(settings: Any, idp: SamlIdp) -> None:
    from signin.checks import check_providers

    configure(settings, idp, IDP_METADATA="<not-metadata/>", IDP_METADATA_URL="")
    messages = [m.msg for m in check_providers()]
    assert any("AUTH_CORP_IDP_METADATA" in m and "IDPSSODescriptor" in m for m in messages)
    configure(settings, idp, IDP_METADATA_URL="")
    assert any("IDP_METADATA_URL" in m for m in (m.msg for m in check_providers()))


def test_single_logout(corp: SamlIdp) -> None:
    client = Client()
    assert post_answer(client, at_idp(client, corp))["Location"] == "/account"
    out = client.post("/auth/login/corp/logout", content_type="application/json")
    assert out.status_code == 302, out.content
    assert out["Location"].startswith(f"{corp.issuer}/slo?SAMLRequest=")
    assert RefreshSession.objects.get().revoked_at is not None
    back = requests.get(out["Location"], allow_redirects=False, timeout=5)
    assert back.status_code == 302, back.text
    assert corp.logouts == ["ada-persistent-0001"]
    parts = urlsplit(back.headers["Location"])
    assert parts.path == "/auth/login/corp/logout"
    done = client.get(f"{parts.path}?{parts.query}")
    assert done.status_code == 302
    assert done["Location"].startswith("/login")
    forged = client.get("/auth/login/corp/logout?" + urlencode({"SAMLResponse": "bm9wZQ=="}))
    assert forged.status_code == 401


def test_the_idp_signs_the_person_out_everywhere(corp: SamlIdp) -> None:
    for _ in range(2):
        client = Client()
        assert post_answer(client, at_idp(client, corp))["Location"] == "/account"
    unsigned = urlsplit(corp.logout_request("ada-persistent-0001", signed=False))
    assert Client().get(f"{unsigned.path}?{unsigned.query}").status_code == 401
    assert RefreshSession.objects.filter(revoked_at__isnull=True).count() == 2
    parts = urlsplit(corp.logout_request("ada-persistent-0001"))
    assert parts.path == "/auth/login/corp/logout"
    answer = Client().get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 302, answer.content
    assert answer["Location"].startswith(f"{corp.issuer}/slo?SAMLResponse=")
    assert not RefreshSession.objects.filter(revoked_at__isnull=True).exists()
    assert RefreshSession.objects.count() == 2


def test_a_service_provider_key_signs_requests_and_reads_encrypted_assertions(
    settings: Any, idp: SamlIdp, tmp_path: Path
) -> None:
    Role.objects.create(id=EDITORS, name="Editors")
    (tmp_path / "sp").mkdir()
    key, cert = key_pair(tmp_path / "sp")
    configure(
        settings,
        idp,
        SP_PRIVATE_KEY=key.read_text(),
        SP_CERT=cert.read_text(),
        WANT_ASSERTIONS_ENCRYPTED="true",
    )
    metadata = Client().get("/auth/login/corp/metadata").content.decode()
    assert 'AuthnRequestsSigned="true"' in metadata
    assert "X509Certificate" in metadata
    assert "PRIVATE KEY" not in metadata
    client = Client()
    idp.answer.encrypt = True
    sent = at_idp(client, idp)
    assert idp.request_signatures == [True]
    assert "EncryptedAssertion" in base64.b64decode(sent.SAMLResponse).decode()
    assert post_answer(client, sent)["Location"] == "/account"
    assert User.objects.filter(email="ada@corp.test").exists()
    # An assertion in clear is refused once encryption is wanted.
    other = Client()
    assert reason(post_answer(other, at_idp(other, idp))) == "INVALID_CREDENTIALS"
    assert failure("saml_not_encrypted")


def test_a_half_key_pair_is_a_system_check(settings: Any, idp: SamlIdp, tmp_path: Path) -> None:
    from signin.checks import check_providers

    key, _cert = key_pair(tmp_path)
    configure(settings, idp, SP_PRIVATE_KEY=key.read_text())
    assert any("go together" in m.msg for m in check_providers())
    configure(settings, idp, WANT_ASSERTIONS_ENCRYPTED="true")
    assert any("WANT_ASSERTIONS_ENCRYPTED" in m.msg for m in check_providers())
