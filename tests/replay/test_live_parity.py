"""Live parity on the shipped sample: the backtest and arb live's order path (ccxt, the journal, the
user streams) against fake venues replaying the sample make the same decisions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from arb.config import AppConfig, load_config
from arb.parity.against_dry_run import zero_latency
from arb.parity.against_live import run_live_parity
from tests.support.two_symbols import two_symbol_config

DAY = dt.date(2024, 8, 8)


def test_at_zero_latency_live_sends_exactly_the_backtests_intents_and_gets_its_fills(sample_config: AppConfig) -> None:
    report = run_live_parity(zero_latency(sample_config), exact=True)
    assert report.agree, report.describe()
    assert report.intents == (26, 26) and report.fills == (26, 26)
    assert report.max_price_diff_bps == 0.0


def test_with_latency_the_intents_agree_and_fills_stay_within_the_tolerance(sample_config: AppConfig) -> None:
    report = run_live_parity(sample_config)
    assert report.agree, report.describe()
    assert report.intents[0] == report.intents[1] > 0
    assert report.fills_outside_tolerance == 0 and report.max_price_diff_bps <= report.price_tolerance_bps


def test_two_symbols_live_sends_the_backtests_intents_per_symbol_exactly_at_zero_latency(
    two_symbols: Path, tmp_path: Path
) -> None:
    # BTCUSDT and ETHUSDT of the same minutes on both fake venues at once (each venue replays both, one
    # clock): the live executors route each symbol's orders and fills, and each symbol decides as in the
    # backtest
    config = load_config(two_symbol_config(tmp_path, two_symbols))
    report = run_live_parity(zero_latency(config), DAY, DAY, exact=True)
    assert report.agree, report.describe()
    assert [name for name, _ in report.symbols] == ["BTCUSDT", "ETHUSDT"]
    for name, own in report.symbols:
        assert own.intents[0] == own.intents[1] >= 6 and own.fills[0] == own.fills[1] >= 6, (name, own.describe())
        assert own.max_price_diff_bps == 0.0
    configured = run_live_parity(config, DAY, DAY)  # the views too, decision by decision
    assert configured.agree, configured.describe()
    assert all(own.calls[0] == own.calls[1] and own.fills[0] == own.fills[1] >= 6 for _, own in configured.symbols)
