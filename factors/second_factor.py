"""The second-factor step's questions, for :mod:`signin.flow`: does this user have a second
factor, and is this code one of theirs (contract http-auth.md §7.1 step 5)?

A code is a TOTP code from the user's authenticator app or, beyond Directus, one of their
one-time recovery codes. Passkeys are proven in the browser (:mod:`factors.passkeys`)."""

from __future__ import annotations

from accounts.models import User
from factors import recovery, totp
from factors.enrolled import has_any
from tokens.sessions import SessionContext


def has_second_factor(user: User) -> bool:
    """Whether signing in as ``user`` needs a second factor (TOTP set up, or a passkey)."""
    return has_any(user)


def verify_code(user: User, code: str | None, *, context: SessionContext | None = None) -> bool:
    """Whether ``code`` is a valid TOTP code (or unused recovery code) of ``user``; a valid
    code is consumed, so the same code cannot be used twice (on any process)."""
    if not code or not has_any(user):
        return False
    if totp.normalise_code(code) is not None:
        return totp.accept(user, code)
    return recovery.consume(user, code, context)
