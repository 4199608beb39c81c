"""The access model (contract access-model.md §1): users, a role tree, policies, the access
junction and permissions. Roles only group; every grant lives in a policy."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from accounts.ipaccess import parse_networks

PUBLIC_POLICY_ID = uuid.UUID("abf8a154-5b1c-4a46-ac9c-7300570f4f17")
DEFAULT_PROVIDER = "default"


class UserStatus(models.TextChoices):
    DRAFT = "draft"
    INVITED = "invited"
    UNVERIFIED = "unverified"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ARCHIVED = "archived"


class Role(models.Model):
    """A node in the role tree. Users in a role get the policies of the role and its ancestors."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    icon = models.CharField(max_length=30, default="supervised_user_circle", blank=True)
    description = models.TextField(blank=True, default="")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        node: Role | None = self.parent
        seen = {self.pk}
        while node is not None:
            if node.pk in seen:
                raise ValidationError({"parent": "A role cannot be its own ancestor."})
            seen.add(node.pk)
            node = node.parent


class Policy(models.Model):
    """A named bundle of grants: global flags plus per-collection permissions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    icon = models.CharField(max_length=64, default="badge", blank=True)
    description = models.TextField(blank=True, default="")
    ip_access = models.TextField(
        blank=True,
        default="",
        help_text="Comma-separated IPs, CIDR networks or a-b ranges. Empty: any address.",
    )
    enforce_tfa = models.BooleanField(default=False)
    admin_access = models.BooleanField(default=False)
    app_access = models.BooleanField(default=False)

    class Meta:
        ordering: ClassVar = ["name"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            parse_networks(self.ip_access)
        except ValueError as exc:
            raise ValidationError({"ip_access": str(exc)}) from exc


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)

    def create_user(self, email: str | None, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=self.normalize_email(email) if email else None, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        from accounts.bootstrap import administrator_role

        extra.setdefault("role", administrator_role())
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser):
    """A person or service account. Login is by email; SSO users match on external_identifier."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    first_name = models.CharField(max_length=50, blank=True, default="")
    last_name = models.CharField(max_length=50, blank=True, default="")
    email = models.EmailField(max_length=128, unique=True, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=UserStatus.choices, default=UserStatus.ACTIVE, db_index=True
    )
    role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.SET_NULL, related_name="users"
    )
    provider = models.CharField(max_length=128, default=DEFAULT_PROVIDER)
    external_identifier = models.CharField(max_length=255, unique=True, null=True, blank=True)
    auth_data = models.JSONField(null=True, blank=True, editable=False)
    # NULL means "no TFA" (read back as null, as Directus clients expect). Otherwise the base32
    # TOTP secret sealed with a key derived from SECRET (factors.totp, core.crypto), never the
    # secret itself; read back concealed.
    tfa_secret = models.CharField(max_length=255, null=True, blank=True, editable=False)  # noqa: DJ001
    # The time step of the last TOTP code accepted (factors.totp): a code is accepted only for a
    # later step, recorded by one conditional UPDATE, so no code works twice on any process.
    tfa_last_step = models.BigIntegerField(null=True, blank=True, editable=False)
    last_access = models.DateTimeField(null=True, blank=True, editable=False)
    title = models.CharField(max_length=50, blank=True, default="")
    description = models.TextField(blank=True, default="")
    location = models.CharField(max_length=255, blank=True, default="")
    language = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    email_notifications = models.BooleanField(default=True)
    date_created = models.DateTimeField(auto_now_add=True)
    # Failed sign-ins in a row (signin.lockout): in the database so no other traffic can evict
    # them; signin.lockout changes them with F() updates (a full save() of an instance loaded
    # earlier writes back the count it loaded).
    failed_logins = models.PositiveIntegerField(default=0, editable=False)
    # The only admin is throttled instead of suspended (signin.lockout): no sign-in until then.
    login_throttled_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The Directus static token (contract http-auth.md §7.12): a reference to its hashed row in
    # ``tokens.ApiKey``, never the secret. Read back concealed; set through
    # :func:`tokens.keys.set_user_token` (``PATCH /users/<id> {"token": ...}``, the admin).
    token = models.OneToOneField(
        "tokens.ApiKey",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering: ClassVar = ["email"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_ci_unique",
                violation_error_message="A user with this email already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.external_identifier or f"user_{self.pk}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.status == UserStatus.ACTIVE

    @property
    def is_staff(self) -> bool:
        """Django admin access follows the ``admin_access`` of the user's policies."""
        return self.is_active and self.accountability().admin

    @property
    def is_superuser(self) -> bool:
        return self.is_staff

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_staff

    def has_perms(self, perm_list: Any, obj: object = None) -> bool:
        return self.is_staff

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_staff

    def accountability(self, ip: str | None = None) -> Any:
        from accounts.accountability import accountability_for_user

        return accountability_for_user(self, ip=ip)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.password:
            self.set_unusable_password()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.email:
            self.email = self.email.strip()
            clash = User.objects.filter(email__iexact=self.email).exclude(pk=self.pk)
            if clash.exists():
                raise ValidationError({"email": "A user with this email already exists."})


class Access(models.Model):
    """Attaches a policy to a role, to one user, or (both empty) to the public."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.CASCADE, related_name="access"
    )
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="access"
    )
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="access")
    sort = models.IntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "policy attachment"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~models.Q(role__isnull=False, user__isnull=False),
                name="access_role_or_user_not_both",
                violation_error_message="Attach a policy to a role or to a user, not both.",
            ),
        ]

    def __str__(self) -> str:
        target = self.role or self.user or "public"
        return f"{self.policy} → {target}"

    def clean(self) -> None:
        if self.role_id and self.user_id:
            raise ValidationError("Attach a policy to a role or to a user, not both.")


class Action(models.TextChoices):
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    SHARE = "share"


class Permission(models.Model):
    """What a policy allows on one collection for one action (contract access-model.md §1.5)."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="permissions")
    collection = models.CharField(max_length=64)
    action = models.CharField(max_length=10, choices=Action.choices)
    fields = models.TextField(
        blank=True, default="*", help_text="Comma-separated field names; * for all fields."
    )
    permissions = models.JSONField(
        null=True, blank=True, help_text="Item filter: which items this rule covers ({} = all)."
    )
    validation = models.JSONField(
        null=True, blank=True, help_text="Filter every created or updated payload must match."
    )
    presets = models.JSONField(null=True, blank=True, help_text="Default values for new items.")

    class Meta:
        ordering: ClassVar = ["collection", "action"]

    def __str__(self) -> str:
        return f"{self.policy}: {self.action} {self.collection}"

    @property
    def field_list(self) -> list[str]:
        return [f.strip() for f in (self.fields or "").split(",") if f.strip()]

    def clean(self) -> None:
        from accounts.permissions import FilterError, validate_filter_shape

        for name in ("permissions", "validation"):
            value = getattr(self, name)
            try:
                validate_filter_shape(value)
            except FilterError as exc:
                raise ValidationError({name: str(exc)}) from exc
        if self.presets is not None and not isinstance(self.presets, dict):
            raise ValidationError({"presets": "Presets must be a JSON object."})


PROJECT_SETTINGS_CACHE_KEY = "accounts:project-settings"
PROJECT_SETTINGS_CACHE_TTL_S = 30  # bounds staleness across processes with a per-process cache


class AccessStamp(models.Model):
    """One row, the *access version*: replaced by every change to the access model, so cached
    accountabilities and permission sets keyed by it are never used once stale, on any process
    (:func:`accounts.accountability.access_version`). The shared cache holds a copy for speed."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    version = models.CharField(max_length=32)

    class Meta:
        verbose_name = "access version"

    def __str__(self) -> str:
        return self.version


class ProjectSettings(models.Model):
    """The one row of project-wide settings (Directus ``directus_settings``), always pk 1.

    Read it with :meth:`current`, which caches the row in the default cache; saving clears it."""

    project_name = models.CharField(max_length=100, default="Identity and access")
    auth_login_attempts = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=25,
        help_text="Failed sign-ins in a row before the user is suspended. Empty: unlimited.",
    )
    auth_password_policy = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="A regular expression every new password must match. Empty: no policy.",
    )
    public_registration = models.BooleanField(default=False)
    public_registration_verify_email = models.BooleanField(default=True)
    public_registration_role = models.ForeignKey(
        Role, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "project settings"
        verbose_name_plural = "project settings"

    def __str__(self) -> str:
        return self.project_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        from django.core.cache import cache

        self.pk = 1
        super().save(*args, **kwargs)
        cache.delete(PROJECT_SETTINGS_CACHE_KEY)

    @classmethod
    def current(cls) -> ProjectSettings:
        """The settings row (created with defaults on first use), cached."""
        from django.core.cache import cache

        cached = cache.get(PROJECT_SETTINGS_CACHE_KEY)
        if isinstance(cached, cls):
            return cached
        row, _ = cls.objects.get_or_create(pk=1)
        cache.set(PROJECT_SETTINGS_CACHE_KEY, row, PROJECT_SETTINGS_CACHE_TTL_S)
        return row

    def clean(self) -> None:
        import re

        if self.auth_password_policy:
            try:
                re.compile(self.auth_password_policy)
            except re.error as exc:
                raise ValidationError(
                    {"auth_password_policy": f"Not a valid regular expression: {exc}."}
                ) from exc


class AuthEventKind(models.TextChoices):
    LOGIN_SUCCESS = "login.success", "login succeeded"
    LOGIN_FAILURE = "login.failure", "login failed"
    REFRESH = "refresh", "session refreshed"
    REFRESH_REUSE_DETECTED = "refresh.reuse_detected", "refresh token reuse detected"
    LOGOUT = "logout", "logout"
    LOGOUT_EVERYWHERE = "logout.everywhere", "logout everywhere"
    USER_SUSPENDED = "user.suspended", "user suspended"
    LOGIN_LOCKED_OUT = "login.locked_out", "login rate limited"
    LOGIN_THROTTLED = "login.throttled", "login throttled"
    SESSION_REVOKED = "session.revoked", "session revoked"
    KEY_CREATED = "key.created", "key created"
    KEY_USED_NEW_IP = "key.used_new_ip", "key used from a new IP"
    KEY_ROTATED = "key.rotated", "key rotated"
    KEY_REVOKED = "key.revoked", "key revoked"
    KEY_EXPIRED_USE = "key.expired_use", "expired key used"
    INVITE_SENT = "invite.sent", "invitation sent"
    INVITE_ACCEPTED = "invite.accepted", "invitation accepted"
    PASSWORD_RESET_REQUESTED = "password.reset_requested", "password reset requested"
    PASSWORD_RESET = "password.reset", "password reset"
    FACTOR_ADDED = "factor.added", "second factor added"
    FACTOR_REMOVED = "factor.removed", "second factor removed"
    RECOVERY_CODES_GENERATED = "recovery_codes.generated", "recovery codes generated"
    RECOVERY_CODE_USED = "recovery_code.used", "recovery code used"
    EXTERNAL_USER_CREATED = "external.user_created", "service user created for an issuer"
    EXTERNAL_ROLE_CHANGED = "external.role_changed", "service user's role changed by mapping"
    EXTERNAL_TOKEN_REFUSED = "external.refused", "external token refused"
    SSO_USER_CREATED = "sso.user_created", "user created by single sign-on"
    SSO_ROLE_CHANGED = "sso.role_changed", "role or policies changed by the identity provider"
    DIRECTORY_SYNC = "directory.sync", "user changed by the directory sync"
    OAUTH_CONSENT_GRANTED = "oauth.consent_granted", "OAuth consent granted"
    OAUTH_CONSENT_REVOKED = "oauth.consent_revoked", "OAuth consent revoked"
    OAUTH_TOKEN_ISSUED = "oauth.token_issued", "OAuth token issued"
    OAUTH_TOKEN_REVOKED = "oauth.token_revoked", "OAuth token revoked"
    OAUTH_REFRESH_REUSED = "oauth.refresh_reused", "OAuth refresh token reused"
    OAUTH_CODE_REUSED = "oauth.code_reused", "OAuth authorization code reused"
    OAUTH_CLIENT_FAILED = "oauth.client_failed", "OAuth client authentication failed"
    ACCESS_CHANGED = "access.changed", "roles, policies, permissions or attachments changed"


class AuthOutcome(models.TextChoices):
    SUCCESS = "success"
    FAILURE = "failure"


class AuthEvent(models.Model):
    """One security-relevant act (sign-in, refresh, reuse, logout, suspension...). Append-only;
    written by :func:`accounts.audit.record_event`, never holding a password, token or digest."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=32, choices=AuthEventKind.choices, db_index=True)
    outcome = models.CharField(max_length=8, choices=AuthOutcome.choices)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="auth_events"
    )
    identifier = models.CharField(
        max_length=128, blank=True, default="", help_text="The email as typed."
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]
        verbose_name = "auth event"
        indexes: ClassVar = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} ({self.outcome})"
