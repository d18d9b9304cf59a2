"""The quotes' figures and maker pairs in the report, on fills, intents and kernel calls worked out here."""

from __future__ import annotations

import numpy as np
import pytest

from arb.reports.maker import AFTER_FILL_NS, maker_figures
from arb.reports.pnl import pair_figures
from arb.strategy.types import (
    BUY,
    FILL_DTYPE,
    INTENT_CANCEL,
    INTENT_HEDGE,
    INTENT_OPEN,
    INTENT_QUOTE,
    SELL,
    SENT_DTYPE,
    decision_dtype,
)

MS = 1_000_000
T0 = 1_700_000_000_000_000_000


def _sent(*rows: tuple[int, int, int, float, float, int, int]) -> np.ndarray:
    # (ts offset ms, venue, side, price, qty, kind, pair)
    out = np.zeros(len(rows), SENT_DTYPE)
    for k, (t, venue, side, price, qty, kind, pair) in enumerate(rows):
        out[k] = (T0 + t * MS, venue, side, price, qty, kind, pair, 0, 0, 0)
    return out


def _fills(*rows: tuple[int, int, int, float, float, float, int, int]) -> np.ndarray:
    # (ts offset ms, venue, side, price, qty, fee, kind, pair)
    out = np.zeros(len(rows), FILL_DTYPE)
    for k, (t, venue, side, price, qty, fee, kind, pair) in enumerate(rows):
        out[k] = (T0 + t * MS, T0 + t * MS, venue, side, price, qty, fee, pair, kind, 100 + k, 0)
    return out


def _calls(*rows: tuple[int, float, float, float, float]) -> np.ndarray:
    # (ts offset ms, bid0, ask0, bid1, ask1)
    out = np.zeros(len(rows), decision_dtype(2))
    for k, (t, bid0, ask0, bid1, ask1) in enumerate(rows):
        out[k]["ts"] = T0 + t * MS
        out[k]["bid"] = (bid0, bid1)
        out[k]["ask"] = (ask0, ask1)
    return out


