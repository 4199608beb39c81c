"""The ``openid`` driver: OpenID Connect over mozilla-django-oidc (contract sso.md §5).

The provider is discovered from ``ISSUER_URL`` (its discovery document, or the issuer it is
the document of) on first use, not at start-up: a provider that does not answer is marked
unavailable on the login page and asked again after :data:`RETRY_AFTER_FAILURE` seconds, and
every other way to sign in keeps working. The code exchange, the id_token check and the
userinfo call are the library's :class:`~mozilla_django_oidc.auth.OIDCAuthenticationBackend`,
with its settings taken from this provider instead of Django settings, and two places made
strict: keys come from the provider's JWKS through :mod:`tokens.external.jwks` (cached,
rotation-aware, bounded, through the outbound proxy), and the id_token must be signed with an
asymmetric algorithm the provider announces and name this client as its audience, the
discovered issuer, an expiry and the flow's nonce. Userinfo claims overlay the id_token's, and
must be about the same ``sub``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from core.config.issuers import TrustedIssuer
from core.errors import InvalidCredentials, InvalidToken, ServiceUnavailable
from core.outbound import OutboundError, fetch_json, proxies_for
from signin.drivers.redirect import RedirectDriver
from signin.sso.remembered import RecentFailure, Remembered
from signin.sso.state import Flow
from tokens.external import jwks

logger = logging.getLogger("signin.sso")

DISCOVERY_PATH = "/.well-known/openid-configuration"
RETRY_AFTER_FAILURE = 10.0
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
CLOCK_SKEW_S = 30


@dataclass(frozen=True)
class Discovered:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    algorithms: tuple[str, ...]


_discovered: Remembered[Discovered] = Remembered()


def forget() -> None:
    """Drop every discovered provider (tests)."""
    _discovered.forget()


class OpenIdDriver(RedirectDriver):
    kind = "openid"
    state_failure_redirects = True

    def available(self) -> bool:
        if self.options.problems:
            return False
        return _discovered.available(self._key, retry_after=RETRY_AFTER_FAILURE)

    @property
    def _key(self) -> tuple[str, str]:
        return (self.name, self.options.issuer_url)

    def discovered(self) -> Discovered:
        """The provider's endpoints, discovered once per process (retried after a failure)."""
        try:
            return _discovered.get(
                self._key,
                self._discover,
                retry_after=RETRY_AFTER_FAILURE,
                failures=(OutboundError,),
            )
        except RecentFailure:
            raise _unavailable("The identity provider could not be discovered.") from None
        except OutboundError as exc:
            logger.warning("Discovery of SSO provider %r failed: %s", self.name, exc)
            raise _unavailable("The identity provider could not be discovered.") from None

    def _discover(self) -> Discovered:
        url = self.options.issuer_url
        if DISCOVERY_PATH not in url:
            url = url.rstrip("/") + DISCOVERY_PATH
        doc = fetch_json(url, timeout=self.options.timeout_s, proxy=self.options.proxy)
        if not isinstance(doc, dict):
            raise OutboundError("the discovery document is not an object")
        endpoints = {}
        for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = doc.get(name)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise OutboundError(f"the discovery document has no {name}")
            endpoints[name] = value
        if "code" not in (doc.get("response_types_supported") or ["code"]):
            raise OutboundError("the provider does not support the code flow")
        userinfo = doc.get("userinfo_endpoint")
        announced = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = tuple(alg for alg in announced if alg in ASYMMETRIC)
        if not algorithms:
            raise OutboundError("the provider signs id_tokens with no asymmetric algorithm")
        return Discovered(
            **endpoints,
            userinfo_endpoint=userinfo if isinstance(userinfo, str) and userinfo else None,
            algorithms=algorithms,
        )

    def prepare(self) -> None:
        self.discovered()

    def expected_issuer(self) -> str | None:
        return self.discovered().issuer

    def authorization_url(self, flow: Flow, params: dict[str, str]) -> str:
        endpoint = self.discovered().authorization_endpoint
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{urlencode({**params, 'nonce': flow.nonce})}"

    def claims(self, flow: Flow, code: str, callback: Mapping[str, str]) -> dict[str, Any]:
        backend = _Backend(self, self.discovered())
        payload = {
            "client_id": self.options.client_id,
            "client_secret": self.options.client_secret,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flow.callback,
            "code_verifier": flow.verifier,
        }
        try:
            answer = backend.get_token(payload)
        except requests.HTTPError as exc:
            raise _token_error(exc.response) from None
        except (requests.RequestException, ValueError):
            raise _unavailable("The identity provider did not answer.") from None
        id_token = answer.get("id_token") if isinstance(answer, dict) else None
        if not isinstance(id_token, str):
            raise _refused("no id_token")
        try:
            claims = backend.verify_token(id_token, nonce=flow.nonce)
        except (SuspiciousOperation, jwt.PyJWTError, jwks.KeyRefused) as exc:
            raise _refused(str(exc)) from None
        userinfo = backend.discovered.userinfo_endpoint
        access_token = answer.get("access_token")
        if userinfo and isinstance(access_token, str):
            try:
                info = backend.get_userinfo(access_token, id_token, claims)
            except (requests.RequestException, ValueError, SuspiciousOperation):
                raise _unavailable("The identity provider's userinfo did not answer.") from None
            if not isinstance(info, dict) or info.get("sub") != claims.get("sub"):
                raise _refused("userinfo is about another subject")
            claims = {**claims, **info}
        return dict(claims)


