"""Socket auth work on the event loop when it finishes there, on a worker thread otherwise.

Checking a json-mode access JWT and computing its accountability usually needs nothing beyond
process memory: the signing keys, the sign-in family's liveness memo, the revocation marker and
the grants in the cache, and the public accountability likewise. Handing such a call to a
worker thread and back cost more than the call itself: during 50 concurrent handshakes the
hand-offs were 17% of py-spy's samples on the loop's side and 8% on the thread's, most of
that asgiref's and channels' wrapping; running them here took the server's CPU per handshake
from 0.78-0.87 ms to 0.51-0.55 ms (``bench/cpu_per_request.py --workloads ws_handshakes``).

So when the default cache is this process's memory (the embedded default), :func:`settle` runs
the call on the event loop's thread first. The first database access there raises Django's
``SynchronousOnlyOperation`` (its async-unsafe guard, raised before a connection is opened or a
statement sent), and the call then runs again, whole, on a worker thread through
``database_sync_to_async``, as it always did. The refused attempt leaves behind the connection
wrapper Django made for it, never opened, in the Task's context (on the loop Django's
connections are context-local); it is dropped, or each socket would keep one (tens of KiB)
for its life. Only calls that are safe to start twice come
here: they write nothing before their first query (what they keep in memory they keep after
it), and they do no other I/O, which is why only our own JWTs (:func:`on_loop_token`) and the
public identity are tried on the loop: the other resolvers call out (an external issuer's
keys) or always query.

With a shared cache (Redis) a cache read is a network round trip that must not block the
loop, so every call goes to a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import SynchronousOnlyOperation
from django.db import connections

from tokens.jwt import is_directus_jwt

P = ParamSpec("P")
T = TypeVar("T")

#: Cache backends that keep everything in this process: reading them is no I/O.
IN_PROCESS_CACHES = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)


def loop_may_run() -> bool:
    """Whether the default cache is in this process, so a call that needs no database does no
    I/O at all."""
    return settings.CACHES.get("default", {}).get("BACKEND") in IN_PROCESS_CACHES


def on_loop_token(token: str | None) -> bool:
    """Whether resolving ``token`` (``None``: the public identity) may be tried on the loop:
    our own access JWTs, whose resolver does no I/O but the cache and the database."""
    return token is None or is_directus_jwt(token)


async def settle(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` on the event loop when :func:`loop_may_run` and it needs no
    database, else on a worker thread (module docstring). ``fn`` must be safe to start twice."""
    if loop_may_run():
        try:
            return fn(*args, **kwargs)
        except SynchronousOnlyOperation:
            _drop_unopened_connections()
    return await database_sync_to_async(fn)(*args, **kwargs)


def _drop_unopened_connections() -> None:
    """Forget, in this context, the wrappers the refused attempt made (module docstring): the
    guard refused before any of them connected."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            del connections[connection.alias]
