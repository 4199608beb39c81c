"""Second-factor rows of our own. TOTP lives in ``User.tfa_secret`` (the Directus column, sealed);
passkeys in allauth's ``Authenticator`` table (type ``webauthn``)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models


class RecoveryCode(models.Model):
    """One one-time recovery code (beyond Directus). Only its keyed digest is stored
    (:func:`core.crypto.keyed_digest`); ``used_at`` is set once, by a conditional UPDATE, so a
    code signs in once and only once, whatever the number of processes."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "digest"], name="recovery_code_unique"),
        ]

    def __str__(self) -> str:
        return f"recovery code of {self.user_id} ({'used' if self.used_at else 'unused'})"
