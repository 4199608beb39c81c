"""The side-by-side benchmark's own logic: reading wrk, the refresh script, the report.

The benchmark itself (both servers under load) runs from ``bin/bench``, never in the suite."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("side_by_side", ROOT / "bench/side_by_side.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["side_by_side"] = module
    spec.loader.exec_module(module)
    return module


sbs = load()

WRK_OUT = """Running 10s test @ http://127.0.0.1:8055/items/articles?limit=10
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   228.10ms   80.75ms   1.20s    90.12%
    Req/Sec   221.10     40.01   300.00     70.00%
  Latency Distribution
     50%  210.33ms
     75%  250.00ms
     90%    1.02s|
     99%    1.20s|
  2211 requests in 10.01s, 9.71MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:    220.88
Transfer/sec:      0.97MB
""".replace("|\n", " \n")  # wrk pads seconds with a trailing space


def test_wrk_output_is_read_with_its_units_and_errors() -> None:
    assert sbs.parse_wrk(WRK_OUT) == {
        "rps": 220.88,
        "p50_ms": 210.33,
        "p99_ms": 1200.0,
        "requests": 2211,
        "errors": 9,
    }


def test_wrk_output_without_latencies_is_an_error_naming_the_command() -> None:
    with pytest.raises(RuntimeError, match="wrk -c50"):
        sbs.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n", "wrk -c50")


class Rotating(BaseHTTPRequestHandler):
    """``POST /auth/refresh`` that takes each token once and hands out the next one."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the servers measured
    used: ClassVar[set[str]] = set()
    reused: ClassVar[int] = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        token = body["refresh_token"]
        with self.lock:
            fresh = token not in type(self).used and token != "exhausted"
            type(self).used.add(token)
            if not fresh:
                type(self).reused += 1
        data = json.dumps({"data": {"refresh_token": uuid.uuid4().hex, "expires": 900}})
        self.send_response(200 if fresh else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.skipif(not shutil.which("wrk"), reason="wrk is not installed (apt-get install wrk)")
def test_refresh_script_sends_each_token_once(tmp_path: Path) -> None:
    """wrk's Lua takes a token from the pool per request and puts the rotated one back."""
    pool = tmp_path / "pool"
    pool.write_text("\n".join(f"seed-{n}" for n in range(20)) + "\n")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Rotating)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        result = sbs.wrk(url, "/auth/refresh", 1, 5, script=sbs.LUA_REFRESH % pool)
    finally:
        httpd.shutdown()
    assert result["requests"] > 20  # the seeds alone would run out
    assert result["errors"] == 0
    assert Rotating.reused == 0
    # wrk's main Lua state runs request() once to check the script and sends nothing: the
    # thread's state starts at the second seed at the latest.
    assert len({f"seed-{n}" for n in range(20)} - Rotating.used) <= 1


def run(server: str, workload: str, n: int, rps: float, p99: float = 10.0) -> dict[str, Any]:
    return {"server": server, "workload": workload, "round": n, "rps": rps, "p50_ms": 1.0,
            "p99_ms": p99, "requests": int(rps * 10), "errors": 0}  # fmt: skip


def report() -> dict[str, Any]:
    http = [
        run("directus", "ping", 0, 1000), run("ours", "ping", 0, 400),
        run("directus", "ping", 1, 1200), run("ours", "ping", 1, 600),
        run("directus", "ping", 2, 1100), run("ours", "ping", 2, 9000),
        run("directus", "items_jwt", 0, 100, 300), run("ours", "items_jwt", 0, 310, 90),
    ]  # fmt: skip
    sockets = [
        {"server": s, "round": 0, "handshakes": {"rps": rps, "handshakes": 10},
         "fan_out": {"subscribers": 1000, "events": 2, "p50_ms": p50, "p99_ms": p99}}
        for s, rps, p50, p99 in (("directus", 1000.0, 100.0, 200.0), ("ours", 800.0, 20.0, 40.0))
    ]  # fmt: skip
    contention = {
        "directus": {"alone_p99_ms": 100.0, "with_signins_p99_ms": 0.0, "alone_rps": 50.0,
                     "with_signins_rps": 0.0, "signins": 20},
        "ours": {"alone_p99_ms": 100.0, "with_signins_p99_ms": 150.0, "alone_rps": 50.0,
                 "with_signins_rps": 40.0, "signins": 30},
    }  # fmt: skip
    shape = [run("one_process", w, 0, 100) for w in sbs.READS] + [
        run("production", w, 0, 190) for w in sbs.READS
    ]
    return {
        "environment": {"cpus": 2},
        "databases": {
            "sqlite": {"http": http, "sockets": sockets, "reads_under_signins": contention,
                       "production_shape": []},
            "pg": {"http": http[:2], "sockets": [], "reads_under_signins": {},
                   "production_shape": shape},
        },
    }  # fmt: skip


def test_table_shows_medians_and_ratios() -> None:
    table = sbs.render(report())
    # ping: medians 1100 and 600 (the 9000 outlier does not move a median of three)
    assert "| `GET /server/ping` | 1,100 (10) | 600 (10) | **0.55** |" in table
    assert "| `GET /items/articles?limit=10`, JWT | 100 (300) | 310 (90) | **3.10** |" in table
    assert "handshakes/s | 1,000 | 800 | **0.80** |" in table
    assert "| 100 / 200 | 20 / 40 | **5.00** (p99, Directus / ours) |" in table
    assert "- directus: 100 alone, no read answered while 20 sign-ins ran" in table
    assert "- ours: 100 alone, 150 with 30 sign-ins (1.50x)" in table
    assert table.count("| **1.90** |") == 3  # the production shape, per read


def test_plot_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "plot.png"
    sbs.plot(report(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_profile_summary_counts_self_and_inclusive_samples(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(
        "main (app.py:1);handle (app.py:5);render (json.py:9) 30\n"
        "main (app.py:1);handle (app.py:5) 10\n"
        "main (app.py:1);auth (auth.py:2) 60\n"
    )
    lines = sbs.top_frames(raw).splitlines()
    assert lines[0] == "100 samples"
    rows = {line.split()[-1]: line.split()[:2] for line in lines[3:]}
    assert rows["main"] == ["100.0", "0.0"]
    assert rows["auth"] == ["60.0", "60.0"]
    assert rows["handle"] == ["40.0", "10.0"]
    assert rows["render"] == ["30.0", "30.0"]
