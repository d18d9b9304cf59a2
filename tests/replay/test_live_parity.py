"""Live parity on the shipped sample: the backtest and arb live's order path (ccxt, the journal, the
user streams) against fake venues replaying the sample make the same decisions."""

from __future__ import annotations

import pytest

from arb.config import AppConfig, load_config
from arb.runtime.live_parity import run_live_parity
from arb.runtime.parity import zero_latency
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def config() -> AppConfig:
    return load_config(ROOT / "config" / "arbitrage.toml")


def test_at_zero_latency_live_sends_exactly_the_backtests_intents_and_gets_its_fills(config: AppConfig) -> None:
    report = run_live_parity(zero_latency(config), exact=True)
    assert report.agree, report.describe()
    assert report.intents == (26, 26) and report.fills == (26, 26)
    assert report.max_price_diff_bps == 0.0


def test_with_latency_the_intents_agree_and_fills_stay_within_the_tolerance(config: AppConfig) -> None:
    report = run_live_parity(config)
    assert report.agree, report.describe()
    assert report.intents[0] == report.intents[1] > 0
    assert report.fills_outside_tolerance == 0 and report.max_price_diff_bps <= report.price_tolerance_bps
