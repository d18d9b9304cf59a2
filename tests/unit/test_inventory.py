"""Inventory across the venues (arb.results.inventory) on views whose right answer is worked out here."""

from __future__ import annotations

import numpy as np

from arb.results.inventory import OpenOrder, inventory, pairs_left_text
from arb.strategy.types import (
    BUY,
    INTENT_OPEN,
    MARKET_LINEAR,
    QUOTE_LIVE,
    RULES_DTYPE,
    SELL,
    STYLE_MAKER_TAKER,
    VENUE_OK,
    new_intents,
    new_state,
    new_views,
)
from tests.support.builtin_kernel import decide

NOW = 1_723_161_300_000_000_000


def setup(quote: tuple[float, float] = (1000.0, 1000.0), base: tuple[float, float] = (0.05, 0.05)) -> tuple:
    """Size 0.01, band 1.0, fee 0.1 %, no slippage; asks 100 / bids 99 on both venues (Bybit bids 120)."""
    params = np.zeros(1, RULES_DTYPE)
    p = params[0]
    p["max_order_size"] = 0.01
    p["max_position_size"] = 1.0
    p["taker_fee"][:2] = (0.001, 0.001)
    p["maker_fee"][:2] = (0.0, 0.0)
    p["lot_size"][:2] = (0.001, 0.001)
    p["pair_lot"] = 0.001
    p["tick_size"][:2] = (0.01, 0.01)
    p["book_levels"] = 1
    p["min_spread_bps"] = 1.0
    p["max_hedge_attempts"] = 3
    p["position_limit"] = 10.0
    views = new_views(1)
    for v in (0, 1):
        views[0, v]["ask_px"][0] = 100.0
        views[0, v]["ask_qty"][0] = 1.0
        views[0, v]["bid_px"][0] = 99.0 if v == 0 else 120.0
        views[0, v]["bid_qty"][0] = 1.0
        views[0, v]["status"] = VENUE_OK
        views[0, v]["quote_balance"] = quote[v]
        views[0, v]["base_balance"] = base[v]
    return views, params


def test_both_directions_and_the_binding_side() -> None:
    # buy Binance: 1000 / (0.01 x 100 x 1.001) = 999 pairs of quote, Bybit's 0.05 base = 5 pairs: base binds
    views, params = setup()
    (inv,) = inventory(views, params)
    there, back = inv.directions
    assert (there.name, there.pairs_left, there.limit) == ("buy_binance_sell_bybit", 5, "bybit base")
    assert there.can_trade
    assert (back.name, back.pairs_left, back.limit) == ("buy_bybit_sell_binance", 5, "binance base")
    assert [v.base_available for v in inv.venues] == [0.05, 0.05]
    assert [v.quote_reserved for v in inv.venues] == [0.0, 0.0]
    # Binance's quote for 2 pairs only: it binds that direction, named; the reverse still has 5
    views[0, 0]["quote_balance"] = 2.5
    (inv,) = inventory(views, params)
    assert (inv.directions[0].pairs_left, inv.directions[0].limit) == (2, "binance quote")
    assert inv.directions[1].pairs_left == 5
    # the position band: Binance long 0.985 of a 1.0 band leaves one pair of room to buy there
    views[0, 0]["quote_balance"] = 1000.0
    views[0, 0]["position"] = 0.985
    (inv,) = inventory(views, params)
    assert (inv.directions[0].pairs_left, inv.directions[0].limit) == (1, "binance position")


def test_a_side_that_cannot_trade() -> None:
    views, params = setup(base=(0.05, 0.009))  # under one pair's 0.01 on Bybit
    (inv,) = inventory(views, params)
    assert not inv.directions[0].can_trade
    assert (inv.directions[0].pairs_left, inv.directions[0].limit) == (0, "bybit base")
    assert inv.directions[1].can_trade
    assert pairs_left_text([inv]) == "left buy binance 0 (bybit base) | buy bybit 5"
    # no price on the buy venue: not known, never "can trade"
    views[0, 0]["ask_px"][0] = np.nan
    (inv,) = inventory(views, params)
    assert inv.directions[0].pairs_left is None and not inv.directions[0].can_trade
    assert pairs_left_text([inv]).startswith("left buy binance ?")


