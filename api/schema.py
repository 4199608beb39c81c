"""OpenAPI description of the credentials the API accepts (drf-spectacular extension)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class DirectusAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.DirectusAuthentication"
    name = ["bearerAuth", "accessTokenQuery", "sessionCookie"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT or static token",
                "description": (
                    "Access token (JWT), static token or API key, or a JWT of a trusted "
                    "external issuer (docs/external-issuers.md)."
                ),
            },
            {"type": "apiKey", "in": "query", "name": "access_token"},
            {"type": "apiKey", "in": "cookie", "name": "directus_session_token"},
        ]
