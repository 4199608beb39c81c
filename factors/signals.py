"""Passkeys are rows of allauth's ``Authenticator`` (written by :mod:`factors.passkeys`): adding
or removing one changes whether ``enforce_tfa`` narrows the user's grants
(:mod:`accounts.accountability`), so the access version moves on every process; removing the
last second factor also deletes the user's recovery codes."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.accountability import bump_access_version
from accounts.models import User
from factors import recovery
from factors.enrolled import WEBAUTHN


@receiver(post_save, sender=Authenticator, dispatch_uid="factors-passkey-added")
def _passkey_added(sender: Any, instance: Authenticator, created: bool, **kwargs: Any) -> None:
    if created and instance.type == WEBAUTHN:  # not on every use (record_usage saves too)
        bump_access_version()


@receiver(post_delete, sender=Authenticator, dispatch_uid="factors-passkey-removed")
def _passkey_removed(sender: Any, instance: Authenticator, **kwargs: Any) -> None:
    if instance.type != WEBAUTHN:
        return
    bump_access_version()
    user = User.objects.filter(pk=instance.user_id).first()
    if user is not None:
        recovery.forget_unless_protected(user)
