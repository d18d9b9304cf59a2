"""Binance: converted rows rebuild the venue's book, checked against bookTicker on real captures.

A bookTicker carries the order-book update id it describes, so wherever a depth diff ends on the
same id the rebuilt book's best bid and ask must equal it exactly. See tests/fixtures/README.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from arb.events import (
    CLEAR_ALL,
    EVENT_KIND_MASK,
    LOCAL_EVENT,
    SNAPSHOT_BID,
    SYNC_RESTORED_EVENT,
)
from arb.recording.convert import convert_files
from arb.recording.npz import load_eod, save_eod
from tests.support.captures import (
    SPOT_BTC,
    SPOT_BTC_HEAD,
    SPOT_ETH_HEAD,
    USDM_BTC,
    book_by_update_id,
    book_tickers,
    compare_to_tickers,
)


@pytest.fixture(scope="module")
def spot_btc_tickers() -> dict[int, tuple[float, float]]:
    return book_tickers(SPOT_BTC)


def test_spot_btcusdt_both_files_match_book_ticker_1072_of_1072(spot_btc_tickers) -> None:
    result = convert_files(SPOT_BTC)
    assert (result.venue, result.market, result.symbol) == ("binance", "spot", "BTCUSDT")
    ok, total, bad = compare_to_tickers(book_by_update_id(result.rows), spot_btc_tickers)
    assert (ok, total) == (1072, 1072), bad[:5]
    assert result.stats.gaps == 0 and result.stats.decode_errors == 0
    assert result.eod.synced


def test_usdm_btcusdt_matches_book_ticker_629_of_629() -> None:
    result = convert_files([USDM_BTC])
    assert result.market == "linear"
    ok, total, bad = compare_to_tickers(book_by_update_id(result.rows), book_tickers([USDM_BTC]))
    assert (ok, total) == (629, 629), bad[:5]


def test_day_split_converted_separately_resumes_from_the_end_of_day_snapshot(spot_btc_tickers, tmp_path) -> None:
    day1 = convert_files(SPOT_BTC[:1])
    eod_path = save_eod(tmp_path / "eod.npz", day1.eod)
    eod = load_eod(eod_path)
    assert eod.synced and eod.update_id == day1.eod.update_id and eod.market == "spot"
    day2 = convert_files(SPOT_BTC[1:], initial=eod)
    # day 2 has no snapshot of its own: it is synced only because the state carried over
    assert day2.stats.snapshots == 0 and day2.stats.gaps == 0
    book = book_by_update_id(np.concatenate([eod.rows, day2.rows]))
    ok, total, _ = compare_to_tickers(book, spot_btc_tickers)
    assert total > 400 and ok == total


def test_spot_ethusdt_snapshot_equal_to_last_buffered_diff() -> None:
    result = convert_files([SPOT_ETH_HEAD])
    stats = result.stats
    assert stats.snapshots == 1 and stats.buffered == stats.dropped_covered  # nothing left to bridge
    ok, total, bad = compare_to_tickers(book_by_update_id(result.rows), book_tickers([SPOT_ETH_HEAD]))
    assert total > 25 and ok == total, bad[:5]


def test_bridging_diff_that_arrived_before_the_snapshot_is_applied_after_it() -> None:
    # In the spot BTCUSDT capture, line 6 (U 50093239208, u 50093239224) bridges the snapshot on
    # line 8 (lastUpdateId 50093239218) but arrived 69 ms before it.
    result = convert_files([SPOT_BTC_HEAD])
    local = result.rows[(result.rows["ev"] & LOCAL_EVENT) != 0]
    kind_side = local["ev"] & ~np.uint64(LOCAL_EVENT | (1 << 31))
    snap_rows = np.flatnonzero(kind_side == SNAPSHOT_BID)
    bridge_rows = np.flatnonzero(local["ival"] == 50093239224)
    restored = np.flatnonzero((local["ev"] & EVENT_KIND_MASK) == SYNC_RESTORED_EVENT)
    clear = np.flatnonzero(kind_side == CLEAR_ALL)
    assert len(bridge_rows) > 0 and len(restored) == 1
    assert clear[0] < snap_rows[0] < snap_rows[-1] < bridge_rows[0] < bridge_rows[-1] < restored[0]
    # usable only from the moment the snapshot arrived
    assert np.all(local["local_ts"][bridge_rows] == local["local_ts"][snap_rows[0]])
    assert local["order_id"][restored[0]] == 50093239224
    ok, total, _ = compare_to_tickers(book_by_update_id(result.rows), book_tickers([SPOT_BTC_HEAD]))
    assert total > 25 and ok == total
