from __future__ import annotations

from django.urls import path

from tokens import api, views

urlpatterns = [
    path(".well-known/jwks.json", views.jwks, name="jwks"),
    path("keys", api.KeysView.as_view(), name="keys"),
    path("keys/<str:id>", api.KeyView.as_view(), name="key"),
    path("keys/<str:id>/rotate", api.KeyRotateView.as_view(), name="key-rotate"),
    path("keys/<str:id>/revoke", api.KeyRevokeView.as_view(), name="key-revoke"),
]
