"""Trusted external issuers in the admin: an issuer with its rules inline. Issuers defined in
the environment are listed on the page (they win over a row with the same name or ``iss``)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse

from tokens.models import IssuerRule, TrustedIssuer


class IssuerRuleInline(admin.TabularInline):
    model = IssuerRule
    extra = 1
    fields = ("sort", "match", "value", "role", "policies")
    filter_horizontal = ("policies",)
    ordering = ("sort", "id")


@admin.register(TrustedIssuer)
class TrustedIssuerAdmin(admin.ModelAdmin):
    list_display = ("name", "issuer", "audience", "enabled", "rule_count")
    list_filter = ("enabled",)
    search_fields = ("name", "issuer")
    inlines: ClassVar = [IssuerRuleInline]
    fieldsets = (
        (None, {"fields": ("name", "issuer", "audience", "enabled")}),
        (
            "Keys",
            {"fields": ("jwks_url", "algorithms", "jwks_ttl", "jwks_refetch_limit", "timeout")},
        ),
        ("Claims", {"fields": ("required_claims", "clock_skew", "scope_claim", "group_claim")}),
    )

    @admin.display(description="rules")
    def rule_count(self, obj: TrustedIssuer) -> int:
        return obj.rules.count()

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        configured = settings.DIRECTUS.issuers
        if configured:
            names = ", ".join(f"{i.name} ({i.issuer})" for i in configured)
            messages.info(
                request, f"Also trusted, from the environment (TRUSTED_ISSUERS): {names}."
            )
        return super().changelist_view(request, extra_context)
