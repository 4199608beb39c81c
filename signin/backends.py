"""The one ``AUTHENTICATION_BACKENDS`` entry: permissions for the Django admin, and no sign-in.

Nobody is signed in by ``django.contrib.auth.authenticate()``: every door goes through
:func:`signin.flow.sign_in` (DESIGN: no backend signs anyone in on its own). A library backend
a driver needs (django-auth-ldap, mozilla-django-oidc) is called by that driver inside the flow,
never listed here."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from accounts.models import User


class FlowOnlyBackend(BaseBackend):
    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        """Always None: sign-in happens in :mod:`signin.flow`, not through Django's auth."""
        return None

    def get_user(self, user_id: Any) -> User | None:
        user = User.objects.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None
