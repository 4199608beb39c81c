"""Django authentication backend: email (case-insensitive) and password, active users only.

Used by the Django admin login; the API login flows call the same password check."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from accounts.models import DEFAULT_PROVIDER, User


class EmailBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = username or kwargs.get("email")
        if not email or not password:
            return None
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            User().set_password(password)  # spend the same time as a real check
            return None
        if user.provider != DEFAULT_PROVIDER or not user.check_password(password):
            return None
        return user if self.user_can_authenticate(user) else None

    def user_can_authenticate(self, user: Any) -> bool:
        return bool(getattr(user, "is_active", False))

    def get_user(self, user_id: Any) -> User | None:
        user = User.objects.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None
