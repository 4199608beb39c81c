"""HTML pages of the account lifecycle: forgot password, reset, accept an invitation.

The mailed links use ``/admin/reset-password`` and ``/admin/accept-invite`` (Directus's defaults,
routed in ``project/urls.py`` ahead of the Django admin); these are the same pages."""

from __future__ import annotations

from django.urls import path

from web import lifecycle_views

urlpatterns = [
    path("login/forgot", lifecycle_views.forgot_password_page, name="forgot-password-page"),
    path("reset-password", lifecycle_views.reset_password_page, name="reset-password-page"),
    path("accept-invite", lifecycle_views.accept_invite_page, name="accept-invite-page"),
]
