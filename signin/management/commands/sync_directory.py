"""``manage.py sync_directory``: re-read every user of the ``ldap`` providers from their
directory — groups to roles, and suspension of those who left (:mod:`signin.directory`). Safe to
run from cron: it only changes what differs, prints each change, and exits non-zero when a
directory cannot be read."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.errors import DirectusError
from signin.directory import directory_providers, sync_directory


class Command(BaseCommand):
    help = (
        "Re-read the users of every ldap provider (or --provider NAME) from the directory: "
        "update their roles from their groups and suspend those who left. --dry-run reports "
        "without changing anything."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--provider", metavar="NAME", help="Only this ldap provider.")
        parser.add_argument("--dry-run", action="store_true", help="Report, change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        drivers = list(directory_providers().values())
        if options["provider"]:
            drivers = [d for d in drivers if d.name == options["provider"]]
            if not drivers:
                raise CommandError(f"No ldap provider named {options['provider']!r}.")
        if not drivers:
            self.stdout.write("No ldap provider is configured.")
            return
        failed = []
        for driver in drivers:
            try:
                changes = sync_directory(driver, dry_run=options["dry_run"])
            except DirectusError as error:
                failed.append(driver.name)
                self.stderr.write(f"{driver.name}: {error.message}")
                continue
            for change in changes:
                self.stdout.write(str(change))
            verb = "would change" if options["dry_run"] else "changed"
            self.stdout.write(f"{driver.name}: {verb} {len(changes)} user(s).")
        if failed:
            raise CommandError(f"Could not read the directory of: {', '.join(failed)}.")
