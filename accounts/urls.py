from __future__ import annotations

from django.urls import path

from accounts import api, users, views

urlpatterns = [
    path("auth", api.ProvidersView.as_view(), name="auth-providers"),
    path("auth/login", api.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", api.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", api.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout/all", api.LogoutEverywhereView.as_view(), name="auth-logout-all"),
    path("users", users.UsersView.as_view(), {"collection": "directus_users"}, name="users"),
    path("users/me", users.MeView.as_view(), name="users-me"),
    path("users/<str:id>", users.UserView.as_view(), {"collection": "directus_users"}, name="user"),
    path("login", views.login_page, name="login-page"),
    path("logout", views.logout_page, name="logout-page"),
    path("account", views.account_page, name="account-page"),
]
