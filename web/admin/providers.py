"""Sign-in providers in the admin (:class:`signin.models.SsoProvider`): the same settings as
``AUTH_<NAME>_*``. The client secret is write-only: typed once, stored sealed, never shown
(leave the field empty to keep it). Providers of the environment are listed on the page; they
win over a row of the same name, which the form therefore refuses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse

from signin.models import SsoProvider

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldsetSpec

FIELDSETS: _FieldsetSpec = (
    (None, {"fields": ("name", "driver", "enabled", "label", "icon")}),
    ("Client", {"fields": ("client_id", "new_client_secret", "token_auth_method", "scope")}),
    (
        "Provider",
        {
            "fields": ("issuer_url", "authorize_url", "access_url", "profile_url", "params"),
            "description": "openid: the issuer URL. oauth2: the authorize, access and "
            "profile URLs.",
        },
    ),
    (
        "Users",
        {
            "fields": (
                "identifier_key",
                "email_key",
                "first_name_key",
                "last_name_key",
                "allow_public_registration",
                "require_verified_email",
                "sync_user_info",
                "default_role",
            )
        },
    ),
    (
        "Groups",
        {"fields": ("group_claim_name", "role_mapping", "policy_mapping", "role_mapping_mode")},
    ),
    (
        "Sign-in",
        {"fields": ("mode", "redirect_allow_list", "login_timeout", "proxy", "timeout")},
    ),
)


class SsoProviderForm(forms.ModelForm):
    new_client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave empty to keep the stored secret.",
    )

    class Meta:
        model = SsoProvider
        # Every field of the page but the write-only secret, which is not a model field.
        fields = tuple(
            name
            for _title, part in FIELDSETS
            for name in part["fields"]
            if name != "new_client_secret"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        secret = data.get("new_client_secret")
        if secret:
            self.instance.set_client_secret(secret)
        return data


@admin.register(SsoProvider)
class SsoProviderAdmin(admin.ModelAdmin):
    form = SsoProviderForm
    list_display = ("name", "driver", "label", "enabled", "has_secret")
    list_filter = ("driver", "enabled")
    search_fields = ("name", "label", "client_id")
    fieldsets = FIELDSETS

    @admin.display(boolean=True, description="secret")
    def has_secret(self, obj: SsoProvider) -> bool:
        return bool(obj.client_secret)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        configured = settings.DIRECTUS.auth.providers
        if configured:
            names = ", ".join(f"{p.name} ({p.driver})" for p in configured)
            messages.info(
                request, f"Also configured, from the environment (AUTH_PROVIDERS): {names}."
            )
        return super().changelist_view(request, extra_context)
