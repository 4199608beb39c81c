"""URL configuration. API routes answer JSON errors; unknown routes are ROUTE_NOT_FOUND."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from project import server

admin.site.site_header = "Identity and access"
admin.site.site_title = "Identity and access admin"
admin.site.index_title = "Users, roles, policies and tokens"

urlpatterns = [
    path("", RedirectView.as_view(url=settings.DIRECTUS.root_redirect, permanent=False)),
    path("admin/", admin.site.urls),
    path("server/ping", server.ping, name="server-ping"),
    path("server/health", server.health, name="server-health"),
    path("server/specs/oas", SpectacularAPIView.as_view(), name="openapi-schema"),
    path(
        "server/specs/swagger/",
        SpectacularSwaggerView.as_view(url_name="openapi-schema"),
        name="swagger-ui",
    ),
    path("", include("accounts.urls")),
    path("", include("tokens.urls")),
    path("", include("realtime.graphql.urls")),
    path("", include("items.urls")),
]

handler400 = "project.errors.handler400"
handler403 = "project.errors.handler403"
handler404 = "project.errors.handler404"
handler500 = "project.errors.handler500"
