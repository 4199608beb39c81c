"""One-time recovery codes (beyond Directus): for a user who has lost their authenticator.

Ten codes of 60 random bits each, written ``xxxx-xxxx-xxxx`` in lower-case base32, shown once
when generated. Only an HMAC-SHA256 digest is stored (a key derived from ``SECRET``, the user id
in the message), so neither the database alone nor another user's row gives a working code.
Generating replaces every earlier code; a code is consumed by one conditional UPDATE, so it
signs in once and only once. Only users with a second factor have codes, and removing their
last factor deletes them (:func:`forget_unless_protected`)."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import AuthEventKind, User
from core.crypto import keyed_digest
from core.errors import InvalidPayload
from factors.enrolled import has_any
from factors.events import factor_event
from factors.models import RecoveryCode
from tokens.sessions import SessionContext

PURPOSE = "recovery-code"
COUNT = 10
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
GROUPS, GROUP_LENGTH = 3, 4
NO_FACTOR = "Recovery codes need a second factor; set up TFA or a passkey first"


def new_code() -> str:
    """A random code, ``xxxx-xxxx-xxxx`` (12 base32 characters: 60 bits)."""
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))
    return "-".join(groups)


def normalise(code: object) -> str | None:
    """The 12 characters of a code as typed (any case, with or without dashes and spaces),
    or None if it cannot be one."""
    if not isinstance(code, str):
        return None
    text = "".join(ch for ch in code.lower() if ch not in "- \t")
    if len(text) != GROUPS * GROUP_LENGTH or any(ch not in ALPHABET for ch in text):
        return None
    return text


def _digest(user: User, normalised: str) -> str:
    return keyed_digest(f"{user.pk}:{normalised}", PURPOSE)


def regenerate(user: User, *, context: SessionContext | None = None) -> list[str]:
    """New codes for ``user``, replacing all earlier ones; the only time they are seen.
    Raises InvalidPayload for a user without a second factor."""
    if not has_any(user):
        raise InvalidPayload(NO_FACTOR)
    codes: set[str] = set()
    while len(codes) < COUNT:
        codes.add(new_code())
    rows = [RecoveryCode(user=user, digest=_digest(user, normalise(c) or "")) for c in codes]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(rows)
    factor_event(AuthEventKind.RECOVERY_CODES_GENERATED, user, context, count=COUNT)
    return sorted(codes)


def remaining(user: User) -> int:
    """How many of ``user``'s codes are still unused."""
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def consume(user: User, code: object, context: SessionContext | None = None) -> bool:
    """Whether ``code`` is an unused recovery code of ``user``; if so it is used up, by one
    conditional UPDATE (of two processes presenting it at once, one wins)."""
    normalised = normalise(code)
    if normalised is None:
        return False
    unused = RecoveryCode.objects.filter(
        user=user, digest=_digest(user, normalised), used_at__isnull=True
    )
    if not unused.update(used_at=timezone.now()):
        return False
    factor_event(AuthEventKind.RECOVERY_CODE_USED, user, context, remaining=remaining(user))
    return True


def forget_unless_protected(user: User) -> None:
    """Delete ``user``'s codes once they have no second factor left."""
    if not has_any(user):
        RecoveryCode.objects.filter(user=user).delete()
