"""HTML pages of second factors: the code step of sign-in, TOTP set-up, recovery codes,
passkeys."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
