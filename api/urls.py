"""Routes of the REST API (no trailing slashes), Directus's paths."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, include, path

from api import auth, items, jwks, keys, server, system, users


def system_routes(
    name: str, collection: str, many: Any, one: Any, me: list[tuple[str, Any, str]] | None = None
) -> list[URLPattern]:
    """``/<name>``, its "me" routes, then ``/<name>/<id>`` (so ``me`` is not an id)."""
    kwargs = {"collection": collection}
    return [
        path(name, many.as_view(), kwargs, name=name),
        *(path(f"{name}/{sub}", view.as_view(), name=label) for sub, view, label in me or []),
        path(f"{name}/<str:id>", one.as_view(), kwargs, name=f"{name}-item"),
    ]


urlpatterns = [
    path("server/ping", server.ping, name="server-ping"),
    path("server/health", server.health, name="server-health"),
    path("server/info", server.info, name="server-info"),
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
    *system_routes(
        "roles",
        "directus_roles",
        system.RolesView,
        system.RoleView,
        me=[("me", system.RolesMeView, "roles-me")],
    ),
    *system_routes(
        "policies",
        "directus_policies",
        system.PoliciesView,
        system.PolicyView,
        me=[("me/globals", system.PoliciesMeGlobalsView, "policies-me-globals")],
    ),
    *system_routes(
        "permissions",
        "directus_permissions",
        system.PermissionsView,
        system.PermissionView,
        me=[
            ("me", system.PermissionsMeView, "permissions-me"),
            (
                "me/<str:collection>",
                system.PermissionsMeCollectionView,
                "permissions-me-collection",
            ),
            ("me/<str:collection>/<str:pk>", system.PermissionsMeItemView, "permissions-me-item"),
        ],
    ),
    *system_routes("access", "directus_access", system.AccessView, system.AccessItemView),
    path("keys", keys.KeysView.as_view(), name="keys"),
    path("keys/<str:id>", keys.KeyView.as_view(), name="key"),
    path("keys/<str:id>/rotate", keys.KeyRotateView.as_view(), name="key-rotate"),
    path("keys/<str:id>/revoke", keys.KeyRevokeView.as_view(), name="key-revoke"),
    path("items/<str:collection>", items.ItemsView.as_view(), name="items"),
    path("items/<str:collection>/<str:id>", items.ItemView.as_view(), name="item"),
]
