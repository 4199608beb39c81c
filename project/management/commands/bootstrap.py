"""``manage.py bootstrap``: migrate, then create the public policy and the first admin."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.bootstrap import bootstrap
from tokens.keys import set_user_token


class Command(BaseCommand):
    help = "Migrate the database and create the first admin (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--skip-migrate", action="store_true", help="Do not run migrations.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["skip_migrate"]:
            call_command("migrate", interactive=False, verbosity=max(0, options["verbosity"] - 1))
        config = settings.DIRECTUS
        with transaction.atomic():
            result = bootstrap(config.bootstrap.admin_email, config.bootstrap.admin_password)
            if result.created_admin is not None and config.bootstrap.admin_token:
                # ADMIN_TOKEN: the first admin's static token, stored as a digest only
                set_user_token(result.created_admin, config.bootstrap.admin_token)
        if result.created_admin is None:
            self.stdout.write("Already bootstrapped; nothing to do.")
            return
        self.stdout.write(self.style.SUCCESS(f"Created admin {result.created_admin.email}"))
        if result.generated_password:
            self.stdout.write(
                f"Generated password (shown once, change it after signing in): "
                f"{result.generated_password}"
            )
