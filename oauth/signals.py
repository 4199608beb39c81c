"""A client's tokens end with its person's consent (deleted through the admin, too)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from oauth.models import Consent


@receiver(post_delete, sender=Consent)
def consent_deleted(sender: Any, instance: Consent, **kwargs: Any) -> None:
    from oauth.consent import revoke_tokens

    revoke_tokens(instance.user_id, instance.client_id)