def test_open_orders_and_quotes_reserve() -> None:
    views, params = setup(quote=(3.0, 1000.0))
    # a buy in flight on Binance holds 0.01 x 100 x 1.001 = 1.001 of its quote; a sell on Bybit holds 0.02 base
    orders = [OpenOrder(0, 0, BUY, 100.0, 0.01), OpenOrder(0, 1, SELL, 100.0, 0.02)]
    (inv,) = inventory(views, params, orders)
    binance, bybit = inv.venues
    assert np.isclose(binance.quote_reserved, 1.001) and np.isclose(binance.quote_available, 1.999)
    assert np.isclose(bybit.base_reserved, 0.02) and np.isclose(bybit.base_available, 0.03)
    assert (inv.directions[0].pairs_left, inv.directions[0].limit) == (1, "binance quote")
    # a resting sell quote on Binance (maker_taker) holds its base too
    views[0, 0]["quote_state"][1] = QUOTE_LIVE
    views[0, 0]["quote_qty"][1] = 0.04
    views[0, 0]["quote_px"][1] = 101.0
    params[0]["style"] = STYLE_MAKER_TAKER
    params[0]["quote_size"] = 0.01
    (inv,) = inventory(views, params, orders)
    assert np.isclose(inv.venues[0].base_reserved, 0.04)
    assert (inv.directions[1].pairs_left, inv.directions[1].limit) == (1, "binance base")
    # a linear venue holds no coin for an order: only the band limits it
    params[0]["market"][:2] = (MARKET_LINEAR, MARKET_LINEAR)
    (inv,) = inventory(views, params, orders)
    assert inv.venues[1].base_reserved == 0.0
    assert [d.limit for d in inv.directions] == ["binance position", "bybit position"]


def test_the_kernel_trades_exactly_while_a_pair_is_left() -> None:
    # Bybit's bid 120 over Binance's ask 100: the kernel wants to buy Binance; it sends the pair exactly
    # when the inventory says a pair at the configured size is left there
    for quote, expected in ((1.001, True), (1.0009, False)):
        views, params = setup(quote=(quote, 1000.0))
        (inv,) = inventory(views, params)
        intents = new_intents()
        n = decide(views[0], params, new_state(), NOW, intents)
        sent = bool(n > 0 and intents[0]["kind"] == INTENT_OPEN and np.isclose(intents[:n]["qty"].max(), 0.01))
        assert inv.directions[0].can_trade is expected
        assert sent is expected


def test_the_reports_series_books_fills_and_funding_per_symbol() -> None:
    # two symbols share each venue's quote: BTC bought on Binance, ETH sold on Bybit, a funding payment
    from arb.reports.inventory import inventory_series
    from arb.strategy.types import FILL_DTYPE, FUNDING_DTYPE, equity_dtype

    fills = np.zeros(2, FILL_DTYPE)
    fills[0] = (10, 10, 0, BUY, 100.0, 0.01, 0.001, 1, INTENT_OPEN, 1, 0)
    fills[1] = (20, 20, 1, SELL, 50.0, 0.1, 0.005, 2, INTENT_OPEN, 2, 1)
    funding = np.zeros(1, FUNDING_DTYPE)
    funding[0] = (30, 30, 1, 1, 0.0001, 50.0, -0.1, 0.0005)
    equity = np.zeros(4, equity_dtype(2))
    equity["ts"] = [0, 0, 40, 40]
    equity["symbol"] = [0, 1, 0, 1]
    equity["mid"] = [(100.0, 100.0), (50.0, 50.0), (100.0, 100.0), (50.0, 50.0)]
    _, params = setup()
    params["max_position_size"] = 2.0
    both = np.concatenate([params, params])
    points = inventory_series(fills, equity, [(0.05, 0.05), (1.0, 1.0)], (1000.0, 1000.0), both,
                              ("BTCUSDT", "ETHUSDT"), funding)  # fmt: skip
    assert [p.event for p in points] == ["start", "fill", "fill", "funding", "end"]
    assert [p.ts for p in points] == [0, 10, 20, 30, 40]
    end = points[-1]
    assert np.allclose(end.base, [[0.06, 0.05], [1.0, 0.9]])
    assert np.allclose(end.quote, [1000.0 - 1.0 - 0.001, 1000.0 + 5.0 - 0.005 + 0.0005])
    btc, eth = end.symbols
    assert (btc.symbol, eth.symbol) == ("BTCUSDT", "ETHUSDT")
    # ETH's buy Bybit: 1004.9955 / (0.01 x 50 x 1.001) = 2007 of quote, the bands 210 and 200, Binance's 1.0 ETH 100
    assert (eth.directions[1].pairs_left, eth.directions[1].limit) == (100, "binance base")


def test_open_orders_are_read_from_the_paper_and_the_live_executors_alike() -> None:
    from types import SimpleNamespace

    from arb.execution.live_executor import LiveExecutor
    from arb.live.account_lines import open_orders
    from arb.strategy.types import INTENT_QUOTE

    leg = SimpleNamespace(symbol_index=1, venue=0, side=BUY, price=100.0, qty=0.01, kind=INTENT_OPEN)
    quote = SimpleNamespace(symbol_index=0, venue=1, side=SELL, price=101.0, qty=0.02, kind=INTENT_QUOTE)
    paper = SimpleNamespace(in_flight=[leg])
    # the live executor's in_flight gathers its venue executors' (one with a resting quote)
    venues = SimpleNamespace(venues=[SimpleNamespace(in_flight=[leg]), SimpleNamespace(in_flight=[quote])])
    live = SimpleNamespace(in_flight=LiveExecutor.in_flight.fget(venues))
    expected = [OpenOrder(1, 0, BUY, 100.0, 0.01)]  # a resting quote is the view's, not counted twice
    assert open_orders(paper) == open_orders(live) == expected
