"""Test clients whose ``force_login`` signs in as the server does: a session-mode sign-in whose
session cookie the client then sends (the Django session is never used for identity)."""

from __future__ import annotations

from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from tokens.issue import issue_tokens
from tokens.models import SessionMode
from tokens.presented import session_cookie_name
from tokens.sessions import SessionContext, open_session


def session_token_for(user: User) -> str:
    """A session-mode access JWT for ``user``, with a live session behind it."""
    opened = open_session(user.pk, SessionMode.SESSION, SessionContext())
    return issue_tokens(user, opened, None).access_token


class SessionLoginMixin:
    cookies: Any

    def force_login(self, user: User, backend: str | None = None) -> None:
        self.cookies[session_cookie_name()] = session_token_for(user)


class SignedInClient(SessionLoginMixin, Client):
    pass


class SignedInAPIClient(SessionLoginMixin, APIClient):
    pass
