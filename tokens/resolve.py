"""Turning a presented token into a :class:`Credential`: one entry point for every transport.

Each credential type registers a resolver. A resolver returns a Credential when the token is
its kind and valid, raises a contract error when it is its kind but unusable (expired,
revoked, bad signature), and returns ``None`` when the token is not its kind. A token no
resolver claims is ``INVALID_CREDENTIALS`` (contract http-auth.md §3.3: unknown tokens are
looked up as static tokens and fail that lookup).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime

from accounts.keyscope import KeyScope
from project.errors import InvalidCredentials

MAX_TOKEN_LENGTH = 4096


@dataclass(frozen=True)
class Credential:
    """What a valid token says: who, acting with which role, until when; for a static key,
    which key (``key_id``) and its narrowing of the owner's permissions (``scope``)."""

    kind: str
    user_id: uuid.UUID | None
    role_id: uuid.UUID | None
    session: str | None = None
    expires_at: datetime | None = None
    share_id: uuid.UUID | None = None
    key_id: uuid.UUID | None = None
    scope: KeyScope | None = None


#: The client address of the request being resolved (for key-usage tracking), if known.
_presenting_ip: ContextVar[str | None] = ContextVar("tokens_presenting_ip", default=None)


def presenting_ip() -> str | None:
    """The ``ip`` given to the :func:`resolve` call in progress."""
    return _presenting_ip.get()


Resolver = Callable[[str], "Credential | None"]
_resolvers: list[tuple[int, str, Resolver]] = []


def register_resolver(name: str, resolver: Resolver, order: int = 100) -> None:
    """Add a resolver; lower ``order`` runs first. Registering a name again replaces it."""
    _resolvers[:] = [entry for entry in _resolvers if entry[1] != name]
    _resolvers.append((order, name, resolver))
    _resolvers.sort(key=lambda entry: (entry[0], entry[1]))


def resolve(token: str, *, ip: str | None = None) -> Credential:
    """Resolve ``token`` or raise the contract error that describes why it is unusable.
    Empty, oversized and whitespace-padded tokens are ``INVALID_CREDENTIALS`` before any
    resolver sees them. ``ip`` (the client address) is available to resolvers through
    :func:`presenting_ip`."""
    if not token or len(token) > MAX_TOKEN_LENGTH or token != token.strip():
        raise InvalidCredentials()
    reset = _presenting_ip.set(ip)
    try:
        for _order, _name, resolver in _resolvers:
            credential = resolver(token)
            if credential is not None:
                return credential
    finally:
        _presenting_ip.reset(reset)
    raise InvalidCredentials()
