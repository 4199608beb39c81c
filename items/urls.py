"""Routes of the items API (no trailing slashes)."""

from __future__ import annotations

from django.urls import path

from items.views import ItemsView, ItemView

urlpatterns = [
    path("items/<str:collection>", ItemsView.as_view(), name="items"),
    path("items/<str:collection>/<str:id>", ItemView.as_view(), name="item"),
]
