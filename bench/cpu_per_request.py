"""CPU time each server spends per request of a workload, side by side with Directus.

    .venv/bin/python bench/cpu_per_request.py --db pg --workloads refresh,items_jwt
    .venv/bin/python bench/cpu_per_request.py --db pg --workloads items_jwt --production
    .venv/bin/python bench/cpu_per_request.py --db sqlite --workloads ws_handshakes

Both servers run as in ``bench/side_by_side.py`` (same seed, same wrk load); around each wrk
run the user + system CPU time of the server's process tree is read from ``/proc``. A server
whose CPU milliseconds per request times its rate is near 1,000 is bound by one CPU (for us:
the interpreter lock), not by the database. ``machine_busy`` is the share of all CPUs in use
(``/proc/stat``: servers, wrk, PostgreSQL, Redis together). ``--production`` compares our one
process with two workers and Redis instead of Directus. One JSON line per run; ratios only
within a run.

``ws_handshakes`` is the side-by-side socket workload (connect, ``auth`` with a JWT, ``ok``,
close; 50 at once, ``--handshakes`` of them) driven by this process's ``websockets`` client, so
its row also gives the client's CPU per handshake (``client_cpu_ms_per_request``): the client
shares the machine's CPUs with the server it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.side_by_side import (
    HTTP_WORKLOADS,
    READER,
    Database,
    Directus,
    Ours,
    ensure_directus,
    handshakes,
    login,
    prepared,
    running,
)

SOCKET_WORKLOADS = ("ws_handshakes",)

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    # Fields after the command name, which may hold spaces: state is [0], ppid [1].
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of ``root`` and its live descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for pid in tree:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, all) CPU seconds of the machine since boot, summed over its CPUs."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / TICKS, sum(fields) / TICKS


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this process (the socket client)."""
    times = os.times()
    return times.user + times.system


@contextlib.contextmanager
def workload_run(
    workload: str, url: str, connections: int, total_handshakes: int
) -> Iterator[Callable[[int], dict[str, Any]]]:
    """``run(seconds)`` of ``workload``, prepared (its tokens) outside the measured part. A
    socket workload runs its ``total_handshakes`` whatever the seconds."""
    if workload in SOCKET_WORKLOADS:
        token = login(url, READER)["access"]

        def run(_seconds: int) -> dict[str, Any]:
            result = asyncio.run(handshakes(url, token, total_handshakes, connections))
            return result | {"served": total_handshakes}

        yield run
        return
    with prepared(workload, url, connections) as http_run:
        yield http_run


def server_pid(server: Directus | Ours) -> int:
    if isinstance(server, Ours):
        return server.pid
    assert server.process is not None
    return server.process.pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "pg"), default="pg")
    parser.add_argument("--workloads", default="refresh,items_jwt")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--handshakes", type=int, default=4000)
    parser.add_argument("--directus-version", default="12.4.0")
    parser.add_argument("--production", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(workloads) - set(HTTP_WORKLOADS) - set(SOCKET_WORKLOADS)
    if unknown:
        raise SystemExit(f"unknown workloads: {sorted(unknown)}")
    tmp = Path(tempfile.mkdtemp(prefix="cpu-"))
    db = Database(args.db, tmp)
    try:
        servers: dict[str, Directus | Ours] = (
            {"one_process": Ours(db), "production": Ours(db, args.workers, args.redis)}
            if args.production
            else {
                "directus": Directus(ensure_directus(args.directus_version), db),
                "ours": Ours(db),
            }
        )
        with running(*servers.values()):
            for n in range(args.rounds):
                for workload in workloads:
                    for name, server in servers.items():
                        pid = server_pid(server)
                        with workload_run(
                            workload, server.url, args.concurrency, args.handshakes
                        ) as run:
                            before, (busy, every) = tree_cpu_seconds(pid), machine_busy_seconds()
                            client_before, started = own_cpu_seconds(), time.perf_counter()
                            result = run(args.seconds)
                            seconds = time.perf_counter() - started
                            used = tree_cpu_seconds(pid) - before
                            client = own_cpu_seconds() - client_before
                            busy_after, every_after = machine_busy_seconds()
                        served = result.get("served", result["rps"] * args.seconds)
                        per_request = round(1000 * used / served, 3) if served else None
                        row = {
                            "db": args.db, "round": n, "workload": workload, "server": name,
                            "rps": result["rps"], "cpu_s": round(used, 2),
                            "cpu_ms_per_request": per_request,
                            "cpu_share": round(used / seconds, 2),
                            "machine_busy": round((busy_after - busy) / (every_after - every), 2),
                        }  # fmt: skip
                        if workload in SOCKET_WORKLOADS:
                            row["client_cpu_ms_per_request"] = round(1000 * client / served, 3)
                            row["client_cpu_share"] = round(client / seconds, 2)
                        print(json.dumps(row), flush=True)
    finally:
        if args.db == "pg":
            db.drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
