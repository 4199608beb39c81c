"""Before and after a change: two checkouts of this server, alternated run by run.

Each checkout serves from its own directory (``manage.py serve``, one process, SQLite and the
in-memory cache unless the environment says otherwise, as ``bench/http_bench.py`` starts it)
with its own database seeded by ``bootstrap`` and ``load_demo``; every workload is warmed up
once per server (3 s), then run with wrk on each server in turn, each round starting with the
other one. Prints a JSON row per run and, per workload and checkout, the medians of the rate,
p50 and p99 and the largest p99.

    git worktree add /tmp/before HEAD~1
    .venv/bin/python bench/ab_http.py --before /tmp/before --after . --rounds 3 \\
        --out bench/results/http-ab-latest.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tests.support.server as serving
from bench.http_bench import key_state, login_state, start_server
from bench.side_by_side import wrk

FILTER = '{"status":{"_eq":"published"}}'
#: name -> (path, token kind: "jwt", "key" or None)
WORKLOADS: dict[str, tuple[str, str | None]] = {
    "ping": ("/server/ping", None),
    "items_jwt": ("/items/articles?limit=10", "jwt"),
    "items_filtered": (
        f"/items/articles?limit=25&sort=-id&filter={quote(FILTER)}&meta=filter_count",
        "jwt",
    ),
    "users_me_static": ("/users/me", "key"),
}


def start(root: Path, stack: contextlib.ExitStack) -> serving.Server:
    """A one-process server of the checkout at ``root`` with the demo data and a database of
    its own, stopped (and its database dropped) when ``stack`` closes."""
    serving.ROOT = root  # manage() and Server.start() run manage.py from ROOT
    server, database = start_server(1)
    stack.push(database.__exit__)  # type: ignore[attr-defined]
    stack.callback(server.stop)
    return server


async def tokens(base: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        return {
            "jwt": (await login_state(client))["access"],
            "key": (await key_state(client))["access"],
        }


def medians(rows: list[dict[str, object]], names: list[str]) -> list[dict[str, object]]:
    """Per workload and variant: medians of rps, p50 and p99, and the largest p99."""
    summary: list[dict[str, object]] = []
    for name in names:
        for variant in ("before", "after"):
            mine = [r for r in rows if r["variant"] == variant and r["workload"] == name]
            if not mine:
                continue
            row: dict[str, object] = {"summary": variant, "workload": name}
            for key in ("rps", "p50_ms", "p99_ms"):
                row[key] = statistics.median(float(r[key]) for r in mine)  # type: ignore[arg-type]
            row["max_p99_ms"] = max(float(r["p99_ms"]) for r in mine)  # type: ignore[arg-type]
            summary.append(row)
    return summary


async def run(args: argparse.Namespace) -> list[dict[str, object]]:
    names = args.workloads.split(",")
    unknown = set(names) - set(WORKLOADS)
    if unknown:
        raise SystemExit(f"unknown workloads: {', '.join(sorted(unknown))}")
    rows: list[dict[str, object]] = []
    with contextlib.ExitStack() as stack:
        servers = {
            variant: start(root.resolve(), stack)
            for variant, root in (("before", args.before), ("after", args.after))
        }
        for server in servers.values():
            held = await tokens(server.url)
            for name in names:
                path, kind = WORKLOADS[name]
                wrk(server.url, path, 3, 50, held.get(kind or ""))
        for round_ in range(args.rounds):
            order = ["before", "after"] if round_ % 2 == 0 else ["after", "before"]
            for name in names:
                path, kind = WORKLOADS[name]
                for variant in order:
                    server = servers[variant]
                    token = (await tokens(server.url)).get(kind or "")  # fresh: JWTs expire
                    result = wrk(server.url, path, args.seconds, 50, token)
                    if result["errors"]:
                        raise SystemExit(f"{variant} {name}: {result['errors']} failed requests")
                    row: dict[str, object] = {"variant": variant, "workload": name}
                    row.update({key: result[key] for key in ("rps", "p50_ms", "p99_ms")})
                    print(json.dumps(row), flush=True)
                    rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the old checkout")
    parser.add_argument("--after", type=Path, required=True, help="the new checkout")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--out", type=Path, help="write the runs and medians here (JSON lines)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/ab_http.py needs wrk (apt-get install wrk)")
    rows = asyncio.run(run(args))
    summary = medians(rows, args.workloads.split(","))
    for row in summary:
        print(json.dumps(row), flush=True)
    if args.out:
        args.out.write_text("".join(json.dumps(row) + "\n" for row in rows + summary))


if __name__ == "__main__":
    main()
