from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST transport: DRF views over the services below."""

    name = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        from api import schema  # noqa: F401  (OpenAPI description of the authentication)
