"""Parity of the ``maker_taker`` style: the same recording through the backtest (hftbacktest's exchange and
queue model) and through the dry run's live path (the paper venue's resting quotes,
:mod:`arb.execution.queue_model`).

At zero latency both drivers see the venue as it is, so they must agree exactly: the same kernel calls with
the same views (resting quotes included), the same quotes, cancels and hedges, the same fills at the same
times and prices. (Orders then take 1 ns each way: hftbacktest never moves on from a resting order's
acknowledgement due at the very time it was sent.)
"""

from __future__ import annotations

from pathlib import Path

from arb.config import AppConfig, load_config
from arb.runtime.backtest import run_backtest
from arb.runtime.parity import compare, run_live_replay, run_parity, zero_latency
from arb.strategy.types import INTENT_CANCEL, INTENT_QUOTE
from tests.replay.test_maker_backtest import _config


def test_constructed_quote_fill_and_hedge_agree_exactly_at_zero_latency(tmp_path: Path) -> None:
    report = run_parity(zero_latency(load_config(_config(tmp_path))), exact=True)
    assert report.agree, report.describe()
    assert report.intents[0] == report.intents[1] >= 4
    assert report.fills[0] == report.fills[1] == 2  # the quote's fill and its hedge


def test_sample_in_the_maker_taker_style_agrees_exactly_at_zero_latency(sample_config: AppConfig) -> None:
    config = zero_latency(
        sample_config.with_overrides({"strategy.style": "maker_taker", "strategy.maker_venues": ["binance"]})
    )
    backtest = run_backtest(config)
    report = compare(config, backtest, run_live_replay(config, backtest.days), exact=True)
    assert report.agree, report.describe()
    sent, fills = backtest.sent, backtest.fills
    assert (sent["kind"] == INTENT_QUOTE).sum() > 100 and (sent["kind"] == INTENT_CANCEL).sum() > 100
    assert (fills["kind"] == INTENT_QUOTE).sum() >= 1 and report.fills[0] == report.fills[1] == len(fills)
