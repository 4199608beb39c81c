"""URL configuration (wiring: holds no rules). API routes answer JSON errors; unknown routes
are ROUTE_NOT_FOUND."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", RedirectView.as_view(url=settings.DIRECTUS.server.root_redirect, permanent=False)),
    path("admin/", admin.site.urls),
    path("server/specs/oas", SpectacularAPIView.as_view(), name="openapi-schema"),
    path(
        "server/specs/swagger/",
        SpectacularSwaggerView.as_view(url_name="openapi-schema"),
        name="swagger-ui",
    ),
    path("", include("web.urls")),
    path("", include("realtime.graphql.urls")),
    path("", include("api.urls")),
]

handler400 = "core.errors.handler400"
handler403 = "core.errors.handler403"
handler404 = "core.errors.handler404"
handler500 = "core.errors.handler500"
