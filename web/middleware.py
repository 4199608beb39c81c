"""``request.user`` for the HTML pages and the Django admin, from the session cookie.

The person's browser holds one credential: the session cookie the login page sets (a session-mode
access JWT, contract http-auth.md §6). Django's own session login is never used, so the admin has
no door of its own: it signs in on the login page through :func:`signin.flow.sign_in`, and its
access ends with that sign-in — logged out, logged out everywhere, revoked by an admin, the user
suspended (which revokes their sessions) or demoted (``is_staff`` follows the access model on
every request)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.models import User
from core.errors import DirectusError
from tokens.authentication import authenticate_request


def session_user(request: HttpRequest) -> Any:
    """The user a session-mode sign-in on ``request`` names, or the anonymous user. Other
    credentials (static keys, json-mode tokens) never open the admin."""
    try:
        acc = authenticate_request(request)
    except DirectusError:
        return AnonymousUser()
    if acc.user is None or acc.session is None:
        return AnonymousUser()
    user = User.objects.filter(pk=acc.user).first()
    return user if user is not None and user.is_active else AnonymousUser()


class SessionUserMiddleware(AuthenticationMiddleware):
    """Takes the place of Django's ``AuthenticationMiddleware`` (and subclasses it, as the
    admin's system check asks)."""

    def process_request(self, request: HttpRequest) -> None:
        request.user = SimpleLazyObject(lambda: session_user(request))  # type: ignore[assignment]
