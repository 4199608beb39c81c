"""An OpenID Connect / OAuth2 provider for the single-sign-on faults a real provider cannot
produce on demand: bad id_tokens (signature, audience, issuer, expiry, nonce, ``alg``, ``kid``),
token endpoint errors, garbage and slowness, failing discovery and userinfo. It serves the code
flow (with PKCE) on 127.0.0.1 from a thread, logs in nobody (``/authorize`` redirects back at
once with a code for the configured user), records what the relying party sent and switches
behaviour between requests.

    with FaultyProvider(clients={"rp": {"secret": "rp-secret", "redirect_uris": [cb]}}) as idp:
        idp.fault("expired")          # the next token responses carry an expired id_token
        idp.authorize_requests        # the query of every /authorize request (state, nonce...)
        idp.token_requests            # every /token form and its client authentication

Paths: ``/.well-known/openid-configuration``, ``/authorize``, ``/token`` (``authorization_code``
and ``refresh_token`` grants), ``/userinfo``, ``/jwks`` and ``/profile`` (a generic OAuth2
profile: the user's claims nested as ``{"data": {"username", "mail", "groups"}}``). Without
``openid`` in the authorized scope, ``/token`` answers an access token only (plain OAuth2).

A client is ``{"secret": ..., "redirect_uris": [...]}`` (no ``secret``: a public client). Each
code remembers the user's claims when it was issued (:meth:`FaultyProvider.set_user` changes them
for the next codes); the id_token, ``/userinfo`` and ``/profile`` of that code show them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

from tests.support.issuer import ec_jwk, public_jwks, rsa_jwk
from tests.support.jwks_faults import DISCOVERY, sign
from tests.support.server import InThreadServer

ID_TOKEN_TTL = 300
ACCESS_TOKEN_TTL = 3600

FAULTS = frozenset(
    {
        "bad-signature",  # signed with another key under the current kid
        "wrong-audience",
        "wrong-issuer",
        "expired",  # exp 10 min ago, iat ID_TOKEN_TTL before that
        "wrong-nonce",
        "no-nonce",
        "alg-none",  # unsigned, header alg "none"
        "hs256",  # HS256 with the client secret as the key
        "unknown-kid",  # signed with the current key, header kid not in the JWKS
        "no-id-token",
        "invalid-grant",  # 400 invalid_grant, whatever was sent
        "server-error",  # 500 with an HTML body
        "slow",  # answer normally after ``seconds``
        "not-json",  # 200 with an HTML body
    }
)

DEFAULT_USER: dict[str, Any] = {
    "sub": "u-1",
    "email": "ada@example.com",
    "email_verified": True,
    "given_name": "Ada",
    "family_name": "Lovelace",
    "groups": ["staff"],
}

WRONG_ISSUER = "http://127.0.0.1:1"
WRONG_AUDIENCE = "another-client"
HTML_ERROR = b"<html><body><h1>500 Internal Server Error</h1></body></html>"
HTML_PAGE = b"<html><body><p>Please sign in.</p></body></html>"


@dataclass
class _Grant:
    """What an authorization code was issued for."""

    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    claims: dict[str, Any]
    used: bool = False
    refresh_token: str | None = None
    access_tokens: list[str] = field(default_factory=list)


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    kind: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, document: Any, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, json.dumps(document).encode(), headers=headers or {})


def _error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> _Reply:
    return _json(status, {"error": error, "error_description": description}, headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256(claims: dict[str, Any], secret: str, kid: str) -> str:
    """``claims`` signed HS256 with ``secret`` (by hand: PyJWT warns about short secrets)."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = (
        f"{_b64(json.dumps(header, separators=(',', ':')).encode())}."
        f"{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
    )
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(digest)}"


