"""HTTP benchmark: requests/s and latency of the auth and read paths, as ratios to /server/ping.

Starts a real server (``manage.py serve``) with the environment's database and Redis settings
(SQLite and memory by default), loads demo data, and drives it from an asyncio client on the
same machine. Every figure is compared with ``GET /server/ping`` measured in the same run, so the
ratios hold on a noisy machine. When ``wrk`` is installed, the read paths are also measured with
it: a C client uses far less of the machine than the Python one, so those figures are closer
to what the server itself can do.

    .venv/bin/python bench/http_bench.py --seconds 5 --workers 1 --out bench/results/latest.json

Two modes measure one comparison only, alternating wrk runs of ``GET /items/articles?limit=10``
with different tokens (``--ab-rounds`` rounds of every token, ``--seconds`` each; the medians and
their ratios to the first-party JWT):

``--only ab`` (or ``--ab-only``)
    a static key against a JWT, at each ``--concurrency`` (default 10 and 50).
``--only external``
    JWTs of a trusted external issuer against the first-party JWT, at 50 connections unless
    ``--concurrency`` says otherwise. The benchmark serves a JWKS itself (``/jwks`` on
    127.0.0.1, from a thread: one RSA key for RS256, one P-256 key for ES256), starts the server
    with ``TRUSTED_ISSUERS=bench`` pointing at it and a rule giving every token of that issuer
    the Administrator role (the role of the admin whose JWT is the reference), mints one token
    per algorithm and checks that each token reads the items before timing. It also times
    ``jwt.decode`` of both tokens with the key in hand (``decode_us``), the signature check a
    cached key leaves.

    .venv/bin/python bench/http_bench.py --only external --seconds 5 --ab-rounds 3 \\
        --out bench/results/external-latest.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import timeit
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.server import Server, base_env, manage, postgres_database  # noqa: E402

ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}
ITEMS = "/items/articles?limit=10"
ISSUER = "https://issuer.bench.test"
AUDIENCE = "https://api.bench.test"
#: Every proxy setting ``core.outbound`` reads: the server reaches the JWKS directly.
PROXY_VARIABLES = tuple(
    name
    for base in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
    for name in (base, base.lower(), f"GLOBAL_AGENT_{base}")
)
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
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
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


async def alternate(
    base: str,
    label: str,
    path: str,
    tokens: dict[str, str],
    seconds: float,
    concurrencies: list[int],
    rounds: int,
) -> list[dict[str, object]]:
    """``GET path`` with each of the named ``tokens`` in turn, ``rounds`` times per concurrency,
    with wrk; per token its rates (``<name>_rps``) and their median (``<name>_median``), and the
    ratio of each median to the first token's (``<name>_to_<first>``). Alternating (each round
    starting with the next token) spreads the machine's drift over every token, which one run of
    each does not. A run with any non-2xx
    answer stops the benchmark: its rate would not be the rate of the request."""
    reference = next(iter(tokens))
    rows: list[dict[str, object]] = []
    for concurrency in concurrencies:
        rates: dict[str, list[float]] = {name: [] for name in tokens}
        names = list(tokens)
        for round_ in range(rounds):
            # Each round starts with the next token, so no token always runs first.
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                token = tokens[name]
                result = await wrk_drive(base, name, path, token, concurrency, seconds)
                if result.errors:
                    raise SystemExit(
                        f"{label}: {result.errors} of {result.requests} answers with the "
                        f"{name} token were not 2xx (c={concurrency})"
                    )
                rates[name].append(result.rps)
        row: dict[str, object] = {"concurrency": concurrency, "rounds": rounds}
        row.update({f"{name}_rps": rates[name] for name in tokens})
        medians = {name: statistics.median(rates[name]) for name in tokens}
        row.update({f"{name}_median": medians[name] for name in tokens})
        for name in list(tokens)[1:]:
            row[f"{name}_to_{reference}"] = round(medians[name] / medians[reference], 3)
        print(json.dumps({"client": "wrk", label: row}), flush=True)
        rows.append(row)
    return rows


async def key_vs_jwt(
    base: str, seconds: float, concurrencies: list[int], rounds: int
) -> list[dict[str, object]]:
    """The items read with a JWT and with a static key, alternated (ratio ``key_to_jwt``)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        tokens = {
            "jwt": (await login_state(client))["access"],
            "key": (await key_state(client))["access"],
        }
    return await alternate(base, "key_vs_jwt", ITEMS, tokens, seconds, concurrencies, rounds)


PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class JwksServer:
    """A trusted issuer's JWKS, served from a thread of this process at
    ``http://127.0.0.1:<port>/jwks``: one RSA key (RS256) and one P-256 key (ES256), public
    halves only. :meth:`token` mints a token with the private half.

        with JwksServer() as issuer:
            env = issuer.env(role_id)
            token = issuer.token("ES256")
    """

    def __init__(self) -> None:
        self.private: dict[str, PrivateKey] = {
            "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ES256": ec.generate_private_key(ec.SECP256R1()),
        }
        self.jwks = {"keys": [self.public_jwk(alg) for alg in self.private]}
        body = json.dumps(self.jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"

    @staticmethod
    def kid(alg: str) -> str:
        return f"bench-{alg.lower()}"

    def public_jwk(self, alg: str) -> dict[str, Any]:
        key = self.private[alg]
        if isinstance(key, rsa.RSAPrivateKey):
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        else:
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid(alg), "alg": alg, "use": "sig"}

    def env(self, role_id: uuid.UUID) -> dict[str, str]:
        """The server's variables that trust this issuer, every token acting with ``role_id``."""
        return {
            "TRUSTED_ISSUERS": "bench",
            "TRUSTED_ISSUER_BENCH_ISSUER": ISSUER,
            "TRUSTED_ISSUER_BENCH_AUDIENCE": AUDIENCE,
            "TRUSTED_ISSUER_BENCH_JWKS_URL": self.url,
            "TRUSTED_ISSUER_BENCH_RULES": "json:" + json.dumps([{"role": str(role_id)}]),
        }

    def token(self, alg: str) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "bench-client",
            "iat": now,
            "exp": now + 3600,
            "scope": "bench#read",
        }
        return jwt.encode(claims, self.private[alg], algorithm=alg, headers={"kid": self.kid(alg)})

    def decode_us(self, alg: str, token: str, number: int = 2000) -> float:
        """µs per ``jwt.decode`` of ``token`` with its public key already parsed, as the server
        verifies with a cached key (same checks as ``tokens.external.verify``); best of 5."""
        key = jwt.PyJWK(self.public_jwk(alg)).key

        def decode() -> None:
            jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=[AUDIENCE],
                issuer=ISSUER,
                leeway=30,
                options={"require": ["exp", "iss", "aud"]},
            )

        return round(min(timeit.repeat(decode, number=number, repeat=5)) / number * 1e6, 1)


