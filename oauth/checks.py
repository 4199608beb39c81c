"""System checks of the OAuth provider's configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register


@register()
def issuer_check(app_configs: Any, **kwargs: Any) -> list[Warning]:
    config = settings.DIRECTUS
    if config.production and not config.oauth.issuer:
        return [
            Warning(
                "Neither OAUTH_ISSUER nor PUBLIC_URL is set: the OpenID issuer is taken from "
                "each request's Host header.",
                hint="Set PUBLIC_URL (or OAUTH_ISSUER) to the address clients use.",
                id="oauth.W001",
            )
        ]
    return []
