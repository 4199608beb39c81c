from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The bottom layer: configuration, errors, logging, client addresses, rate limiting."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import checks  # noqa: F401  (registers the configuration check)