async def expect_reads(base: str, tokens: dict[str, str]) -> None:
    """Each token reads the items (200, the same rows) once before timing; stop otherwise."""
    bodies: dict[str, object] = {}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for name, token in tokens.items():
            response = await client.get(ITEMS, headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 200:
                raise SystemExit(
                    f"GET {ITEMS} with the {name} token answered {response.status_code}: "
                    f"{response.text[:500]}"
                )
            bodies[name] = response.json()["data"]
    if len({json.dumps(body, sort_keys=True) for body in bodies.values()}) != 1:
        raise SystemExit(f"the tokens do not read the same items: {sorted(bodies)}")


async def external_vs_jwt(
    base: str, issuer: JwksServer, seconds: float, concurrencies: list[int], rounds: int
) -> dict[str, object]:
    """The items read with the admin's first-party JWT and with the external issuer's RS256 and
    ES256 tokens (ratios ``external_rs256_to_jwt``, ``external_es256_to_jwt``)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        tokens = {"jwt": (await login_state(client))["access"]}
    for alg in issuer.private:
        tokens[f"external_{alg.lower()}"] = issuer.token(alg)
    await expect_reads(base, tokens)
    decode = {
        alg: issuer.decode_us(alg, tokens[f"external_{alg.lower()}"]) for alg in issuer.private
    }
    print(json.dumps({"decode_us": decode}), flush=True)
    rows = await alternate(base, "external_vs_jwt", ITEMS, tokens, seconds, concurrencies, rounds)
    return {"external_vs_jwt_wrk": rows, "decode_us": decode}


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


def start_server(
    workers: int, configure: Callable[[dict[str, str]], dict[str, str]] | None = None
) -> tuple[Server, object]:
    """A bootstrapped server with the demo data; ``configure`` (given the environment once the
    database is ready) returns the environment to serve with."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    overrides = {"RATE_LIMITER_LOGIN_ENABLED": "false", "LOG_LEVEL": "error"}
    context = postgres_database(base_env(tmp, **overrides))
    env = context.__enter__()
    for command in (["bootstrap"], ["load_demo", "--count", "200"]):
        result = manage(env, *command)
        if result.returncode != 0:
            raise SystemExit(result.stderr)
    if configure:
        env = configure(env)
    server = Server(env).start("--workers", str(workers), bootstrap=False)
    return server, context


def administrator_role_id(env: dict[str, str]) -> uuid.UUID:
    """The id of the role ``bootstrap`` gave the admin (``accounts.bootstrap``)."""
    code = "from accounts.bootstrap import administrator_role; print(administrator_role().pk)"
    result = manage(env, "shell", "-c", code)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return uuid.UUID(result.stdout.split()[-1])


def trusting(issuer: JwksServer, env: dict[str, str]) -> dict[str, str]:
    """``env`` trusting ``issuer`` with the admin's role, without any proxy setting."""
    direct = {name: value for name, value in env.items() if name not in PROXY_VARIABLES}
    return {**direct, **issuer.env(administrator_role_id(env))}


def cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--concurrency", default=None, help="comma-separated (default 10,50; external: 50)"
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--ab-rounds", type=int, default=5, help="alternated wrk rounds of the token comparisons"
    )
    parser.add_argument(
        "--only",
        choices=("ab", "external"),
        default=None,
        help="only one comparison: ab (static key vs JWT) or external (external JWTs vs JWT)",
    )
    parser.add_argument(
        "--ab-only", action="store_const", const="ab", dest="only", help="same as --only ab"
    )
    args = parser.parse_args()
    external = args.only == "external"
    if external and not (shutil.which("wrk") and args.ab_rounds > 0):
        raise SystemExit("--only external needs wrk (apt-get install wrk) and --ab-rounds >= 1")
    concurrencies = [
        int(c) for c in (args.concurrency or ("50" if external else "10,50")).split(",")
    ]
    issuer = JwksServer() if external else None
    with issuer or contextlib.nullcontext():
        configure = (lambda env: trusting(issuer, env)) if issuer else None
        server, context = start_server(args.workers, configure)
        try:
            if issuer:
                report = asyncio.run(
                    external_vs_jwt(server.url, issuer, args.seconds, concurrencies, args.ab_rounds)
                )
            else:
                report = asyncio.run(
                    run(server.url, args.seconds, concurrencies, args.ab_rounds, args.only == "ab")
                )
        finally:
            server.stop()
            context.__exit__(None, None, None)  # type: ignore[attr-defined]
    report["environment"] = {
        "mode": args.only or "all",
        "db": os.environ.get("DB_CLIENT", "sqlite3"),
        "redis": bool(os.environ.get("REDIS")),
        "workers": args.workers,
        "seconds": args.seconds,
        "concurrency": concurrencies,
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
