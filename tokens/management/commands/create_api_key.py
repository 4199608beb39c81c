"""``manage.py create_api_key``: a key for scripts, printed once (only its digest is stored)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Role, User
from core.config import parse_duration_ms
from core.errors import DirectusError
from tokens.keys import create_key


class Command(BaseCommand):
    help = (
        "Create an API key acting for a user (--user EMAIL) or a role (--role NAME) and print "
        "its secret once. Only a digest is stored: the secret cannot be shown again."
    )

    def add_arguments(self, parser: Any) -> None:
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--user", metavar="EMAIL", help="The user the key acts as.")
        owner.add_argument("--role", metavar="NAME", help="The role the key acts with.")
        parser.add_argument("--name", default="script", help="A name shown in lists.")
        parser.add_argument(
            "--expires-in", metavar="DURATION", help="e.g. 30d, 12h (default: never)."
        )
        parser.add_argument("--read-only", action="store_true", help="Only read permissions.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = role = None
        if options["user"]:
            user = User.objects.filter(email__iexact=options["user"]).first()
            if user is None:
                raise CommandError(f"No user with email {options['user']}.")
        else:
            role = Role.objects.filter(name=options["role"]).first()
            if role is None:
                raise CommandError(f"No role named {options['role']}.")
        try:
            issued = create_key(
                name=options["name"],
                user=user,
                role=role,
                expires_at=_expiry(options["expires_in"]),
                scope={"read_only": True} if options["read_only"] else None,
            )
        except DirectusError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(f"Created key {issued.key.pk} ({issued.key.prefix}…); shown once:")
        self.stdout.write(issued.secret)


def _expiry(text: str | None) -> Any:
    if not text:
        return None
    try:
        return timezone.now() + timedelta(milliseconds=parse_duration_ms(text))
    except ValueError as exc:
        raise CommandError(f"--expires-in: {exc}") from None
