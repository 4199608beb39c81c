"""The Django admin for users, roles, policies and their permissions.

Only users whose policies grant ``admin_access`` may use it (``User.is_staff``)."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import (
    AdminPasswordChangeForm,
    ReadOnlyPasswordHashField,
    SetPasswordMixin,
)
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import (
    Access,
    AuthEvent,
    Permission,
    Policy,
    ProjectSettings,
    Role,
    User,
)
from accounts.passwords import password_problems
from core.errors import DirectusError
from items.registry import all_collections
from signin.directory import directory_providers, linked_providers, sync_directory
from signin.refresh import logout_everywhere
from tokens.keys import generate_user_token, set_user_token
from tokens.sessions import SessionContext
from web.admin.fields import OptionalJSONField
from web.admin.tokens import UserApiKeyInline, admin_actor, secret_once_response


class PasswordPolicyMixin:
    """The admin's password fields follow the one password policy (:mod:`accounts.passwords`:
    the project's expression and Django's validators), each problem shown on the field."""

    cleaned_data: dict[str, Any]

    def validate_password_for_user(
        self,
        user: User,
        password_field_name: str = "password2",  # noqa: S107 - a form field's name
        **kwargs: Any,
    ) -> None:
        if not self.cleaned_data.get("set_usable_password", True):
            return  # the admin chose "no password" (SetUnusablePasswordMixin)
        password = self.cleaned_data.get(password_field_name)
        if password:
            for problem in password_problems(password, user):
                self.add_error(password_field_name, problem)  # type: ignore[attr-defined]


class PolicyAdminPasswordChangeForm(PasswordPolicyMixin, AdminPasswordChangeForm):
    """The admin's "set a new password" form."""


class UserCreationForm(PasswordPolicyMixin, SetPasswordMixin, forms.ModelForm):
    """Create a user with an email and (optionally) a password."""

    password1, password2 = SetPasswordMixin.create_password_fields()
    password1.required = password2.required = False

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role", "status")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("password1") or cleaned.get("password2"):
            self.validate_passwords()
            names = ("email", "first_name", "last_name")
            self.validate_password_for_user(User(**{n: cleaned.get(n) or "" for n in names}))
        return cleaned

    def save(self, commit: bool = True) -> User:
        user: User = super().save(commit=False)
        if self.cleaned_data.get("password1"):
            user.set_password(self.cleaned_data["password1"])
        else:
            user.set_unusable_password()
        if commit:
            user.save()
        return user


class UserChangeForm(forms.ModelForm):
    password = ReadOnlyPasswordHashField(
        label="Password",
        help_text=(
            'Passwords are stored as Argon2 hashes. <a href="../password/">Set a new one</a>.'
        ),
    )

    class Meta:
        model = User
        fields = (
            "email",
            "password",
            "status",
            "first_name",
            "last_name",
            "title",
            "description",
            "location",
            "role",
            "provider",
            "external_identifier",
            "language",
            "email_notifications",
        )


class UserPolicyInline(admin.TabularInline):
    model = Access
    fk_name = "user"
    fields = ("policy", "sort")
    extra = 0
    verbose_name = "policy attached to this user"
    verbose_name_plural = "policies attached to this user"


class RolePolicyInline(admin.TabularInline):
    model = Access
    fk_name = "role"
    fields = ("policy", "sort")
    extra = 0
    verbose_name = "policy"
    verbose_name_plural = "policies of this role"


class PolicyAttachmentInline(admin.TabularInline):
    """Roles and users the policy is attached to (the public one is the checkbox above)."""

    model = Access
    fields = ("role", "user", "sort")
    extra = 0
    verbose_name = "attachment to a role or a user"
    verbose_name_plural = "attached to"
    autocomplete_fields = ("role", "user")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Access]:
        return super().get_queryset(request).exclude(role__isnull=True, user__isnull=True)


