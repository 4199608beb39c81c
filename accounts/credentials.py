"""What a presented token proves, whatever its kind and transport (DESIGN: tokens resolve a
presented token to a :class:`Credential`; the access model turns it into an accountability)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from accounts.keyscope import KeyScope


@dataclass(frozen=True)
class Credential:
    """Who a valid token stands for, acting with which role, until when.

    ``kind`` names the credential type (``jwt``, ``static-token``, ``api-key``, …). ``scope`` is
    the credential's *narrowing* of its owner's permissions: an API key's scope today, OAuth
    scopes and external-issuer rules next. It only ever removes (see :mod:`accounts.keyscope`).
    ``key_id`` names the static key, when the credential is one; ``client_id`` the OAuth client
    an OAuth token was issued to, and ``policies`` the policies that client acts with beyond
    ``role_id`` (client-credentials tokens, which have no user)."""

    kind: str
    user_id: uuid.UUID | None
    role_id: uuid.UUID | None
    session: str | None = None
    expires_at: datetime | None = None
    share_id: uuid.UUID | None = None
    key_id: uuid.UUID | None = None
    scope: KeyScope | None = None
    client_id: str | None = None
    policies: tuple[uuid.UUID, ...] = ()
