"""Shared fixtures: users, roles and policies built through the real models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import caches

from accounts.bootstrap import administrator_role, public_policy
from accounts.models import Access, Permission, Policy, Role, User
from tests.support.clients import SignedInAPIClient


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    import signin.drivers
    from accounts.accountability import forget_local_state
    from items.plans import plans
    from signin.drivers import openid
    from tokens.external import jwks, registry, resolver, users
    from tokens.keycache import clear_local

    for alias in caches:
        caches[alias].clear()
    clear_local()
    forget_local_state()
    plans.clear()
    for module in (jwks, registry, resolver, users, signin.drivers, openid):
        module.forget()


@pytest.fixture
def one_rate_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rate-limit window is the same one for the test: a loop of attempts on a slow
    machine must not cross the end of a fixed window (and start counting again)."""
    from core import ratelimit

    monkeypatch.setattr(ratelimit, "wall_clock", lambda: 1_000_000.5)


@pytest.fixture
def api() -> SignedInAPIClient:
    return SignedInAPIClient()


@pytest.fixture
def admin_user(db: Any) -> User:
    return User.objects.create_user(
        "admin@example.com", "admin-password-1", role=administrator_role()
    )


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    def make(email: str, password: str = "password-123", **extra: Any) -> User:
        return User.objects.create_user(email, password, **extra)

    return make


@pytest.fixture
def make_role(db: Any) -> Callable[..., tuple[Role, Policy]]:
    """A role with one policy attached; returns (role, policy)."""

    def make(name: str, parent: Role | None = None, **policy_flags: Any) -> tuple[Role, Policy]:
        role = Role.objects.create(name=name, parent=parent)
        policy = Policy.objects.create(name=f"{name} policy", **policy_flags)
        Access.objects.create(role=role, policy=policy)
        return role, policy

    return make


@pytest.fixture
def grant(db: Any) -> Callable[..., Permission]:
    def make(policy: Policy, collection: str, action: str, **rule: Any) -> Permission:
        rule.setdefault("fields", "*")
        return Permission.objects.create(
            policy=policy, collection=collection, action=action, **rule
        )

    return make


@pytest.fixture
def public(db: Any) -> Policy:
    return public_policy()


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pools(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """Return pooled PostgreSQL connections before the test database is dropped."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for connection in connections.all():
            close_pool = getattr(connection, "close_pool", None)
            if close_pool is not None:
                close_pool()