class PolicyForm(forms.ModelForm):
    public = forms.BooleanField(
        required=False,
        label="Public",
        help_text="Applies to unauthenticated requests (and to users without a role).",
    )

    class Meta:
        model = Policy
        fields = (
            "name",
            "icon",
            "description",
            "admin_access",
            "app_access",
            "enforce_tfa",
            "ip_access",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["public"].initial = Access.objects.filter(
                policy=self.instance, role=None, user=None
            ).exists()


def collection_choices() -> list[tuple[str, str]]:
    """The registered collections (a rule for an unknown name would never apply)."""

    return [(spec.name, spec.name) for spec in sorted(all_collections(), key=lambda s: s.name)]


class PermissionForm(forms.ModelForm):
    collection = forms.ChoiceField(choices=collection_choices)

    class Meta:
        model = Permission
        fields = (
            "policy",
            "collection",
            "action",
            "fields",
            "permissions",
            "validation",
            "presets",
        )
        field_classes: ClassVar = {
            "permissions": OptionalJSONField,
            "validation": OptionalJSONField,
            "presets": OptionalJSONField,
        }


class PermissionInline(admin.StackedInline):
    model = Permission
    form = PermissionForm
    extra = 0
    fields = (("collection", "action"), "fields", "permissions", "validation", "presets")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = PolicyAdminPasswordChangeForm
    list_display = ("email", "first_name", "last_name", "role", "status", "provider", "last_access")
    list_filter = ("status", "role", "provider")
    search_fields = ("email", "first_name", "last_name", "external_identifier")
    ordering = ("email",)
    readonly_fields = ("last_access", "last_login", "date_created", "static_token")
    filter_horizontal = ()
    inlines: ClassVar = [UserPolicyInline, UserApiKeyInline]
    actions = (
        "log_out_everywhere",
        "generate_static_token",
        "clear_static_token",
        "sync_from_directory",
    )
    fieldsets = (
        (None, {"fields": ("email", "password", "status")}),
        ("Profile", {"fields": ("first_name", "last_name", "title", "description", "location")}),
        ("Access", {"fields": ("role",)}),
        (
            "Sign-in",
            {
                "fields": (
                    "provider",
                    "external_identifier",
                    "static_token",
                    "last_access",
                    "last_login",
                )
            },
        ),
        ("Other", {"fields": ("language", "email_notifications", "date_created")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "first_name", "last_name", "role", "status"),
            },
        ),
        ("Password (leave empty for SSO-only users)", {"fields": ("password1", "password2")}),
    )

    @admin.action(description="Log out everywhere (revoke every session)")
    def log_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        context = SessionContext.of_request(request)
        actor = request.user if isinstance(request.user, User) else None
        total = sum(logout_everywhere(user, context, actor=actor) for user in queryset)
        self.message_user(request, f"Revoked {total} session(s).", messages.SUCCESS)

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        """The keys list only on an existing user's page (it has nothing to add)."""
        return self.inlines if obj is not None else [UserPolicyInline]

    @admin.display(description="static token")
    def static_token(self, user: User) -> str:
        """Set or not; the token itself is never stored, so it cannot be shown."""
        return "set (hidden)" if user.token_id else "not set"

    @admin.action(description="Generate a new static token (shown once)")
    def generate_static_token(self, request: HttpRequest, queryset: QuerySet[User]) -> Any:
        actor = admin_actor(request)
        rows = [
            {
                "label": "static token",
                "owner": str(user),
                "secret": generate_user_token(user, actor=actor),
            }
            for user in queryset
        ]
        return secret_once_response(
            request, "Static tokens generated", rows, reverse("admin:accounts_user_changelist")
        )

    @admin.action(description="Clear the static token")
    def clear_static_token(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = admin_actor(request)
        for user in queryset:
            set_user_token(user, None, actor=actor)
        self.message_user(request, "Static tokens cleared.", messages.SUCCESS)

    @admin.action(
        description="Sync from the directory (LDAP users: groups → role, left → suspended)"
    )
    def sync_from_directory(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        drivers = directory_providers()
        changes: list[str] = []
        synced: set[str] = set()
        for name, driver in drivers.items():
            names = {name, *linked_providers(driver)}
            synced |= names
            chosen = [user for user in queryset if user.provider in names]
            if not chosen:
                continue
            try:
                changes += [str(change) for change in sync_directory(driver, chosen)]
            except DirectusError as error:
                self.message_user(request, f"{name}: {error.message}", messages.ERROR)
        skipped = sum(1 for user in queryset if user.provider not in synced)
        for change in changes:
            self.message_user(request, change, messages.INFO)
        summary = f"Directory sync: {len(changes)} change(s)."
        if skipped:
            summary += f" {skipped} user(s) not of a directory were left alone."
        self.message_user(request, summary, messages.SUCCESS)


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "user_count", "description")
    list_filter = ("parent",)
    search_fields = ("name", "description")
    inlines: ClassVar = [RolePolicyInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Role]:
        return super().get_queryset(request).annotate(_user_count=Count("users", distinct=True))

    @admin.display(description="users", ordering="_user_count")
    def user_count(self, role: Role) -> int:
        return int(getattr(role, "_user_count", 0))


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    form = PolicyForm
    list_display = ("name", "admin_access", "app_access", "enforce_tfa", "ip_access", "is_public")
    list_filter = ("admin_access", "app_access", "enforce_tfa")
    search_fields = ("name", "description")
    inlines: ClassVar = [PermissionInline, PolicyAttachmentInline]
    fieldsets = (
        (None, {"fields": ("name", "icon", "description", "public")}),
        ("Global access", {"fields": ("admin_access", "app_access", "enforce_tfa", "ip_access")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Policy]:
        public = Access.objects.filter(policy=OuterRef("pk"), role=None, user=None)
        return super().get_queryset(request).annotate(_public=Exists(public))

    @admin.display(boolean=True, description="public", ordering="_public")
    def is_public(self, policy: Policy) -> bool:
        return bool(getattr(policy, "_public", False))

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        public = Access.objects.filter(policy=form.instance, role=None, user=None)
        if form.cleaned_data.get("public") and not public.exists():
            Access.objects.create(policy=form.instance)
        elif not form.cleaned_data.get("public"):
            public.delete()


@admin.register(Permission)
class PermissionAdmin(admin.ModelAdmin):
    form = PermissionForm
    list_display = ("policy", "collection", "action", "fields")
    list_filter = ("action", "collection", "policy")
    search_fields = ("collection", "policy__name")
    autocomplete_fields = ("policy",)


@admin.register(ProjectSettings)
class ProjectSettingsAdmin(admin.ModelAdmin):
    """The single settings row: editable, never added twice, never deleted."""

    list_display = ("project_name", "auth_login_attempts", "public_registration")
    autocomplete_fields = ("public_registration_role",)
    fieldsets = (
        (None, {"fields": ("project_name",)}),
        ("Sign-in", {"fields": ("auth_login_attempts", "auth_password_policy")}),
        (
            "Public registration",
            {
                "fields": (
                    "public_registration",
                    "public_registration_verify_email",
                    "public_registration_role",
                )
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not ProjectSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuthEvent)
class AuthEventAdmin(admin.ModelAdmin):
    """The auth log: read-only, filterable, searchable."""

    list_display = ("created_at", "kind", "outcome", "user", "identifier", "ip")
    list_filter = ("kind", "outcome", "created_at")
    search_fields = ("identifier", "user__email", "ip")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    fields = (
        "created_at",
        "kind",
        "outcome",
        "user",
        "identifier",
        "ip",
        "user_agent",
        "request_id",
        "details",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
