"""The keys of trusted issuers: fetched, cached, refetched, kept through outages.

* Keys are fetched from the issuer's JWKS URL (or the ``jwks_uri`` of its discovery document,
  whose ``issuer`` must be the configured one) through :func:`core.outbound.fetch_json`: bounded
  by the issuer's timeout, through the outbound proxy.
* They are used for ``jwks_ttl_s``; then the next request refetches them. While one request
  refetches, the others go on with the cached keys and do not wait.
* A ``kid`` that is not among the keys triggers one refetch (the issuer rotated its keys), at
  most ``refetch_per_minute`` times a minute per issuer and process; past that budget the token
  is refused without a network call.
* When a refetch fails, the cached keys keep working, the outage is logged, and no new attempt
  is made for :data:`RETRY_AFTER_FAILURE` seconds. With no keys at all the token is refused
  with ``503 SERVICE_UNAVAILABLE``, also without a new network wait during that pause.

Key selection never trusts the token beyond its ``kid`` and ``alg``: the algorithm must be one
the issuer allows and match the key's type (RSA for RS*/PS*, the right curve for ES*, OKP for
EdDSA) and the key's own ``alg``, when it names one; a key whose ``use`` is not ``sig`` or that
carries private parts is never used; URLs or keys in the token's header (``jku``, ``x5u``,
``jwk``) are ignored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import jwt

from core.config.issuers import TrustedIssuer
from core.errors import ServiceUnavailable
from core.outbound import OutboundError, fetch_json

logger = logging.getLogger("tokens.external")

RETRY_AFTER_FAILURE = 30.0
MAX_KEYS = 100
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_EDWARDS = ("Ed25519", "Ed448")


class KeyRefused(Exception):
    """No key of the issuer may verify this token; ``reason`` says why (for the auth log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Key:
    kid: str | None
    kty: str
    crv: str | None
    alg: str | None
    key: Any

    def fits(self, alg: str) -> bool:
        """Whether this key may verify a signature made with ``alg``."""
        if self.alg is not None and self.alg != alg:
            return False
        if alg.startswith(("RS", "PS")):
            return self.kty == "RSA"
        if alg in _CURVES:
            return self.kty == "EC" and self.crv == _CURVES[alg]
        if alg == "EdDSA":
            return self.kty == "OKP" and self.crv in _EDWARDS
        return False


@dataclass
class _State:
    keys: tuple[Key, ...] | None = None
    fetched_at: float = 0.0
    failed_at: float = 0.0
    jwks_url: str | None = None
    refetches: deque[float] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)


_states: dict[tuple[str, str, str | None], _State] = {}
_states_lock = threading.Lock()


def forget() -> None:
    """Drop every cached key set (tests)."""
    with _states_lock:
        _states.clear()


def _state(issuer: TrustedIssuer) -> _State:
    ident = (issuer.name, issuer.issuer, issuer.jwks_url)
    with _states_lock:
        state = _states.get(ident)
        if state is None:
            state = _states[ident] = _State(jwks_url=issuer.jwks_url)
        return state


def signing_key(issuer: TrustedIssuer, header: dict[str, Any]) -> Key:
    """The key that may verify a token of ``issuer`` with this (already checked) header."""
    state = _state(issuer)
    now = time.monotonic()
    if state.keys is None:
        _refresh(state, issuer, wait=True)
    elif now - state.fetched_at >= issuer.jwks_ttl_s and not _pausing(state, now):
        _refresh(state, issuer, wait=False)
    kid = header.get("kid")
    key = select(state.keys or (), header["alg"], kid)
    if key is None and kid is not None and _may_refetch(state, issuer):
        logger.info("Unknown key id at %s; fetching its keys again", issuer.name)
        _refresh(state, issuer, wait=True, forced=True)
        key = select(state.keys or (), header["alg"], kid)
    if key is None:
        raise KeyRefused("unknown-key")
    return key


