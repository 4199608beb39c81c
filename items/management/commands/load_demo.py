"""``manage.py load_demo [--count N]``: add N demo articles, authored by existing users."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from items.models import Article, ArticleStatus

STATUSES = [ArticleStatus.PUBLISHED, ArticleStatus.DRAFT, ArticleStatus.ARCHIVED]


class Command(BaseCommand):
    help = "Create demo articles (adds rows on every run; authors cycle through existing users)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=100, help="How many articles to add.")

    @transaction.atomic
    def handle(self, *args: Any, count: int, **options: Any) -> None:
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
