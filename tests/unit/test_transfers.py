"""The backtest's transfer policy (arb.backtest.transfers) on hand-made balances: what it sends, when it
arrives, what it books."""

from __future__ import annotations

import numpy as np
import pytest

from arb.backtest.transfers import (
    ASSET_BASE,
    ASSET_QUOTE,
    B_COUNT,
    B_FEE,
    B_TRANSIT_NS,
    TRANSFER_NONE,
    TRANSFER_THRESHOLD,
    held_value,
    move_inventory,
    new_inventory,
)
from arb.strategy.records import BACKTEST_RUN_DTYPE
from arb.strategy.types import new_views

S = 1_000_000_000


def settings(policy: int = TRANSFER_THRESHOLD) -> np.ndarray:
    run = np.zeros(1, BACKTEST_RUN_DTYPE)
    run[0]["transfer_policy"] = policy
    run[0]["transfer_threshold"] = 0.25
    run[0]["transfer_fee"] = (0.0002, 1.0)
    run[0]["transfer_delay_ns"] = (2 * S, 0)
    return run


def views(base: tuple[float, float], quote: tuple[float, float]) -> np.ndarray:
    v = new_views(1)
    v[0]["base_balance"] = base
    v[0]["quote_balance"] = quote
    v[0]["bid_px"][:, 0] = 59_990.0
    v[0]["ask_px"][:, 0] = 60_010.0
    return v


def test_a_short_venue_is_sent_what_evens_the_two_out_and_it_arrives_after_the_delay() -> None:
    v = views((0.08, 0.02), (100_000.0, 100_000.0))  # Bybit holds 20 % of the base
    inv = new_inventory([1], 2)
    move_inventory(10 * S, v, settings(), inv)
    amount = (0.08 - 0.02 - 0.0002) / 2
    assert v[0][0]["base_balance"] == pytest.approx(0.08 - amount - 0.0002)
    assert v[0][1]["base_balance"] == pytest.approx(0.02)  # not yet: it is on its way
    assert inv.transit[0, 1, ASSET_BASE] == pytest.approx(amount) and inv.due[0, 1, ASSET_BASE] == 12 * S
    booked = inv.booked[0, ASSET_BASE]
    assert (booked[B_COUNT], booked[B_FEE], booked[B_TRANSIT_NS]) == pytest.approx((1, 0.0002, 2 * S))
    assert tuple(inv.fees[0, :, ASSET_BASE]) == pytest.approx((0.0002, 0.0))  # Binance sent it
    # on its way it is the receiver's in equity, and no second transfer starts
    assert held_value(inv, 0, 1, 60_000.0) == pytest.approx(amount * 60_000.0)
    move_inventory(11 * S, v, settings(), inv)
    assert inv.booked[0, ASSET_BASE, B_COUNT] == 1 and v[0][1]["base_balance"] == pytest.approx(0.02)
    move_inventory(12 * S, v, settings(), inv)
    assert v[0][0]["base_balance"] == pytest.approx(v[0][1]["base_balance"])  # even after the fee
    assert inv.transit[0, 1, ASSET_BASE] == 0.0 and inv.moved[0, 1, ASSET_BASE] == pytest.approx(amount)


def test_the_quote_moves_at_once_with_no_delay_and_every_symbols_view_sees_it() -> None:
    v = new_views(2)
    v["base_balance"] = 1.0
    v["quote_balance"] = np.array([190_000.0, 10_000.0])  # Bybit holds 5 % of the quote
    inv = new_inventory([1, 1], 2)
    move_inventory(S, v, settings(), inv)
    even = 100_000.0 - 0.5  # each venue bears half the fee
    assert v[0][0]["quote_balance"] == v[1][0]["quote_balance"] == pytest.approx(even)
    assert v[0][1]["quote_balance"] == v[1][1]["quote_balance"] == pytest.approx(even)
    assert inv.booked[0, ASSET_QUOTE, B_COUNT] == 1 and inv.booked[1, ASSET_QUOTE, B_COUNT] == 0


def test_nothing_moves_without_the_policy_or_when_the_base_may_not() -> None:
    v = views((0.1, 0.0), (200_000.0, 0.0))
    for policy, movable in ((TRANSFER_NONE, 1), (TRANSFER_THRESHOLD, 0)):
        inv = new_inventory([movable], 2)
        move_inventory(S, v, settings(policy), inv)
        assert inv.booked[0, ASSET_BASE, B_COUNT] == 0
    assert v[0][1]["base_balance"] == 0.0


def test_with_three_venues_the_short_one_is_sent_by_the_one_holding_the_most() -> None:
    v = new_views(1, 3)
    v[0]["base_balance"] = (0.05, 0.09, 0.01)  # the third holds 6.7 %; the second holds the most
    v[0]["quote_balance"] = (100_000.0, 100_000.0, 100_000.0)
    v[0]["bid_px"][:, 0] = 59_990.0
    v[0]["ask_px"][:, 0] = 60_010.0
    inv = new_inventory([1], 3)
    move_inventory(10 * S, v, settings(), inv)
    amount = (0.09 - 0.01 - 0.0002) / 2
    assert inv.transit[0, 2, ASSET_BASE] == pytest.approx(amount) and inv.transit[0, 0, ASSET_BASE] == 0.0
    assert v[0][1]["base_balance"] == pytest.approx(0.09 - amount - 0.0002)
    assert v[0][0]["base_balance"] == 0.05  # the first is left alone
    assert tuple(inv.fees[0, :, ASSET_BASE]) == pytest.approx((0.0, 0.0002, 0.0))
    row = inv.log[0]
    assert (row["from_venue"], row["to_venue"]) == (1, 2)
