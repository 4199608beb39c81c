"""A ``saml`` provider's options, typed (contract sso.md §7, §3).

The identity provider is described by its metadata: ``IDP_METADATA`` (the XML itself, as
Directus's ``AUTH_<NAME>_IDP_metadata``; ``IDP_METADATA_FILE`` by the ``_FILE`` rule) or
``IDP_METADATA_URL`` (fetched on first use, through the provider's ``PROXY``, and again every
``IDP_METADATA_TTL``, default an hour). This service provider's entity id is ``SP_ENTITY_ID``, else
the ``entityID`` of a Directus-style ``SP_metadata``, else its metadata URL
(``<PUBLIC_URL>/auth/login/<name>/metadata``); its metadata is generated from the configuration.

With ``SP_PRIVATE_KEY`` and ``SP_CERT`` (PEM; usually ``SP_PRIVATE_KEY_FILE`` and
``SP_CERT_FILE`` by the ``_FILE`` rule) this service provider signs its AuthnRequests and logout
messages, publishes the certificate in its metadata, and can read encrypted assertions;
``WANT_ASSERTIONS_ENCRYPTED`` then refuses any assertion that is not.

The assertion's attributes name the person: ``IDENTIFIER_KEY`` (default the ``nameidentifier``
claim URI; the NameID when the attribute is missing), ``EMAIL_KEY`` (``emailaddress``),
``GIVEN_NAME_KEY`` (``givenname``), ``FAMILY_NAME_KEY`` (``surname``) and ``GROUP_ATTRIBUTE``
(the ``Group`` claim URI; a multi-valued attribute), whose values map to roles and policies with
``ROLE_MAPPING`` / ``POLICY_MAPPING`` as for the other providers. An answer the identity
provider sends unasked (IdP-initiated sign-in) is refused unless ``ALLOW_IDP_INITIATED``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

from core.config.auth import ProviderConfig
from signin.sso.options import OptionReader, SsoOptions, duration_s

CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
IDENTIFIER_CLAIM = CLAIMS + "nameidentifier"
EMAIL_CLAIM = CLAIMS + "emailaddress"
GIVEN_NAME_CLAIM = CLAIMS + "givenname"
FAMILY_NAME_CLAIM = CLAIMS + "surname"
GROUP_CLAIM = "http://schemas.xmlsoap.org/claims/Group"
MAX_METADATA_BYTES = 512 * 1024


class MetadataError(ValueError):
    """A document that is not an identity provider's usable SAML metadata."""


@dataclass(frozen=True)
class SamlOptions:
    #: The identity provider as python3-saml's settings have it (entity id, SSO and SLO
    #: endpoints, certificates), when given by ``IDP_METADATA``.
    idp: dict[str, Any] | None = field(default=None, compare=False)
    idp_metadata_url: str = ""
    idp_metadata_ttl_s: float = 3600.0
    sp_entity_id: str | None = None
    identifier_key: str = IDENTIFIER_CLAIM
    email_key: str = EMAIL_CLAIM
    given_name_key: str = GIVEN_NAME_CLAIM
    family_name_key: str = FAMILY_NAME_CLAIM
    group_attribute: str = GROUP_CLAIM
    allow_idp_initiated: bool = False
    sp_private_key: str | None = field(default=None, repr=False)
    sp_cert: str | None = None
    want_assertions_encrypted: bool = False
    problems: tuple[str, ...] = ()

    @property
    def signs(self) -> bool:
        return bool(self.sp_private_key and self.sp_cert)


