"""The ``local`` driver: e-mail and password against the user's Argon2 hash (contract
http-auth.md §7.1). Serves the built-in ``default`` provider and any ``AUTH_<NAME>_DRIVER=local``
provider (whose users have ``provider=<name>``)."""

from __future__ import annotations

from accounts.models import User
from signin.drivers.base import AuthDriver
from signin.payload import LoginPayload
from tokens.sessions import SessionContext

_DUMMY_USER = User()


class LocalDriver(AuthDriver):
    kind = "local"
    identifier_field = "email"

    def find_user(self, payload: LoginPayload, context: SessionContext) -> User | None:
        email = payload.identifier.strip()
        return User.objects.filter(email__iexact=email).select_related("role").first()

    def verify(self, user: User | None, payload: LoginPayload) -> bool:
        """Always one Argon2 verification, so an unknown e-mail costs the same time."""
        if user is None or not user.has_usable_password():
            _DUMMY_USER.set_password(payload.password)
            return False
        return user.check_password(payload.password)
