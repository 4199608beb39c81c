"""Fixtures for static keys: roles with article permissions, key-making helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Policy, Role, User
from items.models import Article


def code(response: Any) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def with_token(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def article(db: Any) -> Article:
    return Article.objects.create(title="First")


@pytest.fixture
def editors(make_role: Any, grant: Any) -> tuple[Role, Policy]:
    """A role that may read, create, update and delete articles."""
    role, policy = make_role("Editors", app_access=True)
    for action in ("create", "read", "update", "delete"):
        grant(policy, "articles", action)
    return role, policy


@pytest.fixture
def editor(make_user: Any, editors: tuple[Role, Policy]) -> User:
    return make_user("editor@example.com", role=editors[0])


@pytest.fixture
def admin_client(admin_user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=None)
    response = client.post(
        "/auth/login",
        {"email": "admin@example.com", "password": "admin-password-1"},
        format="json",
    )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['data']['access_token']}")
    return client


@pytest.fixture
def login_client(db: Any) -> Callable[[str, str], APIClient]:
    def make(email: str, password: str = "password-123") -> APIClient:
        client = APIClient()
        response = client.post("/auth/login", {"email": email, "password": password}, format="json")
        assert response.status_code == 200, response.content
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['data']['access_token']}")
        return client

    return make
