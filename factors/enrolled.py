"""Which second factors a user has: plain queries, shared by every factors module (so none of
them needs another to ask)."""

from __future__ import annotations

from allauth.mfa.models import Authenticator

from accounts.models import User

WEBAUTHN = Authenticator.Type.WEBAUTHN


def has_totp(user: User) -> bool:
    """Whether ``user`` has TOTP set up (``tfa_secret`` is set; even a secret that no longer
    opens after a change of ``SECRET`` asks for a code, so it never lets anyone in without one)."""
    return bool(user.tfa_secret)


def has_passkey(user: User) -> bool:
    """Whether ``user`` has a WebAuthn passkey (allauth's ``Authenticator`` of type webauthn)."""
    return Authenticator.objects.filter(user_id=user.pk, type=WEBAUTHN).exists()


def has_any(user: User) -> bool:
    """Whether signing in as ``user`` needs a second factor."""
    return has_totp(user) or has_passkey(user)
