"""OAuth clients, remembered consents, spent authorization codes and id_token signing keys.

:class:`Client` is django-oauth-toolkit's application (``OAUTH2_PROVIDER_APPLICATION_MODEL``)
with what the access model needs: the grants it may use (several, where the toolkit has one),
the scopes it may ask for, and — for client-credentials tokens, which have no user — the role
and policies it acts with. Its secret is hashed by the toolkit on save and shown once (the admin).
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from oauth2_provider.models import AbstractApplication

GRANT_CHOICES = (
    (AbstractApplication.GRANT_AUTHORIZATION_CODE, "Authorization code (with PKCE)"),
    (AbstractApplication.GRANT_CLIENT_CREDENTIALS, "Client credentials"),
    (AbstractApplication.GRANT_PASSWORD, "Resource owner password"),
)
GRANT_NAMES = tuple(value for value, _label in GRANT_CHOICES)


def default_grants() -> list[str]:
    return [AbstractApplication.GRANT_AUTHORIZATION_CODE]


def default_scopes() -> str:
    return "openid profile email items:read offline_access"


class Client(AbstractApplication):
    #: The toolkit's single grant, kept for its own checks; derived from :attr:`grants`.
    authorization_grant_type = models.CharField(
        max_length=44,
        choices=AbstractApplication.GRANT_TYPES,
        default=AbstractApplication.GRANT_AUTHORIZATION_CODE,
        editable=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="owner",
        help_text="Who looks after this client (optional; it never acts as them).",
    )
    algorithm = models.CharField(
        max_length=5,
        choices=AbstractApplication.ALGORITHM_TYPES,
        default=AbstractApplication.RS256_ALGORITHM,
        blank=True,
        help_text="How its id_tokens are signed (RS256: with the keys in the JWKS).",
    )
    grants = models.JSONField(
        default=default_grants,
        blank=True,
        help_text="The grants this client may use (a refresh token comes with any of them).",
    )
    scopes = models.TextField(
        default=default_scopes,
        blank=True,
        help_text="The scopes it may ask for, separated by spaces.",
    )
    require_pkce = models.BooleanField(
        default=True,
        verbose_name="require PKCE",
        help_text="Always on for public clients.",
    )
    role = models.ForeignKey(
        "accounts.Role",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Client-credentials tokens act with this role…",
    )
    policies = models.ManyToManyField(
        "accounts.Policy",
        blank=True,
        related_name="+",
        help_text="…and these policies (after the role's).",
    )

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        verbose_name = "OAuth client"

    def allows_grant_type(self, *grant_types: str) -> bool:
        return any(grant in (self.grants or ()) for grant in grant_types)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def jwk_key(self) -> Any:
        from oauth.keys import install

        install()
        return super().jwk_key

    def clean(self) -> None:
        from oauth.keys import install
        from oauth.scopes import SCOPES

        install()
        unknown = [g for g in self.grants or () if g not in GRANT_NAMES]
        if not isinstance(self.grants, list) or unknown:
            raise ValidationError({"grants": f"Unknown grants: {', '.join(map(str, unknown))}"})
        self.authorization_grant_type = _primary(self.grants)
        bad = [s for s in self.scope_list if s not in SCOPES]
        if bad:
            raise ValidationError({"scopes": f"Unknown scopes: {', '.join(bad)}"})
        super().clean()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.authorization_grant_type = _primary(self.grants or [])
        super().save(*args, **kwargs)


def _primary(grants: list[str]) -> str:
    """The toolkit's single grant field, for its own checks (redirect URIs for the code grant)."""
    for grant in GRANT_NAMES:
        if grant in grants:
            return grant
    return AbstractApplication.GRANT_AUTHORIZATION_CODE


class Consent(models.Model):
    """A person's yes to a client for some scopes, remembered so they are not asked again for
    those scopes. Revoking it (the account page, the admin) revokes the client's tokens too."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_consents"
    )
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    scopes = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "client"], name="one_consent_per_client")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.client}"

    def covers(self, scopes: list[str]) -> bool:
        return set(scopes) <= set(self.scopes.split())


class SpentCode(models.Model):
    """An authorization code already exchanged (its SHA-256 only): presenting it again is
    refused and revokes what it was exchanged for (RFC 6749 §4.1.2)."""

    digest = models.CharField(max_length=64, primary_key=True)
    client = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    access_token = models.BigIntegerField(null=True)
    family = models.UUIDField(null=True)
    spent_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"code spent {self.spent_at:%Y-%m-%d %H:%M}"


class SigningKey(models.Model):
    """An RSA key that signs id_tokens, sealed with ``SECRET``; made when ``OAUTH_PRIVATE_KEY``
    is not set. The newest is current; retired ones stay published in the JWKS a while."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sealed_pem = models.TextField(editable=False)
    #: True for the current key, NULL for retired ones: unique, so there is one current key.
    current = models.BooleanField(null=True, default=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return f"signing key of {self.created_at:%Y-%m-%d}" + ("" if self.current else " (retired)")
