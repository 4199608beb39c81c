"""OAuth clients and consents in the admin.

A new client's secret (confidential clients) is generated, hashed on save by the toolkit, and
shown once (the same page as new API keys); "new secret" makes another and shows it once. A
consent deleted here revokes the client's tokens for that person, and is an auth event."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from oauth2_provider import models as dot_models
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, RefreshToken

from core.net import Client as Caller
from oauth import consent
from oauth.models import GRANT_CHOICES, Client, Consent
from oauth.scopes import SCOPES
from web.admin.tokens import secret_once_response

# The toolkit's own admin pages would show token rows and a second client form.
for model in (Client, AccessToken, RefreshToken, dot_models.Grant, dot_models.IDToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class ClientForm(forms.ModelForm):
    grants = forms.MultipleChoiceField(
        choices=GRANT_CHOICES, widget=forms.CheckboxSelectMultiple, required=True
    )
    scope_choices = forms.MultipleChoiceField(
        label="Scopes",
        choices=[(name, f"{name}: {text}") for name, text in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Client
        fields = (
            "name",
            "client_id",
            "client_type",
            "redirect_uris",
            "post_logout_redirect_uris",
            "allowed_origins",
            "grants",
            "require_pkce",
            "skip_authorization",
            "role",
            "policies",
            "algorithm",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope_choices"].initial = self.instance.scope_list
        self.fields[
            "skip_authorization"
        ].help_text = "First-party clients: no consent page (the person still signs in)."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.instance.scopes = " ".join(data.get("scope_choices") or [])
        grants = data.get("grants") or []
        if Client.GRANT_CLIENT_CREDENTIALS in grants:
            if data.get("client_type") == Client.CLIENT_PUBLIC:
                self.add_error("grants", "A public client cannot use client credentials.")
            elif not data.get("role") and not data.get("policies"):
                self.add_error("role", "Client-credentials tokens need a role or policies.")
        return data


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    form = ClientForm
    list_display = ("name", "client_id", "client_type", "grant_list", "scopes", "created")
    list_filter = ("client_type",)
    search_fields = ("name", "client_id")
    filter_horizontal = ("policies",)
    readonly_fields = ("created", "updated")
    actions = ("new_secret", "revoke_tokens")

    @admin.display(description="grants")
    def grant_list(self, client: Client) -> str:
        return ", ".join(client.grants or [])

    def save_model(self, request: HttpRequest, obj: Client, form: Any, change: bool) -> None:
        if not change and obj.client_type == Client.CLIENT_CONFIDENTIAL:
            secret = generate_client_secret()
            obj.client_secret = secret
            request._client_secret = secret  # type: ignore[attr-defined]
        elif not change:
            obj.client_secret = ""
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: Client, post_url_continue: Any = None) -> Any:
        secret = getattr(request, "_client_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        row = {"label": f"{obj.name} ({obj.client_id})", "owner": "OAuth client", "secret": secret}
        return secret_once_response(
            request, "OAuth client created", [row], reverse("admin:oauth_client_changelist")
        )

    @admin.action(description="Make a new secret (the old one stops now)")
    def new_secret(self, request: HttpRequest, queryset: QuerySet[Client]) -> HttpResponse | None:
        rows = []
        for client in queryset.filter(client_type=Client.CLIENT_CONFIDENTIAL):
            secret = generate_client_secret()
            client.client_secret = secret
            client.save(update_fields=["client_secret", "updated"])
            rows.append({"label": client.name, "owner": client.client_id, "secret": secret})
        if not rows:
            self.message_user(request, "Public clients have no secret.", messages.WARNING)
            return None
        return secret_once_response(
            request, "New client secrets", rows, reverse("admin:oauth_client_changelist")
        )

    @admin.action(description="Revoke every token of the selected clients")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[Client]) -> None:
        count = consent.revoke_where(application__in=queryset)
        self.message_user(request, f"Revoked {count} access token(s).", messages.SUCCESS)


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("user", "client", "scopes", "updated_at")
    list_select_related = ("user", "client")
    search_fields = ("user__email", "client__name", "client__client_id")
    readonly_fields = ("user", "client", "scopes", "created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Consent) -> None:
        consent.revoke(obj, Caller.of_request(request), by="admin")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Consent]) -> None:
        for row in queryset.select_related("user", "client"):
            consent.revoke(row, Caller.of_request(request), by="admin")
