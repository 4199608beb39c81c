"""HTML pages for people: sign-in, account, sign-out."""

from __future__ import annotations

from django.urls import include, path

from web import oauth_views, views

urlpatterns = [
    path("login", views.login_page, name="login-page"),
    path("logout", views.logout_page, name="logout-page"),
    path("account", views.account_page, name="account-page"),
    path(
        "account/applications/<uuid:pk>/disconnect",
        oauth_views.revoke_consent,
        name="oauth-consent-revoke",
    ),
    path("", include("web.urls_lifecycle")),
    path("", include("web.urls_mfa")),
]
