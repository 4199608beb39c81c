"""Invitations (contract http-auth.md §7.10): ``POST /users/invite`` and
``POST /users/invite/accept``, and the HTML acceptance page.

:func:`invite_users` runs once the transport has checked that the caller may create users at
all. It writes through the caller's own users service (``writer``), so the permission engine
decides every field, validation rule and preset exactly as for ``POST /users``: someone allowed
to create users only in one role cannot invite anyone into another. Per address: unknown →
created ``{email, role, status: "invited"}`` (no usable password); still ``invited`` → role
updated if it differs, mailed again; any other existing user → nothing (and nothing tells the
caller which case applied). ``invite.sent`` is recorded for each address mailed.

:func:`accept_invite` checks the token (:mod:`lifecycle.tokens`), that the user is still
``invited`` (else 400 ``INVALID_INVITE``) and the password policy, then sets the password and
makes the user ``active`` (``invite.accepted``). The token works until the invite is accepted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction

from accounts.models import AuthEventKind, AuthOutcome, Role, User, UserStatus
from accounts.passwords import check_password_policy
from core.errors import InvalidInvite, InvalidPayload
from lifecycle.limits import limit_ip
from lifecycle.links import default_base, mail_link, url_allowed, with_token
from lifecycle.tokens import INVITE_SCOPE, invite_token, verify
from signin.payload import valid_email
from tokens.sessions import SessionContext

TEMPLATE = "user-invitation"
SUBJECT = "You've been invited"
DEFAULT_PATH = "/admin/accept-invite"
MAX_EMAILS = 100


class UserWriter(Protocol):
    """The caller's users service (``system.users.UsersService``): writes with their permissions."""

    def create_one(self, data: Any) -> str: ...

    def update_one(self, key: Any, data: Any) -> str: ...


@dataclass(frozen=True)
class InviteRequest:
    emails: tuple[str, ...]
    role: uuid.UUID
    invite_url: str | None


def parse_invite(data: Any) -> InviteRequest:
    """The body of ``POST /users/invite``, validated in the wording of Directus's Joi schema."""
    if not isinstance(data, dict):
        raise InvalidPayload('"value" must be of type object')
    emails = _emails(data.get("email"))
    role = _role(data.get("role"))
    invite_url = data.get("invite_url")
    if invite_url is not None and not isinstance(invite_url, str):
        raise InvalidPayload('"invite_url" must be a string')
    return InviteRequest(emails=emails, role=role, invite_url=invite_url)


def _emails(value: Any) -> tuple[str, ...]:
    if value is None:
        raise InvalidPayload('"email" is required')
    if not isinstance(value, list | str):
        raise InvalidPayload('"email" must be one of [string, array]')
    listed = value if isinstance(value, list) else [value]
    if not listed:
        raise InvalidPayload('"email" must contain at least 1 items')
    if len(listed) > MAX_EMAILS:
        raise InvalidPayload(f'"email" must contain less than or equal to {MAX_EMAILS} items')
    for index, email in enumerate(listed):
        name = f'"email[{index}]"' if isinstance(value, list) else '"email"'
        if not isinstance(email, str) or not valid_email(email.strip()):
            raise InvalidPayload(f"{name} must be a valid email")
    unique = {email.strip().lower(): email.strip() for email in reversed(listed)}
    return tuple(reversed(unique.values()))


def _role(value: Any) -> uuid.UUID:
    if value is None:
        raise InvalidPayload('"role" is required')
    try:
        role = uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        role = None
    if role is None:
        raise InvalidPayload('"role" must be a valid GUID')
    if not Role.objects.filter(pk=role).exists():
        raise InvalidPayload(f'"role" must be an existing role; no role has the id "{role}"')
    return role


def invite_base(invite_url: str | None) -> str:
    """Where the mailed link points: ``invite_url`` if the allow list has it (400 otherwise),
    else ``PUBLIC_URL/admin/accept-invite``."""
    config = settings.DIRECTUS
    if invite_url is None:
        return default_base(config.server.public_url, DEFAULT_PATH)
    if not url_allowed(invite_url, config.lifecycle.user_invite_url_allow_list):
        raise InvalidPayload(f'URL "{invite_url}" can\'t be used to invite users')
    return invite_url


def invite_users(
    request: InviteRequest, writer: UserWriter, context: SessionContext, inviter: str | None
) -> None:
    """Create or refresh the invitations of ``request`` and mail each (module docstring)."""
    base = invite_base(request.invite_url)
    with transaction.atomic():
        invited = [user for email in request.emails if (user := _invite(email, request, writer))]
    for user in invited:
        mail_link(
            user,
            with_token(base, invite_token(user.email or "")),
            template=TEMPLATE,
            subject=SUBJECT,
            event=AuthEventKind.INVITE_SENT,
            context=context,
            invited_by=inviter,
        )


def _invite(email: str, request: InviteRequest, writer: UserWriter) -> User | None:
    """The user to mail for ``email`` after creating or updating it, or None."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        key = writer.create_one(
            {"email": email, "role": str(request.role), "status": UserStatus.INVITED.value}
        )
        return User.objects.get(pk=key)
    if user.status != UserStatus.INVITED:
        return None
    if user.role_id != request.role:
        writer.update_one(str(user.pk), {"role": str(request.role)})
    return user


def accept_invite(token: str, password: str, context: SessionContext) -> User:
    """Activate the invited user of ``token`` with ``password`` (module docstring)."""
    limit_ip(context.ip)
    link = verify(token, INVITE_SCOPE)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=link.email).first()
        if user is None or user.status != UserStatus.INVITED:
            raise InvalidInvite()
        check_password_policy(password, user)
        user.set_password(password)
        user.status = UserStatus.ACTIVE
        user.save()
    context.audit(
        AuthEventKind.INVITE_ACCEPTED, AuthOutcome.SUCCESS, user=user, identifier=user.email
    )
    return user
