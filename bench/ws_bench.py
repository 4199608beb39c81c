"""WebSocket benchmark: handshake auths/s, held connections and memory, event delay.

Usage::

    .venv/bin/python bench/ws_bench.py [--auths 2000] [--hold 10000] [--subscribers 1000]
                                       [--events 20] [--redis redis://127.0.0.1:6379/12]

Starts real servers (``manage.py serve``, SQLite in a temp dir) and drives them with the
``websockets`` asyncio client from this process (it offers permessage-deflate, as browsers do).
Prints one JSON document of results.

Memory per connection is the server's RSS delta over ``--hold`` connections, each authenticated
by an upgrade token, on a server of its own with the heartbeat on, measured after 100 warm-up
connections (which stay open) and a settling second."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets
import websockets.version

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.server import Server, base_env  # noqa: E402

ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    return base_env(
        tmp,
        WEBSOCKETS_ENABLED="true",
        WEBSOCKETS_HEARTBEAT_ENABLED="false",
        RATE_LIMITER_LOGIN_ENABLED="false",
        LOGIN_STALL_TIME="0",
        LOG_LEVEL="error",
        **extra,
    )


def ws(server: Server, query: str = "") -> str:
    return server.url.replace("http://", "ws://") + "/websocket" + (f"?{query}" if query else "")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def handshakes(server: Server, token: str, total: int, concurrency: int = 50) -> float:
    """Connections per second that open and complete an ``auth`` access_token handshake."""
    left = iter(range(total))

    async def worker() -> None:
        for _ in left:
            async with websockets.connect(ws(server)) as conn:
                await conn.send(json.dumps({"type": "auth", "access_token": token}))
                assert json.loads(await conn.recv())["status"] == "ok"

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - started)


async def open_many(servers: list[Server], token: str, count: int) -> list[Any]:
    conns: list[Any] = []
    for start in range(0, count, 200):
        batch = [
            websockets.connect(ws(servers[i % len(servers)], f"access_token={token}"))
            for i in range(start, min(count, start + 200))
        ]
        conns.extend(await asyncio.gather(*batch))
    return conns


async def hold(server: Server, token: str, count: int) -> dict[str, Any]:
    assert server.process is not None
    warm = await open_many([server], token, 100)
    await asyncio.sleep(1)
    before = rss_kib(server.process.pid)
    started = time.perf_counter()
    conns = await open_many([server], token, count)
    opened_s = time.perf_counter() - started
    await asyncio.sleep(1)
    answers = await asyncio.gather(_ping(conns[0]), _ping(conns[-1]))
    after = rss_kib(server.process.pid)
    await asyncio.gather(*(c.close() for c in conns + warm))
    return {
        "connections": len(conns),
        "opened_in_s": round(opened_s, 1),
        "rss_before_mib": round(before / 1024, 1),
        "rss_after_mib": round(after / 1024, 1),
        "bytes_per_connection": round((after - before) * 1024 / len(conns)),
        "kib_per_connection": round((after - before) / len(conns), 1),
        "first_and_last_connection_answer": all(answers),
    }


async def _ping(conn: Any) -> bool:
    await conn.send('{"type":"ping"}')
    return bool(json.loads(await conn.recv()) == {"type": "pong"})


async def delays(servers: list[Server], token: str, subscribers: int, events: int) -> dict:
    conns = await open_many(servers, token, subscribers)
    subscribe = json.dumps({"type": "subscribe", "collection": "articles", "event": "create"})
    for conn in conns:
        await conn.send(subscribe)
    replies = await asyncio.wait_for(asyncio.gather(*(conn.recv() for conn in conns)), 60)
    failed = [r for r in replies if json.loads(r).get("event") != "init"]
    assert not failed, f"{len(failed)} subscriptions failed, e.g. {failed[0]}"
    samples: list[float] = []
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        for n in range(events):
            sent = time.perf_counter()
            waits = [asyncio.create_task(_arrival(conn)) for conn in conns]
            response = await http.post(f"{servers[0].url}/items/articles", json={"title": f"{n}"})
            assert response.status_code == 200, response.text
            samples.extend([t - sent for t in await asyncio.gather(*waits)])
    await asyncio.gather(*(c.close() for c in conns))
    samples.sort()
    return {
        "subscribers": subscribers,
        "processes": len(servers),
        "events": events,
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1] * 1000, 1),
        "max_ms": round(samples[-1] * 1000, 1),
    }


async def _arrival(conn: Any) -> float:
    await asyncio.wait_for(conn.recv(), 60)  # a lost event fails the run instead of hanging it
    return time.perf_counter()


def token_of(server: Server) -> str:
    response = httpx.post(f"{server.url}/auth/login", json=ADMIN)
    return str(response.json()["data"]["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--auths", type=int, default=2000)
    parser.add_argument("--hold", type=int, default=10000)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    results: dict[str, Any] = {
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "environment": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "uvicorn": uvicorn.__version__,
            "websockets": websockets.version.version,
            "db": "sqlite3",
        },
        "fd_limit": raise_fd_limit(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        one = Server(env_for(Path(tmp))).start()
        try:
            token = token_of(one)
            results["handshakes_per_s"] = round(asyncio.run(handshakes(one, token, args.auths)))
            results["one_process"] = asyncio.run(
                delays([one], token, args.subscribers, args.events)
            )
        finally:
            one.stop()
    results["hold"] = held(args.hold)
    results["two_processes"] = two_processes(args)
    print(json.dumps(results, indent=2))


def held(count: int) -> dict[str, Any]:
    """``hold`` on a fresh server with the heartbeat on: every connection keeps its timer, and
    the period outlasts the run (the idle bench clients would not answer a ping)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = env_for(Path(tmp))
        env.update(WEBSOCKETS_HEARTBEAT_ENABLED="true", WEBSOCKETS_HEARTBEAT_PERIOD="600")
        server = Server(env).start()
        try:
            return asyncio.run(hold(server, token_of(server), count))
        finally:
            server.stop()


def two_processes(args: argparse.Namespace) -> dict[str, Any] | str:
    import redis

    try:
        redis.Redis.from_url(args.redis, socket_timeout=1).flushdb()
    except Exception as error:
        return f"skipped: {error}"
    with tempfile.TemporaryDirectory() as tmp:
        env = env_for(Path(tmp), REDIS=args.redis)
        a = Server(env).start()
        b = Server(env).start(bootstrap=False)
        try:
            token = token_of(a)
            return asyncio.run(delays([a, b], token, args.subscribers, args.events))
        finally:
            a.stop()
            b.stop()


if __name__ == "__main__":
    main()
