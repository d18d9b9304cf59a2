"""The hub between a trading loop and its watchers: numbered, bounded, resumable without duplicates."""

from __future__ import annotations

import threading

from arb.ops.snapshot import OpsEvent, OpsHub, Snapshot


def _snapshot(ts: int) -> Snapshot:
    return Snapshot(mode="dry-run", symbol="BTCUSDT", quote_currency="USDT", ts_ns=ts, wall_ns=ts, feeds=())


def test_readers_resume_after_the_last_id_they_saw() -> None:
    hub = OpsHub()
    ids = [hub.emit(OpsEvent("fill", ts)) for ts in (10, 20, 30)]
    assert ids == [1, 2, 3]
    assert [e.ts_ns for _, e in hub.events_since(0)] == [10, 20, 30]
    assert [e.ts_ns for _, e in hub.events_since(2)] == [30]
    assert hub.events_since(3) == []


def test_a_full_ring_drops_the_oldest_and_counts_them() -> None:
    hub = OpsHub(history=2, events=2)
    for ts in range(5):
        hub.publish(_snapshot(ts))
        hub.emit(OpsEvent("info", ts))
    assert [n for n, _ in hub.snapshots_since(0)] == [4, 5]  # a reader far behind gets the oldest kept
    assert hub.dropped_snapshots == hub.dropped_events == 3
    latest = hub.latest()
    assert latest is not None and latest.ts_ns == 4


def test_a_reader_thread_sees_every_kept_event_once() -> None:
    hub = OpsHub(events=100_000)
    seen: list[int] = []
    done = threading.Event()

    def read() -> None:
        after = 0
        while True:
            finished = done.is_set()
            for n, _ in hub.events_since(after):
                seen.append(n)
                after = n
            if finished:
                return

    reader = threading.Thread(target=read)
    reader.start()
    for ts in range(20_000):
        hub.emit(OpsEvent("info", ts))
    done.set()
    reader.join()
    assert seen == list(range(1, 20_001))
