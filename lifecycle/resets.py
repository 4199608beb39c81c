"""Password reset: ask for a link, then set a new password with it (contract http-auth.md §7.5,
§7.6). ``POST /auth/password/request``, ``POST /auth/password/reset`` and the HTML pages call
these two functions and nothing else.

* :func:`request_password_reset` answers the same, in the same 500 ms, whether or not the
  address belongs to anyone; only an ``active`` user of the default provider is mailed (the
  mail is sent off the request thread, :mod:`core.mail`) and ``password.reset_requested`` is
  recorded then.
* :func:`reset_password` checks the token (:mod:`lifecycle.tokens`), the password policy, that
  the user is still ``active`` and the token was made for their current password; then sets the
  password, ends **every** session of the user, forgets their failed sign-ins and records
  ``password.reset``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts.models import (
    DEFAULT_PROVIDER,
    AuthEventKind,
    AuthOutcome,
    User,
    UserStatus,
)
from accounts.passwords import check_password_policy
from core.errors import Forbidden, InvalidPayload
from lifecycle.limits import limit_ip, padded
from lifecycle.links import default_base, mail_link, url_allowed, with_token
from lifecycle.tokens import RESET_SCOPE, fingerprint_matches, reset_token, verify
from signin.lockout import reset_failed_logins
from tokens.sessions import SessionContext, revoke_user_sessions

TEMPLATE = "password-reset"
SUBJECT = "Password Reset Request"
DEFAULT_PATH = "/admin/reset-password"


def reset_base(reset_url: str | None) -> str:
    """Where the mailed link points: ``reset_url`` if the allow list has it (400 otherwise),
    else ``PUBLIC_URL/admin/reset-password``."""
    config = settings.DIRECTUS
    if reset_url is None:
        return default_base(config.server.public_url, DEFAULT_PATH)
    if not url_allowed(reset_url, config.lifecycle.password_reset_url_allow_list):
        raise InvalidPayload(f'URL "{reset_url}" can\'t be used to reset passwords')
    return reset_url


def request_password_reset(email: str, reset_url: str | None, context: SessionContext) -> None:
    """Mail a reset link to ``email`` if it is an active local user's; always the same answer
    after the same time (see the module docstring)."""
    limit_ip(context.ip)
    with padded():
        base = reset_base(reset_url)
        user = _resettable(email)
        if user is not None:
            mail_link(
                user,
                with_token(base, reset_token(user)),
                template=TEMPLATE,
                subject=SUBJECT,
                event=AuthEventKind.PASSWORD_RESET_REQUESTED,
                context=context,
            )


def _resettable(email: str) -> User | None:
    return User.objects.filter(
        email__iexact=email.strip(), status=UserStatus.ACTIVE, provider=DEFAULT_PROVIDER
    ).first()


def reset_password(token: str, password: str, context: SessionContext) -> None:
    """Set ``password`` for the user a reset token was mailed to (see the module docstring)."""
    limit_ip(context.ip)
    link = verify(token, RESET_SCOPE)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=link.email).first()
        if user is None or user.status != UserStatus.ACTIVE or not fingerprint_matches(user, link):
            raise Forbidden()
        check_password_policy(password, user)
        revoke_user_sessions(user.pk, "password_reset")
        user.set_password(password)
        user.save()
    reset_failed_logins(user)
    context.audit(
        AuthEventKind.PASSWORD_RESET, AuthOutcome.SUCCESS, user=user, identifier=user.email
    )
