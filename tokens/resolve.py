"""Turning a presented token into a :class:`~accounts.credentials.Credential`: one entry point
for every transport.

Each credential type registers a resolver. A resolver returns a Credential when the token is
its kind and valid, raises a contract error when it is its kind but unusable (expired,
revoked, bad signature), and returns ``None`` when the token is not its kind. A token no
resolver claims is ``INVALID_CREDENTIALS`` (contract http-auth.md §3.3: unknown tokens are
looked up as static tokens and fail that lookup).
"""

from __future__ import annotations

from collections.abc import Callable

from accounts.credentials import Credential
from core.errors import InvalidCredentials
from tokens.presented import Presented

MAX_TOKEN_LENGTH = 4096

Resolver = Callable[[Presented], "Credential | None"]
_resolvers: list[tuple[int, str, Resolver]] = []


def register_resolver(name: str, resolver: Resolver, order: int = 100) -> None:
    """Add a resolver; lower ``order`` runs first. Registering a name again replaces it."""
    _resolvers[:] = [entry for entry in _resolvers if entry[1] != name]
    _resolvers.append((order, name, resolver))
    _resolvers.sort(key=lambda entry: (entry[0], entry[1]))


def resolve(presented: Presented) -> Credential:
    """Resolve ``presented`` or raise the contract error that describes why it is unusable.
    Empty, oversized and whitespace-padded tokens are ``INVALID_CREDENTIALS`` before any
    resolver sees them."""
    token = presented.token
    if not token or len(token) > MAX_TOKEN_LENGTH or token != token.strip():
        raise InvalidCredentials()
    for _order, _name, resolver in _resolvers:
        credential = resolver(presented)
        if credential is not None:
            return credential
    raise InvalidCredentials()
