"""Secrets at rest, keyed by ``SECRET`` (``settings.SECRET_KEY``), one key per purpose.

* :func:`seal` / :func:`unseal` — Fernet (AES-128-CBC + HMAC-SHA256, with a timestamp) for a
  value the server must read back: a TOTP secret, a secret waiting to be shown once.
* :func:`keyed_digest` — HMAC-SHA256 for a value the server only has to recognise: a recovery
  code. Unlike a bare SHA-256, a copy of the database alone does not let anyone test guesses.

Each purpose label derives its own key (HKDF-SHA256 of ``SECRET``, RFC 5869), so a value sealed
for one purpose never unseals for another, and no key is ever the secret itself. Changing
``SECRET`` makes everything sealed or digested before unreadable: TOTP users must enrol again
(an admin can remove their factor) and recovery codes must be regenerated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_INFO_PREFIX = b"directus-auth-server:"


class Unreadable(ValueError):
    """A sealed value that does not open with the current ``SECRET`` and purpose (tampered,
    sealed for another purpose, or sealed before ``SECRET`` changed). Never carries the value."""


def derived_key(purpose: str) -> bytes:
    """32 bytes for ``purpose``, derived from ``SECRET`` (HKDF-SHA256, no salt: the input is
    already a high-entropy secret, and the purpose is the HKDF ``info``)."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO_PREFIX + purpose.encode()
    )
    return hkdf.derive(str(settings.SECRET_KEY).encode())


def _fernet(purpose: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derived_key(purpose)))


def seal(text: str, purpose: str) -> str:
    """``text`` encrypted and authenticated for ``purpose``: an ASCII Fernet token."""
    return _fernet(purpose).encrypt(text.encode()).decode("ascii")


def unseal(token: str, purpose: str) -> str:
    """The text :func:`seal` sealed for ``purpose``; :class:`Unreadable` otherwise."""
    try:
        return _fernet(purpose).decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeError, ValueError) as exc:
        raise Unreadable(f"sealed value for {purpose!r} does not open") from exc


def keyed_digest(text: str, purpose: str) -> str:
    """HMAC-SHA256 of ``text`` with the key of ``purpose``, as 64 hex characters."""
    return hmac.new(derived_key(purpose), text.encode(), hashlib.sha256).hexdigest()
