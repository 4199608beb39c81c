"""Start-up checks for signing keys: a bad key stops start-up, not the first login."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from core.errors import DirectusError
from core.net import normalize_ip
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


@checks.register(checks.Tags.security)
def check_trusted_issuers(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Keys fetched over plain HTTP from another host can be swapped on the way: a warning in
    production (loopback, as in tests and sidecars, is fine)."""
    config = settings.DIRECTUS
    if not config.production:
        return []
    messages: list[checks.CheckMessage] = []
    for issuer in config.issuers:
        url = issuer.jwks_url or issuer.issuer
        host = urlsplit(url).hostname or ""
        loopback = host == "localhost" or (normalize_ip(host) or "").startswith("127.")
        if url.startswith("http://") and not loopback:
            messages.append(
                checks.Warning(
                    f"TRUSTED_ISSUER_{issuer.name.upper()}_*: keys are fetched over plain HTTP "
                    f"from {host}; use https.",
                    id="directus.W210",
                )
            )
    return messages
