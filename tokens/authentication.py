"""HTTP authentication: request → credential → accountability, for DRF and plain views alike."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from rest_framework.authentication import BaseAuthentication, CSRFCheck
from rest_framework.request import Request

from accounts.accountability import (
    Accountability,
    accountability_for,
    accountability_for_user,
    authenticated_by_key,
    public_accountability,
)
from project.errors import Forbidden, InvalidCredentials, InvalidToken
from project.middleware import client_ip
from tokens.extract import extract_token
from tokens.resolve import Credential, resolve

ACCOUNTABILITY_ATTR = "accountability"


def authenticate_request(request: HttpRequest) -> Accountability:
    """The accountability of ``request``, computed once and kept on the request.

    Raises the token's contract error (a bad token is never silently treated as public)."""
    cached = getattr(request, ACCOUNTABILITY_ATTR, None)
    if isinstance(cached, Accountability):
        return cached
    context = {
        "ip": client_ip(request),
        "user_agent": request.META.get("HTTP_USER_AGENT"),
        "origin": request.META.get("HTTP_ORIGIN"),
    }
    token = extract_token(request)
    if token is not None:
        try:
            credential = resolve(token.value, ip=context["ip"])
        except (InvalidCredentials, InvalidToken):
            if token.source == "cookie":
                request.clear_session_cookie = True  # type: ignore[attr-defined]
            raise
        acc = credential_accountability(credential, **context)
    else:
        acc = _django_session_accountability(request, context) or public_accountability(**context)
    setattr(request, ACCOUNTABILITY_ATTR, acc)
    return acc


def credential_accountability(credential: Credential, **context: Any) -> Accountability:
    """The accountability a resolved credential stands for (every transport uses this): its
    user and role, its session, and for a static key the key and its narrowing."""
    acc = accountability_for(
        credential.user_id,
        credential.role_id,
        session=credential.session,
        credential=credential.kind,
        **context,
    )
    if credential.key_id is None:
        return acc
    return authenticated_by_key(acc, credential.key_id, credential.scope, credential.kind)


def _django_session_accountability(
    request: HttpRequest, context: dict[str, Any]
) -> Accountability | None:
    """A Django admin session (signed in at /admin/ or the login page) also identifies a user."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return accountability_for_user(user, credential="django-session", **context)


class DirectusAuthentication(BaseAuthentication):
    """DRF adapter: ``request.auth`` is always an :class:`Accountability` (public if no
    credential), ``request.user`` the user it names, loaded only when used."""

    def authenticate(self, request: Request) -> tuple[Any, Accountability]:
        acc = authenticate_request(request._request)
        if acc.credential == "django-session":
            _enforce_csrf(request)
        if acc.user is None:
            return AnonymousUser(), acc
        return SimpleLazyObject(lambda: _load_user(acc)), acc

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def request_accountability(request: Request) -> Accountability:
    """The accountability of a DRF request (typed access to ``request.auth``)."""
    acc = request.auth
    return acc if isinstance(acc, Accountability) else authenticate_request(request._request)


def _load_user(acc: Accountability) -> Any:
    from accounts.models import User

    if acc.user is None:
        return AnonymousUser()
    return User.objects.filter(pk=acc.user).first() or AnonymousUser()


def _enforce_csrf(request: Request) -> None:
    """Cookie-authenticated writes need the CSRF token, as in DRF's SessionAuthentication."""
    check = CSRFCheck(lambda req: None)  # type: ignore[arg-type]
    check.process_request(request._request)
    reason = check.process_view(request._request, None, (), {})  # type: ignore[arg-type]
    if reason:
        raise Forbidden("CSRF check failed")
