"""Django's ASGI handler, run the way a synchronous application runs best under ASGI.

Two costs of the stock handler are removed; behaviour is unchanged:

* **One thread hop per request.** Django builds the middleware chain for async when served
  over ASGI. Its own middlewares then run each ``process_request``/``process_response`` through
  ``sync_to_async``, and a sync-only middleware in the chain bounces back to the event loop, so
  one request crossed threads a dozen times. Here the whole chain is built synchronously and
  entered once through ``sync_to_async`` (async views, such as GraphQL's, are adapted by
  Django as usual).
* **Reused worker threads.** The stock handler gives every request a new single-thread
  executor, so every request started a thread and, on SQLite, opened a database connection.
  Here each request borrows a single-thread executor from a per-process pool through asgiref's
  ``ThreadSensitiveContext(executor=...)``, so threads, and the connections Django keeps per
  thread, are reused. Thread-sensitive code still runs on one thread per request, one request
  at a time per thread, as Django requires.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler

P = ParamSpec("P")
T = TypeVar("T")

#: Idle worker threads a process keeps for the next requests; more run when more requests
#: are in flight at once, and those beyond this number end when their request does.
IDLE_WORKERS = 32


class RequestWorker(ThreadPoolExecutor):
    """One thread that runs one request's synchronous work. It counts unfinished calls, so a
    worker whose request was abandoned (the client went away while a view still ran) is not
    lent to the next request until that work is done."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="http")
        self._lock = threading.Lock()
        self._unfinished = 0

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        with self._lock:
            self._unfinished += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._done()
            raise
        future.add_done_callback(lambda _: self._done())
        return future

    def _done(self) -> None:
        with self._lock:
            self._unfinished -= 1

    @property
    def idle(self) -> bool:
        with self._lock:
            return self._unfinished == 0


class WorkerPool:
    """Idle :class:`RequestWorker` s, lent one per request on the event loop's thread."""

    def __init__(self, keep: int = IDLE_WORKERS) -> None:
        self.keep = keep
        self._idle: list[RequestWorker] = []

    def acquire(self) -> RequestWorker:
        return self._idle.pop() if self._idle else RequestWorker()

    def release(self, worker: RequestWorker) -> None:
        if worker.idle and len(self._idle) < self.keep:
            self._idle.append(worker)
        else:
            # Still busy with abandoned work, or one too many: the thread ends once idle.
            worker.shutdown(wait=False)

    def __len__(self) -> int:
        return len(self._idle)


class ASGIHandler(DjangoASGIHandler):
    """Django's ASGI handler with a synchronous middleware chain and pooled worker threads."""

    def __init__(self, pool: WorkerPool | None = None) -> None:
        self.pool = pool or WorkerPool()
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        chain: Any = self._middleware_chain  # type: ignore[has-type]
        self._middleware_chain = sync_to_async(chain, thread_sensitive=True)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        worker = self.pool.acquire()
        try:
            async with ThreadSensitiveContext(executor=worker):
                await self.handle(scope, receive, send)
        finally:
            self.pool.release(worker)
