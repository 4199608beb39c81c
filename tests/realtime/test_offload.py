"""Claim: socket auth runs on the event loop only when it needs neither the database nor any
other I/O, and means the same there as on a worker thread (realtime.offload)."""

from __future__ import annotations

import asyncio
import base64
import contextvars
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import User
from realtime import offload
from realtime.identity import SocketIdentity, identity_from_token, revalidate
from realtime.offload import on_loop_token, settle
from tokens.sessions import revoke_family

PASSWORD = "password-123"
SCOPE = {"type": "websocket", "client": ("127.0.0.1", 50000), "headers": [], "path": "/websocket"}
LOCAL = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "offload"}
SHARED = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x:1"}


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the calls :func:`settle` handed to a worker thread."""
    handed: list[str] = []
    real = offload.database_sync_to_async

    def counting(fn: Callable[..., Any]) -> Any:
        handed.append(fn.__name__)
        return real(fn)

    monkeypatch.setattr(offload, "database_sync_to_async", counting)
    return handed


def local_cache() -> Any:
    return override_settings(CACHES={**settings.CACHES, "default": LOCAL})


def test_a_call_without_the_database_runs_on_the_loop(hops: list[str]) -> None:
    with local_cache():
        ran_on = asyncio.run(settle(threading.get_ident))
    assert ran_on == threading.get_ident()
    assert hops == []


@pytest.mark.django_db(transaction=True)
def test_a_call_that_queries_runs_again_whole_on_a_worker_thread(
    hops: list[str], make_user: Callable[..., User]
) -> None:
    make_user("someone@example.com")
    threads: list[int] = []

    def count_users() -> int:
        threads.append(threading.get_ident())
        return User.objects.count()

    with local_cache():
        assert asyncio.run(settle(count_users)) == 1
    assert threads[0] == threading.get_ident()  # started on the loop, stopped by Django's guard
    assert len(threads) == 2
    assert threads[1] != threading.get_ident()
    assert hops == ["count_users"]


@pytest.mark.django_db(transaction=True)  # the worker thread's call closes old connections
def test_with_a_shared_cache_every_call_goes_to_a_worker_thread(hops: list[str]) -> None:
    with override_settings(CACHES={**settings.CACHES, "default": SHARED}):
        ran_on = asyncio.run(settle(threading.get_ident))
    assert ran_on != threading.get_ident()
    assert hops == ["get_ident"]


def _jwt(payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJIUzI1NiJ9.{body}.c2ln"


def test_only_our_own_jwts_and_the_public_identity_are_tried_on_the_loop() -> None:
    assert on_loop_token(None)
    assert on_loop_token(_jwt({"iss": "directus", "id": "x"}))
    assert not on_loop_token(_jwt({"iss": "https://idp.example.com"}))  # fetches the issuer's keys
    assert not on_loop_token("a-static-token-0123456789")  # always a query


@pytest.mark.django_db(transaction=True)
def test_a_warm_jwt_resolves_on_the_loop_and_a_revocation_still_applies(
    hops: list[str], make_user: Callable[..., User]
) -> None:
    make_user("reader@example.com", PASSWORD)
    with local_cache():
        response = APIClient().post(
            "/auth/login",
            {"email": "reader@example.com", "password": PASSWORD, "mode": "json"},
            format="json",
        )
        assert response.status_code == 200, response.content
        token = response.json()["data"]["access_token"]

        first = asyncio.run(settle(identity_from_token, token, SCOPE))
        handed_first = len(hops)
        again = asyncio.run(settle(revalidate, first, SCOPE))
        assert not first.is_public
        assert again.accountability == first.accountability
        assert handed_first <= 1  # a cold process reads the sign-in and grants once
        assert len(hops) == handed_first  # warm: no thread at all

        from tokens.models import RefreshSession

        family = RefreshSession.objects.get(user__email="reader@example.com").family
        revoke_family(family, "test")
        after: SocketIdentity = asyncio.run(settle(revalidate, first, SCOPE))
    assert after.is_public


@pytest.mark.django_db(transaction=True)
def test_a_refused_attempt_leaves_no_connection_wrapper_in_the_task(
    make_user: Callable[..., User],
) -> None:
    """On the loop Django's connections are per context: each socket's Task would keep the
    wrapper its refused query made (never opened) for the socket's life."""
    make_user("someone@example.com")

    async def attempt() -> list[str]:
        assert await settle(User.objects.count) == 1
        return [connection.alias for connection in connections.all(initialized_only=True)]

    with local_cache():
        left = contextvars.Context().run(asyncio.run, attempt())  # a Task with no wrapper yet
    assert left == []
