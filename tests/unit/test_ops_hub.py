"""The hub between a trading loop and its watchers: numbered, bounded, resumable without duplicates."""

from __future__ import annotations

import gc
import threading

from arb.ops.snapshot import (
    EVENTS_KEPT,
    FeedHealth,
    OpsEvent,
    OpsHub,
    Snapshot,
    VenueAccount,
    chart_point,
    direction_name,
    venue_pairs,
)


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


def test_the_long_history_is_kept_as_chart_points_the_collector_does_not_walk() -> None:
    # a whole snapshot is dozens of tracked objects: half an hour of them made every full collection of arb
    # live walk ~160,000 more objects (40-60 ms with the event loop held); the charts need only their points
    hub = OpsHub(history=50, recent=3)
    snapshots = [_snapshot(ts) for ts in range(1, 61)]
    for s in snapshots:
        hub.publish(s)
    assert [n for n, _ in hub.snapshots_since(0)] == [58, 59, 60]  # the recent ones whole
    points = hub.points_since(0)
    assert [n for n, _ in points] == list(range(11, 61))  # every point of the history, the same numbers
    assert [p for _, p in points] == [chart_point(s) for s in snapshots[10:]]
    assert hub.points_since(58) == points[-2:]
    assert hub.history_since(59) == (points[-1:], (60, snapshots[-1]))
    assert hub.history_since(60) == ([], None)
    gc.collect()  # a collection stops tracking a tuple of untracked items (the point), the next its holder
    gc.collect()
    assert not any(gc.is_tracked(item) for item in points)  # neither the numbered item nor its point


def test_a_hub_keeps_a_bounded_number_of_events_by_default() -> None:
    # a process that runs for weeks emits an event per fill and per order answer: the hub keeps the newest
    hub = OpsHub()
    for ts in range(EVENTS_KEPT + 500):
        hub.emit(OpsEvent("fill", ts, "binance", "binance buy 0.001 @ 61000", {"qty": 0.001, "price": 61000.0}))
    kept = hub.events_since(0)
    assert len(kept) == EVENTS_KEPT == 2_000 and hub.dropped_events == 500
    assert kept[0][0] == 501 and kept[-1][1].ts_ns == EVENTS_KEPT + 499


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


def test_a_snapshot_lists_every_direction_of_its_venues_in_one_order() -> None:
    assert venue_pairs(2) == ((0, 1), (1, 0))  # as two venues always were
    assert venue_pairs(3) == ((0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1))
    assert len(venue_pairs(4)) == 12
    three = ("binance", "bybit", "okx")
    s = Snapshot("live", "BTCUSDT", "USDT", 1, 1, (), venue_names=three, venue_titles=("Binance", "Bybit", "OKX"))
    assert s.run_venues == three and s.run_titles == ("Binance", "Bybit", "OKX")
    assert [name for _, _, name in s.directions()] == [
        "buy_binance_sell_bybit", "buy_binance_sell_okx", "buy_bybit_sell_binance",
        "buy_bybit_sell_okx", "buy_okx_sell_binance", "buy_okx_sell_bybit"]  # fmt: skip
    assert direction_name(three, 2, 0) == "buy_okx_sell_binance"
    # a snapshot made without the run's names: its accounts' venues, else its feeds', and the names as titles
    accounts = tuple(VenueAccount(v, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0) for v in three)
    assert Snapshot("live", "BTCUSDT", "USDT", 1, 1, (), accounts=accounts).run_venues == three
    feeds = tuple(FeedHealth(v, "spot", sym, True, True, False, "", 0, 0, 0, 0, 0, 0)
                  for sym in ("BTCUSDT", "ETHUSDT") for v in three)  # fmt: skip
    recording = Snapshot("record", "BTCUSDT,ETHUSDT", "USDT", 1, 1, feeds)
    assert recording.run_venues == three and recording.run_titles == three and len(recording.directions()) == 6
