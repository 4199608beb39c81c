"""Request slots: at most :data:`SLOTS` requests of a process run at once; the others wait
their turn, first come first served.

Python runs one thread at a time. With fifty requests in fifty threads, each request waits
for the interpreter behind all the others many times over, so every request is slow and some
very slow (a p99 ten times the median was measured at 50 connections). A few requests at a
time finish in turn and the rest queue in order: the same throughput or more, and a tail near
the median.

A request that waits on something other than this process's CPU — the sign-in stall, an
Argon2 hash on the hashing threads, an outbound HTTP call — gives its slot back for the wait
(:func:`released`), so twenty sign-ins never hold the slots that reads need.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

#: Requests of one process running at once: two per CPU (at least four), enough to overlap
#: database round trips. On 2 CPUs, 2 to 4 slots read 20-40% faster than 16 (bench/).
SLOTS = max(4, 2 * (os.cpu_count() or 1))


class Turnstile:
    """A counting semaphore that serves its waiters in the order they came.

    ``threading.Semaphore`` is not fair: a released slot wakes the oldest waiter, but a thread
    arriving in between takes the slot first, and the woken waiter goes back to the end of the
    queue. Under load some requests lose that race many times in a row (the p99 tail). Here a
    released slot is handed to the oldest waiter directly; a newcomer takes a slot only when one
    is free and nobody waits.
    """

    def __init__(self, value: int) -> None:
        self._lock = threading.Lock()
        self._free = value
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, blocking: bool = True) -> bool:
        with self._lock:
            if self._free:
                self._free -= 1
                return True
            if not blocking:
                return False
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by the release() that hands this waiter its slot
        return True

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()  # the slot passes on without being freed
            else:
                self._free += 1


_slots = Turnstile(SLOTS)
_held = threading.local()


def in_slot(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn`` holding a slot (the request's whole synchronous part)."""
    if getattr(_held, "slot", False):  # nested: already holding one
        return fn(*args, **kwargs)
    _slots.acquire()
    _held.slot = True
    try:
        return fn(*args, **kwargs)
    finally:
        _held.slot = False
        _slots.release()


@contextmanager
def released() -> Iterator[None]:
    """Give this thread's slot back while waiting on something else; take one again after."""
    if not getattr(_held, "slot", False):
        yield
        return
    _held.slot = False
    _slots.release()
    try:
        yield
    finally:
        _slots.acquire()
        _held.slot = True
