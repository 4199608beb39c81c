from __future__ import annotations

from django.apps import AppConfig


class SigninConfig(AppConfig):
    """Sign-in flows: the one flow every door calls, and the auth-driver registry."""

    name = "signin"
    verbose_name = "Sign-in"

    def ready(self) -> None:
        from signin import checks  # noqa: F401  (one system check per configured provider)
