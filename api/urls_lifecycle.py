"""REST routes of the account lifecycle: invitations and password resets."""

from __future__ import annotations

from django.urls import path

from api import lifecycle

urlpatterns = [
    path("auth/password/request", lifecycle.PasswordRequestView.as_view(), name="password-request"),
    path("auth/password/reset", lifecycle.PasswordResetView.as_view(), name="password-reset"),
    path("users/invite", lifecycle.InviteView.as_view(), name="users-invite"),
    path("users/invite/accept", lifecycle.InviteAcceptView.as_view(), name="users-invite-accept"),
]
