"""Routes of the REST API (no trailing slashes), Directus's paths."""

from __future__ import annotations

from django.urls import include, path

from api import auth, items, jwks, keys, server, users

urlpatterns = [
    path("server/ping", server.ping, name="server-ping"),
    path("server/health", server.health, name="server-health"),
    path(".well-known/jwks.json", jwks.jwks, name="jwks"),
    path("auth", auth.ProvidersView.as_view(), name="auth-providers"),
    path("auth/login", auth.LoginView.as_view(), name="auth-login"),
    path("auth/login/<str:provider>", auth.ProviderLoginView.as_view(), name="auth-login-provider"),
    path(
        "auth/login/<str:provider>/callback",
        auth.ProviderCallbackView.as_view(),
        name="auth-login-callback",
    ),
    path("auth/login/<str:provider>/acs", auth.SamlAcsView.as_view(), name="auth-login-acs"),
    path(
        "auth/login/<str:provider>/metadata",
        auth.SamlMetadataView.as_view(),
        name="auth-login-metadata",
    ),
    path(
        "auth/login/<str:provider>/logout", auth.SamlLogoutView.as_view(), name="auth-login-logout"
    ),
    path("auth/refresh", auth.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", auth.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout/all", auth.LogoutEverywhereView.as_view(), name="auth-logout-all"),
    path("", include("api.urls_lifecycle")),
    path("", include("api.urls_mfa")),
    path("users", users.UsersView.as_view(), {"collection": "directus_users"}, name="users"),
    path("users/me", users.MeView.as_view(), name="users-me"),
    path("users/<str:id>", users.UserView.as_view(), {"collection": "directus_users"}, name="user"),
    path("keys", keys.KeysView.as_view(), name="keys"),
    path("keys/<str:id>", keys.KeyView.as_view(), name="key"),
    path("keys/<str:id>/rotate", keys.KeyRotateView.as_view(), name="key-rotate"),
    path("keys/<str:id>/revoke", keys.KeyRevokeView.as_view(), name="key-revoke"),
    path("items/<str:collection>", items.ItemsView.as_view(), name="items"),
    path("items/<str:collection>/<str:id>", items.ItemView.as_view(), name="item"),
]
