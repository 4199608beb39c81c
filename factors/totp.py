"""TOTP, the Directus second factor (contract http-auth.md §7.1 step 5, §7.9; RFC 6238).

The secret is 32 base32 characters (160 bits, RFC 4226 §4's recommended length; Directus uses
16), stored in ``User.tfa_secret`` sealed with a key derived from ``SECRET``
(:func:`core.crypto.seal`), never in clear: a copy of the database alone yields no working
authenticator. Changing ``SECRET`` makes every stored secret unreadable; those users cannot
sign in until an admin removes their factor (:func:`remove`) and they enrol again.

A code is SHA-1, 6 digits, 30-second steps; the current step and one either side are accepted
(clock drift), and only for a step later than the last one accepted (``User.tfa_last_step``),
recorded by one conditional UPDATE: a code works once, on whichever process sees it first,
with the database as the only record.
"""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import quote, urlencode

import pyotp
from django.db.models import Q
from pyotp.utils import strings_equal

from accounts.accountability import bump_access_version
from accounts.models import AuthEventKind, ProjectSettings, User
from core.crypto import Unreadable, seal, unseal
from core.errors import InvalidPayload
from factors import recovery
from factors.enrolled import has_totp
from factors.events import factor_event
from tokens.sessions import SessionContext

__all__ = [
    "enable",
    "has_totp",
    "holds",
    "new_secret",
    "otpauth_url",
    "remove",
]

logger = logging.getLogger("factors.totp")

#: The purpose label of the sealing key (also in accounts migration 0009).
PURPOSE = "tfa-secret"
STEP_SECONDS = 30
DIGITS = 6
SECRET_LENGTH = 32
DEFAULT_ISSUER = "Directus"
OTP_INVALID = '"otp" is invalid'
ALREADY_SET = "TFA Secret is already set for this user"
_CODE = re.compile(rf"^\d{{{DIGITS}}}$")
_SECRET = re.compile(r"^[A-Z2-7]{16,128}$")


def new_secret() -> str:
    """A fresh random base32 secret (nothing is stored)."""
    return pyotp.random_base32(SECRET_LENGTH)


def account_label(user: User) -> str:
    """The account in the otpauth URL: the e-mail, or the external identifier, or ``user_<id>``."""
    return user.email or user.external_identifier or f"user_{user.pk}"


def otpauth_url(user: User, secret: str) -> str:
    """otplib's ``keyuri`` layout (contract §7.9): label ``issuer:account``, then ``secret``,
    ``period``, ``digits``, ``algorithm`` and ``issuer``."""
    issuer = ProjectSettings.current().project_name or DEFAULT_ISSUER
    label = f"{quote(issuer, safe='')}:{quote(account_label(user), safe='')}"
    params = {
        "secret": secret,
        "period": STEP_SECONDS,
        "digits": DIGITS,
        "algorithm": "SHA1",
        "issuer": issuer,
    }
    return f"otpauth://totp/{label}?{urlencode(params, quote_via=quote)}"


def normalise_code(code: object) -> str | None:
    """The digits of a TOTP code (spaces allowed: ``123 456``), or None if it is not one."""
    if not isinstance(code, str):
        return None
    digits = "".join(code.split())
    return digits if _CODE.match(digits) else None


def matching_step(secret: str, code: object, at: float | None = None) -> int | None:
    """The time step (current, or one either side) whose code ``code`` is, else None. All three
    are compared, in constant time each, whatever matches first."""
    digits = normalise_code(code)
    if digits is None:
        return None
    otp = pyotp.TOTP(secret)
    now = int((time.time() if at is None else at) // STEP_SECONDS)
    found = None
    for step in (now - 1, now, now + 1):
        if strings_equal(otp.generate_otp(step), digits):
            found = step
    return found


def seal_secret(secret: str) -> str:
    """What ``User.tfa_secret`` holds for ``secret`` (for fixtures and imports of users)."""
    return seal(secret, PURPOSE)


def stored_secret(user: User) -> str | None:
    """``user``'s secret in clear, for checking a code; None without TOTP or when the sealed
    value does not open (``SECRET`` changed: logged, without the value)."""
    if not user.tfa_secret:
        return None
    try:
        return unseal(user.tfa_secret, PURPOSE)
    except Unreadable:
        logger.warning(
            "TOTP secret unreadable with the current SECRET; an admin must remove the factor",
            extra={"user_id": str(user.pk)},
        )
        return None


def accept(user: User, code: object) -> bool:
    """Whether ``code`` is ``user``'s current TOTP code, not used before: the step is recorded
    only if it is later than the last one recorded, and only while the secret is the one
    checked against (a factor removed meanwhile by another process accepts nothing)."""
    secret = stored_secret(user)
    step = matching_step(secret, code) if secret else None
    if step is None:
        return False
    recorded = (
        User.objects.filter(pk=user.pk, tfa_secret=user.tfa_secret)
        .filter(Q(tfa_last_step__isnull=True) | Q(tfa_last_step__lt=step))
        .update(tfa_last_step=step)
    )
    if recorded:
        user.tfa_last_step = step
    return bool(recorded)


def checked_secret(secret: object) -> str:
    """A secret given back to :func:`enable`: base32, at least 16 characters (80 bits)."""
    text = "".join(secret.split()).upper() if isinstance(secret, str) else ""
    if not _SECRET.match(text):
        raise InvalidPayload('"secret" must be a base32 string of at least 16 characters')
    return text


def enable(user: User, secret: str, otp: str, *, context: SessionContext | None = None) -> None:
    """Store ``secret`` as ``user``'s TOTP secret once ``otp`` proves the authenticator has it
    (the code's step is recorded, so it cannot sign in afterwards). Raises InvalidPayload:
    already set, a malformed secret, a wrong code. A wrong code here is not counted towards
    suspension: it is checked against a secret the caller holds, so it guesses nothing."""
    clean = checked_secret(secret)
    if has_totp(user):
        raise InvalidPayload(ALREADY_SET)
    step = matching_step(clean, otp)
    if step is None:
        raise InvalidPayload(OTP_INVALID)
    sealed = seal_secret(clean)
    unset = Q(tfa_secret__isnull=True) | Q(tfa_secret="")
    if not User.objects.filter(unset, pk=user.pk).update(tfa_secret=sealed, tfa_last_step=step):
        raise InvalidPayload(ALREADY_SET)
    user.tfa_secret, user.tfa_last_step = sealed, step
    bump_access_version()
    factor_event(AuthEventKind.FACTOR_ADDED, user, context, factor="totp")


def holds(user: User, code: str, context: SessionContext | None = None) -> bool:
    """Whether ``code`` proves ``user`` holds their TOTP: a current code, or one of their
    recovery codes (either is consumed)."""
    return accept(user, code) or recovery.consume(user, code, context or SessionContext())


def remove(user: User, *, context: SessionContext | None = None, by: str = "admin") -> None:
    """Remove ``user``'s TOTP, no code asked: an admin (``POST /users/<id>/tfa/disable``), or
    the user once :func:`signin.reauth.disable_totp` has checked their code."""
    if has_totp(user):
        _clear(user, context, by=by)


def _clear(user: User, context: SessionContext | None, *, by: str) -> None:
    User.objects.filter(pk=user.pk).update(tfa_secret=None)
    user.tfa_secret = None
    recovery.forget_unless_protected(user)
    bump_access_version()
    factor_event(AuthEventKind.FACTOR_REMOVED, user, context, factor="totp", by=by)
