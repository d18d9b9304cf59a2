"""A watch builds its periodic snapshots only while something reads the hub (the ops server, the alerts):
a replay without either goes through thousands of them a minute for no one. The due times, the events
and the last snapshot at the end are the same either way. Run on a real engine."""

from __future__ import annotations

from pathlib import Path

from arb.config import load_config
from arb.live.engine import Engine
from arb.ops.watch import Watch
from arb.testing.configs import write_config_files

T0 = 1_723_161_300_000_000_000
S = 1_000_000_000


def _watch(tmp_path: Path) -> tuple[Watch, int]:
    config = load_config(write_config_files(tmp_path, arbitrage_overrides={"ops": {"enabled": False}}))
    watch = Watch(config, "dry-run", clock=lambda: T0 + 10 * S)
    watch.attach(Engine(config))
    return watch, config.ops.snapshot_ns


def test_an_unread_watch_builds_no_snapshot_until_it_stops(tmp_path: Path) -> None:
    watch, interval = _watch(tmp_path)
    for k in range(5):
        watch.tick(T0 + k * interval)
    assert watch.hub.latest() is None and watch.hub.points_since(0) == []
    assert watch._next_ns == (T0 + 4 * interval) // interval * interval + interval  # due as if built
    watch.halt("kill switch")  # events go to the hub all the same
    assert [e.kind for _, e in watch.hub.events_since(0)] == ["halt"]
    watch.stop()
    [(_, last)] = watch.hub.snapshots_since(0)
    assert last.ts_ns == T0 + 10 * S and last.halted == "kill switch"


def test_a_read_watch_builds_each_due_snapshot(tmp_path: Path) -> None:
    watch, interval = _watch(tmp_path)
    watch.alerts = object()  # a reader (as the alert service is)
    for k in range(5):
        watch.tick(T0 + k * interval)
    assert [s.ts_ns for _, s in watch.hub.snapshots_since(0)] == [T0 + k * interval for k in range(5)]
    watch.alerts = None
    watch.publish(T0 + 5 * interval)  # asked for: built, read or not
    assert watch.hub.snapshots_since(0)[-1][1].ts_ns == T0 + 5 * interval
