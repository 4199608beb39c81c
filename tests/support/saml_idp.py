"""A real SAML 2.0 identity provider for the tests: pysaml2's :class:`saml2.server.Server`
(signing with Debian's ``xmlsec1``) behind a small HTTP app of the test process.

* ``GET /metadata`` — the IdP's metadata (entity id, HTTP-Redirect SSO and SLO endpoints, its
  signing certificate);
* ``GET /sso?SAMLRequest=…&RelayState=…`` — parses the AuthnRequest and shows a login form;
* ``POST /login`` — checks the person's password and answers the auto-posting form a browser
  would submit to the service provider's ACS (``SAMLResponse``, ``RelayState``);
* ``GET /slo`` — a LogoutRequest of the service provider, answered with a LogoutResponse.

What the next answer looks like can be changed (:attr:`SamlIdp.answer`): unsigned, expired, for
another audience, signed with SHA-1 — each a real response of a real IdP, which the service
provider must refuse. :meth:`SamlIdp.unsolicited` makes an IdP-initiated answer. The IdP knows
the service provider from its metadata (:meth:`SamlIdp.trust`), as a real IdP must.
"""

from __future__ import annotations

import base64
import datetime
import html
import re
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server as Saml2Server
from saml2.xmldsig import DIGEST_SHA1, DIGEST_SHA256, SIG_RSA_SHA1, SIG_RSA_SHA256

from tests.support.server import InThreadServer

#: Attributes pass through under the names given (pysaml2 renames known ones otherwise).
PASSTHROUGH_MAP = f'MAP = {{"identifier": "{NAME_FORMAT_URI}", "fro": {{}}, "to": {{}}}}\n'


@dataclass
class Person:
    login: str
    password: str
    attributes: dict[str, list[str]]
    name_id: str = ""


@dataclass
class Answer:
    """How the next response is made (reset after each)."""

    sign_assertion: bool = True
    sha1: bool = False
    lifetime_minutes: int = 15
    audience: str | None = None
    in_response_to: str | None = None
    encrypt: bool = False


@dataclass
class Sent:
    """A response as the browser would post it to the service provider."""

    action: str
    SAMLResponse: str
    RelayState: str | None

    @property
    def form(self) -> dict[str, str]:
        data = {"SAMLResponse": self.SAMLResponse}
        if self.RelayState is not None:
            data["RelayState"] = self.RelayState
        return data


@dataclass
class _Pending:
    request_id: str
    sp_entity_id: str
    acs: str
    relay_state: str | None


