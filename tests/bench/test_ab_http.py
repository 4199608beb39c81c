"""``bench/ab_http.py``: two checkouts alternated, their runs and medians."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.ab_http import medians

ROOT = Path(__file__).resolve().parents[2]


def test_medians_per_workload_and_variant() -> None:
    rows: list[dict[str, object]] = [
        {"variant": v, "workload": "ping", "rps": r, "p50_ms": 1.0, "p99_ms": p}
        for v, r, p in [("before", 10, 5), ("before", 30, 9), ("before", 20, 7), ("after", 40, 2)]
    ]
    before, after = medians(rows, ["ping"])
    assert before == {
        "summary": "before", "workload": "ping", "rps": 20.0, "p50_ms": 1.0, "p99_ms": 7.0,
        "max_p99_ms": 9.0,
    }  # fmt: skip
    assert after["rps"] == 40.0
    assert after["summary"] == "after"


@pytest.mark.skipif(not shutil.which("wrk"), reason="needs wrk")
def test_one_round_against_this_checkout_twice(tmp_path: Path) -> None:
    out = tmp_path / "ab.jsonl"
    result = subprocess.run(
        [sys.executable, "bench/ab_http.py", "--before", ".", "--after", ".", "--rounds", "1",
         "--seconds", "1", "--workloads", "ping,users_me_static", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    runs = [row for row in rows if "variant" in row]
    assert sorted((r["variant"], r["workload"]) for r in runs) == [
        ("after", "ping"), ("after", "users_me_static"),
        ("before", "ping"), ("before", "users_me_static"),
    ]  # fmt: skip
    assert all(r["rps"] > 0 for r in runs)
    assert len([row for row in rows if "summary" in row]) == 4
