"""What the redirect drivers (``openid``, ``oauth2``) share: the start of a sign-in, the
callback, and the way both end in the one sign-in flow (contract sso.md §2, §4, §5).

:meth:`RedirectDriver.begin` checks ``redirect`` against the allow-list, remembers a
:class:`~signin.sso.state.Flow` (state, nonce, PKCE verifier, the carried ``otp``) and answers the
provider's authorization URL. :meth:`RedirectDriver.complete` takes that flow back by the
callback's ``state`` (once only), lets the driver turn the ``code`` into claims through its
library, and signs the person in with :func:`signin.flow.sign_in_user`: the same limits, stall,
status and provider checks, second factor and events as a password. A driver subclass only
says how to build the authorization URL and how to exchange the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core import checks
from django.http import HttpRequest

from accounts.models import User
from core.errors import (
    DirectusError,
    InvalidCredentials,
    InvalidPayload,
    InvalidProvider,
    ServiceUnavailable,
)
from signin.drivers.base import AuthDriver
from signin.flow import sign_in_user
from signin.redirects import RedirectRejected, resolve_login_redirect
from signin.sso.options import SsoOptions, sso_options
from signin.sso.state import Flow, begin, take
from signin.sso.users import Identity, identity_from, user_for
from tokens.issue import IssuedTokens
from tokens.sessions import SessionContext

#: What an identity provider's ``error`` callback parameter is answered with.
_IDP_ERRORS = {
    "temporarily_unavailable": "SERVICE_UNAVAILABLE",
    "server_error": "SERVICE_UNAVAILABLE",
}


class SignInRefused(Exception):
    """A redirect sign-in cannot go on; ``error`` is the contract error and ``redirect`` the
    target of its flow when known (it receives ``?reason=<code>``), ``known_flow`` whether
    the callback belonged to a flow at all."""

    def __init__(
        self, error: DirectusError, redirect: str | None, *, known_flow: bool = True
    ) -> None:
        super().__init__(error.code)
        self.error = error
        self.redirect = redirect
        self.known_flow = known_flow


class RedirectDriver(AuthDriver):
    redirects = True
    #: Whether a callback without a valid ``state`` is sent to the login page (``openid``)
    #: or answered with a JSON 401 (``oauth2``), as Directus does.
    state_failure_redirects: ClassVar[bool] = True
    #: The last segment of the URL the provider sends the person back to.
    callback_path: ClassVar[str] = "callback"

    def __init__(self, provider: Any) -> None:
        super().__init__(provider)
        self.options: SsoOptions = sso_options(provider)

    def check(self) -> list[checks.CheckMessage]:
        return [checks.Error(problem, id="signin.E010") for problem in self.options.problems]

    @property
    def openid(self) -> bool:
        return self.kind == "openid"

    def available(self) -> bool:
        """Whether the provider is known to answer (the login page marks it otherwise)."""
        return not self.options.problems

    # -- what a driver provides

    def authorization_url(self, flow: Flow, params: dict[str, str]) -> str:
        """The provider's authorization URL for ``flow`` with the common ``params``."""
        raise NotImplementedError

    def claims(self, flow: Flow, code: str, callback: Mapping[str, str]) -> dict[str, Any]:
        """Exchange ``code`` and say who the person is (verified claims, or the profile)."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Make sure the provider can be used now (discover it); a contract error if not."""

    def expected_issuer(self) -> str | None:
        """The ``iss`` a callback may carry (RFC 9207), when the provider has one."""
        return None

    # -- the flow

    def resolve_redirect(self, value: object) -> str | None:
        """``redirect`` as allowed (None when none was given), else 400 ``INVALID_PAYLOAD``."""
        if value in (None, ""):
            return None
        config = settings.DIRECTUS
        allow_list = self.options.redirect_allow_list
        if allow_list is None:
            allow_list = tuple(config.auth.login_redirect_allow_list)
        try:
            return resolve_login_redirect(value, config.server.public_url, allow_list)
        except RedirectRejected:
            raise InvalidPayload(f'URL "{value}" can\'t be used to redirect after login.') from None

    def callback_url(self, request: HttpRequest) -> str:
        """``<base>/auth/login/<name>/callback``; the base is the ``AUTH_ALLOWED_PUBLIC_URLS``
        entry of the request's scheme and host, else ``PUBLIC_URL`` (contract sso.md §2.4)."""
        config = settings.DIRECTUS
        here = f"{request.scheme}://{request.get_host()}".lower()
        base = next(
            (url for url in config.auth.allowed_public_urls if _origin(url) == here),
            config.server.public_url,
        )
        if not base.startswith(("http://", "https://")):
            base = request.build_absolute_uri("/")
        return f"{base.rstrip('/')}/auth/login/{self.name}/{self.callback_path}"

    def begin(
        self, request: HttpRequest, redirect: object, otp: str | None, prompt: bool
    ) -> tuple[Flow, str]:
        """Start a sign-in: the flow and the provider URL to send the browser to."""
        target = self.resolve_redirect(redirect)
        try:
            if self.options.problems:
                raise InvalidProvider()
            self.prepare()
        except DirectusError as error:
            raise SignInRefused(error, target) from None
        flow = begin(
            request,
            self.name,
            callback=self.callback_url(request),
            redirect=target,
            otp=otp,
            prompt=prompt,
        )
        return self.sent(request, flow, self._start_params(flow, prompt))

    def sent(self, request: HttpRequest, flow: Flow, params: dict[str, str]) -> tuple[Flow, str]:
        """The flow as remembered and the provider URL that starts it (a driver whose request
        has an id of its own records it in the flow here)."""
        return flow, self.authorization_url(flow, params)

    def _start_params(self, flow: Flow, prompt: bool) -> dict[str, str]:
        method = "plain" if self.options.plain_code_challenge else "S256"
        return {
            "client_id": self.options.client_id,
            "response_type": "code",
            "redirect_uri": flow.callback,
            "scope": self.options.scope,
            "state": flow.state,
            "code_challenge": flow.challenge(method),
            "code_challenge_method": method,
            **({"prompt": "consent"} if prompt else {}),
            **dict(self.options.params),
        }

    def complete(
        self, request: HttpRequest, callback: Mapping[str, str], context: SessionContext
    ) -> tuple[Flow, IssuedTokens]:
        """Honour a callback: the flow it ends and the tokens of the signed-in person; or
        :class:`SignInRefused`."""
        flow = self.flow_for(request, callback)
        if flow is None:
            context.audit("login.failure", "failure", reason="sso_state", provider=self.name)
            raise SignInRefused(InvalidCredentials(), None, known_flow=False)
        idp_error = callback.get("error")
        if idp_error:
            context.audit(
                "login.failure",
                "failure",
                reason=f"idp_{str(idp_error)[:40]}",
                provider=self.name,
            )
            code = _IDP_ERRORS.get(str(idp_error), "INVALID_CREDENTIALS")
            raise SignInRefused(_error(code), flow.redirect)

        def prove() -> User:
            issuer, iss = self.expected_issuer(), callback.get("iss")
            if not callback.get("code") or (iss is not None and issuer and iss != issuer):
                context.audit("login.failure", "failure", reason="sso_callback", provider=self.name)
                raise InvalidCredentials()
            return self.user_from(flow, callback, context)

        try:
            issued = sign_in_user(self, prove, self.options.mode, context, otp=flow.otp)
        except DirectusError as error:
            raise SignInRefused(error, flow.redirect) from None
        return flow, issued

    def flow_for(self, request: HttpRequest, callback: Mapping[str, str]) -> Flow | None:
        """The flow the callback ends (taken from the session by its ``state``), or None."""
        return take(request, self.name, callback.get("state"), self.options.login_timeout_s)

    def user_from(self, flow: Flow, callback: Mapping[str, str], context: SessionContext) -> User:
        """The user the provider's answer proves: its claims, matched or provisioned."""
        identity = self.identity(self.claims(flow, callback["code"], callback))
        return user_for(self.name, self.options, identity, context)

    def identity(self, claims: Mapping[str, Any]) -> Identity:
        return identity_from(claims, self.options, openid=self.openid)


def failure_url(redirect: str | None, code: str, login_page: str, provider: str) -> str:
    """Where a failed sign-in sends the browser: its redirect (up to the first ``?``) with
    ``?reason=<code>``, or the login page, which shows what went wrong (contract sso.md §2.3)."""
    if redirect:
        return f"{redirect.split('?')[0]}?{urlencode({'reason': code})}"
    return f"{login_page}?{urlencode({'reason': code, 'provider': provider})}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _error(code: str) -> DirectusError:
    if code == "SERVICE_UNAVAILABLE":
        return ServiceUnavailable("sso", "The identity provider is unavailable.")
    return InvalidCredentials()
