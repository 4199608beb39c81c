"""A key server for faults a real provider cannot produce on demand: garbage, errors, a hang,
a huge body, a discovery document naming another issuer. It serves ``/jwks`` and (once
:meth:`JwksServer.discovery` is called) ``/.well-known/openid-configuration`` on 127.0.0.1 from a
thread, counts what it served, and switches behaviour between requests. :func:`sign` mints
tokens with crafted headers (any header, signed for real).

    with JwksServer() as keys:
        keys.serve(public_jwks([rsa_jwk("k1")]))
        keys.hang(3)            # the next /jwks requests get no answer for 3 s
        keys.requests           # how many requests it got (keys.paths: which)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from tests.support.server import InThreadServer

DISCOVERY = "/.well-known/openid-configuration"


class JwksServer(InThreadServer):
    def __init__(self) -> None:
        self.mode: tuple[str, Any] = ("serve", {"keys": []})
        self.discovery_document: dict[str, Any] | None = None
        self.requests = 0
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._listen(self._handler())

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}{DISCOVERY}"

    def count(self, path: str = "/jwks") -> int:
        """How many requests for ``path`` were received."""
        with self._lock:
            return self.paths.count(path)

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.paths.clear()

    # Modes of /jwks, switched between requests.
    def serve(self, jwks: dict[str, Any]) -> None:
        self.mode = ("serve", jwks)

    def garbage(self, body: bytes = b"<html>not a key set</html>") -> None:
        """A 200 whose body is not JSON."""
        self.mode = ("garbage", body)

    def error(self, status: int) -> None:
        self.mode = ("error", status)

    def hang(self, seconds: float) -> None:
        """Accept, read the request, answer nothing for ``seconds``, then close."""
        self.mode = ("hang", seconds)

    def huge(self, nbytes: int, *, declare_length: bool = True) -> None:
        """A valid but ``nbytes``-long key set; ``declare_length=False``: no Content-Length (the
        body ends when the connection closes)."""
        self.mode = ("huge", (nbytes, declare_length))

    def discovery(self, issuer: str | None = None, *, jwks_uri: str | None = None) -> None:
        """Serve a discovery document naming ``issuer`` (default: this server) and ``jwks_uri``
        (default: this server's ``/jwks``)."""
        self.discovery_document = {
            "issuer": issuer or self.issuer,
            "jwks_uri": jwks_uri or self.jwks_url,
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with owner._lock:
                    owner.requests += 1
                    owner.paths.append(path)
                if path == DISCOVERY:
                    if owner.discovery_document is None:
                        return self._send(404, b'{"error": "not found"}')
                    return self._send(200, json.dumps(owner.discovery_document).encode())
                if path != "/jwks":
                    return self._send(404, b'{"error": "not found"}')
                kind, value = owner.mode
                if kind == "serve":
                    self._send(200, json.dumps(value).encode())
                elif kind == "garbage":
                    self._send(200, value, "text/html")
                elif kind == "error":
                    self._send(int(value), b'{"error": "down"}')
                elif kind == "hang":
                    owner._stopping.wait(float(value))
                    self.close_connection = True
                elif kind == "huge":
                    nbytes, declare_length = value
                    body = b'{"keys": [' + b" " * max(0, int(nbytes) - 12) + b"]}"
                    self._send(200, body, length=declare_length)

            def _send(
                self,
                status: int,
                body: bytes,
                kind: str = "application/json",
                *,
                length: bool = True,
            ) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    if length:
                        self.send_header("Content-Length", str(len(body)))
                    else:
                        self.close_connection = True
                    self.end_headers()
                    for start in range(0, len(body), 1 << 16):
                        self.wfile.write(body[start : start + (1 << 16)])
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        return Handler


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(
    claims: dict[str, Any],
    private_jwk: dict[str, Any],
    *,
    headers: dict[str, Any] | None = None,
    alg: str | None = None,
) -> str:
    """``claims`` as a JWS signed with ``private_jwk``.

    The signing algorithm is ``alg``, else ``headers["alg"]``, else the key's ``alg``. The header
    is ``{"alg": <that>, "typ": "JWT", "kid": <the key's kid>}`` updated with ``headers``; a
    ``None`` value drops a member (``{"kid": None}``, ``{"typ": None}``). Any header is written
    as given (``{"kid": 7}``, ``{"crit": [...]}``, ``{"alg": "RS256"}`` over an ES256 signature
    with ``alg="ES256"``) and the signature is real. ``HS*`` signs with the key's public PEM as
    the secret (the classic key confusion); ``none`` leaves the signature empty."""
    algorithm = alg or (headers or {}).get("alg") or private_jwk["alg"]
    header: dict[str, Any] = {"alg": algorithm, "typ": "JWT", "kid": private_jwk.get("kid")}
    header.update(headers or {})
    header = {k: v for k, v in header.items() if v is not None}
    signing_input = (
        f"{_b64(json.dumps(header, separators=(',', ':')).encode())}."
        f"{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
    )
    if algorithm == "none":
        return f"{signing_input}."
    key: Any = jwt.PyJWK(private_jwk, private_jwk.get("alg") or algorithm).key
    if algorithm.startswith("HS"):
        # PyJWT refuses a PEM as an HMAC secret (its own defence): sign by hand.
        public = key.public_key() if hasattr(key, "public_key") else key
        secret = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        digest = getattr(hashlib, f"sha{algorithm[2:]}")
        return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), digest).digest())}"
    signer = jwt.get_algorithm_by_name(algorithm)
    signature = signer.sign(signing_input.encode(), signer.prepare_key(key))
    return f"{signing_input}.{_b64(signature)}"
