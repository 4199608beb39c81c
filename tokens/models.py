"""Refresh sessions: opaque refresh tokens stored only as SHA-256 digests.

Every refresh rotates: the presented session is marked rotated and a new one, in the same
*family*, is issued. A rotated token presented again within ``SESSION_REFRESH_GRACE_PERIOD``
(concurrent tabs) gets a fresh sibling; presented after it, the whole family is revoked and the
reuse is recorded as a suspected theft (the pattern of RFC 9700 §4.14.2 and
django-oauth-toolkit's ``REFRESH_TOKEN_REUSE_PROTECTION``).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models


def new_refresh_token() -> str:
    """64 characters of ``[A-Za-z0-9_-]`` (384 random bits), the shape Directus clients expect."""
    return secrets.token_urlsafe(48)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionMode(models.TextChoices):
    JSON = "json"
    COOKIE = "cookie"
    SESSION = "session"


class RefreshSession(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    family = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="refresh_sessions"
    )
    mode = models.CharField(max_length=8, choices=SessionMode.choices, default=SessionMode.JSON)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    revoke_reason = models.CharField(max_length=32, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    origin = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering: ClassVar = ["-created_at"]
        indexes: ClassVar = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"session {self.family} of {self.user_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.rotated_at is None


class KeyKind(models.TextChoices):
    USER_TOKEN = "user_token", "Directus user token"
    KEY = "key", "API key"


class ApiKey(models.Model):
    """A static credential: a user's Directus token or a named API key of a user or a role.

    Only the SHA-256 ``digest`` of the secret is stored (the secret is shown once, when it is
    created); ``prefix`` is the public part shown in lists (``dak_`` + 6 characters of a
    generated key, empty for user-chosen tokens). A key acts for exactly one owner: a user
    (while that user is active) or a role (and dies with it). ``scope`` narrows the owner's
    permissions (see :mod:`accounts.keyscope`); ``last_used_*`` are updated at most once a minute
    per key (and on a new IP)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=KeyKind.choices, default=KeyKind.KEY)
    name = models.CharField(max_length=100, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    role = models.ForeignKey(
        "accounts.Role", null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, blank=True, default="", editable=False)
    scope = models.JSONField(
        null=True,
        blank=True,
        help_text='Empty: the owner\'s full permissions. {"read_only": true} or '
        '{"collections": {"articles": ["read", "update"]}}.',
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    rotated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering: ClassVar = ["-created_at"]
        verbose_name = "API key"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, role__isnull=True)
                | models.Q(user__isnull=True, role__isnull=False),
                name="apikey_user_xor_role",
                violation_error_message="Choose a user or a role (exactly one).",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="user_token", user__isnull=True),
                name="apikey_user_token_has_user",
                violation_error_message="A user token belongs to a user.",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["user", "kind", "revoked_at"])]

    def __str__(self) -> str:
        label = self.name or self.get_kind_display()
        return f"{label} ({self.prefix or 'user token'})"

    @property
    def owner(self) -> Any:
        return self.user if self.user_id else self.role
