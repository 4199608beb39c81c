"""Opaque OAuth tokens with a prefix of their own (``doa_`` access, ``dor_`` refresh), so the
resolver claims them without a look-up and secret scanners can find a leaked one. Only their
SHA-256 is stored (the toolkit's hashed-at-rest token storage)."""

from __future__ import annotations

import secrets
from typing import Any

ACCESS_PREFIX = "doa_"
REFRESH_PREFIX = "dor_"


def access_token(request: Any, refresh_token: bool = False) -> str:
    return ACCESS_PREFIX + secrets.token_urlsafe(32)


def refresh_token(request: Any, refresh_token: bool = False) -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)
