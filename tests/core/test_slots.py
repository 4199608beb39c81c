"""Request slots: a bounded number of requests run at once; waits give their slot back."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from core import slots


def test_no_more_than_slots_requests_run_at_once() -> None:
    running = 0
    most = 0
    lock = threading.Lock()

    def request() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    with ThreadPoolExecutor(max_workers=slots.SLOTS * 3) as pool:
        for future in [pool.submit(slots.in_slot, request) for _ in range(slots.SLOTS * 6)]:
            future.result(timeout=10)
    assert most == slots.SLOTS


def test_a_wait_gives_its_slot_back() -> None:
    """SLOTS requests waiting (a sign-in stall) leave room for another request to run."""
    waiting = threading.Barrier(slots.SLOTS + 1)
    done = threading.Event()

    def signin() -> None:
        with slots.released():
            waiting.wait(timeout=5)
            done.wait(timeout=5)

    with ThreadPoolExecutor(max_workers=slots.SLOTS + 1) as pool:
        signins = [pool.submit(slots.in_slot, signin) for _ in range(slots.SLOTS)]
        waiting.wait(timeout=5)  # every slot holder is inside its wait
        read = pool.submit(slots.in_slot, lambda: "read")
        assert read.result(timeout=2) == "read"
        done.set()
        for future in signins:
            future.result(timeout=5)


def test_nested_and_outside_calls_do_not_take_a_second_slot() -> None:
    assert slots.in_slot(slots.in_slot, lambda: 1) == 1
    with slots.released():  # not holding one: nothing to give back
        pass
    assert slots._slots.acquire(blocking=False)  # the slots taken were given back
    slots._slots.release()
