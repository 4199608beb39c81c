from __future__ import annotations

from django.apps import AppConfig


class ItemsConfig(AppConfig):
    name = "items"
    verbose_name = "Items"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from items import collections  # noqa: F401  (registers the built-in collections)
