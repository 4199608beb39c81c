"""Start-up checks for signing keys: a bad key stops start-up, not the first login."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from core.errors import DirectusError
from tokens.jwt import keyring
from tokens.keys import validate_user_token


@checks.register(checks.Tags.security)
def check_signing_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.DIRECTUS.errors:
        return []  # the configuration check already reports what is wrong
    keyring.cache_clear()
    try:
        keyring()
    except (ValueError, TypeError, RuntimeError) as exc:
        return [
            checks.Error(
                "ACCESS_TOKEN_PRIVATE_KEY / ACCESS_TOKEN_PREVIOUS_PUBLIC_KEYS: "
                f"cannot use the key ({type(exc).__name__}: {exc}).",
                id="directus.E200",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def check_admin_token(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``ADMIN_TOKEN`` must be usable as a static token before ``bootstrap`` stores it."""
    token = settings.DIRECTUS.bootstrap.admin_token
    if settings.DIRECTUS.errors or not token:
        return []
    try:
        validate_user_token(token)
    except DirectusError as exc:
        return [checks.Error(f"ADMIN_TOKEN: {exc.extensions.get('reason')}.", id="directus.E201")]
    return []
