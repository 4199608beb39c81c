"""Refresh sessions and API keys in the admin: who is signed in where, revoking sign-ins;
creating (secret shown once), listing, revoking and rotating keys."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from accounts.models import User
from core.crypto import Unreadable, seal, unseal
from core.errors import DirectusError
from core.net import request_ip
from tokens.keys import Actor, checked_scope, create_key, owner_label, revoke_key, rotate_key
from tokens.models import ApiKey, RefreshSession
from tokens.sessions import revoke_family
from web.admin.fields import OptionalJSONField


@admin.register(RefreshSession)
class RefreshSessionAdmin(admin.ModelAdmin):
    list_display = ("user", "mode", "created_at", "last_used_at", "expires_at", "ip", "state")
    list_filter = ("mode", "revoke_reason", "created_at")
    search_fields = ("user__email", "ip", "user_agent")
    date_hierarchy = "created_at"
    actions = ("revoke_sign_ins",)
    readonly_fields = (
        "user",
        "family",
        "parent",
        "mode",
        "created_at",
        "expires_at",
        "last_used_at",
        "rotated_at",
        "revoked_at",
        "revoke_reason",
        "ip",
        "user_agent",
        "origin",
    )
    exclude = ("token_digest",)

    @admin.display(description="state")
    def state(self, row: RefreshSession) -> str:
        if row.revoked_at:
            return f"revoked ({row.revoke_reason})"
        return "rotated" if row.rotated_at else "active"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected sign-ins")
    def revoke_sign_ins(self, request: HttpRequest, queryset: QuerySet[RefreshSession]) -> None:
        families = set(queryset.values_list("family", flat=True))
        for family in families:
            revoke_family(family, "admin")
        self.message_user(request, f"Revoked {len(families)} sign-in(s).", messages.SUCCESS)


# ---------------------------------------------------------------- API keys


def admin_actor(request: HttpRequest) -> Actor:
    user = request.user if isinstance(request.user, User) else None
    return Actor(user=user, ip=request_ip(request), user_agent=request.META.get("HTTP_USER_AGENT"))


SECRET_ONCE_TTL_S = 120
_SECRET_ONCE_KEY = "admin:secret-once:{}"


#: Secrets waiting to be shown are sealed with a key derived from ``SECRET`` (core.crypto).
_SECRET_ONCE_PURPOSE = "admin-secret-once"


def _opened(sealed: str | None) -> Any:
    """The page sealed in the cache, or None (gone, or sealed before ``SECRET`` changed)."""
    try:
        return json.loads(unseal(sealed, _SECRET_ONCE_PURPOSE)) if sealed else None
    except Unreadable:
        return None


def secret_once_response(
    request: HttpRequest, title: str, issued: list[dict[str, str]], continue_url: str
) -> HttpResponse:
    """Post/redirect/get for new secrets: keep them for :data:`SECRET_ONCE_TTL_S` seconds,
    encrypted, in the cache, and send the browser to the page that shows them once (reloading
    that page, or the form that made them, creates and shows nothing more)."""
    ticket = secrets.token_urlsafe(24)
    page = {
        "title": title,
        "issued": issued,
        "continue_url": continue_url,
        "user": str(request.user.pk),
    }
    sealed = seal(json.dumps(page), _SECRET_ONCE_PURPOSE)
    cache.set(_SECRET_ONCE_KEY.format(ticket), sealed, SECRET_ONCE_TTL_S)
    return HttpResponseRedirect(reverse("admin:tokens_apikey_secret_once", args=[ticket]))


def show_secrets_once(request: HttpRequest, ticket: str) -> HttpResponse:
    """The page that shows new secrets (with copy buttons); never cached, shown once."""
    sealed = cache.get(_SECRET_ONCE_KEY.format(ticket))
    cache.delete(_SECRET_ONCE_KEY.format(ticket))
    page = _opened(sealed)
    if page is None or page["user"] != str(request.user.pk):
        messages.warning(
            request, "Those secrets were shown once already; they cannot be shown again."
        )
        return HttpResponseRedirect(reverse("admin:tokens_apikey_changelist"))
    context = {**admin.site.each_context(request), **page}
    response = TemplateResponse(request, "admin/tokens/secret_once.html", context)
    response["Cache-Control"] = "no-store"
    return response


def key_state(key: ApiKey) -> str:
    if key.revoked_at:
        return "revoked"
    if key.expires_at and key.expires_at <= timezone.now():
        return "expired"
    return "active"


class ApiKeyForm(forms.ModelForm):
    """Create (name, owner, expiry, scope) or edit (name, expiry, scope) a key."""

    class Meta:
        model = ApiKey
        fields = ("name", "user", "role", "expires_at", "scope")
        field_classes: ClassVar = {"scope": OptionalJSONField}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.instance.pk and bool(cleaned.get("user")) == bool(cleaned.get("role")):
            raise forms.ValidationError("Choose a user or a role (exactly one).")
        try:
            cleaned["scope"] = checked_scope(cleaned.get("scope"))
        except DirectusError as exc:
            raise forms.ValidationError({"scope": exc.message}) from None
        expires = cleaned.get("expires_at")
        if expires and expires <= timezone.now() and "expires_at" in self.changed_data:
            raise forms.ValidationError({"expires_at": "Choose a moment in the future."})
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "prefix_shown", "name", "owner", "scope_summary", "expires_at", "last_use", "state",
    )  # fmt: skip
    list_filter = ("kind", "revoked_at", "created_at")
    search_fields = ("name", "prefix", "user__email", "role__name")
    list_select_related = ("user", "role")
    autocomplete_fields = ("user", "role")
    actions = ("revoke_keys", "rotate_keys", "rotate_keys_with_overlap")
    readonly_fields = (
        "kind", "prefix", "created_at", "created_by", "last_used_at", "last_used_ip",
        "revoked_at", "rotated_from",
    )  # fmt: skip

    def get_urls(self) -> list[URLPattern]:
        shown = self.admin_site.admin_view(show_secrets_once)
        extra = [path("secret/<str:ticket>/", shown, name="tokens_apikey_secret_once")]
        return extra + super().get_urls()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        owner = ("user", "role") if obj is not None else ()
        return (*owner, *self.readonly_fields) if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        base = ("name", "user", "role", "expires_at", "scope")
        return base if obj is None else (*base, *self.readonly_fields)

    @admin.display(description="key", ordering="prefix")
    def prefix_shown(self, key: ApiKey) -> str:
        return key.prefix or "(user token)"

    @admin.display(description="owner")
    def owner(self, key: ApiKey) -> str:
        return owner_label(key)

    @admin.display(description="scope")
    def scope_summary(self, key: ApiKey) -> str:
        return "full" if not key.scope else json.dumps(key.scope, sort_keys=True)

    @admin.display(description="state")
    def state(self, key: ApiKey) -> str:
        return key_state(key)

    @admin.display(description="last used", ordering="last_used_at")
    def last_use(self, key: ApiKey) -> str:
        if key.last_used_at is None:
            return "never"
        moment = timezone.localtime(key.last_used_at).strftime("%Y-%m-%d %H:%M")
        return f"{moment} from {key.last_used_ip}" if key.last_used_ip else moment

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        """Edits save as usual; a new key is made by :func:`tokens.keys.create_key` and its
        secret kept on the request for :meth:`response_add` (only)."""
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = create_key(
            name=obj.name, user=obj.user, role=obj.role, expires_at=obj.expires_at,
            scope=obj.scope, actor=admin_actor(request),
        )  # fmt: skip
        obj.__dict__.update({k: v for k, v in issued.key.__dict__.items() if k != "_state"})
        obj._state.adding = False
        request._issued_key_secret = issued.secret  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: Any = None) -> Any:
        secret = getattr(request, "_issued_key_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        row = {"label": str(obj), "owner": owner_label(obj), "secret": secret}
        return secret_once_response(
            request, "API key created", [row], reverse("admin:tokens_apikey_changelist")
        )

    @admin.action(description="Revoke the selected keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        actor = admin_actor(request)
        count = sum(revoke_key(key, actor=actor) for key in queryset)
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)

    @admin.action(description="Rotate the selected keys (old secrets stop now)")
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> Any:
        return self._rotate(request, queryset, timedelta(0))

    @admin.action(description="Rotate the selected keys (old secrets work 24 more hours)")
    def rotate_keys_with_overlap(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> Any:
        return self._rotate(request, queryset, timedelta(hours=24))

    def _rotate(
        self, request: HttpRequest, queryset: QuerySet[ApiKey], overlap: timedelta
    ) -> HttpResponse | None:
        actor, rows = admin_actor(request), []
        for key in queryset:
            try:
                issued = rotate_key(key, overlap=overlap, actor=actor)
            except DirectusError as exc:
                self.message_user(request, f"{key}: {exc.message}", messages.WARNING)
                continue
            rows.append(
                {"label": str(issued.key), "owner": owner_label(key), "secret": issued.secret}
            )
        if not rows:
            return None
        return secret_once_response(
            request, "API keys rotated", rows, reverse("admin:tokens_apikey_changelist")
        )


class UserApiKeyInline(admin.TabularInline):
    """The user's keys on the user page (read-only; manage them on the keys page)."""

    model = ApiKey
    fk_name = "user"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("prefix", "name", "kind", "scope", "expires_at", "last_used_at", "last_used_ip",
              "revoked_at")  # fmt: skip
    readonly_fields = fields
    verbose_name_plural = "API keys and static token (add one on the API keys page)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
