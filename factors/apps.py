from __future__ import annotations

from django.apps import AppConfig


class FactorsConfig(AppConfig):
    """Second factors: TOTP (the Directus ``tfa_secret``, encrypted at rest), one-time recovery
    codes and WebAuthn passkeys. The sign-in flow (:mod:`signin.flow`) asks this app whether a
    user has a second factor and whether a presented one is right; it never signs anyone in."""

    name = "factors"
    verbose_name = "Second factors"

    def ready(self) -> None:
        from factors import signals  # noqa: F401  (passkeys added or removed move the access version)
