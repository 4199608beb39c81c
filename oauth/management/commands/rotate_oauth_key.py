"""``manage.py rotate_oauth_key``: a new key signs id_tokens from now on; the previous one stays
in the JWKS for a week so id_tokens it signed still verify (database keys only: with
``OAUTH_PRIVATE_KEY`` set, rotate by moving the old key to ``OAUTH_PREVIOUS_PRIVATE_KEYS``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from oauth import keys


class Command(BaseCommand):
    help = "Make a new id_token signing key; the old one stays published for a week."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            keys.rotate()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("Rotated: new id_tokens are signed with a new key.")
