"""The OAuth 2.0 / OpenID provider's routes, under the URL names django-oauth-toolkit reverses
(its ``oauth2_provider`` namespace): the consent page is a web page, the rest API endpoints."""

from __future__ import annotations

from django.urls import path

from api import oauth
from web import oauth_views

app_name = "oauth2_provider"

urlpatterns = [
    path("oauth/authorize", oauth_views.AuthorizeView.as_view(), name="authorize"),
    path("oauth/token", oauth.TokenView.as_view(), name="token"),
    path("oauth/revoke", oauth.RevokeTokenView.as_view(), name="revoke-token"),
    path("oauth/introspect", oauth.IntrospectView.as_view(), name="introspect"),
    path("oauth/userinfo", oauth.UserInfoView.as_view(), name="user-info"),
    path("oauth/jwks", oauth.JwksView.as_view(), name="jwks-info"),
    path(
        ".well-known/openid-configuration",
        oauth.DiscoveryView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path(
        ".well-known/oauth-authorization-server",
        oauth.ServerMetadataView.as_view(),
        name="oauth-server-metadata",
    ),
]
