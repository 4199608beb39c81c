"""``manage.py create_oauth_client``: register an OAuth client; prints its id and, for a
confidential client, its secret once (only a hash is stored)."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from oauth2_provider.generators import generate_client_secret

from accounts.models import Policy, Role
from oauth.models import GRANT_NAMES, Client
from oauth.scopes import SCOPES


class Command(BaseCommand):
    help = (
        "Register an OAuth client. Prints {client_id, client_secret} as JSON; the secret is "
        "shown once (only a hash is stored)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--public", action="store_true", help="No secret (apps, SPAs).")
        parser.add_argument(
            "--redirect-uri", action="append", default=[], help="Exact redirect URI (repeat)."
        )
        parser.add_argument(
            "--grant", action="append", choices=GRANT_NAMES, help="A grant (repeat)."
        )
        parser.add_argument(
            "--scopes", default="openid profile email items:read offline_access",
            help=f"Space-separated, of: {' '.join(SCOPES)}.",
        )  # fmt: skip
        parser.add_argument("--role", metavar="NAME", help="Client-credentials tokens' role.")
        parser.add_argument("--policy", action="append", default=[], metavar="NAME")
        parser.add_argument("--skip-consent", action="store_true", help="First-party client.")
        parser.add_argument("--no-pkce", action="store_true", help="Confidential clients only.")

    def handle(self, *args: Any, **options: Any) -> None:
        public = options["public"]
        secret = "" if public else generate_client_secret()
        client = Client(
            name=options["name"],
            client_type=Client.CLIENT_PUBLIC if public else Client.CLIENT_CONFIDENTIAL,
            redirect_uris=" ".join(options["redirect_uri"]),
            grants=options["grant"] or [Client.GRANT_AUTHORIZATION_CODE],
            scopes=options["scopes"],
            skip_authorization=options["skip_consent"],
            require_pkce=not options["no_pkce"],
            client_secret=secret,
        )
        if options["role"]:
            client.role = Role.objects.filter(name=options["role"]).first()
            if client.role is None:
                raise CommandError(f"No role named {options['role']}.")
        policies = list(Policy.objects.filter(name__in=options["policy"]))
        if len(policies) != len(set(options["policy"])):
            raise CommandError("Some --policy names are unknown.")
        try:
            client.full_clean(exclude=["client_id", "client_secret"])
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from None
        client.save()
        client.policies.set(policies)
        self.stdout.write(json.dumps({"client_id": client.client_id, "client_secret": secret}))