class _Backend(OIDCAuthenticationBackend):
    """The library's backend for one provider: its settings from the driver, not Django's."""

    def __init__(self, driver: OpenIdDriver, discovered: Discovered) -> None:
        options = driver.options
        self.driver = driver
        self.discovered = discovered
        self.OIDC_OP_TOKEN_ENDPOINT = discovered.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = discovered.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = discovered.jwks_uri
        self.OIDC_RP_CLIENT_ID = options.client_id
        self.OIDC_RP_CLIENT_SECRET = options.client_secret
        self.OIDC_RP_SIGN_ALGO = discovered.algorithms[0]  # asymmetric: keys from the JWKS
        self.OIDC_RP_IDP_SIGN_KEY = None
        self._settings = {
            "OIDC_TIMEOUT": options.timeout_s,
            "OIDC_PROXY": proxies_for(discovered.token_endpoint, proxy=options.proxy),
            "OIDC_VERIFY_SSL": True,
            "OIDC_TOKEN_USE_BASIC_AUTH": options.token_auth_method == "client_secret_basic",
            "OIDC_USE_NONCE": True,
            "OIDC_ALLOW_UNSECURED_JWT": False,
        }

    def get_settings(self, attr: str, *args: Any) -> Any:
        if attr in self._settings:
            return self._settings[attr]
        if args:
            return args[0]
        raise SuspiciousOperation(f"{attr} is not a per-provider setting")

    def retrieve_matching_jwk(self, token: str) -> Any:
        header = jwt.get_unverified_header(token)
        alg = header.get("alg")
        if alg not in self.discovered.algorithms or "crit" in header:
            raise SuspiciousOperation("id_token algorithm not allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise SuspiciousOperation("id_token kid is not text")
        return jwks.signing_key(self._keys(), header).key

    def _keys(self) -> TrustedIssuer:
        options = self.driver.options
        return TrustedIssuer(
            name=f"sso:{self.driver.name}",
            issuer=self.discovered.issuer,
            audiences=(options.client_id,),
            jwks_url=self.discovered.jwks_uri,
            algorithms=self.discovered.algorithms,
            timeout_s=options.timeout_s,
            proxy=options.proxy,
        )

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        alg = jwt.get_unverified_header(payload).get("alg")
        claims: dict[str, Any] = jwt.decode(
            payload,
            key,
            algorithms=[alg] if alg in self.discovered.algorithms else [],
            audience=self.OIDC_RP_CLIENT_ID,
            issuer=self.discovered.issuer,
            leeway=CLOCK_SKEW_S,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("id_token azp is not this client")
        return claims


def _unavailable(reason: str) -> ServiceUnavailable:
    return ServiceUnavailable("openid", reason)


def _refused(reason: str) -> InvalidCredentials:
    logger.warning("An id_token was refused: %s", reason[:200])
    return InvalidCredentials()


def _token_error(response: requests.Response | None) -> InvalidToken | ServiceUnavailable:
    """``invalid_grant`` (a used, expired or foreign code) is ``INVALID_TOKEN``; anything else
    the provider answers is ``SERVICE_UNAVAILABLE`` with its description."""
    try:
        body = response.json() if response is not None else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if body.get("error") == "invalid_grant":
        return InvalidToken()
    description = str(body.get("error_description") or body.get("error") or "no description")
    return ServiceUnavailable("openid", f"Service returned unexpected response: {description}")
