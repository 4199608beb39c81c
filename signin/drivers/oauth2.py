"""The ``oauth2`` driver: any OAuth 2.0 provider with an authorize, an access-token and a profile
URL (contract sso.md §4), over django-allauth's OAuth2 client.

The code exchange (with the PKCE verifier, the client authenticated by HTTP Basic or in the body)
is allauth's :class:`~allauth.socialaccount.providers.oauth2.client.OAuth2Client`; its HTTP
session is made by :class:`SocialAccountAdapter`, which gives it the provider's proxy and
timeout (:func:`core.outbound.session_for`). The profile is read from ``PROFILE_URL`` with the
access token through :func:`core.outbound.fetch_json`, bounded the same way. Nothing of the
provider's tokens is kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import requests
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Client, OAuth2Error

from core.errors import DirectusError, InvalidCredentials, InvalidToken, ServiceUnavailable
from core.outbound import OutboundError, fetch_json, session_for
from signin.drivers.redirect import RedirectDriver
from signin.sso.state import Flow

_session: ContextVar[requests.Session | None] = ContextVar("oauth2_session", default=None)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """allauth's adapter, with the HTTP session of the provider being called, when one is."""

    def get_requests_session(self) -> requests.Session:
        session = _session.get()
        return session if session is not None else super().get_requests_session()


@contextmanager
def _calling(session: requests.Session) -> Iterator[None]:
    token = _session.set(session)
    try:
        yield
    finally:
        _session.reset(token)
        session.close()


class OAuth2Driver(RedirectDriver):
    kind = "oauth2"
    state_failure_redirects = False

    def authorization_url(self, flow: Flow, params: dict[str, str]) -> str:
        client = self._client(flow)
        client.state = params.pop("state")
        scope = params.pop("scope").split()
        for name in ("client_id", "redirect_uri", "response_type"):
            params.pop(name)
        return str(
            client.get_redirect_url(
                self.options.authorize_url, scope, {"access_type": "offline", **params}
            )
        )

    def claims(self, flow: Flow, code: str, callback: Mapping[str, str]) -> dict[str, Any]:
        options = self.options
        session = session_for(options.access_url, timeout=options.timeout_s, proxy=options.proxy)
        try:
            with _calling(session):
                answer = self._client(flow).get_access_token(code, pkce_code_verifier=flow.verifier)
        except OAuth2Error as exc:
            raise _token_error(str(exc)) from None
        except (requests.RequestException, ValueError):
            raise _unavailable("The identity provider did not answer.") from None
        access_token = answer.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise InvalidCredentials()
        try:
            profile = fetch_json(
                options.profile_url,
                timeout=options.timeout_s,
                headers={"Authorization": f"Bearer {access_token}"},
                proxy=options.proxy,
            )
        except OutboundError:
            raise _unavailable("The identity provider's profile did not answer.") from None
        if not isinstance(profile, dict):
            raise InvalidCredentials()
        return profile

    def _client(self, flow: Flow) -> OAuth2Client:
        options = self.options
        return OAuth2Client(
            None,
            options.client_id,
            options.client_secret,
            "POST",
            options.access_url,
            flow.callback,
            basic_auth=options.token_auth_method == "client_secret_basic",
        )


def _unavailable(reason: str) -> ServiceUnavailable:
    return ServiceUnavailable("oauth2", reason)


def _token_error(message: str) -> DirectusError:
    """allauth's error carries the provider's body: ``invalid_grant`` is ``INVALID_TOKEN``,
    anything else ``SERVICE_UNAVAILABLE`` with the provider's description."""
    body: Any = {}
    start = message.find("{")
    if start >= 0:
        try:
            body = json.loads(message[start:].rstrip("'"))
        except json.JSONDecodeError:
            body = {}
    if not isinstance(body, dict):
        body = {}
    if body.get("error") == "invalid_grant" or "invalid_grant" in message:
        return InvalidToken()
    description = str(body.get("error_description") or body.get("error") or "no description")
    return _unavailable(f"Service returned unexpected response: {description[:200]}")
