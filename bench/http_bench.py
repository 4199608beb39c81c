"""HTTP benchmark: requests/s and latency of the auth and read paths, as ratios to /server/ping.

Starts a real server (``manage.py serve``) with the environment's database and Redis settings
(SQLite and memory by default), loads demo data, and drives it from an asyncio client on the
same machine. Every figure is compared with ``GET /server/ping`` measured in the same run, so the
ratios hold on a noisy machine. When ``wrk`` is installed, the read paths are also measured with
it: a C client uses far less of the machine than the Python one, so those figures are closer
to what the server itself can do.

    .venv/bin/python bench/http_bench.py --seconds 5 --workers 1 --out bench/results/latest.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.server import Server, base_env, manage, postgres_database  # noqa: E402

ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}
Request = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[httpx.Response]]
Setup = Callable[[httpx.AsyncClient], Awaitable[dict[str, str]]]


@dataclass
class Result:
    name: str
    concurrency: int
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    ratio_to_ping: float = 0.0


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def drive(
    base: str,
    name: str,
    request: Request,
    concurrency: int,
    seconds: float,
    setup: Callable[[httpx.AsyncClient], Awaitable[dict[str, str]]] | None = None,
) -> Result:
    """``concurrency`` workers send ``request`` back to back for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        states = [await setup(client) if setup else {} for _ in range(concurrency)]
        deadline = time.perf_counter() + seconds

        async def worker(state: dict[str, str]) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await request(client, state)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code >= 400:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker(state) for state in states))
        elapsed = time.perf_counter() - began
    return Result(
        name=name,
        concurrency=concurrency,
        requests=len(latencies),
        errors=errors,
        rps=round(len(latencies) / elapsed, 1),
        p50_ms=round(statistics.median(latencies), 2) if latencies else 0.0,
        p99_ms=round(percentile(latencies, 0.99), 2),
    )


async def login_state(client: httpx.AsyncClient) -> dict[str, str]:
    data = (await client.post("/auth/login", json=ADMIN)).json()["data"]
    return {"access": data["access_token"], "refresh": data["refresh_token"]}


async def key_state(client: httpx.AsyncClient) -> dict[str, str]:
    """A static API key (``POST /keys``) in place of the access token."""
    token = (await login_state(client))["access"]
    response = await client.post(
        "/keys", json={"name": "bench"}, headers={"Authorization": f"Bearer {token}"}
    )
    return {"access": response.json()["data"]["secret"]}


async def ping(client: httpx.AsyncClient, state: dict[str, str]) -> httpx.Response:
    return await client.get("/server/ping")


async def do_login(client: httpx.AsyncClient, state: dict[str, str]) -> httpx.Response:
    return await client.post("/auth/login", json=ADMIN)


async def do_refresh(client: httpx.AsyncClient, state: dict[str, str]) -> httpx.Response:
    response = await client.post("/auth/refresh", json={"refresh_token": state["refresh"]})
    if response.status_code == 200:
        state["refresh"] = response.json()["data"]["refresh_token"]
    return response


def bearer_get(path: str) -> Request:
    async def get(client: httpx.AsyncClient, state: dict[str, str]) -> httpx.Response:
        return await client.get(path, headers={"Authorization": f"Bearer {state['access']}"})

    return get


async def reads_under_logins(base: str, seconds: float) -> dict[str, float]:
    """p99 of authenticated reads alone, then while 20 logins run at once."""
    read = bearer_get("/items/articles?limit=10")
    alone = await drive(base, "read alone", read, 10, seconds, login_state)

    async def logins() -> Result:
        return await drive(base, "logins", do_login, 20, seconds)

    together, _ = await asyncio.gather(
        drive(base, "read with 20 logins", read, 10, seconds, login_state), logins()
    )
    return {
        "p99_alone_ms": alone.p99_ms,
        "p99_with_logins_ms": together.p99_ms,
        "ratio": round(together.p99_ms / alone.p99_ms, 2) if alone.p99_ms else 0.0,
    }


SCENARIOS: list[tuple[str, Request, Setup | None]] = [
    ("GET /server/ping", ping, None),
    ("POST /auth/login", do_login, None),
    ("POST /auth/refresh", do_refresh, login_state),
    ("GET /users/me", bearer_get("/users/me"), login_state),
    ("GET /items/articles?limit=10 (JWT)", bearer_get("/items/articles?limit=10"), login_state),
    (
        "GET /items/articles?limit=10 (static key)",
        bearer_get("/items/articles?limit=10"),
        key_state,
    ),
]


READS = [
    ("GET /server/ping", "/server/ping", None),
    ("GET /users/me", "/users/me", login_state),
    ("GET /items/articles?limit=10 (JWT)", "/items/articles?limit=10", login_state),
    ("GET /items/articles?limit=10 (static key)", "/items/articles?limit=10", key_state),
]


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)


