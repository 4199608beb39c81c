from __future__ import annotations

from django.apps import AppConfig


class OAuthConfig(AppConfig):
    name = "oauth"
    verbose_name = "OAuth applications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oauth import checks, signals  # noqa: F401  (checks, token revocation)
        from oauth.resolver import resolve_oauth_token
        from tokens.resolve import register_resolver

        register_resolver("oauth", resolve_oauth_token, order=20)
