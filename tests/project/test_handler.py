"""The ASGI handler: a synchronous middleware chain and worker threads reused across requests."""

from __future__ import annotations

import asyncio
import threading

import httpx

from project.handler import ASGIHandler, RequestWorker, WorkerPool


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
