"""The CPU accounting of ``bench/cpu_per_request.py``, against this machine's own ``/proc``."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.cpu_per_request import machine_busy_seconds, tree_cpu_seconds


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_tree_cpu_counts_the_process_and_its_children() -> None:
    spinner = (
        "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\n"
        "print('spun', flush=True)\ntime.sleep(30)\n"
    )
    before = tree_cpu_seconds(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", spinner], stdout=subprocess.PIPE, text=True)
    try:
        _spin(0.3)
        assert child.stdout is not None
        assert child.stdout.readline() == "spun\n"
        used = tree_cpu_seconds(os.getpid()) - before  # the child is alive, sleeping
    finally:
        child.kill()
        child.wait()
    # This process's 0.3 s and the child's 0.5 s, counted in clock ticks (10 ms each).
    assert 0.75 <= used < 5


def test_machine_busy_is_a_share_of_all_cpus() -> None:
    busy, every = machine_busy_seconds()
    _spin(0.3)
    busy_after, every_after = machine_busy_seconds()
    assert 0 < busy_after - busy <= every_after - every
    assert every_after - every >= 0.3
