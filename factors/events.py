"""Auth-log events of second factors (accounts.audit): ``factor.added``, ``factor.removed``,
``recovery_codes.generated``, ``recovery_code.used``. Never a secret or a code."""

from __future__ import annotations

from typing import Any

from accounts.audit import record_event
from accounts.models import AuthOutcome, User
from tokens.sessions import SessionContext


def factor_event(kind: str, user: User, context: SessionContext | None, **details: Any) -> None:
    """Record ``kind`` (an ``AuthEventKind`` value) for ``user``, from ``context`` if known."""
    record_event(
        kind,
        outcome=AuthOutcome.SUCCESS,
        user=user,
        identifier=user.email or "",
        ip=context.ip if context else None,
        user_agent=context.user_agent if context else None,
        **details,
    )
