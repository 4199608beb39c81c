from __future__ import annotations

from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Tokens and credentials"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tokens import checks, signals  # noqa: F401  (checks, revocation)
        from tokens.external.resolver import resolve_external_jwt
        from tokens.resolve import register_resolver
        from tokens.resolvers import resolve_access_jwt, resolve_api_key

        register_resolver("access-jwt", resolve_access_jwt, order=10)
        register_resolver("external-jwt", resolve_external_jwt, order=30)
        register_resolver("api-key", resolve_api_key, order=50)