def saml_options(provider: ProviderConfig, sso: SsoOptions) -> tuple[SamlOptions, SsoOptions]:
    """The SAML options of ``provider`` and its common ``sso`` options with the SAML
    attribute names (and every problem of both)."""
    read = OptionReader(provider)
    xml = read.text("idpMetadata", "IDP_METADATA")
    url = read.text("idpMetadataUrl", "IDP_METADATA_URL")
    idp = None
    if xml:
        try:
            idp = parse_idp_metadata(xml.encode())
        except MetadataError as exc:
            read.problems.append(f"{read.var('IDP_METADATA')}: {exc}")
    elif not url:
        read.problems.append(
            f"{read.var('IDP_METADATA')} or {read.var('IDP_METADATA_URL')} is required."
        )
    elif not url.startswith(("https://", "http://")):
        read.problems.append(f"{read.var('IDP_METADATA_URL')} must be an http:// or https:// URL.")
        url = ""
    options = SamlOptions(
        idp=idp,
        idp_metadata_url="" if xml else url,
        idp_metadata_ttl_s=duration_s(read, "idpMetadataTtl", "IDP_METADATA_TTL", 3_600_000),
        sp_entity_id=read.text("spEntityId", "SP_ENTITY_ID") or _entity_id(read),
        identifier_key=read.text("identifierKey", "IDENTIFIER_KEY", IDENTIFIER_CLAIM),
        email_key=read.text("emailKey", "EMAIL_KEY", EMAIL_CLAIM),
        given_name_key=read.text("givenNameKey", "GIVEN_NAME_KEY", GIVEN_NAME_CLAIM),
        family_name_key=read.text("familyNameKey", "FAMILY_NAME_KEY", FAMILY_NAME_CLAIM),
        group_attribute=read.text("groupAttribute", "GROUP_ATTRIBUTE", GROUP_CLAIM),
        allow_idp_initiated=read.flag("allowIdpInitiated", "ALLOW_IDP_INITIATED"),
        **_sp_keys(read),
    )
    return options, replace(sso, problems=sso.problems + options.problems)


def parse_idp_metadata(document: bytes) -> dict[str, Any]:
    """The identity provider of a metadata ``document``: its entity id, its HTTP-Redirect
    sign-in endpoint, its sign-out endpoint when it has one, and its signing certificates."""
    if len(document) > MAX_METADATA_BYTES:
        raise MetadataError("the metadata is larger than 512 KiB.")
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(
            document, required_sso_binding=OneLogin_Saml2_Constants.BINDING_HTTP_REDIRECT
        )
    except Exception:  # lxml's and the toolkit's parse errors alike
        raise MetadataError("the metadata is not well-formed XML.") from None
    idp = parsed.get("idp") or {}
    if not idp.get("entityId"):
        raise MetadataError("the metadata has no IDPSSODescriptor with an entityID.")
    if not idp.get("singleSignOnService", {}).get("url"):
        raise MetadataError("the metadata has no HTTP-Redirect SingleSignOnService.")
    certificates = idp.get("x509certMulti", {}).get("signing") or (
        [idp["x509cert"]] if idp.get("x509cert") else []
    )
    if not certificates:
        raise MetadataError("the metadata has no signing certificate.")
    return idp


def _sp_keys(read: OptionReader) -> dict[str, Any]:
    """This SP's key pair and what follows from it (and every problem found so far)."""
    key = read.text("spPrivateKey", "SP_PRIVATE_KEY")
    cert = read.text("spCert", "SP_CERT")
    if key and "PRIVATE KEY-----" not in key:
        read.problems.append(f"{read.var('SP_PRIVATE_KEY')} (or _FILE) must hold a PEM key.")
        key = ""
    if cert and "-----BEGIN CERTIFICATE-----" not in cert:
        read.problems.append(f"{read.var('SP_CERT')} (or _FILE) must hold a PEM certificate.")
        cert = ""
    if bool(key) != bool(cert):
        read.problems.append(f"{read.var('SP_PRIVATE_KEY')} and {read.var('SP_CERT')} go together.")
    encrypted = read.flag("wantAssertionsEncrypted", "WANT_ASSERTIONS_ENCRYPTED")
    if encrypted and not (key and cert):
        read.problems.append(
            f"{read.var('WANT_ASSERTIONS_ENCRYPTED')} needs {read.var('SP_PRIVATE_KEY')} and "
            f"{read.var('SP_CERT')}."
        )
    return {
        "sp_private_key": key or None,
        "sp_cert": cert or None,
        "want_assertions_encrypted": encrypted,
        "problems": tuple(read.problems),
    }


def _entity_id(read: OptionReader) -> str | None:
    """The ``entityID`` of a Directus-style ``SP_metadata`` document, when one is given."""
    xml = read.text("spMetadata", "SP_METADATA")
    if not xml:
        return None
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        root = etree.fromstring(xml.encode(), parser)
    except etree.XMLSyntaxError:
        read.problems.append(f"{read.var('SP_METADATA')} is not well-formed XML.")
        return None
    entity = root.get("entityID")
    if not entity:
        read.problems.append(f"{read.var('SP_METADATA')} has no entityID.")
    return entity or None
