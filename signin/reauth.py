"""Re-authentication of a signed-in user before a sensitive change (generating a TFA secret,
removing it, new recovery codes): the same limits and failure counting as a sign-in, so a
stolen session cannot be used to guess a password or a code.

Each check spends a sign-in attempt of the client's IP and refuses an account whose budget of
failures is spent or which is throttled (:mod:`signin.lockout`); a wrong answer counts as a
failed sign-in (towards suspension) and is logged as ``login.failure`` with ``step=reauth``.
A right answer does *not* reset the count: otherwise someone holding the password and a session
could interleave right passwords with guessed codes forever.
"""

from __future__ import annotations

from collections.abc import Callable

from accounts.models import DEFAULT_PROVIDER, User
from core.errors import DirectusError, InvalidCredentials, InvalidPayload
from factors import totp
from signin.lockout import login_limits, note_failed_attempt, record_failed_login, refuse_throttled
from tokens.sessions import SessionContext

OTP_INVALID = '"otp" is invalid'
NO_EMAIL = "User must have a valid email to enable TFA"


def confirm_password(user: User, password: str, context: SessionContext) -> None:
    """Raise ``INVALID_CREDENTIALS`` unless ``password`` is ``user``'s password."""
    _guard(user, context)
    if not password or not user.check_password(password):
        raise _wrong(user, context, "wrong_password", InvalidCredentials())


def confirm_code(
    user: User,
    code: str | None,
    context: SessionContext,
    check: Callable[[User, str], bool],
) -> None:
    """Raise 400 ``INVALID_PAYLOAD`` ``"otp" is invalid`` unless ``check(user, code)`` (which
    consumes a right code) holds (contract http-auth.md §7.9)."""
    _guard(user, context)
    if not code or not check(user, code):
        raise _wrong(user, context, "invalid_otp", InvalidPayload(OTP_INVALID))


def generate_totp(user: User, password: str, context: SessionContext) -> tuple[str, str]:
    """A new TOTP secret for ``user`` and its ``otpauth://`` URL; nothing is stored until
    :func:`factors.totp.enable` (contract http-auth.md §7.9 ``/users/me/tfa/generate``). A
    local user confirms their password first; a user with TOTP already, or a local user
    without an e-mail, is refused (400)."""
    local = user.provider == DEFAULT_PROVIDER
    if local:
        confirm_password(user, password, context)
    if totp.has_totp(user):
        raise InvalidPayload(totp.ALREADY_SET)
    if local and not user.email:
        raise InvalidPayload(NO_EMAIL)
    secret = totp.new_secret()
    return secret, totp.otpauth_url(user, secret)


def disable_totp(user: User, otp: str, context: SessionContext) -> None:
    """Turn ``user``'s TOTP off once ``otp`` (a current code, or one of their recovery codes)
    proves they hold it (contract http-auth.md §7.9 ``/users/me/tfa/disable``); a wrong code
    counts as a failed sign-in."""
    if not totp.has_totp(user):
        raise InvalidPayload(f'User "{user.pk}" doesn\'t have TFA enabled')
    confirm_code(user, otp, context, lambda u, c: totp.holds(u, c, context))
    totp.remove(user, context=context, by="self")


def _guard(user: User, context: SessionContext) -> None:
    login_limits(context.ip, user.email or "", user_agent=context.user_agent)
    refuse_throttled(user)


def _wrong(user: User, context: SessionContext, reason: str, error: DirectusError) -> DirectusError:
    note_failed_attempt(context.ip, user.email or "")
    suspended = record_failed_login(user, ip=context.ip, user_agent=context.user_agent)
    context.audit(
        "login.failure",
        "failure",
        user=user,
        identifier=(user.email or "")[:128],
        reason="suspended" if suspended else reason,
        step="reauth",
    )
    return error
