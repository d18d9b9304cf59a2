"""arb's converter against hftbacktest's own ``binancefutures.convert`` on the same USD-M capture.

Where both are right (every diff after the book is synced) the depth rows are identical, row for row.
Where they differ, arb is right: the diffs that bridge the REST snapshot arrived *before* it (lines
42 and 50 of the capture; the snapshot is line 55), and hftbacktest applies them before the
snapshot, which then overwrites them. Read through hftbacktest's own backtester at the moment the
snapshot arrives, hftbacktest's rows show the snapshot's older quantities on every level those diffs
changed; arb's rows show the newer ones.
"""

from __future__ import annotations

import contextlib
import io

import msgspec
import numpy as np
import pytest
from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest
from hftbacktest.data.utils import binancefutures

from arb.events import DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, EVENT_KIND_MASK, EXCH_EVENT, EventArray
from arb.recording.convert import convert_files
from connectors.common.record_files import LineReader
from tests.support.captures import USDM_BTC

TICK = 0.1
LOT = 0.001


@pytest.fixture(scope="module")
def both() -> tuple[EventArray, EventArray]:
    ours = convert_files([USDM_BTC]).rows
    with contextlib.redirect_stdout(io.StringIO()):
        theirs = binancefutures.convert(str(USDM_BTC), buffer_size=1_000_000)
    return ours, theirs


def _exch_depth(rows: EventArray) -> EventArray:
    kinds = rows["ev"] & EVENT_KIND_MASK
    return rows[((rows["ev"] & EXCH_EVENT) != 0) & (kinds == DEPTH_EVENT)]


def _bridge_window() -> tuple[dict, list[dict]]:
    # The diffs received before the REST snapshot that it does not cover (u >= lastUpdateId).
    lines = [payload for _, (_, payload) in zip(range(60), LineReader(USDM_BTC), strict=False)]
    at = next(i for i, p in enumerate(lines) if p.startswith(b'{"lastUpdateId"'))
    snapshot = msgspec.json.decode(lines[at])
    diffs = [msgspec.json.decode(p)["data"] for p in lines[:at] if b"depthUpdate" in p[:80]]
    bridging = [d for d in diffs if d["u"] >= snapshot["lastUpdateId"]]
    return snapshot, bridging


def test_depth_rows_after_sync_are_identical(both) -> None:
    ours, theirs = both
    _, bridging = _bridge_window()
    synced_from = bridging[-1]["T"] * 1_000_000  # every diff after the buffered ones
    a = _exch_depth(ours)
    b = _exch_depth(theirs)
    a = a[a["exch_ts"] > synced_from]
    b = b[b["exch_ts"] > synced_from]
    assert len(a) > 400_000
    for column in ("ev", "exch_ts", "local_ts", "px", "qty"):
        assert np.array_equal(a[column], b[column]), column


def _quantities_at(rows: EventArray, local_ts: int, levels: list[tuple[str, float]]) -> list[float]:
    asset = (
        BacktestAsset()
        .data(rows)
        .linear_asset(1.0)
        .constant_order_latency(0, 0)
        .risk_adverse_queue_model()
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(TICK)
        .lot_size(LOT)
    )
    hbt = HashMapMarketDepthBacktest([asset])
    try:
        hbt.elapse(1)
        hbt.elapse(local_ts - hbt.current_timestamp)
        depth = hbt.depth(0)
        return [
            depth.bid_qty_at_tick(round(px / TICK)) if side == "b" else depth.ask_qty_at_tick(round(px / TICK))
            for side, px in levels
        ]
    finally:
        hbt.close()


def test_arb_keeps_the_bridging_diffs_hftbacktest_loses_them(both) -> None:
    ours, theirs = both
    snapshot, bridging = _bridge_window()
    assert len(bridging) == 2  # both arrived before the snapshot
    in_snapshot = {side: {float(p): float(q) for p, q in snapshot[key]} for side, key in (("b", "bids"), ("a", "asks"))}
    newer: dict[tuple[str, float], float] = {}
    for diff in bridging:
        for side in ("b", "a"):
            book = in_snapshot[side]
            low, high = min(book), max(book)
            for p, q in diff[side]:
                px, qty = float(p), float(q)
                if low <= px <= high and book.get(px, 0.0) != qty:
                    newer[(side, px)] = qty
    assert len(newer) >= 20
    snapshot_local = int(ours["local_ts"][(ours["ev"] & EVENT_KIND_MASK) == DEPTH_SNAPSHOT_EVENT][0])
    levels = list(newer)
    truth = [newer[k] for k in levels]
    stale = [in_snapshot[side].get(px, 0.0) for side, px in levels]
    assert _quantities_at(ours, snapshot_local + 1, levels) == truth
    assert _quantities_at(theirs, snapshot_local + 1, levels) == stale


def test_hftbacktest_converter_cannot_read_spot() -> None:
    # The shipped sample is Binance spot: hftbacktest has no converter for it (no "T" in spot diffs).
    from tests.support.captures import SPOT_BTC_HEAD

    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(KeyError):
        binancefutures.convert(str(SPOT_BTC_HEAD), buffer_size=100_000)
