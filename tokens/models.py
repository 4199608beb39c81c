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


class TrustedIssuer(models.Model):
    """An external identity provider whose JWTs the API accepts (:mod:`tokens.external`),
    defined in the admin. The same fields as ``TRUSTED_ISSUER_<NAME>_*``; an issuer of the
    environment with the same name or ``iss`` wins over this row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.SlugField(
        max_length=64,
        unique=True,
        help_text="Its service users' provider; letters, digits, - and _.",
    )
    issuer = models.CharField(max_length=512, unique=True, help_text="The iss its tokens carry.")
    audience = models.CharField(max_length=1024, help_text="Accepted aud values, comma-separated.")
    jwks_url = models.URLField(
        max_length=1024,
        blank=True,
        default="",
        verbose_name="JWKS URL",
        help_text="Empty: discovered from the issuer's /.well-known/openid-configuration.",
    )
    algorithms = models.CharField(
        max_length=128, default="RS256,ES256", help_text="Comma-separated; asymmetric only."
    )
    required_claims = models.JSONField(
        default=dict, blank=True, help_text='For example {"gty": "client-credentials"}.'
    )
    clock_skew = models.PositiveIntegerField(default=30, help_text="Seconds.")
    scope_claim = models.CharField(max_length=64, default="scope")
    group_claim = models.CharField(max_length=64, default="groups")
    jwks_ttl = models.PositiveIntegerField(default=600, verbose_name="JWKS TTL (seconds)")
    jwks_refetch_limit = models.PositiveIntegerField(
        default=10, help_text="Refetches for an unknown key id per minute."
    )
    timeout = models.FloatField(default=3.0, help_text="Seconds for one fetch, in all.")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar = ["name"]
        verbose_name = "trusted issuer"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from core.config.issuers import RESERVED_NAMES, issuer_problems

        problems = issuer_problems(self.issuer, self.jwks_url or None, self.algorithm_list)
        if self.name.lower() in RESERVED_NAMES:
            problems.append(f"the name {self.name!r} is reserved")
        configured = settings.DIRECTUS
        if any(i.name == self.name or i.issuer == self.issuer for i in configured.issuers):
            problems.append("the environment already defines an issuer with this name or iss")
        if any(p.name == self.name for p in configured.auth.providers):
            problems.append("a sign-in provider already has this name")
        if not self.audience_list:
            problems.append("give at least one audience")
        if not isinstance(self.required_claims, dict):
            problems.append("required claims must be a JSON object")
        if problems:
            raise ValidationError("; ".join(problems).capitalize() + ".")

    @property
    def algorithm_list(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.algorithms.split(",") if part.strip())

    @property
    def audience_list(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.audience.split(",") if part.strip())


class IssuerRule(models.Model):
    """Tokens of ``issuer`` whose scopes include ``scope`` (or whose groups include ``group``;
    neither: every token) act with ``role`` and ``policies``. Rules are tried in ``sort`` order;
    the first that matches decides."""

    class Match(models.TextChoices):
        SCOPE = "scope"
        GROUP = "group"
        ANY = "any", "any token"

    issuer = models.ForeignKey(TrustedIssuer, on_delete=models.CASCADE, related_name="rules")
    sort = models.PositiveIntegerField(default=0)
    match = models.CharField(max_length=8, choices=Match.choices, default=Match.SCOPE)
    value = models.CharField(max_length=255, blank=True, default="")
    role = models.ForeignKey(
        "accounts.Role", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    policies = models.ManyToManyField("accounts.Policy", blank=True, related_name="+")

    class Meta:
        ordering: ClassVar = ["issuer", "sort", "id"]
        verbose_name = "issuer rule"

    def __str__(self) -> str:
        what = "any token" if self.match == self.Match.ANY else f"{self.match} {self.value}"
        return f"{what} → {self.role or 'no role'}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.match != self.Match.ANY and not self.value.strip():
            raise ValidationError({"value": "Name the scope or group this rule matches."})
