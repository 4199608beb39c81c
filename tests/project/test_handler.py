"""The ASGI handler: a synchronous middleware chain and worker threads reused across requests."""

from __future__ import annotations

import ast
import asyncio
import inspect
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from asgiref.sync import SyncToAsync, ThreadSensitiveContext
from django.core.handlers import asgi as django_asgi
from django.core.handlers.base import BaseHandler

from project.handler import ASGIHandler, RequestWorker, WorkerPool

RECHECK = (
    "Django's/asgiref's ASGI handler internals changed: re-check project/handler.py "
    "(load_middleware override, _middleware_chain wrapping, __call__ replacing Django's)"
)


async def get(handler: ASGIHandler, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path)


def test_requests_reuse_one_worker_thread() -> None:
    handler = ASGIHandler(WorkerPool(keep=4))
    first = asyncio.run(get(handler, "/server/ping"))
    assert (first.status_code, first.text) == (200, "pong")
    assert len(handler.pool) == 1
    worker = handler.pool.acquire()
    handler.pool.release(worker)
    asyncio.run(get(handler, "/server/ping"))
    assert handler.pool.acquire() is worker  # the same thread served the second request


def test_the_middleware_chain_is_entered_once() -> None:
    handler = ASGIHandler()
    chain = handler._middleware_chain
    # One sync_to_async around the whole synchronous chain, not a hop per middleware.
    assert type(chain).__name__ == "SyncToAsync"
    assert not getattr(chain.func, "async_capable", False)


def test_a_worker_still_running_abandoned_work_is_not_lent_again() -> None:
    pool = WorkerPool(keep=4)
    worker = pool.acquire()
    release = threading.Event()
    future = worker.submit(release.wait, 5)
    assert not worker.idle
    pool.release(worker)
    assert len(pool) == 0
    release.set()
    assert future.result(timeout=5) is True
    assert worker.idle


def test_the_pool_keeps_only_so_many_idle_workers() -> None:
    pool = WorkerPool(keep=2)
    workers = [pool.acquire() for _ in range(3)]
    assert len({id(w) for w in workers}) == 3
    for worker in workers:
        pool.release(worker)
    assert len(pool) == 2


def test_a_worker_runs_calls_on_one_thread() -> None:
    worker = RequestWorker()
    idents = {worker.submit(threading.get_ident).result() for _ in range(5)}
    assert len(idents) == 1
    worker.shutdown()


# ---------------------------------------------------------------- guards of library internals
# project/handler.py relies on undocumented parts of Django's ASGIHandler and asgiref. Each test
# names one assumption; when one fails after an upgrade, re-check project/handler.py.


def _calls_in(function: Any) -> set[str]:
    """Dotted names of everything ``function`` calls (``self.handle``, ``ValueError``, …)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}


def test_django_builds_the_chain_in_load_middleware_and_awaits_it_per_request() -> None:
    """We rebuild ``_middleware_chain`` synchronously and wrap it once; Django must still set
    it in ``load_middleware(is_async)`` and call it from ``get_response_async``."""
    assert "_middleware_chain" in vars(BaseHandler), RECHECK
    assert list(inspect.signature(BaseHandler.load_middleware).parameters) == [
        "self",
        "is_async",
    ], RECHECK
    assert "self._middleware_chain" in inspect.getsource(BaseHandler.load_middleware), RECHECK
    assert "await self._middleware_chain(request)" in inspect.getsource(
        BaseHandler.get_response_async
    ), RECHECK
    assert "self.load_middleware(is_async=True)" in inspect.getsource(
        django_asgi.ASGIHandler.__init__
    ), RECHECK


def test_our_call_does_everything_djangos_call_does() -> None:
    """Our ``__call__`` replaces Django's: type check, a ThreadSensitiveContext, ``handle``."""
    assert _calls_in(django_asgi.ASGIHandler.__call__) == {
        "ValueError",
        "ThreadSensitiveContext",
        "self.handle",
    }, RECHECK
    handle = django_asgi.ASGIHandler.handle
    assert inspect.iscoroutinefunction(handle), RECHECK
    assert list(inspect.signature(handle).parameters) == ["self", "scope", "receive", "send"], (
        RECHECK
    )


def test_asgiref_takes_an_executor_for_a_thread_sensitive_context() -> None:
    parameter = inspect.signature(ThreadSensitiveContext).parameters.get("executor")
    assert parameter is not None, RECHECK
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, RECHECK

    async def thread_of_sync_call() -> int:
        async with ThreadSensitiveContext(executor=worker):
            return await SyncToAsync(threading.get_ident, thread_sensitive=True)()

    worker = ThreadPoolExecutor(max_workers=1)
    try:
        expected = worker.submit(threading.get_ident).result()
        assert asyncio.run(thread_of_sync_call()) == expected, RECHECK
    finally:
        worker.shutdown()


def test_sync_to_async_keeps_the_wrapped_callable_as_func() -> None:
    """The middleware-chain test above reads ``SyncToAsync.func``."""
    wrapped = SyncToAsync(len, thread_sensitive=True)
    assert wrapped.func is len, RECHECK
