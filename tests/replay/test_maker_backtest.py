"""The ``maker_taker`` style in the backtest: a post-only quote rests on Binance, priced from Bybit's book;
when Binance's market comes through it, the quote fills as a maker and the fill is hedged on Bybit at once.

The recording is constructed (both venues' books, no trades): Binance 59990 / 60000, Bybit 60100 / 60110.
Fees are 10 bps a side (spot), the slippage tolerance 2 bps, ``min_spread_bps`` 5: a buy quote on Binance
must clear 27 bps under Bybit's bid, 60100 / 1.0027 = 59938.19 (floored to the cent); a sell quote 27 bps
above Bybit's ask, 60110 x 1.0027 = 60272.30. At 3 s Binance's ask drops to 59930 (its bid to 59920):
the market comes through the resting buy, which fills at its own price.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest

from arb.backtest.run import BacktestResult, run_backtest
from arb.cli import main
from arb.config import AppConfig, load_config
from arb.strategy.types import BUY, INTENT_HEDGE, INTENT_QUOTE, SELL
from tests.support.scenario_days import Book, Change, scenario_config, write_scenario

DAY = dt.date(2024, 4, 3)
MS = 1_000_000
BINANCE, BYBIT = 0, 1
BUY_AT = math.floor(60100.0 / 1.0027 * 100) / 100  # 59938.16
SELL_AT = math.ceil(60110.0 * 1.0027 * 100) / 100  # 60272.30


def _config(tmp_path: Path, **backtest: str) -> Path:
    latency = {"order_entry_ms": 1.0, "order_response_ms": 1.0, "feed_ms": 0.0}
    write_scenario(
        tmp_path / "recordings",
        DAY,
        Book(bids={59990.0: 2.0}, asks={60000.0: 2.0}),
        Book(bids={60100.0: 2.0}, asks={60110.0: 2.0}),
        [Change(3000, "binance", bids={59990.0: 0.0, 59920.0: 1.0}, asks={60000.0: 0.0, 59930.0: 1.0})],
        duration_ms=6000,
        heartbeat_ms=100,
    )
    arbitrage = {
        "strategy": {
            "max_order_size": 0.01,
            "max_position_size": 0.05,
            "rebalance_threshold": 0.0,
            "min_spread_bps": 5.0,
            "style": "maker_taker",
            "maker_venues": ["binance"],
        },
        "execution": {"slippage_tolerance_bps": 2.0},
        "risk": {"max_notional_per_venue": 1e9, "position_limit": 1.0},
        "backtest": dict(backtest),
    }
    return scenario_config(tmp_path, arbitrage, latency=latency)


def _run(path: Path) -> tuple[AppConfig, BacktestResult]:
    config = load_config(path)
    return config, run_backtest(config, DAY, DAY)


def test_a_quote_filled_by_the_market_is_hedged_at_once_on_the_other_venue(tmp_path: Path) -> None:
    config, result = _run(_config(tmp_path))
    fills = result.fills
    assert config.venues[0].fees.maker == config.venues[0].fees.taker == 0.001
    quote = fills[fills["kind"] == INTENT_QUOTE]
    hedge = fills[fills["kind"] == INTENT_HEDGE]
    assert len(quote) == 1 and len(hedge) == 1
    q, h = quote[0], hedge[0]
    assert (q["venue"], q["side"], q["price"], q["qty"]) == (BINANCE, BUY, pytest.approx(BUY_AT), pytest.approx(0.01))
    # the hedge sells the same quantity on Bybit, in the quote's pair, priced at its bid less 2 bps
    assert (h["venue"], h["side"], h["qty"], h["pair_id"]) == (BYBIT, SELL, pytest.approx(0.01), q["pair_id"])
    assert h["price"] == pytest.approx(60100.0)  # the IOC takes the bid itself
    # as soon as the fill was known: sent then, answered after the venue's 1 + 1 ms
    assert 0 <= h["local_ts"] - q["local_ts"] <= 3 * MS
    # the pair cleared the spread after both fees (and more than the 5 bps asked)
    edge_bps = (h["price"] * (1 - 0.001) - q["price"] * (1 + 0.001)) / q["price"] * 1e4
    assert edge_bps >= 5.0
    counters = result.counters
    assert counters["maker_fills"] == 1 and counters["quotes"] == 4
    # flat at the end: bought 0.01 on Binance, sold 0.01 on Bybit
    signed = fills["side"] * fills["qty"]
    assert (signed[fills["venue"] == BINANCE].sum(), signed[fills["venue"] == BYBIT].sum()) == (
        pytest.approx(0.01),
        pytest.approx(-0.01),
    )


def test_a_quote_sent_on_a_stale_view_is_refused_as_post_only(tmp_path: Path) -> None:
    # The recording's Binance rows reach arb 5 ms after the exchange saw them. Flat again after the hedge,
    # the kernel sends the buy quote again at 59938.16 on a view that still shows Binance's ask at 60000;
    # at the exchange the ask is already 59930, so the post-only order would take: it is refused
    # (hftbacktest expires it). Once the new book arrives the quote goes a tick behind the new ask.
    _, result = _run(_config(tmp_path))
    quotes = result.sent[result.sent["kind"] == INTENT_QUOTE]
    assert [(int(q["side"]), float(q["price"])) for q in quotes] == [
        (BUY, pytest.approx(BUY_AT)),
        (SELL, pytest.approx(SELL_AT)),
        (BUY, pytest.approx(BUY_AT)),
        (BUY, pytest.approx(59929.99)),
    ]
    assert result.counters["post_only_rejects"] == 1
    assert len(result.fills) == 2


@pytest.mark.parametrize("model", ["risk_averse", "power", "log"])
def test_each_queue_model_is_accepted(tmp_path: Path, model: str) -> None:
    _, result = _run(_config(tmp_path, queue_model=model))
    assert result.counters["maker_fills"] == 1


def test_the_dry_run_rests_the_quote_and_hedges_its_fill(tmp_path: Path) -> None:
    # the same recording replayed through the live path: the paper venue rests the quote in its depth and
    # fills it when Binance's ask comes through it, as the backtest does; the fill is hedged on Bybit
    path = _config(tmp_path)
    out = tmp_path / "out"
    args = ["-q", "dry-run", "--config", str(path), "--start", DAY.isoformat(), "--speed", "max", "--out", str(out)]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    paper = summary["meta"]["paper"]
    assert (paper["maker_fills"], paper["post_only_rejects"]) == (1, 0)
    assert summary["pairs"]["pairs"] == summary["pairs"]["pairs_matched"] == 1
    assert (summary["maker"]["quotes"], summary["maker"]["maker_fills"]) == (3, 1)  # as the report figures them


def test_the_report_counts_the_maker_pair_and_the_quotes(tmp_path: Path) -> None:
    path = _config(tmp_path)
    out = tmp_path / "out"
    assert main(["-q", "backtest", "--config", str(path), "--start", DAY.isoformat(), "--out", str(out)]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["pairs"]["pairs"] == summary["pairs"]["pairs_matched"] == 1
    maker = summary["maker"]
    assert (maker["quotes"], maker["maker_fills"]) == (4, 1)
    assert maker["fill_rate"] == pytest.approx(0.25)
    assert maker["maker_fees"][0] == pytest.approx(BUY_AT * 0.01 * 0.001)
    assert summary["meta"]["counters"]["post_only_rejects"] == 1
    trades = (tmp_path / "out" / "trades.csv").read_text().splitlines()
    assert [line.split(",")[9] for line in trades[1:]] == ["quote", "hedge"]
