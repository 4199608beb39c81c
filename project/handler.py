"""Django's ASGI handler, run the way a synchronous application runs best under ASGI.

Three costs of the stock handler are removed; behaviour is unchanged:

* **One thread hop for the request.** Django builds the middleware chain for async when served
  over ASGI. Its own middlewares then run each ``process_request``/``process_response`` through
  ``sync_to_async``, and a sync-only middleware in the chain bounces back to the event loop, so
  one request crossed threads a dozen times. Here the whole chain is built synchronously, and
  the ``request_started`` signal, building the request, the chain and logging an error
  response run in one ``sync_to_async`` call (async views, such as GraphQL's, are adapted by
  Django as usual). A complete response is closed (``request_finished``) in that same call,
  before it is sent; only a streaming one is closed after sending, in a second hop.
* **No disconnect watch around a finished response.** Django runs the view and a listener for
  the client's disconnect as two tasks. A synchronous view cannot be interrupted, so here a
  response is produced first and only a streaming one is sent under that watch (its iterator
  is cancelled when the client goes away); a complete response is sent as it is, and to a
  client that left, uvicorn drops it.
* **Ping on the event loop.** ``GET``/``HEAD`` of a path in :data:`ON_LOOP` (``/server/ping``)
  runs the same chain and view on the event loop's thread, with no hop at all: most of what a
  ping cost was moving it to a worker thread and back. Such a view and the chain in front of it
  do no I/O for that path (ping is exempt from rate limiting; the session and the user are lazy
  and never read), and were anything to touch the database there, Django's async-unsafe guard
  would fail the request instead of blocking the loop. The ``request_started`` and
  ``request_finished`` signals are sent as ever (:func:`send_on_loop`).
* **Reused worker threads.** The stock handler gives every request a new single-thread
  executor, so every request started a thread and, on SQLite, opened a database connection.
  Here each request borrows a single-thread executor from a per-process pool through asgiref's
  ``ThreadSensitiveContext(executor=...)``, so threads, and the connections Django keeps per
  thread, are reused. Thread-sensitive code still runs on one thread per request, one request
  at a time per thread, as Django requires.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any, ParamSpec, TypeVar

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler as DjangoASGIHandler
from django.core.handlers.asgi import get_script_prefix
from django.dispatch import Signal
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

from core.slots import in_slot

P = ParamSpec("P")
T = TypeVar("T")

#: Idle worker threads a process keeps for the next requests; more run when more requests
#: are in flight at once, and those beyond this number end when their request does (a thread
#: started and ended per request shows in a profile at 50 connections when this was 32).
IDLE_WORKERS = 64

#: Paths (below the script prefix) whose ``GET`` and ``HEAD`` are answered on the event loop.
ON_LOOP = frozenset({"/server/ping"})
ON_LOOP_METHODS = frozenset({"GET", "HEAD"})


def on_loop(scope: Any) -> bool:
    """Is the request of ``scope`` one that :data:`ON_LOOP` serves on the event loop?"""
    if scope.get("method") not in ON_LOOP_METHODS:
        return False
    path, root = scope.get("path", ""), scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path in ON_LOOP


async def send_on_loop(signal: Signal, sender: Any, **named: Any) -> None:
    """``signal.send(sender, **named)`` from the event loop's thread, where ``send`` cannot run
    asynchronous receivers (it would need ``async_to_sync``): the synchronous receivers are
    called in place, then the asynchronous ones awaited together, as ``send`` does."""
    if not signal.receivers:
        return
    sync_receivers, async_receivers = signal._live_receivers(sender)
    for receiver in sync_receivers:
        receiver(signal=signal, sender=sender, **named)
    if async_receivers:
        await asyncio.gather(*(r(signal=signal, sender=sender, **named) for r in async_receivers))


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
        self._respond = sync_to_async(self._respond_sync, thread_sensitive=True)

    async def get_response_async(self, request: Any) -> HttpResponseBase:
        # Not on this handler's path (``handle`` calls ``_respond``); kept for callers of
        # Django's API, on the synchronous chain.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    def _respond_sync(self, scope: Any, body_file: IO[bytes]) -> Any:
        """Everything between the body and sending, in the request's worker thread, holding
        one of the process's request slots (:mod:`core.slots`)."""
        return in_slot(self._respond_in_slot, scope, body_file)

    def _respond_in_slot(self, scope: Any, body_file: IO[bytes]) -> Any:
        signals.request_started.send(sender=self.__class__, scope=scope)
        response = self._response_for(scope, body_file)
        if not response.streaming:
            # Complete: closed here (``request_finished``, which gives the thread's database
            # connection back) in the same hop, before its bytes are sent.
            response.close()
        return response

    def _response_for(self, scope: Any, body_file: IO[bytes]) -> Any:
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            return error_response
        response: Any = self.get_response(request)  # urlconf, chain, closers, log_response
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        try:
            response = await self._respond(scope, body_file)
            if not response.streaming:
                await self.send_response(response, send)  # closed in its thread already
                return
            try:
                await self._send_watching(response, receive, send)
            finally:
                await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body_file.close()

    async def handle_on_loop(self, scope: Any, receive: Any, send: Any) -> None:
        """:meth:`handle` for an :data:`ON_LOOP` request, all of it on the event loop."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        try:
            await send_on_loop(signals.request_started, self.__class__, scope=scope)
            response = self._response_for(scope, body_file)
            if not response.streaming:
                await self._close_on_loop(response)
                await self.send_response(response, send)
                return
            try:
                await self._send_watching(response, receive, send)
            finally:
                await self._close_on_loop(response)
        finally:
            body_file.close()

    async def _close_on_loop(self, response: Any) -> None:
        """``response.close()``, which sends ``request_finished`` with ``send``: in place unless
        an asynchronous receiver listens, which ``send`` can only reach from another thread."""
        finished = signals.request_finished
        if finished.receivers and finished._live_receivers(self.__class__)[1]:
            await sync_to_async(response.close, thread_sensitive=False)()
        else:
            response.close()

    async def _send_watching(self, response: Any, receive: Any, send: Any) -> None:
        """Stream ``response`` until it ends or the client disconnects, whichever comes first."""
        sending = asyncio.create_task(self.send_response(response, send))
        listening = asyncio.create_task(self.listen_for_disconnect(receive))
        await asyncio.wait((sending, listening), return_when=asyncio.FIRST_COMPLETED)
        for task in (listening, sending):
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RequestAborted):
                await task

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        if on_loop(scope):
            await self.handle_on_loop(scope, receive, send)
            return
        worker = self.pool.acquire()
        try:
            async with ThreadSensitiveContext(executor=worker):
                await self.handle(scope, receive, send)
        finally:
            self.pool.release(worker)
