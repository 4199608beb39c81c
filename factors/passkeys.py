"""WebAuthn passkeys as a second factor (beyond Directus), over allauth's MFA.

allauth does the protocol (:mod:`allauth.mfa.webauthn.internal.auth`, on python-fido2): the
creation and request options, the challenge kept in the Django session between the two halves
of a ceremony, and the checks of the browser's answer (challenge, origin, relying party, the
signature against the stored public key). Its views are not routed; this module wraps its
functions for the HTML pages and adds the policy: who the relying party is
(:class:`MFAAdapter`), the auth-log events, and that a passkey is a *second* factor only — it
is asked after the password, of the user whose sign-in is pending, never to find who signs in.

Every function takes the ``request``: allauth reads the Django session (and the adapter the
host) through ``allauth.core.context.request``, which is set here for the call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from allauth.account.utils import user_pk_to_url_str
from allauth.core import context as allauth_context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.internal import auth
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from accounts.models import AuthEventKind, ProjectSettings, User
from core.errors import InvalidPayload
from factors.enrolled import WEBAUTHN, has_passkey
from factors.events import factor_event
from tokens.sessions import SessionContext

__all__ = [
    "MFAAdapter",
    "Passkey",
    "add",
    "authenticate",
    "authentication_options",
    "has_passkey",
    "list_passkeys",
    "registration_options",
    "relying_party_id",
    "remove",
]

DEFAULT_RP_NAME = "Directus"
NAME_MAX = 64
CREDENTIAL_MAX = 64 * 1024
NOT_A_CREDENTIAL = "The passkey answer is not valid; try again"
NO_SUCH_PASSKEY = "No such passkey"


def relying_party_id(request: HttpRequest) -> str:
    """The WebAuthn relying-party id: the host of ``PUBLIC_URL``, or (``PUBLIC_URL`` relative,
    the embedded default) the host the request came to. A passkey is bound to it, so it must
    not change while users hold passkeys."""
    public = settings.DIRECTUS.server.public_url
    host = urlsplit(public).hostname if "://" in public else None
    return host or request.get_host().partition(":")[0]


class MFAAdapter(DefaultMFAAdapter):
    """``MFA_ADAPTER``: the relying party and user entity of this server (allauth's defaults
    use the site name and ``str(user)``)."""

    def _get_site_name(self) -> str:
        return ProjectSettings.current().project_name or DEFAULT_RP_NAME

    def get_public_key_credential_rp_entity(self) -> dict[str, str]:
        return {"id": relying_party_id(allauth_context.request), "name": self._get_site_name()}

    def get_public_key_credential_user_entity(self, user: Any) -> dict[str, Any]:
        label = user.email or f"user_{user.pk}"
        return {
            "id": user_pk_to_url_str(user).encode("utf8"),
            "name": label,
            "display_name": label,
        }

    def send_notification_mail(self, *args: Any, **kwargs: Any) -> None:
        """allauth's account mails are not used (its flows are not called)."""


@dataclass(frozen=True)
class Passkey:
    """One passkey, as the account page lists it."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None


@contextmanager
def _ceremony(request: HttpRequest) -> Iterator[None]:
    """allauth's functions inside, with ``request`` as its context; its validation errors (and
    python-fido2's on a malformed answer) become ``INVALID_PAYLOAD``, never a 500."""
    with allauth_context.request_context(request):
        try:
            yield
        except (ValidationError, ValueError, TypeError, KeyError) as error:
            raise InvalidPayload(NOT_A_CREDENTIAL) from error


def _passkeys_of(user: User) -> Any:
    return Authenticator.objects.filter(user_id=user.pk, type=WEBAUTHN)


def list_passkeys(user: User) -> list[Passkey]:
    """``user``'s passkeys, oldest first."""
    rows = _passkeys_of(user).order_by("created_at", "pk")
    return [Passkey(r.pk, r.wrap().name, r.created_at, r.last_used_at) for r in rows]


def registration_options(request: HttpRequest, user: User) -> dict[str, Any]:
    """The ``PublicKeyCredentialCreationOptions`` (JSON form) for a new passkey of ``user``;
    the challenge is kept in the Django session for :func:`add`. Existing passkeys are
    excluded, so one authenticator is registered once."""
    with _ceremony(request):
        return auth.begin_registration(user, passwordless=False)


def parse_credential(credential_json: object) -> dict[str, Any]:
    """The browser's ``PublicKeyCredential`` in its JSON form, as a dict; INVALID_PAYLOAD for
    anything else (missing, too large, not JSON, not an object)."""
    if not isinstance(credential_json, str) or not credential_json:
        raise InvalidPayload('"credential" is required')
    if len(credential_json) > CREDENTIAL_MAX:
        raise InvalidPayload(NOT_A_CREDENTIAL)
    try:
        credential = json.loads(credential_json)
    except ValueError as error:
        raise InvalidPayload(NOT_A_CREDENTIAL) from error
    if not isinstance(credential, dict):
        raise InvalidPayload(NOT_A_CREDENTIAL)
    return credential


def clean_name(name: object) -> str:
    """A passkey's label: trimmed, 1 to 64 characters."""
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > NAME_MAX:
        raise InvalidPayload(f'"name" must be 1 to {NAME_MAX} characters')
    return text


def add(
    request: HttpRequest, user: User, name: str, credential_json: str, context: SessionContext
) -> Passkey:
    """Store the passkey whose creation ``credential_json`` answers the challenge of
    :func:`registration_options` (the challenge is spent either way). Raises INVALID_PAYLOAD."""
    label, credential = clean_name(name), parse_credential(credential_json)
    with _ceremony(request):
        try:
            auth.complete_registration(credential)
        finally:
            auth.clear_state()
        row = auth.WebAuthn.add(user, label, credential).instance
    factor_event(AuthEventKind.FACTOR_ADDED, user, context, factor="passkey", name=label)
    return Passkey(row.pk, label, row.created_at, None)


def remove(user: User, passkey_id: object, context: SessionContext) -> None:
    """Delete one of ``user``'s passkeys (INVALID_PAYLOAD if it is not theirs). The last second
    factor gone, their recovery codes go too (:mod:`factors.signals`, on the delete)."""
    try:
        pk = int(str(passkey_id))
    except ValueError:
        pk = None
    with transaction.atomic():
        row = _passkeys_of(user).filter(pk=pk).first() if pk is not None else None
        if row is None:
            raise InvalidPayload(NO_SUCH_PASSKEY)
        name = row.wrap().name
        row.delete()
    factor_event(AuthEventKind.FACTOR_REMOVED, user, context, factor="passkey", name=name)


def authentication_options(request: HttpRequest, user: User) -> dict[str, Any]:
    """The ``PublicKeyCredentialRequestOptions`` (JSON form) allowing ``user``'s passkeys only;
    the challenge is kept in the Django session for :func:`authenticate`."""
    with _ceremony(request):
        return auth.begin_authentication(user)


def authenticate(request: HttpRequest, user: User, credential_json: str) -> bool:
    """Whether ``credential_json`` is an assertion by one of ``user``'s passkeys answering the
    challenge of :func:`authentication_options`: the ``prove`` of
    :func:`signin.flow.complete_second_factor`. A challenge answers one attempt, right or
    wrong, so a failed answer cannot be replayed against it."""
    if not has_passkey(user):
        return False
    try:
        credential = parse_credential(credential_json)
        with _ceremony(request):
            try:
                used = auth.complete_authentication(user, credential)
            finally:
                auth.clear_state()
    except InvalidPayload:
        return False
    used.record_usage()
    return True
