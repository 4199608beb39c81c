"""A sign-in waiting for its second factor, between the login page's two steps.

The password step, when the user has a second factor, keeps only *who* and *where to* in the
Django session (``{user id, redirect, started at}``), after a new session key (so a session id
planted before the password was typed is worth nothing). The code or passkey step reads it back
for at most :data:`LIFETIME` seconds and removes it when the sign-in completes. It proves only
that the password was right a moment ago in this browser: the second step still runs the whole
flow's limits and checks (:func:`signin.flow.complete_second_factor`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from accounts.models import DEFAULT_PROVIDER, User

SESSION_KEY = "signin.pending"
LIFETIME = 300  # seconds


@dataclass(frozen=True)
class PendingSignIn:
    user_id: str
    redirect: str
    started_at: float
    provider: str = DEFAULT_PROVIDER  # the provider the first step signed in through

    @property
    def expired(self) -> bool:
        return time.time() - self.started_at > LIFETIME


def hold(request: HttpRequest, user: User, redirect: str, provider: str = DEFAULT_PROVIDER) -> None:
    """Remember that ``user`` gave the right password and waits for the second factor."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = {
        "user": str(user.pk),
        "redirect": redirect,
        "started": time.time(),
        "provider": provider,
    }


def pending(request: HttpRequest) -> PendingSignIn | None:
    """The sign-in this browser has waiting, unless there is none or it has expired (an
    expired one is dropped)."""
    entry: Any = request.session.get(SESSION_KEY)
    try:
        found = PendingSignIn(
            str(entry["user"]),
            str(entry["redirect"]),
            float(entry["started"]),
            str(entry.get("provider") or DEFAULT_PROVIDER),
        )
    except (TypeError, KeyError, ValueError):
        return None
    if found.expired:
        release(request)
        return None
    return found


def release(request: HttpRequest) -> None:
    """Forget the waiting sign-in (it completed, expired or was refused)."""
    request.session.pop(SESSION_KEY, None)