# Two quotes on Binance (pair 1 a buy at 100, pair 2 a sell at 103), one cancel; the buy fills 400 ms
# after it was sent, its hedge sells on Bybit at 101.9 while Bybit's bid was 102 (10 bps past the touch,
# rounded: (102 - 101.9) / 102). One second after the fill Binance's mid is 99.8: 20 bps against the buy.
SENT = _sent(
    (0, 0, BUY, 100.0, 1.0, INTENT_QUOTE, 1),
    (0, 0, SELL, 103.0, 1.0, INTENT_QUOTE, 2),
    (200, 0, SELL, 103.0, 1.0, INTENT_CANCEL, 2),
    (401, 1, SELL, 101.8, 1.0, INTENT_HEDGE, 1),
)
FILLS = _fills(
    (400, 0, BUY, 100.0, 1.0, 0.01, INTENT_QUOTE, 1),
    (403, 1, SELL, 101.9, 1.0, 0.05, INTENT_HEDGE, 1),
)
CALLS = _calls(
    (0, 99.9, 100.1, 101.9, 102.1),
    (401, 99.9, 100.1, 102.0, 102.2),
    (400 + AFTER_FILL_NS // MS, 99.7, 99.9, 101.9, 102.1),
)


def test_quote_figures() -> None:
    got = maker_figures(FILLS, SENT, CALLS)
    assert (got.quotes, got.cancels, got.maker_fills) == (2, 1, 1)
    assert got.fill_rate == pytest.approx(0.5)
    assert got.queue_ms_mean == pytest.approx(400.0) and got.queue_ms_median == pytest.approx(400.0)
    assert got.move_after_bps == pytest.approx((99.8 - 100.0) / 100.0 * 1e4)  # -20: adverse
    assert got.hedge_slippage_bps == pytest.approx((102.0 - 101.9) / 102.0 * 1e4)
    assert got.maker_fees == (pytest.approx(0.01), 0.0)
    assert got.taker_fees == (0.0, pytest.approx(0.05))


def test_without_fills_the_means_are_undefined() -> None:
    got = maker_figures(FILLS[:0], SENT[:2], CALLS)
    assert (got.quotes, got.maker_fills, got.fill_rate) == (2, 0, 0.0)
    assert got.queue_ms_mean is None and got.move_after_bps is None and got.hedge_slippage_bps is None
    assert maker_figures(FILLS[:0], SENT[:0], CALLS).fill_rate is None


def test_a_quote_fill_and_its_hedge_are_one_pair() -> None:
    mid = np.array([100.0, 102.0])
    got = pair_figures(FILLS, mid)
    assert (got.pairs, got.legs_filled, got.pairs_matched, got.fills_outside_pairs) == (1, 2, 1, 0)
    assert got.spread_bps == pytest.approx(190.0)  # (101.9 - 100) / 100
    # a taker pair beside it keeps its own figures
    taker = _fills((10, 0, BUY, 100.0, 1.0, 0.1, INTENT_OPEN, 7), (10, 1, SELL, 101.0, 1.0, 0.1, INTENT_OPEN, 7))
    taker["order_id"] += 10
    both = pair_figures(np.concatenate([FILLS, taker]), mid)
    assert (both.pairs, both.legs_filled, both.pairs_matched) == (2, 4, 2)


def test_a_run_that_kept_only_its_newest_intents_counts_its_quotes_fills_from_the_first_held() -> None:
    # the intents of the first 10 s were shed (arb.live.row_log): their quotes' fills are not counted
    # against the quotes held, so no fill rate above one
    early = _fills(*[(t, 0, BUY, 100.0, 1.0, 0.01, INTENT_QUOTE, 100 + t) for t in range(0, 10_000, 1_000)])
    held = _sent((10_000, 0, BUY, 100.0, 1.0, INTENT_QUOTE, 1))
    late = _fills((10_400, 0, BUY, 100.0, 1.0, 0.01, INTENT_QUOTE, 1))
    figures = maker_figures(np.concatenate([early, late]), held, _calls((10_000, 99.0, 101.0, 99.0, 101.0)))
    assert figures.quotes == 1 and figures.maker_fills == 1 and figures.fill_rate == 1.0


def test_three_venues_split_the_pairs_by_direction() -> None:
    # (ts ms, venue, side, price, qty, fee, kind, pair): buy 0 sell 2 twice (one won, one lost), buy 2 sell 1
    # once, and a lone leg (pair 9) that bought on 1 with no sell: it has no direction
    fills = _fills(
        (10, 0, BUY, 100.0, 1.0, 0.0, INTENT_OPEN, 1), (10, 2, SELL, 101.0, 1.0, 0.0, INTENT_OPEN, 1),
        (20, 0, BUY, 100.0, 1.0, 0.0, INTENT_OPEN, 2), (20, 2, SELL, 99.5, 1.0, 0.0, INTENT_OPEN, 2),
        (30, 2, BUY, 100.0, 0.5, 0.0, INTENT_OPEN, 3), (30, 1, SELL, 102.0, 0.5, 0.0, INTENT_OPEN, 3),
        (40, 1, BUY, 100.0, 1.0, 0.0, INTENT_OPEN, 9),
    )  # fmt: skip
    fills["order_id"] = np.arange(len(fills))
    got = pair_figures(fills, np.full(3, 100.0), ("binance", "bybit", "okx"))
    ways = {(d.buy, d.sell): d for d in got.directions}
    assert len(ways) == 6  # every ordered pair of three venues, each once
    assert [(d.buy, d.sell) for d in got.directions][:2] == [("binance", "bybit"), ("binance", "okx")]
    assert (ways["binance", "okx"].pairs, ways["binance", "okx"].pairs_won) == (2, 1)
    assert ways["binance", "okx"].pnl == pytest.approx(1.0 - 0.5)
    assert ways["binance", "okx"].spread_bps == pytest.approx((100.0 - 50.0) / 2)
    assert (ways["okx", "bybit"].pairs, ways["okx", "bybit"].pnl) == (1, pytest.approx(1.0))
    assert sum(d.pairs for d in got.directions) == got.pairs - 1  # the lone leg's pair goes nowhere
    assert all(ways[w].pairs == 0 for w in (("binance", "bybit"), ("bybit", "binance"), ("bybit", "okx")))
    assert pair_figures(fills, np.full(3, 100.0)).directions == ()  # no names, no directions
