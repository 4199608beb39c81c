"""``manage.py load_demo [--count N] [--public]``: add N demo articles, authored by existing
users; ``--public`` also lets the public policy read the published ones."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.bootstrap import public_policy
from accounts.models import Action, Permission
from items.models import Article, ArticleStatus

STATUSES = [ArticleStatus.PUBLISHED, ArticleStatus.DRAFT, ArticleStatus.ARCHIVED]


class Command(BaseCommand):
    help = "Create demo articles (adds rows on every run; authors cycle through existing users)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=100, help="How many articles to add.")
        parser.add_argument(
            "--public",
            action="store_true",
            help="Let the public (no token) read published articles.",
        )

    @transaction.atomic
    def handle(self, *args: Any, count: int, public: bool = False, **options: Any) -> None:
        authors: list[Any] = list(get_user_model()._default_manager.order_by("pk")) or [None]
        start = Article.objects.count()
        pairs = zip(range(start, start + count), itertools.cycle(authors), strict=False)
        Article.objects.bulk_create(
            Article(
                title=f"Article {number + 1}",
                body=f"Demo article number {number + 1}.",
                status=STATUSES[number % len(STATUSES)],
                author=author,
            )
            for number, author in pairs
        )
        self.stdout.write(f"Created {count} articles.")
        if public:
            Permission.objects.get_or_create(
                policy=public_policy(),
                collection="articles",
                action=Action.READ,
                defaults={"fields": "*", "permissions": {"status": {"_eq": "published"}}},
            )
            self.stdout.write("The public may read published articles.")
