"""The ``saml`` driver: SAML 2.0 single sign-on as a service provider (contract sso.md §7), over
python3-saml, the toolkit django-allauth's SAML login is built on.

A sign-in starts like the other redirect drivers' (:class:`RedirectDriver`): the flow is kept in
the session, and the AuthnRequest (HTTP-Redirect binding) carries the flow's ``state`` as its
``RelayState``; the request's ID is kept in the flow. The identity provider posts its answer to
``/auth/login/<name>/acs`` (:mod:`api.sso` moves it to a ``GET`` where the session cookie comes
along, as allauth does), and the answer is accepted only when the toolkit finds it valid in
strict mode — a signed assertion (SHA-1 refused), this SP as its audience and destination, the
configured identity provider as its issuer, within its validity — its ``InResponseTo`` is the
flow's request (an unsolicited answer only with ``ALLOW_IDP_INITIATED``, and then only one that
names no request), and its assertion was not used before (:class:`~signin.models.UsedAssertion`,
shared by every process). Every refusal is ``INVALID_CREDENTIALS`` with its reason in the auth
log (``saml_signature``, ``saml_expired``, ``saml_audience``, ``saml_replay``, …).

Single logout: the NameID and SessionIndex of the last sign-in are kept in the user's
``auth_data``, so ``POST /auth/login/<name>/logout`` can end the session here and send the
person to the identity provider's SingleLogoutService; its answer (or its own LogoutRequest)
comes back to the same path.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from accounts.models import User
from core.errors import InvalidCredentials, ServiceUnavailable
from core.outbound import OutboundError, fetch_bytes
from signin.drivers.redirect import RedirectDriver
from signin.models import UsedAssertion
from signin.sso.remembered import RecentFailure, Remembered
from signin.sso.saml_options import (
    MAX_METADATA_BYTES,
    MetadataError,
    parse_idp_metadata,
    saml_options,
)
from signin.sso.state import Flow, with_request_id
from signin.sso.users import MAX_GROUPS, Identity, user_for
from tokens.sessions import SessionContext

logger = logging.getLogger("signin.sso")

RETRY_AFTER_FAILURE = 10.0
#: How long a used assertion is remembered when it names no end of validity.
REPLAY_WINDOW = timedelta(hours=1)

#: Which refusal a toolkit message is (first match wins), for the auth log.
_REASONS = (
    ("notencrypted", "saml_not_encrypted"),
    ("audience", "saml_audience"),
    ("expired", "saml_expired"),
    ("notonorafter", "saml_expired"),
    ("notbefore", "saml_expired"),
    ("timestamp", "saml_expired"),
    ("signature", "saml_signature"),
    ("signed", "saml_signature"),
    ("issuer", "saml_issuer"),
    ("destination", "saml_destination"),
    ("recipient", "saml_destination"),
    ("inresponseto", "saml_request_mismatch"),
    ("status", "saml_status"),
)

_metadata: Remembered[dict[str, Any]] = Remembered()


def forget() -> None:
    """Drop every fetched identity-provider metadata (tests)."""
    _metadata.forget()


class SamlRefused(InvalidCredentials):
    """An answer of the identity provider that is not accepted; ``reason`` goes to the log."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class SamlDriver(RedirectDriver):
    kind = "saml"
    callback_path = "acs"
    state_failure_redirects = True

    def __init__(self, provider: Any) -> None:
        super().__init__(provider)
        self.saml, self.options = saml_options(provider, self.options)

    # -- the identity provider

    @property
    def _key(self) -> tuple[str, str]:
        return (self.name, self.saml.idp_metadata_url)

    def available(self) -> bool:
        if self.options.problems:
            return False
        return _metadata.available(self._key, retry_after=RETRY_AFTER_FAILURE)

    def idp(self) -> dict[str, Any]:
        """The identity provider's settings: as configured, or from its metadata URL (fetched
        once per ``IDP_METADATA_TTL`` per process; after a failure, asked again within
        :data:`RETRY_AFTER_FAILURE` seconds)."""
        if self.saml.idp is not None:
            return self.saml.idp
        try:
            return _metadata.get(
                self._key,
                self._fetch_idp,
                retry_after=RETRY_AFTER_FAILURE,
                failures=(OutboundError, MetadataError),
                ttl=self.saml.idp_metadata_ttl_s,
            )
        except RecentFailure:
            raise _unavailable() from None
        except (OutboundError, MetadataError) as exc:
            logger.warning("The SAML metadata of provider %r is unusable: %s", self.name, exc)
            raise _unavailable() from None

    def _fetch_idp(self) -> dict[str, Any]:
        document = fetch_bytes(
            self.saml.idp_metadata_url,
            timeout=self.options.timeout_s,
            max_bytes=MAX_METADATA_BYTES,
            headers={"Accept": "application/samlmetadata+xml, application/xml, text/xml"},
            proxy=self.options.proxy,
        )
        return parse_idp_metadata(document)

    def prepare(self) -> None:
        self.idp()

    # -- this service provider

    def settings(
        self, acs_url: str, *, sp_only: bool = False, messages_signed: bool = False
    ) -> dict[str, Any]:
        """python3-saml's settings for an answer at ``acs_url`` (strict, signed assertions;
        ``messages_signed``: the message itself too, as a logout message must be)."""
        base = acs_url.rsplit("/", 1)[0]
        config: dict[str, Any] = {
            "strict": True,
            "debug": False,
            "sp": {
                "entityId": self.saml.sp_entity_id or f"{base}/metadata",
                "assertionConsumerService": {
                    "url": acs_url,
                    "binding": OneLogin_Saml2_Constants.BINDING_HTTP_POST,
                },
                "singleLogoutService": {
                    "url": f"{base}/logout",
                    "binding": OneLogin_Saml2_Constants.BINDING_HTTP_REDIRECT,
                },
                "NameIDFormat": OneLogin_Saml2_Constants.NAMEID_UNSPECIFIED,
            },
            "security": {
                "wantAssertionsSigned": True,
                "wantMessagesSigned": messages_signed,
                "wantNameId": False,
                "wantAttributeStatement": False,
                "requestedAuthnContext": False,
                "rejectDeprecatedAlgorithm": True,
                "signatureAlgorithm": OneLogin_Saml2_Constants.RSA_SHA256,
                "digestAlgorithm": OneLogin_Saml2_Constants.SHA256,
                "allowRepeatAttributeName": True,
                "allowSingleLabelDomains": True,  # a PUBLIC_URL such as http://sso-gateway
            },
        }
        if self.saml.signs:
            config["sp"]["x509cert"] = self.saml.sp_cert
            config["sp"]["privateKey"] = self.saml.sp_private_key
            config["security"].update(
                authnRequestsSigned=True,
                logoutRequestSigned=True,
                logoutResponseSigned=True,
                wantAssertionsEncrypted=self.saml.want_assertions_encrypted,
            )
        if not sp_only:
            config["idp"] = self.idp()
        return config

    def metadata(self, request: HttpRequest) -> str:
        """This service provider's metadata (entity id, the ACS and logout endpoints)."""
        settings = OneLogin_Saml2_Settings(
            self.settings(self.callback_url(request), sp_only=True), sp_validation_only=True
        )
        metadata = settings.get_sp_metadata()
        return metadata.decode() if isinstance(metadata, bytes) else str(metadata)

    def toolkit(
        self,
        url: str,
        acs_url: str,
        *,
        get: Mapping[str, str] | None = None,
        post: Any = None,
        messages_signed: bool = False,
    ) -> OneLogin_Saml2_Auth:
        """The toolkit for a message received at (or sent from) ``url``."""
        parts = urlsplit(url)
        request_data = {
            "https": "on" if parts.scheme == "https" else "off",
            "http_host": parts.netloc,
            "script_name": "",
            "path_info": parts.path,
            "get_data": dict(get or {}),
            "post_data": dict(post or {}),
        }
        return OneLogin_Saml2_Auth(
            request_data, self.settings(acs_url, messages_signed=messages_signed)
        )

    # -- the flow

    def sent(self, request: HttpRequest, flow: Flow, params: dict[str, str]) -> tuple[Flow, str]:
        auth = self.toolkit(flow.callback, flow.callback)
        url = str(auth.login(return_to=flow.state))
        return with_request_id(request, flow, auth.get_last_request_id()), url

    def flow_for(self, request: HttpRequest, callback: Mapping[str, str]) -> Flow | None:
        flow = super().flow_for(request, callback)
        if flow is not None or not self.saml.allow_idp_initiated:
            return flow
        # An unsolicited answer: its RelayState, if any, is where to go (checked as `redirect`).
        return Flow(
            provider=self.name,
            state="",
            nonce="",
            verifier="",
            callback=self.callback_url(request),
            redirect=self.resolve_redirect(callback.get("state")),
            otp=None,
            prompt=False,
            started=time.time(),
        )

    def user_from(self, flow: Flow, callback: Mapping[str, str], context: SessionContext) -> User:
        try:
            auth = self._accepted(flow, callback["code"])
            self._first_use(auth)
        except SamlRefused as refused:
            context.audit("login.failure", "failure", reason=refused.reason, provider=self.name)
            raise
        user = user_for(self.name, self.options, self.identity_of(auth), context)
        if user.provider == self.name:
            data = dict(user.auth_data or {})
            data["saml"] = {
                "name_id": auth.get_nameid(),
                "name_id_format": auth.get_nameid_format(),
                "session_index": auth.get_session_index(),
            }
            user.auth_data = data
            user.save(update_fields=["auth_data"])
        return user

    def _accepted(self, flow: Flow, response: str) -> OneLogin_Saml2_Auth:
        """The toolkit that validated ``response`` for ``flow``; :class:`SamlRefused` if not."""
        auth = self.toolkit(flow.callback, flow.callback, post={"SAMLResponse": response})
        try:
            auth.process_response(request_id=flow.request_id)
        except Exception as exc:  # undecodable base64, XML or a toolkit error: all a bad answer
            logger.info("SAML answer for %r refused: %s", self.name, type(exc).__name__)
            raise SamlRefused("saml_invalid") from None
        errors = auth.get_errors()
        if errors or not auth.is_authenticated():
            message = str(auth.get_last_error_reason() or ", ".join(errors) or "not authenticated")
            logger.info("SAML answer for %r refused: %s", self.name, message[:200])
            raise SamlRefused(_reason(message))
        if auth.get_last_response_in_response_to() != flow.request_id:
            # An unsolicited answer where a request was sent, or a solicited one without it.
            raise SamlRefused("saml_unsolicited" if flow.request_id else "saml_request_mismatch")
        return auth

    def _first_use(self, auth: OneLogin_Saml2_Auth) -> None:
        """Remember the assertion until it expires; one seen before is a replay."""
        now = timezone.now()
        until = auth.get_last_assertion_not_on_or_after()
        expires = datetime.fromtimestamp(until, UTC) if until else now + REPLAY_WINDOW
        issuer = auth.get_settings().get_idp_data()["entityId"]
        identity = f"{issuer}\n{auth.get_last_assertion_id()}"
        digest = hashlib.sha256(identity.encode()).hexdigest()
        UsedAssertion.objects.filter(expires_at__lt=now).delete()
        try:
            with transaction.atomic():
                UsedAssertion.objects.create(digest=digest, expires_at=expires)
        except IntegrityError:
            raise SamlRefused("saml_replay") from None

    def identity_of(self, auth: OneLogin_Saml2_Auth) -> Identity:
        """The person the assertion's attributes describe (the identifier falls back on the
        NameID); none at all is ``INVALID_CREDENTIALS``."""
        attributes = auth.get_attributes()
        saml = self.saml

        def first(name: str) -> str | None:
            values = attributes.get(name) or []
            value = values[0] if values else None
            return value.strip() if isinstance(value, str) and value.strip() else None

        identifier = first(saml.identifier_key) or (auth.get_nameid() or "").strip()
        if not identifier:
            raise SamlRefused("saml_no_identifier")
        email = first(saml.email_key)
        given, family = first(saml.given_name_key), first(saml.family_name_key)
        groups = attributes.get(saml.group_attribute) or []
        return Identity(
            identifier=identifier.lower()[:255],
            email=email[:254] if email else None,
            email_verified=bool(email),
            first_name=given[:50] if given else None,
            last_name=family[:50] if family else None,
            groups=tuple(str(group).strip() for group in groups[:MAX_GROUPS] if str(group).strip()),
        )

    # -- single logout

    def logout_url(self, request: HttpRequest, user: User | None) -> str | None:
        """The identity provider's sign-out URL for ``user``'s last sign-in, when it has a
        SingleLogoutService (None otherwise)."""
        idp = self.idp()
        if not idp.get("singleLogoutService", {}).get("url"):
            return None
        known = ((user.auth_data or {}).get("saml") if user is not None else None) or {}
        acs = self.callback_url(request)
        auth = self.toolkit(acs, acs)
        return str(
            auth.logout(
                name_id=known.get("name_id"),
                name_id_format=known.get("name_id_format"),
                session_index=known.get("session_index"),
            )
        )

    def logged_out(self, request: HttpRequest, query: Mapping[str, str]) -> tuple[str | None, str]:
        """Honour the identity provider's LogoutResponse or LogoutRequest at the logout URL:
        the NameID it signs out (a request), and where to send the browser (its answer to a
        request, or ``""`` after a response). :class:`SamlRefused` when it does not verify."""
        acs = self.callback_url(request)
        here = acs.rsplit("/", 1)[0] + "/logout"
        auth = self.toolkit(here, acs, get=query, messages_signed=True)
        name_id = None
        try:
            if "SAMLRequest" in query:
                xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(query["SAMLRequest"])
                name_id = OneLogin_Saml2_Logout_Request.get_nameid(xml)
            target = auth.process_slo(keep_local_session=True)
        except Exception:  # undecodable, not XML, or a toolkit error
            raise SamlRefused("saml_invalid") from None
        if auth.get_errors():
            raise SamlRefused(_reason(str(auth.get_last_error_reason() or "")))
        return name_id, str(target or "")


def _reason(message: str) -> str:
    text = message.lower().replace(" ", "").replace("_", "")
    return next((reason for needle, reason in _REASONS if needle in text), "saml_invalid")


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("sso", "The identity provider's SAML metadata is unavailable.")
