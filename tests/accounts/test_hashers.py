"""Argon2 hashing runs on the low-priority hashing threads, with the configured cost."""

from __future__ import annotations

import os
import threading

import argon2
import pytest
from django.conf import settings as conf
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.db import connection

from accounts.hashers import HASH_NICENESS, hashing_pool

linux = pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread nice is Linux's")


def test_hash_and_verify_run_on_hashing_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    original_hash, original_verify = argon2.low_level.hash_secret, argon2.PasswordHasher.verify

    def hash_(*args: object, **kwargs: object) -> bytes:
        seen.append(threading.current_thread().name)
        return original_hash(*args, **kwargs)  # type: ignore[arg-type]

    def verify(self: argon2.PasswordHasher, *args: object, **kwargs: object) -> bool:
        seen.append(threading.current_thread().name)
        return original_verify(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(argon2.low_level, "hash_secret", hash_)
    monkeypatch.setattr(argon2.PasswordHasher, "verify", verify)
    encoded = make_password("correct horse battery")
    assert identify_hasher(encoded).algorithm == "argon2"
    assert check_password("correct horse battery", encoded)
    assert not check_password("wrong horse", encoded)
    assert len(seen) == 3
    assert all(name.startswith("argon2") for name in seen), seen


@linux
def test_hashing_threads_are_scheduled_below_request_threads() -> None:
    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    mine = niceness()
    theirs = hashing_pool().submit(niceness).result()
    assert theirs == min(19, mine + HASH_NICENESS) or theirs > mine


def test_configured_cost_is_kept() -> None:
    encoded = make_password("some password")
    params = argon2.extract_parameters(encoded.split("argon2", 1)[1])
    assert params.memory_cost == conf.DIRECTUS.hashing.memory_cost
    assert params.time_cost == conf.DIRECTUS.hashing.time_cost
    assert params.parallelism == conf.DIRECTUS.hashing.parallelism


def test_a_pooled_connection_is_given_back_while_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twenty sign-ins queued for the hashing threads must not hold the pool's connections."""
    closed: list[bool] = []
    monkeypatch.setattr(connection, "close", lambda: closed.append(True))
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {"pool": {"max_size": 10}})
    assert check_password("a password", make_password("a password"))
    assert closed == [True, True]  # the hash of make_password and the check
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {})
    make_password("a password")
    assert closed == [True, True]  # not pooled (SQLite keeps its connection per thread)
