"""URL configuration (wiring: holds no rules). API routes answer JSON errors; unknown routes
are ROUTE_NOT_FOUND."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from web import lifecycle_views

urlpatterns = [
    path("", RedirectView.as_view(url=settings.DIRECTUS.server.root_redirect, permanent=False)),
    # The links Directus mails (PUBLIC_URL/admin/...), ahead of the admin's catch-all.
    path("admin/reset-password", lifecycle_views.reset_password_page, name="admin-reset-password"),
    path("admin/accept-invite", lifecycle_views.accept_invite_page, name="admin-accept-invite"),
    path("admin/", admin.site.urls),
    path("server/specs/oas", SpectacularAPIView.as_view(), name="openapi-schema"),
    path(
        "server/specs/swagger/",
        SpectacularSwaggerView.as_view(url_name="openapi-schema"),
        name="swagger-ui",
    ),
    path("", include("project.urls_oauth")),
    path("", include("web.urls")),
    path("", include("realtime.graphql.urls")),
    path("", include("api.urls")),
]

handler400 = "core.errors.handler400"
handler403 = "core.errors.handler403"
handler404 = "core.errors.handler404"
handler500 = "core.errors.handler500"