class FaultyProvider(InThreadServer):
    def __init__(
        self,
        *,
        clients: dict[str, dict[str, Any]],
        user: dict[str, Any] | None = None,
        key: dict[str, Any] | None = None,
        refresh_tokens: bool = False,
    ) -> None:
        """``key``: the private JWK that signs id_tokens (default: a fresh RSA key ``k1``);
        ``refresh_tokens``: also issue a refresh token with each code exchange."""
        self.clients = clients
        self.user = dict(user if user is not None else DEFAULT_USER)
        self.refresh_tokens = refresh_tokens
        self.keys: list[dict[str, Any]] = [key or rsa_jwk("k1")]  # the first one signs
        self.requests = 0
        self.paths: list[str] = []
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, Any]] = []
        self._fault: tuple[str | None, float] = (None, 0.0)
        self._discovery: tuple[str, float] = ("ok", 0.0)
        self._authorize_error: tuple[str, str | None] | None = None
        self._userinfo_sub: str | None = None
        self._userinfo_status: int | None = None
        self._grants: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._access: dict[str, tuple[_Grant, float]] = {}
        self._impostors: dict[str, dict[str, Any]] = {}
        self._rotations = 1
        self._lock = threading.Lock()
        self._listen(self._handler())

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}{DISCOVERY}"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    @property
    def userinfo_endpoint(self) -> str:
        return f"{self.issuer}/userinfo"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def profile_url(self) -> str:
        return f"{self.issuer}/profile"

    @property
    def signing_key(self) -> dict[str, Any]:
        """The private JWK that signs id_tokens now."""
        return self.keys[0]

    def count(self, path: str) -> int:
        """How many requests for ``path`` were received."""
        with self._lock:
            return self.paths.count(path)

    # Switches, effective from the next request on.
    def fault(self, name: str | None, *, seconds: float = 1.0) -> None:
        """Make the next token responses show fault ``name`` (see ``FAULTS``; ``seconds`` is
        the delay of ``"slow"``) until ``fault(None)``."""
        if name is not None and name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; one of {sorted(FAULTS)}")
        self._fault = (name, seconds)

    def discovery_fails(self, status: int = 503) -> None:
        self._discovery = ("error", status)

    def hang(self, seconds: float) -> None:
        """Discovery requests get no answer for ``seconds``, then the connection closes."""
        self._discovery = ("hang", seconds)

    def discovery_ok(self) -> None:
        self._discovery = ("ok", 0.0)

    def authorize_error(self, error: str | None, description: str | None = None) -> None:
        """``/authorize`` redirects back with ``error`` (and ``error_description``) instead of a
        code; ``None``: issue codes again."""
        self._authorize_error = None if error is None else (error, description)

    def userinfo_sub(self, sub: str | None) -> None:
        """``/userinfo`` and ``/profile`` name ``sub`` as the user (``None``: the real one)."""
        self._userinfo_sub = sub

    def userinfo_fails(self, status: int = 500) -> None:
        self._userinfo_status = status

    def userinfo_ok(self) -> None:
        self._userinfo_status = None

    def set_user(self, claims: dict[str, Any]) -> None:
        """The user (claims, ``sub`` included) the next codes are issued for."""
        self.user = dict(claims)

    def rotate_keys(
        self, key: dict[str, Any] | None = None, *, keep_previous: bool = False
    ) -> dict[str, Any]:
        """Sign with ``key`` (default: a fresh RSA key ``k<n>``) from now on and return it; the
        JWKS holds it alone, or first before the previous keys with ``keep_previous``."""
        self._rotations += 1
        new = key or rsa_jwk(f"k{self._rotations}")
        self.keys = [new, *self.keys] if keep_previous else [new]
        return new

    # Endpoints.
    def _route(
        self, method: str, path: str, query: str, headers: Message, body: bytes
    ) -> _Reply | None:
        if path == "/token":
            if method != "POST":
                return _error(405, "invalid_request", "use POST")
            return self._token(headers, body)
        if method != "GET":
            return _error(405, "invalid_request", "use GET")
        if path == DISCOVERY:
            return self._discovery_document()
        if path == "/authorize":
            return self._authorize(query)
        if path == "/jwks":
            return _json(200, public_jwks(self.keys))
        if path in ("/userinfo", "/profile"):
            return self._userinfo(headers, profile=path == "/profile")
        return _error(404, "not_found", path)

    def _discovery_document(self) -> _Reply | None:
        kind, value = self._discovery
        if kind == "error":
            return _error(int(value), "temporarily_unavailable", "discovery is down")
        if kind == "hang":
            self._stopping.wait(value)
            return None
        return _json(
            200,
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.authorization_endpoint,
                "token_endpoint": self.token_endpoint,
                "userinfo_endpoint": self.userinfo_endpoint,
                "jwks_uri": self.jwks_uri,
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "authorization_response_iss_parameter_supported": True,
            },
        )

    def _authorize(self, query: str) -> _Reply:
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        with self._lock:
            self.authorize_requests.append(params)
        client = self.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        # Never redirect to an unverified place: these are answered here.
        if client is None:
            return _error(400, "invalid_request", "unknown client_id")
        if redirect_uri not in client.get("redirect_uris", []):
            return _error(400, "invalid_request", "redirect_uri is not registered")

        def back(**values: str) -> _Reply:
            if "state" in params:
                values["state"] = params["state"]
            values["iss"] = self.issuer
            joiner = "&" if urlsplit(redirect_uri).query else "?"
            return _Reply(302, headers={"Location": f"{redirect_uri}{joiner}{urlencode(values)}"})

        if self._authorize_error is not None:
            error, description = self._authorize_error
            if description is None:
                return back(error=error)
            return back(error=error, error_description=description)
        if params.get("response_type") != "code":
            return back(error="unsupported_response_type", error_description="only code")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if challenge is not None and method != "S256":
            return back(error="invalid_request", error_description="code_challenge_method: S256")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = _Grant(
                client_id=params["client_id"],
                redirect_uri=redirect_uri,
                scope=params.get("scope", ""),
                nonce=params.get("nonce"),
                code_challenge=challenge,
                code_challenge_method=method,
                claims=dict(self.user),
            )
        return back(code=code)

    def _client(
        self, headers: Message, form: dict[str, str]
    ) -> tuple[str, str | None, str] | _Reply:
        """(client_id, secret, auth method) as sent, or the answer to unreadable credentials."""
        scheme, _, value = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return _unauthorized("malformed Basic credentials")
            client_id, colon, secret = decoded.partition(":")
            if not colon:
                return _unauthorized("malformed Basic credentials")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
            if "client_secret" in form or form.get("client_id", client_id) != client_id:
                return _error(400, "invalid_request", "more than one client authentication")
            return client_id, secret, "basic"
        if "client_secret" in form:
            return form.get("client_id", ""), form["client_secret"], "post"
        return form.get("client_id", ""), None, "none"

    def _token(self, headers: Message, body: bytes) -> _Reply:
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        credentials = self._client(headers, form)
        with self._lock:
            self.token_requests.append(
                {
                    "form": form,
                    "auth": "invalid" if isinstance(credentials, _Reply) else credentials[2],
                    "client_id": None if isinstance(credentials, _Reply) else credentials[0],
                }
            )
        fault, seconds = self._fault
        if fault == "slow":
            self._stopping.wait(seconds)
        elif fault == "server-error":
            return _Reply(500, HTML_ERROR, "text/html")
        elif fault == "not-json":
            return _Reply(200, HTML_PAGE, "text/html")
        elif fault == "invalid-grant":
            return _error(400, "invalid_grant", "refused (fault)")
        if isinstance(credentials, _Reply):
            return credentials
        client_id, secret, auth = credentials
        client = self.clients.get(client_id)
        if client is None:
            return _unauthorized("unknown client", basic=auth == "basic")
        if client.get("secret") is not None and secret != client["secret"]:
            return _unauthorized("wrong client secret", basic=auth == "basic")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant_or_error = self._redeem(client_id, form)
            if isinstance(grant_or_error, _Reply):
                return grant_or_error
            return self._issue(grant_or_error, fault, id_token=True)
        if grant_type == "refresh_token":
            with self._lock:
                grant = self._refresh.get(form.get("refresh_token", ""))
            if grant is None or grant.client_id != client_id:
                return _error(400, "invalid_grant", "unknown refresh_token")
            return self._issue(grant, fault, id_token=False)
        return _error(400, "unsupported_grant_type", f"grant_type {grant_type!r}")

    def _redeem(self, client_id: str, form: dict[str, str]) -> _Grant | _Reply:
        """The code's grant, used up; or the invalid_grant answer. A reused code also revokes
        the access tokens issued for it."""
        with self._lock:
            grant = self._grants.get(form.get("code", ""))
            if grant is None or grant.client_id != client_id:
                return _error(400, "invalid_grant", "unknown code")
            if grant.used:
                for token in grant.access_tokens:
                    self._access.pop(token, None)
                return _error(400, "invalid_grant", "code already used")
            grant.used = True
        if form.get("redirect_uri") != grant.redirect_uri:
            return _error(400, "invalid_grant", "redirect_uri does not match")
        verifier = form.get("code_verifier")
        if grant.code_challenge is None:
            if verifier is not None:
                return _error(400, "invalid_grant", "code_verifier without code_challenge")
        elif verifier is None:
            return _error(400, "invalid_grant", "code_verifier missing")
        elif _b64(hashlib.sha256(verifier.encode()).digest()) != grant.code_challenge:
            return _error(400, "invalid_grant", "code_verifier does not match")
        return grant

    def _issue(self, grant: _Grant, fault: str | None, *, id_token: bool) -> _Reply:
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._access[access_token] = (grant, time.time() + ACCESS_TOKEN_TTL)
            grant.access_tokens.append(access_token)
            if self.refresh_tokens and grant.refresh_token is None:
                grant.refresh_token = secrets.token_urlsafe(32)
                self._refresh[grant.refresh_token] = grant
        document: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "scope": grant.scope,
        }
        if grant.refresh_token is not None:
            document["refresh_token"] = grant.refresh_token
        if id_token and "openid" in grant.scope.split() and fault != "no-id-token":
            document["id_token"] = self._id_token(grant, fault)
        return _json(200, document, {"Cache-Control": "no-store"})

    def _id_token(self, grant: _Grant, fault: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            **grant.claims,
            "iss": self.issuer,
            "aud": grant.client_id,
            "sub": grant.claims["sub"],
            "iat": now,
            "exp": now + ID_TOKEN_TTL,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        if fault == "wrong-audience":
            claims["aud"] = WRONG_AUDIENCE
        elif fault == "wrong-issuer":
            claims["iss"] = WRONG_ISSUER
        elif fault == "expired":
            claims["exp"] = now - 600
            claims["iat"] = now - 600 - ID_TOKEN_TTL
        elif fault == "wrong-nonce":
            claims["nonce"] = secrets.token_urlsafe(16)
        elif fault == "no-nonce":
            claims.pop("nonce", None)
        key = self.signing_key
        if fault == "bad-signature":
            return sign(claims, self._impostor(key))
        if fault == "alg-none":
            return sign(claims, key, alg="none")
        if fault == "hs256":
            return _hs256(claims, self.clients[grant.client_id].get("secret") or "", key["kid"])
        if fault == "unknown-kid":
            return sign(claims, key, headers={"kid": f"unknown-{key['kid']}"})
        return sign(claims, key)

    def _impostor(self, key: dict[str, Any]) -> dict[str, Any]:
        """Another key of the same type with the same kid (made once per kid)."""
        with self._lock:
            impostor = self._impostors.get(key["kid"])
            if impostor is None:
                make = rsa_jwk if key["kty"] == "RSA" else ec_jwk
                impostor = self._impostors[key["kid"]] = make(key["kid"])
            return impostor

    def _userinfo(self, headers: Message, *, profile: bool) -> _Reply:
        if self._userinfo_status is not None:
            return _error(self._userinfo_status, "server_error", "userinfo is down")
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        with self._lock:
            entry = self._access.get(token.strip()) if scheme.lower() == "bearer" else None
        if entry is None or entry[1] < time.time():
            challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            return _error(401, "invalid_token", "unknown or expired access token", challenge)
        claims = dict(entry[0].claims)
        if self._userinfo_sub is not None:
            claims["sub"] = self._userinfo_sub
        if profile:
            nested = {
                "username": claims["sub"],
                "mail": claims.get("email"),
                "groups": claims.get("groups", []),
            }
            return _json(200, {"data": nested})
        return _json(200, claims)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _serve(self, method: str) -> None:
                path, _, query = self.path.partition("?")
                with owner._lock:
                    owner.requests += 1
                    owner.paths.append(path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = owner._route(method, path, query, self.headers, body)
                if reply is None:
                    self.close_connection = True
                    return
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.kind)
                    self.send_header("Content-Length", str(len(reply.body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        return Handler


def _unauthorized(description: str, *, basic: bool = True) -> _Reply:
    headers = {"WWW-Authenticate": 'Basic realm="token"'} if basic else None
    return _error(401, "invalid_client", description, headers)
