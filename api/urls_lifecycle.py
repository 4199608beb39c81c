"""REST routes of the account lifecycle: invitations and password resets."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
