"""The backtest takes no more than the book showed: what our orders took from a level is not there for us
again until the venue's level changes, and an order that crosses several levels fills level by level at
each level's price, in the backtest and the paper venue alike (arb.execution.liquidity), decision for
decision.

Before this rule the backtest took a level's quantity as shown at every decision. On the tape below
(Bybit's bid of 0.05 BTC at 60,300 standing 50 bps over Binance's ask, pairs of 0.05, no cooldown) it
sold 0.60 BTC into that 0.05 in 12 fills; on the shipped sample with pairs of 0.05 and no cooldown, 233
of its 500 fills took from levels its earlier fills had emptied; and a child order for a pair's second
level filled at the best price. Every fill is now read against the book (tests/book_check.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from arb.backtest.run import run_backtest
from arb.config import AppConfig, load_config
from arb.parity.against_dry_run import compare, run_live_replay, run_parity, zero_latency
from arb.recording.loader import load_timeline
from arb.strategy.types import SELL
from arb.testing.configs import write_config_files
from tests.support.book_check import overtaken
from tests.support.captures import ROOT
from tests.support.scenario_days import STANDING_DAY, Change, scenario_config, write_standing_spread

BYBIT = 1


def _tape(tmp_path: Path, bids: dict[float, float], size: float, entry_ms: float = 1.0) -> AppConfig:
    # Bybit's bid levels ``bids`` stand 50 bps over Binance's ask from 2 s on (a heartbeat re-states
    # Binance's and Bybit's best bids every 100 ms); pairs of ``size``, no cooldown
    write_standing_spread(tmp_path, changes=[Change(2000, "bybit", bids=bids)], duration_ms=6000)
    arbitrage = {
        "strategy": {"max_order_size": size, "max_position_size": 1.0, "rebalance_threshold": 0.0, "cooldown_ms": 0},
        "risk": {"max_notional_per_venue": 1e9, "position_limit": 1.0, "max_drawdown": 1e9},
    }
    latency = {"order_entry_ms": entry_ms, "order_response_ms": entry_ms}
    return load_config(scenario_config(tmp_path, arbitrage, latency=latency))


def _checked(config: AppConfig) -> Any:
    # the backtest's fills, each read against the book at its arrival
    result = run_backtest(config, STANDING_DAY, STANDING_DAY)
    assert overtaken(load_timeline(config, result.days), result.fills) == []
    return result


def test_a_level_the_kernel_would_take_again_and_again_is_taken_once(tmp_path: Path) -> None:
    config = zero_latency(_tape(tmp_path, {60300.0: 0.05}, 0.05))
    result = _checked(config)
    sold = result.fills[(result.fills["venue"] == BYBIT) & (result.fills["side"] == SELL)]
    asked = result.sent[(result.sent["venue"] == BYBIT) & (result.sent["side"] == SELL)]
    assert asked["qty"].sum() > 0.05 + 1e-9  # the kernel asked for the level again ...
    assert sold["qty"].sum() == pytest.approx(0.05) and set(sold["price"].tolist()) == {60300.0}  # ... got it once
    report = run_parity(config, exact=True)
    assert report.agree, report.describe()
    assert report.fills[0] == report.fills[1] == len(result.fills)


def test_with_latency_too_the_level_is_taken_once_and_the_drivers_agree(tmp_path: Path) -> None:
    config = _tape(tmp_path, {60300.0: 0.05}, 0.05)
    result = _checked(config)
    sold = result.fills[(result.fills["venue"] == BYBIT) & (result.fills["side"] == SELL)]
    assert sold["qty"].sum() == pytest.approx(0.05)
    report = run_parity(config)
    assert report.agree, report.describe()


def test_a_child_for_the_second_level_fills_at_the_second_levels_price(tmp_path: Path) -> None:
    config = zero_latency(_tape(tmp_path, {60300.0: 0.05, 60290.0: 0.05}, 0.1))
    result = _checked(config)
    sold = result.fills[(result.fills["venue"] == BYBIT) & (result.fills["side"] == SELL)]
    first = sold[sold["pair_id"] == sold["pair_id"].min()]
    assert sorted(first["price"].tolist()) == [60290.0, 60300.0]  # before: both at 60,300
    assert first["qty"].tolist() == pytest.approx([0.05, 0.05])
    report = run_parity(config, exact=True)
    assert report.agree, report.describe()


def test_the_sample_with_pairs_near_the_top_level_and_no_cooldown(tmp_path: Path) -> None:
    # pairs of 0.05 BTC (the sample's top levels hold from a few thousandths to a few BTC), balances that
    # never run out and limits that stay out of the way: the kernel takes the same levels again and again
    venue = {"account": {"base": 50.0, "quote": 5_000_000.0}}
    path = write_config_files(
        tmp_path,
        binance_overrides=venue,
        bybit_overrides=venue,
        arbitrage_overrides={
            "strategy": {"max_order_size": 0.05, "max_position_size": 10.0, "cooldown_ms": 0,
                         "rebalance_threshold": 5.0},
            "risk": {"position_limit": 10.0, "max_notional_per_venue": 1e9, "max_drawdown": 1e9,
                     "stop_loss_bps": 1e4},
            "backtest": {"recordings": str(ROOT / "recordings")},
        },
    )  # fmt: skip
    config = zero_latency(load_config(path))
    result = run_backtest(config)
    assert len(result.fills) > 400 and result.counters["expired"] > 0  # emptied levels: orders expired
    assert overtaken(load_timeline(config, result.days), result.fills) == []
    report = compare(config, result, run_live_replay(config, result.days), exact=True)  # run_parity's, this backtest's
    assert report.agree, report.describe()
    assert report.fills == (len(result.fills), len(result.fills))