def select(keys: tuple[Key, ...], alg: str, kid: str | None) -> Key | None:
    """The key for ``alg`` and ``kid``; ``None`` when no key has that ``kid``. Without a ``kid``
    exactly one key may fit; a ``kid`` whose keys do not fit ``alg`` is refused outright."""
    named = [key for key in keys if kid is None or key.kid == kid]
    if not named:
        return None
    fitting = [key for key in named if key.fits(alg)]
    if not fitting:
        raise KeyRefused("key-algorithm-mismatch")
    if kid is None and len(fitting) > 1:
        raise KeyRefused("kid-required")
    return fitting[0]


def _may_refetch(state: _State, issuer: TrustedIssuer) -> bool:
    now = time.monotonic()
    with state.lock:
        while state.refetches and now - state.refetches[0] >= 60:
            state.refetches.popleft()
        if len(state.refetches) >= issuer.refetch_per_minute:
            return False
        if _pausing(state, now):
            return False
        state.refetches.append(now)
        return True


def _refresh(state: _State, issuer: TrustedIssuer, *, wait: bool, forced: bool = False) -> None:
    """Fetch the keys again. ``wait=False``: skip when another request is already fetching.
    Raises :class:`ServiceUnavailable` only when there are no keys at all to go on with."""
    started = time.monotonic()
    if not state.lock.acquire(blocking=wait, timeout=issuer.timeout_s * 2 + 1 if wait else -1):
        if state.keys is None:
            raise _unavailable()
        return
    try:
        if state.fetched_at > started and not forced:
            return  # another request fetched them while this one waited
        if state.keys is None and _pausing(state, started):
            raise _unavailable()
        try:
            keys = _fetch(state, issuer)
        except OutboundError as exc:
            state.failed_at = time.monotonic()
            state.jwks_url = issuer.jwks_url  # rediscover next time
            if state.keys is None:
                logger.error("Keys of trusted issuer %s unavailable: %s", issuer.name, exc)
                raise _unavailable() from None
            logger.warning(
                "Keys of trusted issuer %s unavailable: %s; using the %d cached keys",
                issuer.name,
                exc,
                len(state.keys),
            )
            return
        state.keys, state.fetched_at, state.failed_at = keys, time.monotonic(), 0.0
    finally:
        state.lock.release()


def _pausing(state: _State, now: float) -> bool:
    """Whether a fetch failed less than :data:`RETRY_AFTER_FAILURE` seconds ago."""
    return bool(state.failed_at) and now - state.failed_at < RETRY_AFTER_FAILURE


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("jwt", "Couldn't verify token.")


def _fetch(state: _State, issuer: TrustedIssuer) -> tuple[Key, ...]:
    url = state.jwks_url or _discover(issuer)
    state.jwks_url = url
    document = fetch_json(url, timeout=issuer.timeout_s, proxy=issuer.proxy)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise OutboundError("the JWKS has no list of keys")
    keys = tuple(key for key in map(_key, document["keys"][:MAX_KEYS]) if key is not None)
    if not keys:
        raise OutboundError("the JWKS has no usable signing key")
    return keys


def _discover(issuer: TrustedIssuer) -> str:
    url = issuer.issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = fetch_json(url, timeout=issuer.timeout_s, proxy=issuer.proxy)
    if not isinstance(document, dict) or document.get("issuer") != issuer.issuer:
        raise OutboundError("the discovery document names another issuer")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
        raise OutboundError("the discovery document has no jwks_uri")
    return jwks_uri


def _key(jwk: Any) -> Key | None:
    """One published key, or ``None`` when it may not verify signatures."""
    if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig" or "d" in jwk:
        return None
    if jwk.get("kty") not in {"RSA", "EC", "OKP"}:
        return None  # symmetric ("oct") keys never verify a token here
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    kid, alg = jwk.get("kid"), jwk.get("alg")
    if any(value is not None and not isinstance(value, str) for value in (kid, alg)):
        return None
    try:
        parsed = jwt.PyJWK(jwk)
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError):
        return None
    return Key(kid=kid, kty=str(jwk.get("kty")), crv=jwk.get("crv"), alg=alg, key=parsed.key)
