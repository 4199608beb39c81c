"""Access JWTs (contract http-auth.md §3.3, §4): issue and verify through simplejwt's backend.

* ``HS256`` with ``SECRET`` by default, as Directus does.
* ``RS256`` or ``EdDSA`` with ``ACCESS_TOKEN_PRIVATE_KEY``: tokens carry a ``kid`` (the RFC 7638
  thumbprint of the public key); the public keys, the current one and
  ``ACCESS_TOKEN_PREVIOUS_PUBLIC_KEYS``, are published at ``/.well-known/jwks.json`` and all of them
  verify, so rotating the signing key does not log anybody out.

Only the configured algorithm is accepted (``alg: none`` and HS256-signed-with-a-public-key
tokens are refused); ``exp``, ``iat`` and ``iss`` are required.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from django.conf import settings
from django.core.signals import setting_changed
from rest_framework_simplejwt.backends import TokenBackend

from core.errors import InvalidToken, TokenExpired

ISSUER = "directus"
REQUIRED_ACCESS_CLAIMS = ("role", "app_access", "admin_access")


@dataclass(frozen=True)
class VerifyingKey:
    kid: str | None
    backend: TokenBackend
    jwk: dict[str, Any] | None


class KeyedTokenBackend(TokenBackend):
    """simplejwt's backend, plus a ``kid`` header and required registered claims."""

    def __init__(self, *args: Any, kid: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kid = kid

    def encode(self, payload: dict[str, Any]) -> str:
        headers = {"kid": self.kid} if self.kid else None
        return jwt.encode(
            {**payload, "iss": ISSUER}, self.prepared_signing_key, self.algorithm, headers=headers
        )

    def decode_strict(self, token: str) -> dict[str, Any]:
        key = (
            self.prepared_signing_key if self.algorithm == "HS256" else self.prepared_verifying_key
        )
        return jwt.decode(
            token,
            key,
            algorithms=[self.algorithm],
            issuer=ISSUER,
            leeway=0,
            options={"require": ["exp", "iat", "iss"]},
        )


#: Verified tokens a process remembers (see :class:`VerifiedTokens`).
VERIFIED_TOKENS_KEPT = 4096


class VerifiedTokens:
    """Tokens this keyring has verified, with their claims, so a token presented again is not
    parsed and its signature not checked again. The signature and claims of a token never
    change, and only a token that passed every check is kept; its expiry is checked on every
    use. The memo belongs to one keyring, so a key that stops verifying (a configuration
    change builds a new keyring) takes its tokens with it. Revocation is not decided here:
    callers check sessions and sign-ins on every use as before. Bounded; oldest out first."""

    def __init__(self, size: int = VERIFIED_TOKENS_KEPT) -> None:
        self.size = size
        self._claims: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> dict[str, Any] | None:
        return self._claims.get(token)

    def __contains__(self, token: str) -> bool:
        return token in self._claims

    def add(self, token: str, claims: dict[str, Any]) -> None:
        with self._lock:
            while len(self._claims) >= self.size:
                del self._claims[next(iter(self._claims))]
            self._claims[token] = claims


@dataclass(frozen=True)
class Keyring:
    signer: KeyedTokenBackend
    verifiers: dict[str | None, VerifyingKey]
    verified: VerifiedTokens = field(default_factory=VerifiedTokens, compare=False)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [v.jwk for v in self.verifiers.values() if v.jwk is not None]}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_jwk(public_key: Any) -> dict[str, Any]:
    """The JWK of a public key with its RFC 7638 thumbprint as ``kid``."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        members = {"e": _b64(e), "kty": "RSA", "n": _b64(n)}
        alg = "RS256"
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        members = {"crv": "Ed25519", "kty": "OKP", "x": _b64(raw)}
        alg = "EdDSA"
    else:
        raise ValueError("only RSA and Ed25519 keys are supported")
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = _b64(hashlib.sha256(canonical).digest())
    return {**members, "kid": kid, "alg": alg, "use": "sig"}


def _pem_blocks(text: str | None) -> list[str]:
    if not text:
        return []
    marker = "-----END"
    blocks, current = [], []
    for line in text.strip().splitlines():
        current.append(line)
        if line.startswith(marker):
            blocks.append("\n".join(current) + "\n")
            current = []
    return blocks


def _asymmetric_verifier(algorithm: str, public_pem: str) -> VerifyingKey:
    public_key = serialization.load_pem_public_key(public_pem.encode())
    jwk = _public_jwk(public_key)
    if jwk["alg"] != algorithm:
        raise ValueError(f"a {jwk['alg']} key cannot verify {algorithm} tokens")
    backend = KeyedTokenBackend(algorithm, verifying_key=public_pem, kid=jwk["kid"])
    return VerifyingKey(kid=jwk["kid"], backend=backend, jwk=jwk)


@lru_cache(maxsize=1)
def keyring() -> Keyring:
    """The signing key and every key that still verifies, built once from the configuration."""
    config = settings.DIRECTUS.tokens
    if config.algorithm == "HS256":
        backend = KeyedTokenBackend("HS256", signing_key=settings.DIRECTUS.server.secret)
        return Keyring(backend, {None: VerifyingKey(None, backend, None)})
    if not config.private_key:
        raise RuntimeError("ACCESS_TOKEN_PRIVATE_KEY is required for asymmetric algorithms")
    private = serialization.load_pem_private_key(config.private_key.encode(), password=None)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    current = _asymmetric_verifier(config.algorithm, public_pem)
    signer = KeyedTokenBackend(
        config.algorithm, signing_key=config.private_key, verifying_key=public_pem, kid=current.kid
    )
    verifiers = {current.kid: VerifyingKey(current.kid, signer, current.jwk)}
    for pem in _pem_blocks(config.previous_public_keys):
        previous = _asymmetric_verifier(config.algorithm, pem)
        verifiers.setdefault(previous.kid, previous)
    return Keyring(signer, verifiers)


def _reset_keyring(**kwargs: Any) -> None:
    if kwargs.get("setting") == "DIRECTUS":
        keyring.cache_clear()


setting_changed.connect(_reset_keyring, dispatch_uid="tokens-jwt-keyring")


def sign(claims: dict[str, Any], ttl_ms: int) -> str:
    """Sign ``claims`` with the current key; ``iat``/``exp``/``iss`` are added here."""
    now = int(time.time())
    payload = {**claims, "iat": now, "exp": now + max(1, ttl_ms // 1000)}
    return keyring().signer.encode(payload)


def is_directus_jwt(token: str) -> bool:
    """Whether ``token`` looks like a JWT claiming ``iss: directus``. Only the payload segment
    is decoded, so a token with a damaged signature still counts (and then fails verification
    with ``INVALID_TOKEN``, as in Directus) instead of being looked up as a static token."""
    if token in keyring().verified:
        return True
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(payload, dict) and payload.get("iss") == ISSUER


def verify(token: str) -> dict[str, Any]:
    """Verify signature, algorithm, issuer and lifetime. Expired → ``TOKEN_EXPIRED`` (401);
    anything else wrong → ``INVALID_TOKEN`` (403)."""
    ring = keyring()
    known = ring.verified.get(token)
    if known is not None:
        if int(known["exp"]) <= time.time():
            raise TokenExpired()
        return dict(known)
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise InvalidToken() from None
    verifier = ring.verifiers.get(kid) if isinstance(kid, str | None) else None
    if verifier is None:
        raise InvalidToken()
    try:
        claims: dict[str, Any] = verifier.backend.decode_strict(token)  # type: ignore[attr-defined]
    except jwt.ExpiredSignatureError:
        raise TokenExpired() from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidToken() from None
    ring.verified.add(token, claims)
    return dict(claims)


def verify_access_token(token: str) -> dict[str, Any]:
    payload = verify(token)
    if any(claim not in payload for claim in REQUIRED_ACCESS_CLAIMS):
        raise InvalidToken()
    return payload
