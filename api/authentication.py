"""The DRF adapter of :func:`tokens.authentication.authenticate_request`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils.functional import SimpleLazyObject
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.accountability import Accountability
from accounts.models import User
from core.errors import InvalidCredentials
from tokens.authentication import authenticate_request
from tokens.sessions import SessionContext


class DirectusAuthentication(BaseAuthentication):
    """``request.auth`` is always an :class:`Accountability` (public if no credential),
    ``request.user`` the user it names, loaded only when used."""

    def authenticate(self, request: Request) -> tuple[Any, Accountability]:
        acc = authenticate_request(request._request)
        if acc.user is None:
            return AnonymousUser(), acc
        return SimpleLazyObject(lambda: _load_user(acc)), acc

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def request_accountability(request: Request) -> Accountability:
    """The accountability of a DRF request (typed access to ``request.auth``)."""
    acc = request.auth
    return acc if isinstance(acc, Accountability) else authenticate_request(request._request)


def signed_in_accountability(request: Request) -> Accountability:
    """The accountability of a request that must come from a signed-in user; 401
    ``INVALID_CREDENTIALS`` for anyone else (the public, a role key)."""
    acc = request_accountability(request)
    if acc.user is None:
        raise InvalidCredentials()
    return acc


def session_context(request: Request) -> SessionContext:
    """Who is asking, from where, for the flows' limits and auth log."""
    return SessionContext.of_request(request._request)


def _load_user(acc: Accountability) -> Any:
    if acc.user is None:
        return AnonymousUser()
    return User.objects.filter(pk=acc.user).first() or AnonymousUser()
