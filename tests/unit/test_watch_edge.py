"""What the dashboard draws against the entry threshold is what the kernel compares with it: the
spread at the touch net of both taker fees and the slippage tolerance (before: the gross spread, so
the curve crossed ``min_spread_bps`` again and again with no trade). Run on a real engine and watch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from arb.config import load_config
from arb.events import EXCH_EVENT, LOCAL_EVENT, SNAPSHOT_ASK, SNAPSHOT_BID, event_dtype
from arb.live.account_lines import pairs_left_line
from arb.live.engine import Engine
from arb.live.recorded_source import ReplayBatch
from arb.ops import dashboard
from arb.ops.snapshot import venue_pairs
from arb.ops.watch import Watch, edges_bps, spreads_bps
from arb.results.inventory import Direction, SymbolInventory, VenueInventory
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


def test_three_venues_have_six_edges_each_netting_its_own_two_venues_fees() -> None:
    # venues 0, 1, 2 with taker fees 10, 4 and 2 bps; every ordered pair is a direction, in venue_pairs order
    bids, asks = (59_990.0, 60_200.0, 60_100.0), (60_000.0, 60_210.0, 60_110.0)
    fees = (0.001, 0.0004, 0.0002, 0.0)  # as params hold them: MAX_VENUES wide
    edge = edges_bps(bids, asks, fees, 2.0)
    spread = spreads_bps(bids, asks)
    assert len(edge) == len(spread) == 6
    for (b, s), e, g in zip(venue_pairs(3), edge, spread, strict=True):
        assert e == pytest.approx((bids[s] - asks[b]) / asks[b] * 1e4 - (fees[b] + fees[s]) * 1e4 - 2.0)
        assert g == pytest.approx((bids[s] - asks[b]) / ((bids[s] + asks[b]) / 2) * 1e4)
    # a book without a bid: the directions selling there are not known, the others are
    edge = edges_bps((59_990.0, float("nan"), 60_100.0), asks, fees, 2.0)
    assert [np.isnan(e) for e in edge] == [s == 1 for _, s in venue_pairs(3)]


def test_the_account_lines_name_the_directions_of_the_runs_venues() -> None:
    def direction(b: int, s: int, left: int | None, limit: str = "") -> Direction:
        return Direction(b, s, 0.01, left, limit)

    two = SymbolInventory("BTCUSDT", (), (direction(0, 1, 12), direction(1, 0, 0, "bybit base")))
    assert pairs_left_line([two], ("binance", "bybit")) == "left buy binance 12 | buy bybit 0 (bybit base)"
    pairs = venue_pairs(3)
    three = SymbolInventory("BTCUSDT", (), tuple(direction(b, s, None if b == 2 else 3) for b, s in pairs))
    line = (
        "left buy binance sell bybit 3 | buy binance sell okx 3 | buy bybit sell binance 3 | buy bybit sell okx 3"
        " | buy okx sell binance ? | buy okx sell bybit ?"
    )
    assert pairs_left_line([three], ("binance", "bybit", "okx")) == line
    # without the names: as the inventory's records name the venues
    held = tuple(VenueInventory(name, 1.0, 0.0, 100.0, 0.0) for name in ("binance", "bybit", "okx"))
    assert pairs_left_line([dataclasses.replace(three, venues=held)]) == line


def test_a_watch_names_the_runs_venues_and_their_titles(tmp_path: Path) -> None:
    config = load_config(write_config_files(tmp_path))
    engine = Engine(config)
    watch = Watch(config, "dry-run")
    watch.attach(engine)
    snapshot = watch._snapshot(engine, T0, ())
    assert snapshot.venue_names == config.venue_names == ("binance", "bybit")
    assert snapshot.venue_titles == ("Binance", "Bybit")
    assert [a.venue for a in snapshot.accounts] == [b.venue for b in snapshot.books] == list(config.venue_names)
    status = dashboard.snapshot_json(snapshot)
    assert status["venue_list"] == [{"name": "binance", "title": "Binance"}, {"name": "bybit", "title": "Bybit"}]
    assert status["directions"] == [{"name": "buy_binance_sell_bybit", "buy": "binance", "sell": "bybit"},
                                    {"name": "buy_bybit_sell_binance", "buy": "bybit", "sell": "binance"}]  # fmt: skip
    watch.engine = None  # recording: no engine, the run's venues all the same, every direction not known
    watch.publish(T0)
    recording = watch.hub.latest()
    assert recording is not None and recording.venue_names == config.venue_names
    assert len(recording.spread_bps) == 2 and all(np.isnan(x) for x in recording.spread_bps)
