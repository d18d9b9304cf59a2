"""Live parity on the shipped sample: the backtest and arb live's order path (ccxt, the journal, the
user streams) against fake venues replaying the sample make the same decisions.

Each test replays the sample's first minutes (``tests/support/sample_slice.py``): the fake venues' books
cost their every frame, and the decisions are in a few bursts. At zero latency, the minutes up to 00:02:30
(two bursts, across midnight: the second day's files continue the first's books); with latency, up to
23:58:30 (the first burst); two symbols, their day up to 23:58:10 (two bursts of ETHUSDT, one of BTCUSDT)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from arb.config import AppConfig, load_config
from arb.parity.against_dry_run import zero_latency
from arb.parity.against_live import run_live_parity
from tests.support.sample_slice import shared_recordings_until
from tests.support.two_symbols import two_symbol_config

DAY = dt.date(2024, 8, 8)


def _sample_until(sample_config: AppConfig, tmp_path_factory: pytest.TempPathFactory, until: dt.datetime) -> AppConfig:
    # the shipped configuration over the sample received before ``until``
    recordings = shared_recordings_until(tmp_path_factory, until)
    return sample_config.with_overrides({"backtest.recordings": recordings})


def test_at_zero_latency_live_sends_exactly_the_backtests_intents_and_gets_its_fills(
    sample_config: AppConfig, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = _sample_until(sample_config, tmp_path_factory, dt.datetime(2024, 8, 9, 0, 2, 30, tzinfo=dt.UTC))
    report = run_live_parity(zero_latency(config), exact=True)
    assert report.agree, report.describe()
    assert report.intents == (16, 16) and report.fills == (16, 16)  # 3 pairs on the 8th, 5 on the 9th
    assert report.max_price_diff_bps == 0.0


def test_with_latency_the_intents_agree_and_fills_stay_within_the_tolerance(
    sample_config: AppConfig, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = _sample_until(sample_config, tmp_path_factory, dt.datetime(2024, 8, 8, 23, 58, 30, tzinfo=dt.UTC))
    report = run_live_parity(config)
    assert report.agree, report.describe()
    assert report.intents[0] == report.intents[1] > 0
    assert report.fills_outside_tolerance == 0 and report.max_price_diff_bps <= report.price_tolerance_bps


def test_two_symbols_live_sends_the_backtests_intents_per_symbol_exactly_at_zero_latency(
    two_symbols: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # BTCUSDT and ETHUSDT of the same minutes on both fake venues at once (each venue replays both, one
    # clock): the live executors route each symbol's orders and fills, and each symbol decides as in the
    # backtest; their day up to 23:58:10: ETHUSDT's pairs at 23:55:59 and 23:57:37, BTCUSDT's at 23:58:03
    until = dt.datetime(2024, 8, 8, 23, 58, 10, tzinfo=dt.UTC)
    recordings = shared_recordings_until(tmp_path_factory, until, two_symbols, "*.gz", "two-symbols")
    config = load_config(two_symbol_config(tmp_path, recordings))
    report = run_live_parity(zero_latency(config), DAY, DAY, exact=True)
    assert report.agree, report.describe()
    assert [name for name, _ in report.symbols] == ["BTCUSDT", "ETHUSDT"]
    for name, own in report.symbols:
        assert own.intents[0] == own.intents[1] >= 6 and own.fills[0] == own.fills[1] >= 6, (name, own.describe())
        assert own.max_price_diff_bps == 0.0
    configured = run_live_parity(config, DAY, DAY)  # the views too, decision by decision
    assert configured.agree, configured.describe()
    assert all(own.calls[0] == own.calls[1] and own.fills[0] == own.fills[1] >= 6 for _, own in configured.symbols)
