"""The ASGI handler: a synchronous middleware chain and worker threads reused across requests."""

from __future__ import annotations

import ast
import asyncio
import inspect
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from asgiref.sync import SyncToAsync, ThreadSensitiveContext
from django.core import signals
from django.core.handlers import asgi as django_asgi
from django.core.handlers.base import BaseHandler
from django.http import StreamingHttpResponse

from project import handler as handler_module
from project.handler import ASGIHandler, RequestWorker, WorkerPool, on_loop

RECHECK = (
    "Django's/asgiref's ASGI handler internals changed: re-check project/handler.py "
    "(load_middleware override, _middleware_chain wrapping, __call__ replacing Django's)"
)

#: A request served on a worker thread (any path outside ``ON_LOOP``; no database needed).
THREADED = "/no/such/route"


async def get(handler: ASGIHandler, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path)


def test_requests_reuse_one_worker_thread() -> None:
    handler = ASGIHandler(WorkerPool(keep=4))
    first = asyncio.run(get(handler, THREADED))
    assert first.status_code == 404
    assert len(handler.pool) == 1
    worker = handler.pool.acquire()
    handler.pool.release(worker)
    asyncio.run(get(handler, THREADED))
    assert handler.pool.acquire() is worker  # the same thread served the second request


def test_the_middleware_chain_is_entered_once() -> None:
    handler = ASGIHandler()
    # A synchronous chain, not a hop per middleware, entered through one sync_to_async call
    # that also sends request_started and builds the request.
    chain: Any = handler._middleware_chain  # type: ignore[attr-defined]
    respond: Any = handler._respond
    assert not getattr(chain, "async_capable", False)
    assert type(respond).__name__ == "SyncToAsync"
    assert respond.func == handler._respond_sync


def test_a_request_crosses_threads_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once for the request (signal, request, chain, closing a complete response)."""
    calls: list[str] = []
    original = SyncToAsync.__call__

    async def counting(self: SyncToAsync[Any, Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(self.func, "__name__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    handler = ASGIHandler(WorkerPool(keep=4))
    response = asyncio.run(get(handler, THREADED))
    assert response.status_code == 404
    assert calls == ["_respond_sync"]


def test_signals_and_error_responses_still_happen() -> None:
    started: list[object] = []
    finished: list[object] = []

    def on_started(sender: object, **kwargs: object) -> None:
        started.append(kwargs.get("scope"))

    def on_finished(sender: object, **kwargs: object) -> None:
        finished.append(sender)

    signals.request_started.connect(on_started)
    signals.request_finished.connect(on_finished)
    try:
        handler = ASGIHandler(WorkerPool(keep=4))
        missing = asyncio.run(get(handler, "/no/such/route"))
    finally:
        signals.request_started.disconnect(on_started)
        signals.request_finished.disconnect(on_finished)
    assert missing.status_code == 404
    assert len(started) == 1
    assert started[0]["path"] == "/no/such/route"  # type: ignore[index]
    assert len(finished) == 1


def test_a_streaming_response_stops_when_the_client_disconnects() -> None:
    """The one kind of response still sent under Django's disconnect watch."""
    produced: list[int] = []

    async def endless() -> Any:
        n = 0
        while True:
            produced.append(n)
            yield b"x"
            n += 1
            await asyncio.sleep(0.01)

    handler = ASGIHandler(WorkerPool(keep=4))

    async def run() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        messages = asyncio.Queue[dict[str, Any]]()  # the body was read before sending

        async def receive() -> dict[str, Any]:
            return await messages.get()

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if len(sent) == 5:
                await messages.put({"type": "http.disconnect"})

        response = StreamingHttpResponse(endless())
        await asyncio.wait_for(handler._send_watching(response, receive, send), 5)
        return sent

    sent = asyncio.run(run())
    assert sent[0]["type"] == "http.response.start"
    assert 5 <= len(sent) < 50
    count = len(produced)
    time.sleep(0.05)
    assert len(produced) == count  # the iterator was stopped


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
    """We build ``_middleware_chain`` synchronously; Django must still set it in
    ``load_middleware(is_async)`` and call it from ``get_response``, which does all that its
    async twin does but in one thread."""
    assert "_middleware_chain" in vars(BaseHandler), RECHECK
    assert list(inspect.signature(BaseHandler.load_middleware).parameters) == [
        "self",
        "is_async",
    ], RECHECK
    assert "self._middleware_chain" in inspect.getsource(BaseHandler.load_middleware), RECHECK
    assert "self.load_middleware(is_async=True)" in inspect.getsource(
        django_asgi.ASGIHandler.__init__
    ), RECHECK
    sync_calls = _calls_in(BaseHandler.get_response)
    async_calls = _calls_in(BaseHandler.get_response_async)
    assert {"set_urlconf", "self._middleware_chain", "response._resource_closers.append"} <= (
        sync_calls & async_calls
    ), RECHECK
    assert "log_response" in sync_calls, RECHECK


def test_our_handle_does_everything_djangos_handle_does() -> None:
    """Our ``handle`` replaces Django's; this is what Django's did when it was written."""
    assert _calls_in(django_asgi.ASGIHandler.handle) == {
        "asyncio.create_task", "asyncio.wait", "body_file.close", "get_script_prefix",
        "process_request", "self.create_request", "self.listen_for_disconnect",
        "self.read_body", "self.run_get_response", "self.send_response", "set_script_prefix",
        "signals.request_finished.asend", "signals.request_started.asend", "sync_to_async",
        "sync_to_async(error_response.close)", "sync_to_async(response.close)", "task.cancel",
        "task.done", "task.result", "tasks[1].result",
    }, RECHECK  # fmt: skip
    assert _calls_in(django_asgi.ASGIHandler.run_get_response) == {
        "isinstance",
        "self.get_response_async",
    }, RECHECK


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


