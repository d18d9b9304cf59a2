"""Parity of the ``maker_taker`` style: the same recording through the backtest (hftbacktest's exchange and
queue model) and through the dry run's live path (the paper venue's resting quotes,
:mod:`arb.execution.queue_model`).

At zero latency both drivers see the venue as it is, so they must agree exactly: the same kernel calls with
the same views (resting quotes included), the same quotes, cancels and hedges, the same fills at the same
times and prices. (Orders then take 1 ns each way: hftbacktest never moves on from a resting order's
acknowledgement due at the very time it was sent.)

With latency the paper venue keeps the venue's own time: a quote or cancel is acted on after the venue's rows
up to its arrival, as the backtest's exchange acts on it. Where its feed runs behind, it can only book a
maker fill from the rows as they reach it, so the drivers' decisions may part after a fill; every fill must
still have its match (:data:`arb.parity.against_dry_run.FILL_TIME_TOLERANCE_NS`).

The sample's tests replay its first minutes (``tests/support/sample_slice.py``): the paper venue's queue model
takes every row in Python, and the quotes, cancels and fills asserted are all in the first bursts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from arb.backtest.run import run_backtest
from arb.config import AppConfig, load_config
from arb.parity.against_dry_run import FILL_TIME_TOLERANCE_NS, compare, run_live_replay, run_parity, zero_latency
from arb.strategy.types import INTENT_CANCEL, INTENT_QUOTE
from tests.replay.test_maker_backtest import _config
from tests.support.sample_slice import shared_recordings_until
from tests.support.scenario_days import Book, Change, order_latency, scenario_config, write_scenario


def test_constructed_quote_fill_and_hedge_agree_exactly_at_zero_latency(tmp_path: Path) -> None:
    report = run_parity(zero_latency(load_config(_config(tmp_path))), exact=True)
    assert report.agree, report.describe()
    assert report.intents[0] == report.intents[1] >= 4
    assert report.fills[0] == report.fills[1] == 2  # the quote's fill and its hedge


def _sample_until(sample_config: AppConfig, tmp_path_factory: pytest.TempPathFactory, until: dt.datetime) -> AppConfig:
    # the shipped configuration over the sample received before ``until`` (tests/support/sample_slice.py)
    return sample_config.with_overrides({"backtest.recordings": shared_recordings_until(tmp_path_factory, until)})


def test_sample_in_the_maker_taker_style_agrees_exactly_at_zero_latency(
    sample_config: AppConfig, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # the sample's first burst (to 23:58:30): about 300 quotes and as many cancels, 3 quote fills, 6 fills
    sample = _sample_until(sample_config, tmp_path_factory, dt.datetime(2024, 8, 8, 23, 58, 30, tzinfo=dt.UTC))
    config = zero_latency(
        sample.with_overrides({"strategy.style": "maker_taker", "strategy.maker_venues": ["binance"]})
    )
    backtest = run_backtest(config)
    report = compare(config, backtest, run_live_replay(config, backtest.days), exact=True)
    assert report.agree, report.describe()
    sent, fills = backtest.sent, backtest.fills
    assert (sent["kind"] == INTENT_QUOTE).sum() > 100 and (sent["kind"] == INTENT_CANCEL).sum() > 100
    assert (fills["kind"] == INTENT_QUOTE).sum() >= 1 and report.fills[0] == report.fills[1] == len(fills)


def test_sample_quoting_on_both_venues_with_latency_matches_every_fill_within_the_tolerance(
    sample_config: AppConfig, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # the sample to 00:02:30 (two bursts, across midnight): 10 of its 14 fills
    sample = _sample_until(sample_config, tmp_path_factory, dt.datetime(2024, 8, 9, 0, 2, 30, tzinfo=dt.UTC))
    config = sample.with_overrides({"strategy.style": "maker_taker", "strategy.maker_venues": ["binance", "bybit"]})
    report = run_parity(config)
    assert report.paths_may_part and report.agree, report.describe()
    assert report.fills[0] == report.fills[1] >= 10 and report.fills_outside_tolerance == 0
    assert 0 < report.max_time_diff_ns <= FILL_TIME_TOLERANCE_NS


def _quote_overtaken(tmp_path: Path, ask_at_ms: int) -> AppConfig:
    # The buy quote (59938.16 on Binance, from Bybit's 60100 bid) is sent at 5 ms and reaches Binance at 15 ms;
    # Binance's ask comes down to its price at ``ask_at_ms`` (venue time), 5 ms before the feed delivers it.
    day = dt.date(2024, 4, 3)
    write_scenario(
        tmp_path / "recordings",
        day,
        Book(bids={59990.0: 2.0}, asks={60000.0: 2.0}),
        Book(bids={60100.0: 2.0}, asks={60110.0: 2.0}),
        [Change(ask_at_ms, "binance", asks={60000.0: 0.0, 59938.16: 1.0})],
        duration_ms=3000,
        heartbeat_ms=100,
    )
    arbitrage = {
        "strategy": {"max_order_size": 0.01, "max_position_size": 0.05, "rebalance_threshold": 0.0,
                     "min_spread_bps": 5.0, "style": "maker_taker", "maker_venues": ["binance"]},
        "execution": {"slippage_tolerance_bps": 2.0},
        "risk": {"max_notional_per_venue": 1e9, "position_limit": 1.0},
    }  # fmt: skip
    return load_config(scenario_config(tmp_path, arbitrage, latency=order_latency(10.0)))


def test_a_quote_reaching_the_venue_after_the_ask_came_down_to_it_is_refused_in_both_drivers(tmp_path: Path) -> None:
    # The ask reaches the quote's price at 12 ms, venue time, before the quote arrives (15 ms), but reaches
    # us at 17 ms. The backtest's exchange refuses the post-only quote; so does the paper venue, which waits
    # for the venue's rows up to the quote's arrival (it used to rest the quote against the book it had
    # seen, then fill it as a maker at 12 ms, before it had even arrived).
    config = _quote_overtaken(tmp_path, ask_at_ms=12)
    report = run_parity(config)
    assert report.first is None and report.agree, report.describe()
    assert report.fills == (0, 0) and report.intents[0] == report.intents[1] == 3  # two quotes, one re-sent
