"""Named timers of one connection: handshake and re-auth timeouts, token expiry, heartbeat.

A timer waits as a ``loop.call_later`` handle (a few hundred bytes) instead of a Task sleeping in
a coroutine (a couple of KiB with its frame, future and context); only when it fires does its
coroutine run as a Task. Cancelling a name cancels whichever is pending: the handle, or the Task
still running (except the Task doing the cancelling). Starting a name replaces its timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

Job = Callable[[], Coroutine[Any, Any, None]]


class Timers:
    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: dict[str, asyncio.TimerHandle | asyncio.Task[None]] = {}

    def start(self, name: str, delay: float, job: Job) -> None:
        """Run ``job()`` after ``delay`` seconds (at once, as a Task, when ``delay <= 0``)."""
        self.cancel(name)
        if delay <= 0:
            self._fire(name, job)
        else:
            self._pending[name] = asyncio.get_running_loop().call_later(
                delay, self._fire, name, job
            )

    def _fire(self, name: str, job: Job) -> None:
        task = asyncio.get_running_loop().create_task(job())
        self._pending[name] = task
        task.add_done_callback(lambda done: self._finished(name, done))

    def _finished(self, name: str, task: asyncio.Task[None]) -> None:
        if self._pending.get(name) is task:
            del self._pending[name]

    def cancel(self, name: str) -> None:
        pending = self._pending.pop(name, None)
        if pending is not None and pending is not asyncio.current_task():
            pending.cancel()

    def cancel_all(self) -> None:
        for name in list(self._pending):
            self.cancel(name)
