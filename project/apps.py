from __future__ import annotations

from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """Wiring: settings, URLs, ASGI and the ``serve`` and ``bootstrap`` commands."""

    name = "project"
    verbose_name = "Server"