class SamlIdp(InThreadServer):
    def __init__(self, tmp: Path, people: list[Person]) -> None:
        self.tmp = tmp
        self.people = {person.login: person for person in people}
        self.answer = Answer()
        self.sp_metadata: list[str] = []
        self.logouts: list[str] = []
        #: For each AuthnRequest received: whether it carried a signature that verifies with the
        #: certificate of the service provider's metadata (None: it carried none).
        self.request_signatures: list[bool | None] = []
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self.key_file, self.cert_file = key_pair(tmp)
        (tmp / "attributemaps").mkdir(exist_ok=True)
        (tmp / "attributemaps" / "__init__.py").write_text("")
        (tmp / "attributemaps" / "passthrough.py").write_text(PASSTHROUGH_MAP)
        self._listen(_handler(self))

    @property
    def entity_id(self) -> str:
        return f"{self.issuer}/metadata"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/metadata"

    def trust(self, sp_metadata: str) -> None:
        """Know the service provider of ``sp_metadata`` (its entity id and ACS)."""
        self.sp_metadata = [sp_metadata]

    def config(self, answer: Answer | None = None) -> IdPConfig:
        answer = answer or Answer()
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [
                                (f"{self.issuer}/sso", BINDING_HTTP_REDIRECT)
                            ],
                            "single_logout_service": [
                                (f"{self.issuer}/slo", BINDING_HTTP_REDIRECT)
                            ],
                        },
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                        "want_authn_requests_signed": False,
                        "policy": {
                            "default": {
                                "lifetime": {"minutes": answer.lifetime_minutes},
                                "attribute_restrictions": None,
                                "name_form": NAME_FORMAT_URI,
                            }
                        },
                    }
                },
                "key_file": str(self.key_file),
                "cert_file": str(self.cert_file),
                "xmlsec_binary": "/usr/bin/xmlsec1",
                "attribute_map_dir": str(self.tmp / "attributemaps"),
                "metadata": {"inline": self.sp_metadata} if self.sp_metadata else {},
            }
        )
        return config

    def metadata(self) -> str:
        document = create_metadata_string(None, config=self.config(), sign=False)
        return document.decode() if isinstance(document, bytes) else str(document)

    def server(self, answer: Answer | None = None) -> Saml2Server:
        return Saml2Server(config=self.config(answer))

    # -- answers

    def respond(
        self,
        person: Person,
        *,
        request_id: str | None,
        sp_entity_id: str,
        acs: str,
        relay_state: str | None,
    ) -> Sent:
        answer, self.answer = self.answer, Answer()
        server = self.server(answer)
        algorithms = (SIG_RSA_SHA1, DIGEST_SHA1) if answer.sha1 else (SIG_RSA_SHA256, DIGEST_SHA256)
        response = server.create_authn_response(
            identity=person.attributes,
            in_response_to=answer.in_response_to or request_id,
            destination=acs,
            sp_entity_id=answer.audience or sp_entity_id,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=person.name_id or person.login),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_assertion=answer.sign_assertion,
            sign_response=False,
            sign_alg=algorithms[0],
            digest_alg=algorithms[1],
            encrypt_assertion=answer.encrypt,
            # pysaml2's "self-contained" rewrite of an encrypted assertion's namespaces comes
            # after signing and breaks the signature; the plain form is what IdPs send.
            encrypt_assertion_self_contained=False,
            encrypt_cert_assertion=_sp_cert(self.sp_metadata) if answer.encrypt else None,
        )
        info = server.apply_binding(
            BINDING_HTTP_POST, str(response), acs, relay_state, response=True
        )
        body = info["data"]
        value = re.search(r'name="SAMLResponse" value="([^"]+)"', body)
        assert value is not None, body
        return Sent(acs, html.unescape(value.group(1)), relay_state)

    def unsolicited(
        self, login: str, acs: str, sp_entity_id: str, relay_state: str | None = None
    ) -> Sent:
        """An IdP-initiated answer for ``login`` (no AuthnRequest before it)."""
        return self.respond(
            self.people[login],
            request_id=None,
            sp_entity_id=sp_entity_id,
            acs=acs,
            relay_state=relay_state,
        )

    def begin(self, query: dict[str, str], raw_query: str = "") -> str:
        """Parse the AuthnRequest of an ``/sso`` query; the ticket of its login form."""
        self.request_signatures.append(_redirect_signature(raw_query, self.sp_metadata))
        parsed = self.server().parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
        request = parsed.message
        ticket = secrets.token_urlsafe(16)
        with self._lock:
            self._pending[ticket] = _Pending(
                request_id=request.id,
                sp_entity_id=request.issuer.text,
                acs=request.assertion_consumer_service_url,
                relay_state=query.get("RelayState"),
            )
        return ticket

    def log_in(self, ticket: str, login: str, password: str) -> Sent | None:
        with self._lock:
            pending = self._pending.get(ticket)
        person = self.people.get(login)
        if (
            pending is None
            or person is None
            or not secrets.compare_digest(person.password, password)
        ):
            return None
        with self._lock:
            self._pending.pop(ticket, None)
        return self.respond(
            person,
            request_id=pending.request_id,
            sp_entity_id=pending.sp_entity_id,
            acs=pending.acs,
            relay_state=pending.relay_state,
        )

    def log_out(self, query: dict[str, str]) -> str:
        """Answer a LogoutRequest of the service provider: the URL of its LogoutResponse."""
        server = self.server()
        request = server.parse_logout_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
        self.logouts.append(request.message.name_id.text)
        response = server.create_logout_response(
            request.message,
            [BINDING_HTTP_REDIRECT],
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        info = server.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(response),
            request.message.issuer and _slo_of(self.sp_metadata),
            query.get("RelayState"),
            response=True,
            sigalg=SIG_RSA_SHA256,
            sign=True,
        )
        return str(dict(info["headers"])["Location"])

    def logout_request(self, name_id: str, *, signed: bool = True) -> str:
        """An IdP-initiated LogoutRequest for ``name_id``: the service provider URL carrying it."""
        server = self.server()
        destination = _slo_of(self.sp_metadata)
        _id, request = server.create_logout_request(
            destination,
            self.entity_id,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=name_id),
            sign=False,
        )
        info = server.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(request),
            destination,
            None,
            sigalg=SIG_RSA_SHA256 if signed else None,
            sign=signed,
        )
        return str(dict(info["headers"])["Location"])


