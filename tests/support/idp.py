"""A real identity provider for the single sign-on tests: npm ``oidc-provider``
(tests/tokens/js/idp.mjs) serving the authorization-code grant with PKCE behind its own login
form, and a walker that signs in through it the way a browser would.

    with OidcIdp(tmp, accounts=[{"login": "ada", "password": "pw", "groups": ["staff"]}],
                 clients=[{"client_id": "rp", "client_secret": "s",
                           "redirect_uris": [f"{server}/auth/login/acme/callback"]}]) as idp:
        final = sign_in_at_idp(session, f"{server}/auth/login/acme", "ada", "pw")

An account is ``{"login", "password"}`` plus, optionally, ``sub`` (default: the login),
``email``, ``email_verified``, ``given_name``, ``family_name``, ``name`` and ``groups``; the
id_token and userinfo (``/me``) carry those of the scopes asked (``email``, ``profile``,
``groups``). Consent is given by the provider for every scope asked. :meth:`OidcIdp.restart`
starts again on the same port with other accounts (the provider's sessions are forgotten, so
the next sign-in shows the form again).

As a portal in front of a directory (``directory={"url", "people", "groups", "bind_dn",
"bind_password"}``) it checks passwords with the directory and reads the claims there at every
sign-in; ``totp={login: base32 secret}`` adds its own second factor for those logins."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from tests.support.issuer import NodePeer, rsa_jwk

FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


class OidcIdp(NodePeer):
    script = "idp.mjs"
    name = "idp"

    def __init__(
        self,
        tmp: Path,
        *,
        accounts: list[dict[str, Any]],
        clients: list[dict[str, Any]],
        keys: list[dict[str, Any]] | None = None,
        port: int | None = None,
        start_timeout: float = 20,
        directory: dict[str, str] | None = None,
        totp: dict[str, str] | None = None,
    ) -> None:
        super().__init__(tmp, port=port, start_timeout=start_timeout)
        self.accounts = accounts
        self.clients = clients
        self.keys = keys if keys is not None else [rsa_jwk("idp-1")]
        self.directory = directory
        self.totp = totp or {}

    def document(self) -> dict[str, Any]:
        document = {"keys": self.keys, "accounts": self.accounts, "clients": self.clients}
        if self.directory:
            document["directory"] = self.directory
        return {**document, "totp": self.totp}

    @property
    def authorize_endpoint(self) -> str:
        return f"{self.issuer}/auth"

    @property
    def userinfo_endpoint(self) -> str:
        return f"{self.issuer}/me"

    def restart(self, *, accounts: list[dict[str, Any]] | None = None) -> None:
        self.stop()
        if accounts is not None:
            self.accounts = accounts
        self.start()


class IdpFormError(AssertionError):
    """The IdP showed its form again (wrong login or password) or something unexpected."""


def sign_in_at_idp(
    session: requests.Session,
    start_url: str,
    login: str,
    password: str,
    *,
    stop_at: str | None = None,
    max_hops: int = 20,
    code: Callable[[], str] | None = None,
) -> requests.Response:
    """Follow ``start_url`` the way a browser does: redirects one by one, the IdP's login form
    filled in with ``login`` and ``password`` when it shows. Returns the last response: the
    first one that is not a redirect, or the redirect *to* a URL starting with ``stop_at``
    (that response is returned unfollowed, so its ``Location`` can be checked). When the IdP
    asks for its own second factor, ``code()`` is entered."""
    url, method, data = start_url, "GET", None
    form_seen = False
    for _ in range(max_hops):
        response = session.request(method, url, data=data, allow_redirects=False, timeout=15)
        location = response.headers.get("Location")
        if response.is_redirect and location:
            target = urljoin(url, location)
            if stop_at is not None and target.startswith(stop_at):
                return response
            url, method, data = target, "GET", None
            continue
        action = FORM_ACTION.search(response.text) if response.status_code == 200 else None
        if action and action.group(1).endswith("/code"):
            if code is None or "Invalid code" in response.text:
                raise IdpFormError(f"the IdP refused the code of {login!r}")
            url = urljoin(url, unescape(action.group(1)))
            method, data = "POST", {"code": code()}
            continue
        if action and "/interaction/" in action.group(1):
            if form_seen and "Invalid login or password" in response.text:
                raise IdpFormError(f"the IdP refused {login!r}")
            form_seen = True
            url = urljoin(url, unescape(action.group(1)))
            method, data = "POST", {"login": login, "password": password}
            continue
        return response
    raise IdpFormError(f"more than {max_hops} hops from {start_url}")


def browser_session() -> requests.Session:
    """A cookie-keeping session that ignores the environment's proxy settings."""
    session = requests.Session()
    session.trust_env = False
    return session
