"""Mark-price and funding rows travel with the book rows through hftbacktest without touching them.

The USD-M capture with a ``markPrice@1s`` frame inserted every 250 lines (``tests.helpers.with_mark_price``,
one funding time passing in the middle) is converted; its rows must pass hftbacktest's own
``correct_event_order`` and ``validate_event_order``, and a ``HashMapMarketDepthBacktest`` over them
must see, step by step, the same book and make the same fills as over the capture without them.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hftbacktest import BacktestAsset, HashMapMarketDepthBacktest
from hftbacktest.data.validation import correct_event_order, correct_local_timestamp, validate_event_order
from hftbacktest.order import IOC
from numba import njit

from arb.events import (
    EVENT_KIND_MASK,
    EXCH_EVENT,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    LOCAL_EVENT,
    MARK_PRICE_EVENT,
    EventArray,
)
from arb.recording.convert import _correct, convert_files
from arb.recording.format import LineReader
from connectors.binance.normalize import BinanceNormalizer
from tests.helpers import USDM_BTC, with_mark_price

TICK = 0.1
LOT = 0.001
STEP_NS = 100_000_000
PERP_KINDS = (MARK_PRICE_EVENT, FUNDING_RATE_EVENT, FUNDING_SETTLED_EVENT)


@pytest.fixture(scope="module")
def augmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_mark_price(USDM_BTC, tmp_path_factory.mktemp("perp") / "btcusdt_20240808.gz")


def _perp(rows: EventArray) -> np.ndarray[Any, Any]:
    return np.isin(rows["ev"] & EVENT_KIND_MASK, PERP_KINDS)


def _local_side(rows: EventArray) -> EventArray:
    local = rows[(rows["ev"] & LOCAL_EVENT) != 0].copy()
    local["ev"] &= ~np.uint64(EXCH_EVENT)
    return local


def test_the_rows_pass_hftbacktests_own_order_correction_and_validation(augmented: Path) -> None:
    normalizer = BinanceNormalizer(echo=False)
    for chunk in LineReader(augmented).chunks():
        normalizer.on_chunk(chunk, lambda line: None)
    raw = normalizer.sink.take()
    kinds = raw["ev"] & EVENT_KIND_MASK
    assert [int((kinds == k).sum()) for k in PERP_KINDS] == [375, 375, 1]
    ours, _ = _correct(raw.copy(), 0, None)
    theirs = raw.copy()
    with contextlib.redirect_stdout(io.StringIO()):  # hftbacktest prints its shift
        theirs = correct_local_timestamp(theirs, 0)
    theirs = correct_event_order(
        theirs, np.argsort(theirs["exch_ts"], kind="mergesort"), np.argsort(theirs["local_ts"], kind="mergesort")
    )
    validate_event_order(theirs)  # raises ValueError when out of order
    assert theirs.tobytes() == ours.tobytes()


@njit
def _walk(hbt: Any, steps: int, out: Any) -> None:
    # Every 100 ms: the top of the book, the position and the account; every 2 s an IOC at the
    # touch, alternately buying at the ask and selling at the bid.
    order_id = 0
    for k in range(steps):
        if hbt.elapse(STEP_NS) != 0:
            return
        depth = hbt.depth(0)
        bid = depth.best_bid
        ask = depth.best_ask
        state = hbt.state_values(0)
        out[k, 0] = bid
        out[k, 1] = ask
        out[k, 2] = depth.bid_qty_at_tick(depth.best_bid_tick)
        out[k, 3] = depth.ask_qty_at_tick(depth.best_ask_tick)
        out[k, 4] = state.position
        out[k, 5] = state.balance
        out[k, 6] = state.fee
        out[k, 7] = state.num_trades
        if k % 20 == 19 and np.isfinite(bid) and np.isfinite(ask):
            order_id += 1
            if (k // 20) % 2 == 0:
                hbt.submit_buy_order(0, order_id, ask, LOT, IOC, 0, False)
            else:
                hbt.submit_sell_order(0, order_id, bid, LOT, IOC, 0, False)
            hbt.clear_inactive_orders(0)


def _trace(rows: EventArray, steps: int) -> np.ndarray[Any, Any]:
    asset = (
        BacktestAsset()
        .data(np.ascontiguousarray(rows))
        .linear_asset(1.0)
        .constant_order_latency(5_000_000, 5_000_000)
        .risk_adverse_queue_model()
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0002, 0.0005)
        .tick_size(TICK)
        .lot_size(LOT)
        .last_trades_capacity(0)
    )
    out = np.full((steps, 8), np.nan)
    hbt = HashMapMarketDepthBacktest([asset])
    try:
        _walk(hbt, steps, out)
    finally:
        hbt.close()
    return out


def test_a_backtest_sees_the_same_book_and_makes_the_same_fills(augmented: Path) -> None:
    plain = convert_files([USDM_BTC], with_eod=False).rows
    with_perp = convert_files([augmented], with_eod=False).rows
    perp = _perp(with_perp)
    assert int(perp.sum()) > 700 and int(((with_perp["ev"] & EVENT_KIND_MASK) == FUNDING_SETTLED_EVENT).sum()) == 1
    # The other rows reach the local side as before (whether a row is also its exchange-side copy may
    # change where a perp row now sits between its two places).
    assert np.array_equal(_local_side(with_perp[~perp]), _local_side(plain))
    span = int(plain["local_ts"].max() - plain["local_ts"].min())
    steps = span // STEP_NS
    a = _trace(plain, steps)
    b = _trace(with_perp, steps)
    assert int(np.nanmax(a[:, 7])) >= 100  # it traded: fills were made on both sides
    assert np.array_equal(a, b, equal_nan=True)
