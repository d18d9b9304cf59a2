"""The one rule the backtest and the paper venue fill taker orders by (arb.execution.liquidity): level by
level at each level's price, never more than a level shows net of what our orders took from it while it
showed that quantity."""

from __future__ import annotations

import numpy as np
import pytest

from arb.execution.liquidity import TAKEN_SLOTS, forget_changed, new_taken, remembered, take_levels
from arb.strategy.types import BUY, SELL

GRID = np.array([0.01, 0.001])  # tick, lot


def _levels(*levels: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    return np.array([p for p, _ in levels]), np.array([q for _, q in levels])


def _settle(taken: np.ndarray, a: int, book: dict[tuple[int, int], float]) -> None:  # type: ignore[type-arg]
    # what a driver does after asset a's book changed: the remembered levels' quantities now
    ticks = np.zeros((2, TAKEN_SLOTS), np.int64)
    shown = np.zeros((2, TAKEN_SLOTS))
    remembered(taken, a, ticks)
    for s in range(2):
        for k in range(TAKEN_SLOTS):
            shown[s, k] = book.get((s, int(ticks[s, k])), 0.0)
    forget_changed(taken, a, shown)


def test_an_order_sweeps_level_by_level_at_each_levels_price() -> None:
    taken = new_taken(2)
    asks = _levels((100.0, 0.1), (100.01, 0.2), (100.5, 5.0))
    filled, cost, price = take_levels(taken, 0, BUY, asks, 100.01, 0.5, GRID)
    assert filled == pytest.approx(0.3) and cost == pytest.approx(0.1 * 100.0 + 0.2 * 100.01)
    assert price == pytest.approx(cost / filled)  # a sweep: the average
    bids = _levels((99.99, 0.4), (99.98, 1.0))
    assert take_levels(taken, 1, SELL, bids, 99.99, 0.25, GRID) == (0.25, 0.25 * 99.99, 99.99)  # one level: its price


def test_what_was_taken_is_not_there_again_while_the_level_shows_the_same() -> None:
    taken = new_taken(1)
    asks = _levels((100.0, 0.1), (100.01, 0.2))
    assert take_levels(taken, 0, BUY, asks, 100.0, 0.08, GRID)[0] == pytest.approx(0.08)
    assert take_levels(taken, 0, BUY, asks, 100.0, 0.08, GRID)[0] == pytest.approx(0.02)
    assert take_levels(taken, 0, BUY, asks, 100.0, 0.08, GRID)[0] == 0.0
    # a child for level 2 finds level 1 emptied: it takes level 2, at level 2's price
    assert take_levels(taken, 0, BUY, asks, 100.01, 0.2, GRID) == (
        pytest.approx(0.2),
        pytest.approx(0.2 * 100.01),
        100.01,
    )
    # the book changes elsewhere: both levels still show what they showed, both still emptied
    _settle(taken, 0, {(1, 10000): 0.1, (1, 10001): 0.2, (0, 9999): 7.0})
    assert take_levels(taken, 0, BUY, asks, 100.01, 1.0, GRID)[0] == 0.0


def test_a_new_quantity_or_a_level_that_left_is_all_there_again() -> None:
    taken = new_taken(1)
    asks = _levels((100.0, 0.1), (100.01, 0.2))
    take_levels(taken, 0, BUY, asks, 100.01, 0.3, GRID)
    _settle(taken, 0, {(1, 10000): 0.15, (1, 10001): 0.2})  # level 1 shows a new quantity
    _settle(taken, 0, {(1, 10000): 0.1, (1, 10001): 0.2})  # and its old one again: it changed meanwhile
    assert take_levels(taken, 0, BUY, asks, 100.01, 0.3, GRID)[0] == pytest.approx(0.1)
    _settle(taken, 0, {(1, 10000): 0.1})  # level 2 left
    _settle(taken, 0, {(1, 10000): 0.1, (1, 10001): 0.2})  # and came back as it was
    assert take_levels(taken, 0, BUY, asks, 100.01, 0.3, GRID)[0] == pytest.approx(0.2)


def test_a_level_showing_another_quantity_at_the_order_is_all_there() -> None:
    # no driver told the memory of the change (between two book changes it cannot happen): the order sees it
    taken = new_taken(1)
    take_levels(taken, 0, BUY, _levels((100.0, 0.1)), 100.0, 0.1, GRID)
    assert take_levels(taken, 0, BUY, _levels((100.0, 0.3)), 100.0, 0.5, GRID)[0] == pytest.approx(0.3)


def test_quantities_go_down_to_the_lot_and_a_level_it_cannot_remember_is_not_taken() -> None:
    taken = new_taken(1)
    assert take_levels(taken, 0, BUY, _levels((100.0, 0.0105)), 100.0, 1.0, GRID)[0] == pytest.approx(0.010)
    many = _levels(*[(100.0 + 0.01 * k, 0.001) for k in range(TAKEN_SLOTS + 5)])
    filled, _, _ = take_levels(taken, 0, BUY, many, 101.0, 1.0, GRID)
    assert filled == pytest.approx(0.001 * TAKEN_SLOTS)  # 100.0 (changed) keeps its slot, the others fill the rest
