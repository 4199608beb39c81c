"""HTML pages of the account lifecycle: forgot password, reset, accept an invitation."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
