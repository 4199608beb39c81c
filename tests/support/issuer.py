"""A real external issuer for the tests: npm ``oidc-provider`` (tests/tokens/js/issuer.mjs)
issuing client-credentials JWT access tokens, and key helpers (private JWKs with ``kid``).

    with ExternalIssuer(tmp, keys=[rsa_jwk("k1")], clients=[...], resource=AUD) as idp:
        token = idp.token("billing", scope="svc#read")
        idp.restart(keys=[rsa_jwk("k2"), ...])   # key rotation at the issuer, same port

A client is ``{"client_id", "client_secret", "scope"}`` (``scope``: the allowed scopes, space
separated) plus, optionally, ``groups`` (a ``groups`` claim), ``claims`` (more claims; standard
ones cannot be overridden), ``signing_alg`` / ``signing_kid`` (which key of the set signs its
tokens, e.g. ``"ES256"``; by default the first key) and ``token_endpoint_auth_method``
(``client_secret_basic``, the default, or ``client_secret_post``).

A token (header ``{"alg", "typ": "at+jwt", "kid"}``) carries ``iss``, ``aud`` (the resource),
``sub`` and ``client_id`` (both the client id), ``scope`` (granted scopes, space separated; absent
when none), ``iat``, ``exp`` (``ttl_seconds`` later, default 600), ``jti``,
``gty: "client-credentials"``, and ``groups`` when the client has them."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.support.server import free_port, terminate

JS = Path(__file__).resolve().parents[1] / "tokens" / "js"
PUBLIC_MEMBERS = {"kty", "kid", "alg", "use", "n", "e", "crv", "x", "y"}


def rsa_jwk(kid: str, *, alg: str = "RS256", bits: int = 2048) -> dict[str, Any]:
    """A private RSA JWK with ``kid``, ``alg`` and ``use: "sig"``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True)
    jwk.pop("key_ops", None)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def ec_jwk(kid: str) -> dict[str, Any]:
    """A private P-256 JWK with ``kid``, ``alg: "ES256"`` and ``use: "sig"``."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk: dict[str, Any] = jwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True)
    jwk.pop("key_ops", None)
    return {**jwk, "kid": kid, "alg": "ES256", "use": "sig"}


def public_jwk(key: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in key.items() if k in PUBLIC_MEMBERS}


def public_jwks(keys: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The JWKS a verifier sees for these (private) keys."""
    return {"keys": [public_jwk(key) for key in keys]}


class NodePeer:
    """A ``node tests/tokens/js/<script>`` peer on 127.0.0.1 configured by one JSON document,
    started once it prints "ready", stopped by PID. Subclasses name the script and the
    document."""

    script = ""
    name = "peer"

    def __init__(self, tmp: Path, *, port: int | None = None, start_timeout: float = 20) -> None:
        self.tmp = tmp
        self.port = port or free_port()
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = tmp / f"{self.name}-{self.port}.log"
        self.started_in: float | None = None  # seconds the last start took

    def document(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> Self:
        """Start the provider and wait for its "ready" line; raises with its output if not."""
        if self.running:
            return self
        if not (JS / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(
                f"oidc-provider is not installed: run `npm ci` in {JS} (.ci/run does)"
            )
        config = self.tmp / f"{self.name}-{self.port}.json"
        config.write_text(json.dumps({"port": self.port, **self.document()}))
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                ["node", str(JS / self.script), str(config)],
                cwd=JS,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = began + self.start_timeout
        while True:
            output = self._output(offset)
            if "\nready\n" in f"\n{output}":
                self.started_in = time.monotonic() - began
                return self
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"oidc-provider did not start:\n{self._output(offset)}")
            time.sleep(0.02)

    def _output(self, offset: int = 0) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def log(self) -> str:
        """Everything the provider printed, over all its starts."""
        return self._output()

    def stop(self) -> None:
        """Stop the provider by PID (idempotent)."""
        process, self.process = self.process, None
        terminate(process, timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class ExternalIssuer(NodePeer):
    """``node tests/tokens/js/issuer.mjs``. ``resource`` is the audience (a list: several
    accepted audiences, the first being the default of :meth:`token`)."""

    script = "issuer.mjs"
    name = "issuer"

    def __init__(
        self,
        tmp: Path,
        *,
        keys: list[dict[str, Any]] | None = None,
        clients: list[dict[str, Any]] | None = None,
        resource: str | Sequence[str] = "https://api.test",
        port: int | None = None,
        ttl_seconds: int | None = None,
        start_timeout: float = 20,
    ) -> None:
        super().__init__(tmp, port=port, start_timeout=start_timeout)
        self.keys = keys if keys is not None else [rsa_jwk("k1")]
        self.clients = clients or []
        self.resources = [resource] if isinstance(resource, str) else list(resource)
        self.ttl_seconds = ttl_seconds

    @property
    def resource(self) -> str:
        return self.resources[0]

    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "keys": self.keys,
            "clients": self.clients,
            "resource": self.resources,
        }
        if self.ttl_seconds is not None:
            document["ttl_seconds"] = self.ttl_seconds
        return document

    def restart(self, *, keys: list[dict[str, Any]] | None = None) -> None:
        """Stop and start again on the same port, with ``keys`` as the new key set if given
        (key rotation at the issuer). The provider keeps no state a test relies on."""
        self.stop()
        if keys is not None:
            self.keys = keys
        self.start()

    def client(self, client_id: str) -> dict[str, Any]:
        return next(c for c in self.clients if c["client_id"] == client_id)

    def token_response(
        self, client_id: str, *, scope: str | None = None, resource: str | None = None
    ) -> httpx.Response:
        """The raw response of a client_credentials grant (for error cases)."""
        client = self.client(client_id)
        form = {"grant_type": "client_credentials", "resource": resource or self.resource}
        scope = client.get("scope", "") if scope is None else scope
        if scope:
            form["scope"] = scope
        auth: tuple[str, str] | None = (client_id, client["client_secret"])
        if client.get("token_endpoint_auth_method") == "client_secret_post":
            form.update(client_id=client_id, client_secret=client["client_secret"])
            auth = None
        return httpx.post(self.token_endpoint, data=form, auth=auth, timeout=10, trust_env=False)

    def token(
        self, client_id: str, *, scope: str | None = None, resource: str | None = None
    ) -> str:
        """A client-credentials JWT access token for ``resource`` (default: the first configured
        one), with ``scope`` (default: all the client's allowed scopes; ``""``: none)."""
        response = self.token_response(client_id, scope=scope, resource=resource)
        if response.status_code != 200:
            raise RuntimeError(f"token request failed: {response.status_code} {response.text}")
        return str(response.json()["access_token"])
