"""HTML pages for people: sign-in, account, sign-out."""

from __future__ import annotations

from django.urls import include, path

from web import views

urlpatterns = [
    path("login", views.login_page, name="login-page"),
    path("logout", views.logout_page, name="logout-page"),
    path("account", views.account_page, name="account-page"),
    path("", include("web.urls_lifecycle")),
    path("", include("web.urls_mfa")),
]
