"""The helper thread that writes parts and follows the end-of-day book: work in order, failures raised in
the caller's thread, nothing run after one."""

from __future__ import annotations

import threading

import pytest

from arb.recording.npz import Worker


def test_items_are_worked_in_order_on_another_thread() -> None:
    seen: list[tuple[int, str]] = []
    worker = Worker(lambda k, text: seen.append((k, threading.current_thread().name)), "test-worker", waiting=2)
    for k in range(5):
        worker.put(k, "x")
    worker.close()
    assert [k for k, _ in seen] == [0, 1, 2, 3, 4]
    assert {name for _, name in seen} == {"test-worker"}


def test_a_failure_is_raised_by_the_next_put_or_close_and_stops_the_work() -> None:
    done: list[int] = []
    failed = threading.Event()

    def work(k: int) -> None:
        if k == 1:
            failed.set()
            raise ValueError("disk full")
        done.append(k)

    worker = Worker(work, "test-worker")
    worker.put(0)
    worker.put(1)
    assert failed.wait(timeout=30)
    with pytest.raises(ValueError, match="disk full"):
        worker.close()
    assert done == [0]
