from __future__ import annotations

from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    """Account lifecycle: invitations, password resets and the mail they send."""

    name = "lifecycle"
    verbose_name = "Account lifecycle"
