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


def _queued(turnstile: slots.Turnstile, count: int) -> None:
    """Wait until ``count`` threads wait on ``turnstile``."""
    deadline = time.monotonic() + 5
    while len(turnstile._waiters) < count:
        assert time.monotonic() < deadline, "the waiters did not queue"
        time.sleep(0.001)


def test_waiters_are_served_in_the_order_they_came() -> None:
    turnstile = slots.Turnstile(1)
    turnstile.acquire()
    order: list[int] = []

    def waiter(number: int) -> None:
        turnstile.acquire()
        order.append(number)
        turnstile.release()

    threads = []
    for number in range(8):
        thread = threading.Thread(target=waiter, args=(number,))
        thread.start()
        threads.append(thread)
        _queued(turnstile, number + 1)  # each queues before the next starts
    turnstile.release()
    for thread in threads:
        thread.join(timeout=5)
    assert order == list(range(8))


def test_a_newcomer_does_not_take_a_slot_handed_to_a_waiter() -> None:
    held = [slots._slots.acquire() for _ in range(slots.SLOTS)]
    served = threading.Event()

    def waiter() -> None:
        slots._slots.acquire()
        served.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    _queued(slots._slots, 1)
    slots._slots.release()  # handed to the waiter, not freed
    assert not slots._slots.acquire(blocking=False)  # the newcomer finds no free slot
    assert served.wait(timeout=5)
    thread.join(timeout=5)
    slots._slots.release()  # the waiter's
    for _ in held[1:]:
        slots._slots.release()
    assert slots._slots._free == slots.SLOTS
