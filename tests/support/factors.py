"""Second-factor fixtures: users with TOTP set up through the real factors code, and the codes
of a chosen time step."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pyotp
import pytest

from accounts.models import User
from factors import totp

PASSWORD = "correct horse battery"


def code_at(secret: str, steps_from_now: int = 0) -> str:
    """The TOTP code of ``secret`` for the time step ``steps_from_now`` away from now."""
    return pyotp.TOTP(secret).at(time.time() + steps_from_now * totp.STEP_SECONDS)


def step_of(steps_from_now: int = 0) -> int:
    return int(time.time() // totp.STEP_SECONDS) + steps_from_now


@pytest.fixture
def enrol() -> Callable[[User], str]:
    """Set up TOTP for a user (consuming the code of the previous step, so the current one is
    still fresh); returns the secret."""

    def make(user: User) -> str:
        secret = totp.new_secret()
        totp.enable(user, secret, code_at(secret, -1))
        return secret

    return make


@pytest.fixture
def person(make_role: Any, make_user: Any) -> User:
    role, _ = make_role("Editors", app_access=True)
    return make_user("editor@example.com", PASSWORD, role=role)
