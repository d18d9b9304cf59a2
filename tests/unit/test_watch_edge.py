"""What the dashboard draws against the entry threshold is what the kernel compares with it: the
spread at the touch net of both taker fees and the slippage tolerance (before: the gross spread, so
the curve crossed ``min_spread_bps`` again and again with no trade). Run on a real engine and watch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arb.config import load_config
from arb.events import EXCH_EVENT, LOCAL_EVENT, SNAPSHOT_ASK, SNAPSHOT_BID, event_dtype
from arb.live.engine import Engine
from arb.live.recorded_source import ReplayBatch
from arb.ops import dashboard
from arb.ops.watch import Watch, edges_bps
from arb.testing.configs import write_config_files
from connectors.common.normalizer import SyncState

T0 = 1_723_161_300_000_000_000
ASK = 60_000.0  # Binance's ask; Bybit's bid is set above it by the gross spread of each case


def _book(bid: float, ask: float, ts: int) -> np.ndarray:
    rows = np.zeros(2, event_dtype)
    rows["ev"] = (SNAPSHOT_BID | EXCH_EVENT | LOCAL_EVENT, SNAPSHOT_ASK | EXCH_EVENT | LOCAL_EVENT)
    rows["px"] = (bid, ask)
    rows["qty"] = 1.0
    rows["exch_ts"] = rows["local_ts"] = ts
    return rows


def _run(tmp_path: Path, gross_bps: float) -> tuple[int, list[float | None], dict[str, object]]:
    # A fresh engine and watch; Binance asks ASK, Bybit bids ASK x (1 + gross): what the kernel sent,
    # the dashboard's chart point and the snapshot's JSON
    config = load_config(write_config_files(tmp_path / f"c{gross_bps}"))
    engine = Engine(config)
    watch = Watch(config, "dry-run")
    watch.attach(engine)
    bid1 = round(ASK * (1 + gross_bps / 1e4), 1)
    batches = [
        ReplayBatch(0, _book(ASK - 0.1, ASK, T0), T0, SyncState.SYNCED),
        ReplayBatch(1, _book(bid1, bid1 + 0.1, T0), T0, SyncState.SYNCED),
    ]
    engine.on_batches(T0, batches)
    snapshot = watch._snapshot(engine, T0, ())
    return engine.log.sent.n, dashboard.point(snapshot), dashboard.snapshot_json(snapshot)


@pytest.mark.parametrize("gross_bps", [12.0, 26.0, 26.9, 27.1, 40.0])
def test_the_edge_drawn_crosses_the_entry_line_exactly_where_the_kernel_trades(
    tmp_path: Path, gross_bps: float
) -> None:
    # taker fees 10 bps on each venue, slippage tolerance 2 bps, min_spread_bps 5: a pair opens from a
    # gross spread of 27 bps over the ask on
    sent, point, status = _run(tmp_path, gross_bps)
    _, edge_0, _, entry, _, _ = point
    assert entry == 5.0
    assert edge_0 is not None
    assert (edge_0 >= entry) == (sent > 0), (gross_bps, edge_0, sent)
    symbol = status["symbols"][0]  # type: ignore[index]
    assert symbol["edge_bps"][0] == edge_0 and status["edge_bps"][0] == edge_0  # type: ignore[index]
    assert symbol["spread_bps"][0] > edge_0  # type: ignore[index]  # the gross spread stays in the JSON


def test_edges_are_the_kernels_arithmetic() -> None:
    bids, asks = (59_990.0, 60_200.0), (60_000.0, 60_210.0)
    edge = edges_bps(bids, asks, (0.001, 0.0004), 2.0)
    assert edge[0] == pytest.approx((60_200.0 - 60_000.0) / 60_000.0 * 1e4 - 14.0 - 2.0)
    assert edge[1] == pytest.approx((59_990.0 - 60_210.0) / 60_210.0 * 1e4 - 14.0 - 2.0)
    assert np.isnan(edges_bps((float("nan"), 1.0), (1.0, 1.0), (0.0, 0.0), 0.0)[1])


def test_a_replay_says_so(tmp_path: Path) -> None:
    config = load_config(write_config_files(tmp_path))
    engine = Engine(config)
    for data in ("live", "replay"):
        watch = Watch(config, "dry-run", data=data)
        watch.attach(engine)
        assert dashboard.snapshot_json(watch._snapshot(engine, T0, ()))["data"] == data
    with pytest.raises(ValueError, match="data: expected one of live, replay"):
        Watch(config, "dry-run", data="recorded")
