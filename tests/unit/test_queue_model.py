"""The paper venue's resting quotes fill where hftbacktest's exchange fills them.

``arb.execution.queue_model`` states the rules of hftbacktest's no-partial-fill exchange and its queue
models again, for the dry run. Here both take the sample's real Binance spot capture (its first day's file:
138 k rows, every event at its exchange time), post-only quotes are placed at the same instants (joining the
best bid or ask, one or two ticks behind it, and at prices that would take, which must expire), and every
quote must end the same way in both (filled at the same event, expired, or still resting) under each of
the six queue models ``[backtest] queue_model`` names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hftbacktest import GTX, LIMIT, BacktestAsset
from hftbacktest.order import EXPIRED, FILLED, NEW

from arb.events import BUY_EVENT, DEPTH_BBO_EVENT, DEPTH_EVENT, EXCH_EVENT, LOCAL_EVENT, SELL_EVENT, TRADE_EVENT
from arb.execution.queue_model import QUEUE_MODELS, RestingQuotes, VenueDepth, queue_model
from arb.recording.convert import convert_files
from arb.strategy.types import BUY, SELL
from tests.support.hbt_plain import PlainBacktest

ROOT = Path(__file__).resolve().parents[2]
DAY = ROOT / "recordings" / "binance_spot" / "btcusdt_20240808.gz"  # the 9th adds rows, not cases
TICK, LOT, POWER = 0.01, 0.00001, 3.0
QTY = 0.001

_HBT_MODELS = {
    "risk_averse": lambda a: a.risk_adverse_queue_model(),
    "power": lambda a: a.power_prob_queue_model(POWER),
    "power2": lambda a: a.power_prob_queue_model2(POWER),
    "power3": lambda a: a.power_prob_queue_model3(POWER),
    "log": lambda a: a.log_prob_queue_model(),
    "log2": lambda a: a.log_prob_queue_model2(),
}

Outcome = tuple[str, int]  # ("filled", exch_ts) | ("expired", 0) | ("resting", 0)


@pytest.fixture(scope="module")
def rows() -> Any:
    data = convert_files([DAY]).rows.copy()
    data["local_ts"] = data["exch_ts"]  # zero feed latency: the local view is the venue's
    return data


def _times(rows: Any) -> list[int]:
    # 40 instants in the data, none on a row's own time
    ts = rows["exch_ts"]
    t0, t1 = int(ts[0]), int(ts[-1])
    times = np.sort(np.random.default_rng(1).integers(t0 + (t1 - t0) // 20, t1 - (t1 - t0) // 4, 40))
    return [int(t) for t in times if not np.any(ts == t)]


def _hftbacktest(rows: Any) -> tuple[list[tuple[int, int, int, float]], dict[str, dict[int, Outcome]]]:
    # One backtest, one asset per queue model (same data), every quote sent to each at the same time.
    assets = [
        make(BacktestAsset().data([rows]).linear_asset(1.0).constant_order_latency(0, 0))
        .no_partial_fill_exchange()
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(TICK)
        .lot_size(LOT)
        .last_trades_capacity(0)
        for make in _HBT_MODELS.values()
    ]
    hbt = PlainBacktest(assets)  # hftbacktest's backtester, its jitclass left out (nothing to compile)
    placed: list[tuple[int, int, int, float]] = []
    oid = 0
    for t in _times(rows):
        hbt.elapse(t - hbt.current_timestamp)
        depth = hbt.depth(0)
        bid, ask = depth.best_bid, depth.best_ask
        if not (bid == bid and ask == ask):
            continue
        # at and behind both touches, and two that would take
        for side, px in ((BUY, bid), (BUY, bid - TICK), (BUY, ask), (SELL, ask), (SELL, ask + 2 * TICK), (SELL, bid)):
            oid += 1
            for a in range(len(assets)):
                if side == BUY:
                    hbt.submit_buy_order(a, oid, px, QTY, GTX, LIMIT, False)
                else:
                    hbt.submit_sell_order(a, oid, px, QTY, GTX, LIMIT, False)
            placed.append((t, oid, side, px))
    hbt.elapse(int(rows["exch_ts"][-1]) - hbt.current_timestamp + 1)
    names = {FILLED: "filled", EXPIRED: "expired", NEW: "resting"}
    outcomes: dict[str, dict[int, Outcome]] = {}
    for a, model in enumerate(_HBT_MODELS):
        got: dict[int, Outcome] = {}
        for _, oid, _, _ in placed:
            order = hbt.order(a, oid)
            assert order is not None, (model, oid)
            status = names.get(int(order["status"]), str(order["status"]))
            got[oid] = (status, int(order["exch_timestamp"]) if status == "filled" else 0)
        outcomes[model] = got
    hbt.close()
    return placed, outcomes


Placed = list[tuple[int, int, int, float]]  # (time, order id, side, price)


def _paper(rows: Any, placed: Placed, model: str) -> tuple[dict[int, Outcome], RestingQuotes]:
    quotes = RestingQuotes(VenueDepth(TICK, LOT), queue_model(model, POWER))
    got: dict[int, Outcome] = {}
    ev, ts, px, qty = (rows[k].tolist() for k in ("ev", "exch_ts", "px", "qty"))
    k = 0
    for i in range(len(ev)):
        while k < len(placed) and placed[k][0] < ts[i]:
            _, oid, side, price = placed[k]
            got[oid] = ("resting", 0) if quotes.add(oid, side, price, QTY) else ("expired", 0)
            k += 1
        quotes.on_row(ev[i], ts[i], px[i], qty[i])
        for oid, when in quotes.filled:
            got[oid] = ("filled", when)
        quotes.filled.clear()
    return got, quotes


def test_quotes_end_as_in_hftbacktest_under_every_queue_model(rows: Any) -> None:
    placed, expected = _hftbacktest(rows)
    assert len(placed) >= 200
    fill_times: dict[str, dict[int, int]] = {}
    for model in QUEUE_MODELS:
        got, quotes = _paper(rows, placed, model)
        differ = {oid: (expected[model][oid], got[oid]) for oid in expected[model] if got[oid] != expected[model][oid]}
        assert not differ, f"{model}: {len(differ)} of {len(placed)} end otherwise: {list(differ.items())[:3]}"
        kinds = {kind for kind, _ in got.values()}
        assert kinds == {"filled", "expired", "resting"}, (model, kinds)
        assert quotes.causes["queue"] > 0 and quotes.causes["book"] > 0, quotes.causes
        fill_times[model] = {oid: when for oid, (kind, when) in got.items() if kind == "filled"}
    # the probability models move the queue on decreases trades did not explain: some quote fills
    # earlier than under the risk-averse model, never later
    averse = fill_times["risk_averse"]
    earlier = 0
    for model in ("power", "power2", "power3", "log", "log2"):
        for oid, when in fill_times[model].items():
            assert oid not in averse or when <= averse[oid], (model, oid)
            earlier += oid not in averse or when < averse[oid]
    assert earlier > 0


def _row(ev: int, ts: int, px: float, qty: float) -> tuple[int, int, float, float]:
    return (EXCH_EVENT | LOCAL_EVENT | ev, ts, px, qty)


def test_a_quote_waits_for_the_queue_ahead_and_expires_if_it_would_take() -> None:
    quotes = RestingQuotes(VenueDepth(TICK, LOT), queue_model("risk_averse"))
    for row in (_row(DEPTH_EVENT | BUY_EVENT, 1, 100.0, 0.5), _row(DEPTH_EVENT | SELL_EVENT, 1, 100.01, 0.4)):
        quotes.on_row(*row)
    assert not quotes.add(1, BUY, 100.01, QTY)  # at the best ask: post-only, it would take
    assert quotes.add(2, BUY, 100.0, QTY)  # joins 0.5 ahead
    quotes.on_row(*_row(TRADE_EVENT | SELL_EVENT, 2, 100.0, 0.3))  # a seller takes 0.3 of the queue
    quotes.on_row(*_row(DEPTH_EVENT | BUY_EVENT, 2, 100.0, 0.6))  # a larger level: joined behind
    assert quotes.quotes[2].ahead == pytest.approx(0.2) and not quotes.filled
    quotes.on_row(*_row(TRADE_EVENT | SELL_EVENT, 3, 100.0, 0.2))  # the rest of the queue ahead
    quotes.on_row(*_row(TRADE_EVENT | SELL_EVENT, 3, 100.0, 0.4 * LOT))
    assert not quotes.filled  # 0.4 lot past the queue: less than half a lot, as hftbacktest rounds it
    quotes.on_row(*_row(TRADE_EVENT | SELL_EVENT, 4, 100.0, 0.001))
    assert quotes.filled == [(2, 4)] and quotes.causes["queue"] == 1
    assert quotes.cancel(2) is None  # filled: nothing to cancel


def test_a_quote_fills_when_the_other_side_reaches_it_and_a_cancelled_one_never() -> None:
    quotes = RestingQuotes(VenueDepth(TICK, LOT), queue_model("log"))
    quotes.on_row(*_row(DEPTH_EVENT | BUY_EVENT, 1, 100.0, 0.5))
    quotes.on_row(*_row(DEPTH_EVENT | SELL_EVENT, 1, 100.05, 0.4))
    assert quotes.add(1, SELL, 100.03, QTY) and quotes.add(2, SELL, 100.04, QTY)
    assert quotes.cancel(2) is not None
    quotes.on_row(*_row(DEPTH_EVENT | BUY_EVENT, 5, 100.04, 0.1))  # a bid at 100.04 reaches both prices
    assert quotes.filled == [(1, 5)] and quotes.causes["book"] == 1
    assert not quotes.quotes


def test_best_bid_offer_rows_leave_the_venues_depth_alone() -> None:
    quotes = RestingQuotes(VenueDepth(TICK, LOT), queue_model("risk_averse"))
    quotes.on_row(*_row(DEPTH_EVENT | BUY_EVENT, 1, 100.0, 0.5))
    quotes.on_row(*_row(DEPTH_EVENT | SELL_EVENT, 1, 100.05, 0.4))
    assert quotes.add(1, SELL, 100.03, QTY)
    quotes.on_row(*_row(DEPTH_BBO_EVENT | BUY_EVENT, 2, 100.04, 0.1))  # would reach the quote as a depth row
    assert not quotes.filled and quotes.depth.bids == {10000: 0.5}
