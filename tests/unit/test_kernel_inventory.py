"""The kernel's inventory skew and its count of pairs missed for want of balance, on constructed books
whose answer is worked out here (the books and parameters of tests/unit/test_kernel.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.strategies.taker import inventory_imbalance, skewed_bps
from arb.strategy.types import BUY, SELL, new_state
from tests.support.builtin_kernel import memory_of
from tests.unit.test_kernel import params, run, view

# 200 on 60000 is 33.3 bps; minus 20 bps of fees and 2 of slippage leaves 11.33 bps net.
ASKS0 = [(60000.0, 1.0)]
BIDS1 = [(60200.0, 1.0)]


def test_the_imbalance_is_the_base_difference_in_full_pairs() -> None:
    p = params(max_order_size=0.5)
    assert inventory_imbalance(view(ASKS0, BIDS1, base=(12.0, 10.0)), p[0], 0, 1) == pytest.approx(2.0)
    assert inventory_imbalance(view(ASKS0, BIDS1, base=(10.0, 10.0)), p[0], 0, 1) == 0.0
    assert inventory_imbalance(view(ASKS0, BIDS1, base=(9.5, 10.0)), p[0], 0, 1) == pytest.approx(-0.5)
    assert inventory_imbalance(view(ASKS0, BIDS1, base=(9.5, 10.0)), p[0], 1, 0) == pytest.approx(0.5)


def test_the_skew_raises_the_draining_direction_and_lowers_the_restoring_one_to_break_even() -> None:
    p = params(inventory_skew_bps=4.0)[0]
    v = view(ASKS0, BIDS1, base=(11.0, 10.0))  # venue 0 holds one pair more: imbalance 1
    assert skewed_bps(v, p, 0, 1, 5.0) == pytest.approx(9.0)  # buying on 0 again drains venue 1
    assert skewed_bps(v, p, 1, 0, 5.0) == pytest.approx(1.0)  # buying on 1 restores
    far = view(ASKS0, BIDS1, base=(13.0, 10.0))  # imbalance 3: 5 - 12 would trade below the fees
    assert skewed_bps(far, p, 1, 0, 5.0) == 0.0
    assert skewed_bps(far, params()[0], 0, 1, 5.0) == 5.0  # 0: off


def test_a_skewed_threshold_stops_the_draining_direction_and_opens_the_restoring_one() -> None:
    # 11.33 bps net clears 5 flat; at 4 bps a pair, with venue 0 one pair long buying there needs 9,
    # two pairs long 13
    assert len(run(view(ASKS0, BIDS1, base=(11.0, 10.0)), params(inventory_skew_bps=4.0))) == 2
    assert len(run(view(ASKS0, BIDS1, base=(12.0, 10.0)), params(inventory_skew_bps=4.0))) == 0
    # the other way round: Bybit's ask 60150 under Binance's bid 60300 is 24.9 - 22 = 2.9 bps net,
    # short of 5, enough once venue 0 holds a pair more (5 - 4 = 1)
    kw = {"bids0": [(60300.0, 1.0)], "asks1": [(60150.0, 1.0)]}
    assert len(run(view([(60400.0, 1.0)], [(59900.0, 1.0)], **kw, base=(10.0, 10.0)), params())) == 0
    got = run(view([(60400.0, 1.0)], [(59900.0, 1.0)], **kw, base=(11.0, 10.0)), params(inventory_skew_bps=4.0))
    assert [(r["venue"], r["side"]) for r in got] == [(1, BUY), (0, SELL)]


def test_a_pair_left_out_for_want_of_balance_is_counted() -> None:
    state = new_state()
    assert len(run(view(ASKS0, BIDS1, base=(10.0, 0.0)), params(), state)) == 0  # nothing to sell on 1
    assert len(run(view(ASKS0, BIDS1, quote=(1.0, 1e7)), params(), state)) == 0  # nothing to buy with on 0
    assert memory_of(state)["missed_for_balance"] == 2
    # not counted: a spread short of the threshold, or a pair that went out smaller
    assert len(run(view(ASKS0, [(60150.0, 1.0)], base=(10.0, 0.0)), params(), state)) == 0
    assert len(run(view(ASKS0, BIDS1, base=(10.0, 0.03)), params(), state)) == 2
    assert memory_of(state)["missed_for_balance"] == 2


def test_a_sweep_grid_varies_the_inventory_keys_and_reports_their_figures(tmp_path: Path) -> None:
    from arb.config import load_config
    from arb.sweep import FIGURES, load_grid
    from arb.testing.configs import write_config_files

    config = load_config(write_config_files(tmp_path))
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text('[grid]\n"strategy.inventory_skew_bps" = [0, 4]\n"backtest.transfer_policy" = ["none", '
                         '"threshold"]\n"backtest.transfer_delay_base_s" = [0.5]\n')  # fmt: skip
    grid = load_grid(grid_file, config)
    last = grid.config_at(config, grid.points()[-1])
    assert len(grid.points()) == 4
    assert (last.strategy.inventory_skew_bps, last.backtest.transfer_policy) == (4.0, "threshold")
    assert last.backtest.transfer_delay_base_ns == 500_000_000
    assert {"missed_for_balance", "transfers", "transfer_fees"} <= set(FIGURES)