async def wrk_drive(
    base: str, name: str, path: str, token: str | None, concurrency: int, seconds: float
) -> Result:
    """One read scenario driven by ``wrk`` (one thread, ``concurrency`` connections)."""
    header = ["-H", f"Authorization: Bearer {token}"] if token else []
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{concurrency}", f"-d{int(seconds)}s", "--latency", *header,
        f"{base}{path}", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out = (await process.communicate())[0].decode()
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Result(
        name, concurrency, total, int(errors.group(1)) if errors else 0, rps,
        _ms(percentiles["50"]), _ms(percentiles["99"]),
    )  # fmt: skip


async def run_wrk(base: str, seconds: float, concurrencies: list[int]) -> list[Result]:
    results: list[Result] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        tokens = {setup: (await setup(client))["access"] for setup in (login_state, key_state)}
    for concurrency in concurrencies:
        baseline = None
        for name, path, setup in READS:
            token = tokens[setup] if setup else None
            result = await wrk_drive(base, name, path, token, concurrency, seconds)
            baseline = baseline or result.rps
            result.ratio_to_ping = round(result.rps / baseline, 3)
            results.append(result)
            print(json.dumps({"client": "wrk", **asdict(result)}), flush=True)
    return results


async def key_vs_jwt(
    base: str, seconds: float, concurrencies: list[int], rounds: int
) -> list[dict[str, object]]:
    """The items read with a static key and with a JWT, alternated ``rounds`` times per
    concurrency with wrk; the medians and their ratio (key / JWT). Alternating spreads the
    machine's drift over both, which one run of each does not."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        jwt = (await login_state(client))["access"]
        key = (await key_state(client))["access"]
    path = "/items/articles?limit=10"
    rows: list[dict[str, object]] = []
    for concurrency in concurrencies:
        rates: dict[str, list[float]] = {"jwt": [], "key": []}
        for _ in range(rounds):
            for kind, token in (("jwt", jwt), ("key", key)):
                result = await wrk_drive(base, kind, path, token, concurrency, seconds)
                rates[kind].append(result.rps)
        row: dict[str, object] = {
            "concurrency": concurrency,
            "rounds": rounds,
            "jwt_rps": rates["jwt"],
            "key_rps": rates["key"],
            "jwt_median": statistics.median(rates["jwt"]),
            "key_median": statistics.median(rates["key"]),
        }
        row["key_to_jwt"] = round(
            statistics.median(rates["key"]) / statistics.median(rates["jwt"]), 3
        )
        print(json.dumps({"client": "wrk", "key_vs_jwt": row}), flush=True)
        rows.append(row)
    return rows


async def run(
    base: str, seconds: float, concurrencies: list[int], ab_rounds: int, ab_only: bool
) -> dict[str, object]:
    report: dict[str, object] = {}
    if shutil.which("wrk") and ab_rounds:
        report["key_vs_jwt_wrk"] = await key_vs_jwt(base, seconds, concurrencies, ab_rounds)
    if ab_only:
        return report
    if shutil.which("wrk"):
        report["reads_wrk"] = [asdict(r) for r in await run_wrk(base, seconds, concurrencies)]
    results: list[Result] = []
    for concurrency in concurrencies:
        baseline = None
        for name, request, setup in SCENARIOS:
            result = await drive(base, name, request, concurrency, seconds, setup)
            baseline = baseline or result.rps
            result.ratio_to_ping = round(result.rps / baseline, 3)
            results.append(result)
            print(json.dumps(asdict(result)), flush=True)
    contention = await reads_under_logins(base, seconds)
    print(json.dumps(contention), flush=True)
    return {**report, "results": [asdict(r) for r in results], "reads_under_logins": contention}


def start_server(workers: int) -> tuple[Server, object]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    overrides = {"RATE_LIMITER_LOGIN_ENABLED": "false", "LOG_LEVEL": "error"}
    context = postgres_database(base_env(tmp, **overrides))
    env = context.__enter__()
    for command in (["bootstrap"], ["load_demo", "--count", "200"]):
        result = manage(env, *command)
        if result.returncode != 0:
            raise SystemExit(result.stderr)
    server = Server(env).start("--workers", str(workers), bootstrap=False)
    return server, context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", default="10,50")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--ab-rounds", type=int, default=5, help="alternated wrk rounds, static key vs JWT"
    )
    parser.add_argument("--ab-only", action="store_true", help="only the key/JWT comparison")
    args = parser.parse_args()
    server, context = start_server(args.workers)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    try:
        report = asyncio.run(
            run(server.url, args.seconds, concurrencies, args.ab_rounds, args.ab_only)
        )
    finally:
        server.stop()
        context.__exit__(None, None, None)  # type: ignore[attr-defined]
    report["environment"] = {
        "db": os.environ.get("DB_CLIENT", "sqlite3"),
        "redis": bool(os.environ.get("REDIS")),
        "workers": args.workers,
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
