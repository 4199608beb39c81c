"""Argon2id password hashing with the ``HASH_*`` parameters from the configuration.

Hashing runs on a small pool of threads of its own (one per CPU) whose scheduling priority is
lowered (``nice`` 10, Linux threads have their own): a burst of sign-ins, each Argon2 hash taking
every core for tens of milliseconds, then uses the CPU that reads leave, instead of starving
them. The cost of each hash is unchanged; so is the time a single sign-in takes on an idle
machine, but for one thread hop.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection

from core.slots import released

T = TypeVar("T")

#: How much lower than the request threads hashing threads are scheduled.
HASH_NICENESS = 10

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


def hashing_pool() -> ThreadPoolExecutor:
    """The process's hashing threads, started on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=os.cpu_count() or 1,
                thread_name_prefix="argon2",
                initializer=_lower_priority,
            )
        return _pool


class ConfiguredArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id; hashes made with other parameters still verify and are upgraded on login."""

    @property
    def memory_cost(self) -> int:  # type: ignore[override]
        return int(settings.DIRECTUS.hashing.memory_cost)

    @property
    def time_cost(self) -> int:  # type: ignore[override]
        return int(settings.DIRECTUS.hashing.time_cost)

    @property
    def parallelism(self) -> int:  # type: ignore[override]
        return int(settings.DIRECTUS.hashing.parallelism)

    def encode(self, password: str, salt: str) -> str:
        return _wait(hashing_pool().submit(super().encode, password, salt))

    def verify(self, password: str, encoded: str) -> bool:
        return _wait(hashing_pool().submit(super().verify, password, encoded))


def _wait(future: Future[T]) -> T:
    """The hash's result. While it is computed the request gives back its slot
    (:mod:`core.slots`) and, when connections are pooled and no transaction is open, its
    database connection: twenty sign-ins queued for the hashing threads must not hold the
    pool's ten connections (the next query takes one again)."""
    if connection.settings_dict.get("OPTIONS", {}).get("pool") and not connection.in_atomic_block:
        connection.close()
    with released():
        return future.result()
