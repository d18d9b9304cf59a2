"""Margin on perpetual venues: the gate's initial-margin check and liquidation estimate, the paper
venue's margin rejection and the configuration's check of isolated margin against the limit.

The liquidation price is worked out by hand here from the venues' documented rule (a position is
liquidated when the margin backing it, plus its loss, falls to the maintenance margin).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arb.config import load_config
from arb.errors import ConfigError
from arb.execution import risk
from arb.execution.paper import PaperExecutor
from arb.execution.risk import B_LIQUIDATION, B_MARGIN, event_text, liquidation_distance, new_risk_state
from arb.strategy.types import BUY, INTENT_HEDGE, SELL
from arb.testing.configs import write_config_files
from tests.unit.test_risk import NOW, book, limits, pair, sym


def perp_limits(leverage: float = 1.0, rate: float = 0.004, isolated: int = 0, **over: float) -> np.ndarray:
    lim = limits(**over)
    lim["leverage"][..., :2] = (leverage, leverage)
    lim["maintenance_rate"][..., :2] = (rate, rate)
    lim["isolated"][..., :2] = (isolated, isolated)
    lim["min_liquidation_distance"] = over.get("min_liquidation_distance", 0.0)
    return lim


def account(quote: float) -> np.ndarray:
    v = book()  # mid 60,000 on both venues
    v["quote_balance"] = quote
    v["base_balance"] = 0.0
    return v


def gate(v: np.ndarray, lim: np.ndarray, state: np.ndarray, intents: np.ndarray, n: int) -> int:
    return int(risk.gate(v[None], 0, lim, state, sym(state), intents, n, NOW))


def test_liquidation_distance_by_hand() -> None:
    # long 1 at 60,000 backed by 10,000: liquidated where 10,000 + (P - 60,000) = 0.004 P,
    # P = 50,000 / 0.996 = 50,200.80: 16.33 % below
    assert liquidation_distance(1.0, 60_000.0, 10_000.0, 0.004) == pytest.approx(1 - 50_000 / 0.996 / 60_000)
    # short 1: 10,000 - (P - 60,000) = 0.004 P, P = 70,000 / 1.004 = 69,721.12: 16.20 % above
    assert liquidation_distance(-1.0, 60_000.0, 10_000.0, 0.004) == pytest.approx(70_000 / 1.004 / 60_000 - 1)
    # a long fully backed cannot be liquidated; isolated at 10x: about 1/10 - rate away
    assert liquidation_distance(1.0, 60_000.0, 60_000.0, 0.004) == 1.0
    assert liquidation_distance(-1.0, 60_000.0, 6_000.0, 0.004) == pytest.approx(66_000 / 1.004 / 60_000 - 1)


def test_a_pair_needing_more_margin_than_the_venue_has_is_refused() -> None:
    # 0.1 BTC at 60,000 is 6,000 of position: at 1x it needs 6,000 of margin on each venue
    intents, n = pair(0.1)
    state = new_risk_state()
    assert gate(account(5_000.0), perp_limits(leverage=1.0), state, intents, n) == 0
    assert state[0]["breach"] == B_MARGIN and state[0]["breach_value"] == pytest.approx(6_000.0)
    assert "initial margin on one venue 6,000.00" in event_text(B_MARGIN, 6_000.0, 5_000.0, perp_limits())
    assert gate(account(5_000.0), perp_limits(leverage=2.0), new_risk_state(), intents, n) == 2  # 3,000
    assert gate(account(5_000.0), limits(), new_risk_state(), intents, n) == 2  # spot venues: no margin


def test_other_symbols_positions_use_margin_too() -> None:
    views = np.stack([account(10_000.0), account(10_000.0)])
    views[1]["position"] = (0.1, -0.1)  # the second symbol holds 6,000 a venue already
    lim = np.concatenate([perp_limits(), perp_limits()])
    intents, n = pair(0.1)
    state, symbol_state = new_risk_state(), risk.new_symbol_risk_state(2)
    assert risk.gate(views, 0, lim, state, symbol_state, intents, n, NOW) == 0  # 12,000 > 10,000 (+/- its PnL)
    assert state[0]["breach"] == B_MARGIN


def test_liquidation_distance_limit_refuses_a_pair_that_comes_too_close() -> None:
    # cross, 10,000 of equity a venue: 0.1 BTC (6,000) after the pair is liquidated ~ 166 % away,
    # 1.5 BTC (90,000) at 10x sits 10,000 / 90,000 ~ 11 % away
    lim = perp_limits(leverage=10.0, min_liquidation_distance=0.15)
    assert gate(account(10_000.0), lim, new_risk_state(), *pair(0.1)) == 2
    state = new_risk_state()
    assert gate(account(10_000.0), lim, state, *pair(1.5)) == 0
    distance = liquidation_distance(1.5, 60_000.0, 10_000.0 - 0.0, 0.004)
    assert state[0]["breach"] == B_LIQUIDATION and state[0]["breach_value"] == pytest.approx(distance, rel=1e-3)
    assert 0.10 < distance < 0.12
    # isolated at 10x the distance is ~ 1/10 - 0.004 whatever the size
    iso = perp_limits(leverage=10.0, isolated=1, min_liquidation_distance=0.05)
    assert gate(account(1e6), iso, new_risk_state(), *pair(0.1)) == 2
    iso["min_liquidation_distance"] = 0.1
    assert gate(account(1e6), iso, new_risk_state(), *pair(0.1)) == 0


def test_a_hedge_is_never_refused_for_margin() -> None:
    v = account(100.0)
    v[0]["position"] = 0.1  # a lone long leg, far beyond the venue's margin
    intents = pair(0.1)[0]
    intents[0] = (1, SELL, 59990.0, 0.1, INTENT_HEDGE, 3, 0)
    assert gate(v, perp_limits(min_liquidation_distance=0.3), new_risk_state(), intents, 1) == 1


def test_isolated_margin_below_the_limit_is_a_configuration_error(tmp_path: Path) -> None:
    linear = {"market": "linear", "account": {"base": 0.0}, "feed": {"depth_stream": None},
              "perpetual": {"leverage": 20, "margin_mode": "isolated", "maintenance_margin_rate": 0.005}}  # fmt: skip
    path = write_config_files(
        tmp_path, binance_overrides=linear, bybit_overrides=linear,
        arbitrage_overrides={"risk": {"min_liquidation_distance": 0.1}},
    )  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "min_liquidation_distance" in text and "expected at most 0.045" in text and "leverage 20" in text
    linear["perpetual"]["leverage"] = 5  # 1/5 - 0.005 = 0.195: room for 0.1
    path = write_config_files(tmp_path, binance_overrides=linear, bybit_overrides=linear,
                              arbitrage_overrides={"risk": {"min_liquidation_distance": 0.1}})  # fmt: skip
    assert load_config(path).risk.min_liquidation_distance == 0.1


def test_the_paper_venue_rejects_an_order_its_margin_cannot_carry(tmp_path: Path) -> None:
    from arb.book import OrderBook
    from arb.events import event_dtype

    linear = {"market": "linear", "account": {"base": 0.0, "quote": 1_000.0}, "feed": {"depth_stream": None},
              "perpetual": {"leverage": 5}, "fees": {"maker": 0.0, "taker": 0.0005},
              "latency": {"order_entry_ms": 1.0, "order_response_ms": 1.0},
              "instrument": {"tick_size": 0.1, "lot_size": 0.001, "min_qty": 0.001, "min_notional": 5.0}}  # fmt: skip
    config = load_config(write_config_files(tmp_path, binance_overrides=linear, bybit_overrides=linear))
    books = tuple(OrderBook(16) for _ in range(2))
    for b in books:
        b.apply(_levels(np.zeros(2, event_dtype)))  # bid 59,990, ask 60,010
    executor = PaperExecutor(config.venues, books, lambda: [0, 0], base=np.zeros((1, 2)), quote=(1_000.0, 1_000.0))
    answers = []
    # 0.08 BTC at 60,000 is 4,800: at 5x it needs 960 of the 1,000 (+ 2.40 of fee): accepted
    executor.submit(0, BUY, 60_010.0, 0.08, 1, 1, 0)
    # another 0.01 would need 1,080: the venue says -2019 Margin is insufficient
    executor.submit(0, BUY, 60_010.0, 0.01, 1, 2, 0)
    executor.run_until(10**9, answers.append)
    first, second = answers
    assert first.status == "filled"
    assert second.status == "rejected" and second.rejection is not None and second.rejection.code == -2019
    # reducing the position needs no margin: a sell goes through
    executor.submit(0, SELL, 59_990.0, 0.05, 1, 3, 2 * 10**9)
    executor.run_until(3 * 10**9, answers.append)
    assert answers[-1].status == "filled"


def _levels(rows: np.ndarray) -> np.ndarray:
    from arb.events import BUY_EVENT, DEPTH_EVENT, EXCH_EVENT, LOCAL_EVENT, SELL_EVENT

    both = DEPTH_EVENT | EXCH_EVENT | LOCAL_EVENT
    rows["ev"] = (both | BUY_EVENT, both | SELL_EVENT)
    rows["px"] = (59_990.0, 60_010.0)
    rows["qty"] = (5.0, 5.0)
    return rows
