"""REST routes of second factors: TOTP (contract http-auth.md §7.9) and recovery codes. Included
before ``users/<id>`` so that ``users/me/tfa/...`` is not read as a user id."""

from __future__ import annotations

from django.urls import path

from api import tfa

urlpatterns = [
    path("users/me/tfa/generate", tfa.GenerateView.as_view(), name="tfa-generate"),
    path("users/me/tfa/enable", tfa.EnableView.as_view(), name="tfa-enable"),
    path("users/me/tfa/disable", tfa.DisableView.as_view(), name="tfa-disable"),
    path("users/me/tfa/recovery-codes", tfa.RecoveryCodesView.as_view(), name="tfa-recovery-codes"),
    path("users/<str:id>/tfa/disable", tfa.UserDisableView.as_view(), name="user-tfa-disable"),
]