def _sp_cert(metadata: list[str]) -> str:
    found = re.search(r"<ds:X509Certificate>([^<]+)</ds:X509Certificate>", metadata[0])
    assert found is not None, "the SP metadata has no certificate"
    return "".join(found.group(1).split())


def _redirect_signature(raw_query: str, metadata: list[str]) -> bool | None:
    """Whether an HTTP-Redirect message's ``Signature`` verifies (over the query as sent)."""
    parts = dict(part.split("=", 1) for part in raw_query.split("&") if "=" in part)
    if "Signature" not in parts:
        return None
    signed = "&".join(
        f"{name}={parts[name]}" for name in ("SAMLRequest", "RelayState", "SigAlg") if name in parts
    )
    cert = x509.load_der_x509_certificate(base64.b64decode(_sp_cert(metadata)))
    try:
        cert.public_key().verify(  # type: ignore[union-attr, call-arg]
            base64.b64decode(unquote(parts["Signature"])),
            signed.encode(),
            padding.PKCS1v15(),  # type: ignore[arg-type]
            hashes.SHA256(),  # type: ignore[arg-type]
        )
    except InvalidSignature:
        return False
    return True


def _slo_of(metadata: list[str]) -> str:
    found = re.search(r'SingleLogoutService[^>]+Location="([^"]+)"', metadata[0])
    assert found is not None
    return html.unescape(found.group(1))


def auto_post_form(sent: Sent) -> str:
    fields = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in sent.form.items()
    )
    return f'<form method="post" action="{html.escape(sent.action)}">{fields}</form>'


def _handler(idp: SamlIdp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            for name, value in {"Content-Type": "text/html", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            try:
                if parts.path == "/metadata":
                    self._send(
                        200, idp.metadata(), {"Content-Type": "application/samlmetadata+xml"}
                    )
                elif parts.path == "/sso":
                    ticket = idp.begin(query, parts.query)
                    self._send(200, _login_form(ticket))
                elif parts.path == "/slo":
                    self._send(302, "", {"Location": idp.log_out(query)})
                else:
                    self._send(404, "not found")
            except Exception as exc:  # the IdP refuses what it cannot parse
                self._send(400, f"bad request: {type(exc).__name__}: {exc}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path != "/login":
                self._send(404, "not found")
                return
            sent = idp.log_in(
                form.get("ticket", ""), form.get("login", ""), form.get("password", "")
            )
            if sent is None:
                self._send(
                    200, _login_form(form.get("ticket", ""), error="Wrong login or password")
                )
            else:
                self._send(200, auto_post_form(sent))

    return Handler


def _login_form(ticket: str, error: str = "") -> str:
    return (
        f"<p class=error>{html.escape(error)}</p>"
        '<form method="post" action="/login">'
        f'<input type="hidden" name="ticket" value="{html.escape(ticket)}">'
        '<input name="login"><input name="password" type="password"></form>'
    )


def key_pair(tmp: Path) -> tuple[Path, Path]:
    """A new RSA key and its self-signed certificate, as PEM files in ``tmp``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test SAML IdP")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = tmp / "idp.key", tmp / "idp.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


def read_form(body: str) -> Sent:
    """The auto-posting form of an IdP page, as a browser would submit it."""
    action = re.search(r'<form method="post" action="([^"]+)"', body)
    response = re.search(r'name="SAMLResponse" value="([^"]*)"', body)
    relay = re.search(r'name="RelayState" value="([^"]*)"', body)
    assert action is not None, body
    assert response is not None, body
    return Sent(
        html.unescape(action.group(1)),
        html.unescape(response.group(1)),
        html.unescape(relay.group(1)) if relay else None,
    )
