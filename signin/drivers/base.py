"""The auth-driver model (contract sso.md §1; Directus's ``AuthDriver``): one class per way of
signing in, one instance per configured provider.

A driver only answers *who is this and did they prove it*; everything around that — limits,
stall, status and provider checks, failed-attempt counting, the second factor, the session and
the auth log — is :func:`signin.flow.sign_in`'s, the same for every driver. Two kinds:

* **credentials drivers** (``local``, ``ldap``): :meth:`AuthDriver.parse` a body, then
  :meth:`AuthDriver.find_user` and :meth:`AuthDriver.verify` the secret;
* **redirect drivers** (``openid``, ``oauth2``, ``saml``): :meth:`AuthDriver.start` sends the
  browser to the identity provider and :meth:`AuthDriver.finish` turns its answer into a user,
  which the flow then signs in exactly like a verified password.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core import checks
from django.http import HttpRequest

from accounts.models import User
from core.config.auth import ProviderConfig
from core.errors import RouteNotFound
from signin.payload import LoginPayload, parse_login_payload
from tokens.sessions import SessionContext


class AuthDriver:
    """A way to sign in, bound to one provider's configuration."""

    #: The ``AUTH_<NAME>_DRIVER`` value that selects this class.
    kind: ClassVar[str]
    #: Whether people sign in through a browser redirect (``start``/``finish``).
    redirects: ClassVar[bool] = False
    #: The body field that names the person (``email`` for local, ``identifier`` for ldap).
    identifier_field: ClassVar[str] = "identifier"

    def __init__(self, provider: ProviderConfig) -> None:
        self.provider = provider

    @property
    def name(self) -> str:
        return self.provider.name

    def check(self) -> list[checks.CheckMessage]:
        """System-check messages for this provider's options (required settings, types)."""
        return []

    # -- credentials drivers

    def parse(self, data: Any) -> LoginPayload:
        """The sign-in body for this driver, or ``INVALID_PAYLOAD``."""
        return parse_login_payload(data, identifier=self.identifier_field)

    def find_user(self, payload: LoginPayload, context: SessionContext) -> User | None:
        """The user ``payload`` names (Directus ``getUserID``), or None. A driver that creates
        users (``ldap``) records its events with ``context``."""
        raise RouteNotFound(f"/auth/login/{self.name}")

    def verify(self, user: User | None, payload: LoginPayload) -> bool:
        """Whether ``payload`` proves ``user``. Must cost the same when ``user`` is None."""
        return False

    # -- redirect drivers

    def start(self, request: HttpRequest, redirect: str) -> str:
        """The identity provider's URL to send the browser to."""
        raise RouteNotFound(f"/auth/login/{self.name}")

    def finish(self, request: HttpRequest) -> User:
        """The user the identity provider's answer proves (matched or provisioned)."""
        raise RouteNotFound(f"/auth/login/{self.name}/callback")

    # -- hooks around the session

    def login(self, user: User, payload: LoginPayload | None) -> None:
        """After a successful sign-in, before the session opens (sync the profile, …)."""

    def refresh(self, user: User) -> None:
        """On every refresh of a session this provider opened."""

    def logout(self, user: User) -> None:
        """When a session this provider opened ends."""