def counting_hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = SyncToAsync.__call__

    async def counting(self: SyncToAsync[Any, Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(self.func, "__name__", repr(self.func)))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting)
    return calls


async def request(handler: ASGIHandler, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.request(method, path, **kwargs)


def test_ping_is_answered_on_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting_hops(monkeypatch)
    handler = ASGIHandler(WorkerPool(keep=4))
    for method in ("GET", "HEAD"):
        response = asyncio.run(request(handler, method, "/server/ping"))
        assert response.status_code == 200
        assert response.text == ("pong" if method == "GET" else "")
        assert response.headers["X-Request-Id"]  # the middleware chain ran
    assert calls == []  # no thread hop at all
    assert len(handler.pool) == 0  # no worker was borrowed


@pytest.mark.django_db
def test_ping_with_a_session_cookie_and_tokens_does_no_io_on_the_loop() -> None:
    """Nothing in the chain reads the session, the user or the token on ping: were anything
    to query the database on the loop, Django's guard would make this a 500."""
    handler = ASGIHandler(WorkerPool(keep=4))
    response = asyncio.run(
        request(
            handler,
            "GET",
            "/server/ping?access_token=not-a-token",
            headers={
                "Authorization": "Bearer not-a-token",
                "Cookie": "sessionid=abc; directus_session_token=x.y.z; csrftoken=abc",
                "Origin": "https://elsewhere.example",
            },
        )
    )
    assert (response.status_code, response.text) == (200, "pong")


@pytest.mark.django_db
def test_a_database_query_on_the_loop_fails_instead_of_blocking(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The safety net behind ``ON_LOOP``: a view that queries is refused by Django's guard."""
    monkeypatch.setattr(handler_module, "ON_LOOP", frozenset({"/server/info"}))
    handler = ASGIHandler(WorkerPool(keep=4))
    response = asyncio.run(request(handler, "GET", "/server/info"))
    assert response.status_code == 500
    assert "SynchronousOnlyOperation" in caplog.text


def test_signals_are_sent_for_a_request_on_the_loop() -> None:
    seen: list[str] = []

    def started(sender: object, **kwargs: object) -> None:
        seen.append(f"started on {threading.current_thread().name}")

    async def started_async(sender: object, **kwargs: object) -> None:
        seen.append("started (async)")

    def finished(sender: object, **kwargs: object) -> None:
        seen.append("finished")

    async def finished_async(sender: object, **kwargs: object) -> None:
        seen.append("finished (async)")

    receivers = [
        (signals.request_started, started),
        (signals.request_started, started_async),
        (signals.request_finished, finished),
    ]
    for signal, receiver in receivers:
        signal.connect(receiver)
    try:
        handler = ASGIHandler(WorkerPool(keep=4))
        asyncio.run(request(handler, "GET", "/server/ping"))
        assert seen == [f"started on {threading.main_thread().name}", "started (async)", "finished"]
        seen.clear()
        signals.request_finished.connect(finished_async)  # reachable from another thread only
        try:
            asyncio.run(request(handler, "GET", "/server/ping"))
        finally:
            signals.request_finished.disconnect(finished_async)
        assert sorted(seen[2:]) == ["finished", "finished (async)"]
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver)


def test_only_get_and_head_of_the_listed_paths_run_on_the_loop() -> None:
    def scope(method: str, path: str, root_path: str = "") -> dict[str, str]:
        return {"type": "http", "method": method, "path": path, "root_path": root_path}

    assert on_loop(scope("GET", "/server/ping"))
    assert on_loop(scope("HEAD", "/server/ping"))
    assert on_loop(scope("GET", "/api/server/ping", root_path="/api"))
    assert not on_loop(scope("POST", "/server/ping"))
    assert not on_loop(scope("GET", "/server/ping/"))
    assert not on_loop(scope("GET", "/server/health"))
    assert not on_loop(scope("GET", "/server/pingx"))


def test_signals_still_list_sync_and_async_receivers_apart() -> None:
    def receiver(sender: object, **kwargs: object) -> None:
        return None

    signals.request_finished.connect(receiver)
    try:
        sync_receivers, async_receivers = signals.request_finished._live_receivers(ASGIHandler)
    finally:
        signals.request_finished.disconnect(receiver)
    assert receiver in sync_receivers, RECHECK + " (send_on_loop uses Signal._live_receivers)"
    assert async_receivers == []


def test_a_complete_response_is_closed_in_its_request_thread() -> None:
    """``request_finished`` (which gives back the thread's database connection) runs in the
    thread that served the request, not on the event loop."""
    threads: dict[str, str] = {}

    def started(sender: object, **kwargs: object) -> None:
        threads["started"] = threading.current_thread().name

    def finished(sender: object, **kwargs: object) -> None:
        threads["finished"] = threading.current_thread().name

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        asyncio.run(get(ASGIHandler(WorkerPool(keep=4)), THREADED))
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert threads["started"] == threads["finished"]
    assert threads["finished"] != threading.main_thread().name
