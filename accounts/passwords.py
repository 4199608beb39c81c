"""The password policy: one check for every place a password is set (issue #15).

Two rules, both applied by :func:`check_password_policy`:

* the project's ``auth_password_policy`` (``ProjectSettings``, Directus's
  ``directus_settings.auth_password_policy``): a regular expression, optionally written as
  ``/.../``, that the password must contain a match of (``re.search``, no flags), as in
  Directus (contract http-auth.md §7.6);
* Django's ``AUTH_PASSWORD_VALIDATORS`` (length, common passwords, similarity to the user's
  e-mail and names, all digits), whose messages say what to fix.

Callers: the users service (create, update, ``PATCH /users/me``), the admin's add-user and
set-password forms, the password reset and invitation acceptance. Not the bootstrap
``ADMIN_PASSWORD``: the operator chose it in the environment.

A failure is ``400 FAILED_VALIDATION`` on field ``password``. Unlike Directus, the submitted
password is never echoed (Directus puts it in ``extensions.invalid``).
"""

from __future__ import annotations

import re

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from accounts.models import ProjectSettings, User
from core.errors import FailedValidation

FIELD = "password"
POLICY_MESSAGE = (
    "Value doesn't have the correct format. It must match the password policy of this project."
)


def policy_pattern(policy: str) -> str:
    """The regular expression of a policy written either bare or as ``/.../``."""
    policy = policy.strip()
    if len(policy) >= 2 and policy.startswith("/") and policy.endswith("/"):
        return policy[1:-1]
    return policy


def matches_policy(password: str, policy: str) -> bool:
    """Whether ``password`` satisfies the project policy ``policy`` (empty: no policy). A
    policy that does not compile (it is validated when saved) refuses every password rather
    than none."""
    if not policy.strip():
        return True
    try:
        return re.search(policy_pattern(policy), password) is not None
    except re.error:
        return False


def password_problems(password: str, user: User | None = None) -> list[str]:
    """What is wrong with ``password`` for ``user`` (None: a user not known yet), as
    sentences; empty when the password may be used."""
    problems: list[str] = []
    if not matches_policy(password, ProjectSettings.current().auth_password_policy):
        problems.append(POLICY_MESSAGE)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        problems.extend(str(message) for message in error.messages)
    return problems


def check_password_policy(password: str, user: User | None = None, field: str = FIELD) -> None:
    """Raise ``FailedValidation`` on ``field`` if ``password`` breaks the policy; ``type`` is
    ``regex`` when the project's expression refused it (as in Directus), else ``password``."""
    problems = password_problems(password, user)
    if not problems:
        return
    kind = "regex" if problems[0] == POLICY_MESSAGE else "password"
    raise FailedValidation(field, kind, " ".join(problems))
