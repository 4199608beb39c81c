"""Fixtures for the items API: articles, a restricted role, error-body helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Policy, Role, User
from items.models import Article

ArticleFactory = Callable[..., Article]


@pytest.fixture
def make_article(db: Any) -> ArticleFactory:
    def make(title: str = "An article", **fields: Any) -> Article:
        return Article.objects.create(title=title, **fields)

    return make


@pytest.fixture
def writer(make_role: Any, make_user: Any) -> tuple[User, Role, Policy]:
    """A user in role "Writers" whose policy starts without permissions."""
    role, policy = make_role("Writers")
    return make_user("writer@example.com", role=role), role, policy
