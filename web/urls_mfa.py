"""HTML pages of second factors: the code step of sign-in, TOTP set-up, recovery codes,
passkeys (and the two JSON endpoints of ``web/passkeys.js``)."""

from __future__ import annotations

from django.urls import path

from web import factor_views as views

urlpatterns = [
    path("login/verify", views.login_code_page, name="login-code-page"),
    path("login/verify/passkey", views.login_passkey_options, name="login-passkey-options"),
    path("account/tfa", views.tfa_setup_page, name="tfa-setup-page"),
    path("account/recovery-codes", views.recovery_codes_page, name="recovery-codes-page"),
    path("account/passkeys", views.passkeys_page, name="passkeys-page"),
    path(
        "account/passkeys/options",
        views.passkey_registration_options,
        name="passkey-registration-options",
    ),
]
