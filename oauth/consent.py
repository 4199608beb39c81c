"""Consent: remembered per person and client for the scopes they said yes to; revoking it (by
the person on their account page, or by an admin) also revokes every token the client holds for
them. Both are auth events."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from accounts.audit import record_event
from accounts.models import AuthEventKind, AuthOutcome, User
from core.net import Client as Caller
from oauth.models import Client, Consent


def remembered(user: User, client: Client, scopes: list[str]) -> bool:
    consent = Consent.objects.filter(user=user, client=client).first()
    return consent is not None and consent.covers(scopes)


def remember(user: User, client: Client, scopes: list[str], who: Caller) -> None:
    """Record a yes to ``scopes`` (added to what was said yes to before)."""
    with transaction.atomic():
        consent, _created = Consent.objects.select_for_update().get_or_create(
            user=user, client=client, defaults={"scopes": ""}
        )
        consent.scopes = " ".join(sorted(set(consent.scopes.split()) | set(scopes)))
        consent.save()
    record_event(
        AuthEventKind.OAUTH_CONSENT_GRANTED,
        outcome=AuthOutcome.SUCCESS,
        user=user,
        ip=who.ip,
        user_agent=who.user_agent,
        client_id=client.client_id,
        scope=" ".join(sorted(scopes)),
    )


def revoke(consent: Consent, who: Caller, by: str) -> None:
    """Forget ``consent`` and revoke the client's tokens and codes for its person."""
    user, client = consent.user, consent.client
    with transaction.atomic():
        consent.delete()
        revoke_tokens(user, client)
    record_event(
        AuthEventKind.OAUTH_CONSENT_REVOKED,
        outcome=AuthOutcome.SUCCESS,
        user=user,
        ip=who.ip,
        user_agent=who.user_agent,
        client_id=client.client_id,
        by=by,
    )


def revoke_tokens(user: Any, client: Any) -> None:
    revoke_where(user=user, application=client)


def revoke_where(**lookup: Any) -> int:
    """Revoke the refresh families, access tokens and pending codes matching ``lookup`` (a
    filter on the toolkit's token models: ``user``, ``application``…); the access tokens
    revoked."""
    live = RefreshToken.objects.filter(revoked__isnull=True, **lookup)
    for family in live.values_list("token_family", flat=True).distinct():
        RefreshToken.revoke_family(family)
    count, _ = AccessToken.objects.filter(**lookup).delete()
    Grant.objects.filter(**lookup).delete()
    return count
