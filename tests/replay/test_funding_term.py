"""The kernel's funding term end to end: off, the shipped sample's intents are today's; on, it changes
what a perpetual pair does in the backtest and the dry run alike; and a spot-perp setup (Binance spot,
Bybit linear) backtests and dry-runs through the command line.

``tests/fixtures/sample_intents.csv`` is every intent the sample backtest sent before the funding term
existed (commit 3324ea1): time, venue, side, price, quantity, kind, pair and level.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from arb.backtest.run import run_backtest
from arb.cli import main
from arb.config import load_config
from arb.parity.against_dry_run import replay_engine, run_parity, zero_latency
from arb.testing.scenarios import Change, Perp
from tests.replay.test_funding import FUNDING_MS, perp_config, perp_loop  # noqa: F401 - perp_loop: a fixture
from tests.support.captures import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "sample_intents.csv"


def _sent(sent: np.ndarray) -> list[list[str]]:
    return [
        [str(int(r["ts"])), str(int(r["venue"])), str(int(r["side"])), repr(float(r["price"])), repr(float(r["qty"])),
         str(int(r["kind"])), str(int(r["pair_id"])), str(int(r["level"]))]
        for r in sent
    ]  # fmt: skip


def test_with_the_funding_term_off_the_sample_sends_todays_intents() -> None:
    with FIXTURE.open() as f:
        expected = list(csv.reader(f))[1:]
    config = load_config(ROOT / "config" / "arbitrage.toml")
    assert config.strategy.funding_horizon_ns == 0 and config.strategy.close_before_funding_ns == 0
    assert _sent(run_backtest(config).sent) == expected
    # on spot venues there is no funding to weigh: asking for the term changes nothing either
    asked = config.with_overrides({"strategy.funding_horizon_ns": 8 * 3_600_000_000_000,
                                   "strategy.close_before_funding_ns": 600_000_000_000})  # fmt: skip
    assert _sent(run_backtest(asked).sent) == expected


# Binance's long pays 20 bps at the funding time 4 s in, Bybit's short earns nothing. From 2 s the
# pairs (buy Binance, sell Bybit) fill the 0.03 band; at 2.5 s Bybit's book comes back below Binance's
# (its ask 60,005): closing there costs 2.5 bps + 10 of fees + the 2 bps tolerance, less than the
# 20 bps the position would pay.
COSTLY = {"binance": Perp(mark=60_000.0, rate=0.002, funding_ms=FUNDING_MS, next_rate=0.0),
          "bybit": Perp(mark=60_000.0, rate=0.0, funding_ms=FUNDING_MS, next_rate=0.0)}  # fmt: skip
CHANGES = [
    Change(2000, "bybit", bids={60300.0: 1.0}),
    Change(2500, "bybit", bids={60300.0: 0.0}, asks={60400.0: 0.0, 60005.0: 2.0}),
]


def _costly(tmp_path: Path, **strategy: float) -> object:
    return perp_config(tmp_path, changes=CHANGES, perps=COSTLY, execution={"slippage_tolerance_bps": 2.0},
                       strategy={"max_order_size": 0.01, "max_position_size": 0.03, "rebalance_threshold": 0.0,
                                 **strategy})  # fmt: skip


@pytest.mark.usefixtures("perp_loop")
def test_without_the_rule_the_position_pays_the_funding(tmp_path: Path) -> None:
    result = run_backtest(_costly(tmp_path))
    assert result.funding["position"].tolist() == [0.03, -0.03]
    assert result.funding["payment"].tolist() == pytest.approx([-0.03 * 60_000.0 * 0.002, 0.0])


@pytest.mark.usefixtures("perp_loop")
def test_close_before_funding_flattens_in_time_and_pays_nothing(tmp_path: Path) -> None:
    config = _costly(tmp_path, close_before_funding_s=3)
    result = run_backtest(config)
    # inside the window (from 1 s) an imbalance that pays may not grow: one pair, then closed at 2.5 s
    fills = result.fills
    opened = fills[fills["local_ts"] < fills["local_ts"].min() + 100_000_000]
    assert sorted(opened["venue"].tolist()) == [0, 1] and opened["qty"].tolist() == [0.01, 0.01]
    closing = fills[len(opened) :]
    assert sorted(zip(closing["venue"].tolist(), closing["side"].tolist(), strict=True)) == [(0, -1), (1, 1)]
    assert result.funding["position"].tolist() == pytest.approx([0.0, 0.0], abs=1e-12)
    assert result.funding["payment"].tolist() == pytest.approx([0.0, 0.0], abs=1e-12)
    # the dry run's engine, fed the same recording, does exactly the same
    engine = replay_engine(config, result.days)

    def legs(rows: np.ndarray) -> list[tuple[int, int, int, float, float]]:
        return sorted((int(r["local_ts"]) // 10**8, int(r["venue"]), int(r["side"]), round(float(r["qty"]), 9),
                       round(float(r["price"]), 6)) for r in rows)  # fmt: skip

    assert legs(engine.log.fills.view()) == legs(fills)
    assert engine.log.funding.view()["payment"].tolist() == pytest.approx([0.0, 0.0], abs=1e-12)
    report = run_parity(zero_latency(config), exact=True)
    assert report.agree, report.describe()


@pytest.mark.usefixtures("perp_loop")
def test_a_horizon_weighs_the_funding_the_pair_would_pay(tmp_path: Path) -> None:
    # Bybit's bid 50 bps over Binance's ask from 2 s: ~38 bps net of costs. Binance's long pays 20 bps
    # at the funding time 4 s in and, its next rate 0.002 too, 20 more 8 h later. Over an 8.5 h horizon
    # a pair opened before 4 s pays both (40 > 38 - 5): the kernel waits for the funding to pass, then
    # opens the same pairs (one funding left in the horizon: 20 < 33).
    perps = {"binance": Perp(mark=60_000.0, rate=0.002, funding_ms=FUNDING_MS, next_rate=0.002),
             "bybit": Perp(mark=60_000.0, rate=0.0, funding_ms=FUNDING_MS, next_rate=0.0)}  # fmt: skip
    sizes = {"max_order_size": 0.01, "max_position_size": 0.03, "rebalance_threshold": 0.0}
    plain = run_backtest(perp_config(tmp_path / "a", perps=perps, strategy=sizes))
    funding_ts = int(plain.funding["ts"][0])
    assert (plain.fills["local_ts"] < funding_ts).all() and len(plain.fills) == 6
    assert plain.funding["payment"].tolist() == pytest.approx([-0.03 * 60_000.0 * 0.002, 0.0])
    weighed = run_backtest(perp_config(tmp_path / "b", perps=perps, strategy={**sizes, "funding_horizon_h": 8.5}))
    assert (weighed.fills["local_ts"] > funding_ts).all() and len(weighed.fills) == 6
    assert weighed.funding["payment"].tolist() == pytest.approx([0.0, 0.0], abs=1e-12)
    # a 1 h horizon sees one funding (20 bps < 33): the plain strategy's pairs
    shorter = run_backtest(perp_config(tmp_path / "c", perps=perps, strategy={**sizes, "funding_horizon_h": 1.0}))
    assert shorter.fills.tolist() == plain.fills.tolist()


@pytest.mark.usefixtures("perp_loop")
def test_spot_perp_backtests_and_dry_runs_end_to_end(tmp_path: Path) -> None:
    # Binance spot (1 BTC and 100,000 USDT held), Bybit linear: buy spot, short the perpetual; only
    # the perpetual's short is funded (Bybit at 0.03 %: it earns 0.03 x 60,300 x 0.0003).
    config = perp_config(tmp_path, markets=("spot", "linear"))
    path = config.path
    assert main(["backtest", "--config", str(path), "--out", str(tmp_path / "bt")]) == 0
    assert main(["dry-run", "--config", str(path), "--speed", "max", "--state-dir", str(tmp_path / "paper"),
                 "--out", str(tmp_path / "dry")]) == 0  # fmt: skip
    for out in ("bt", "dry"):
        trades = list(csv.DictReader((tmp_path / out / "trades.csv").open()))
        assert {(t["venue"], t["side"]) for t in trades} == {("binance", "buy"), ("bybit", "sell")}
        assert len(trades) == 6
        summary = json.loads((tmp_path / out / "summary.json").read_text())
        assert summary["pnl_consistent"] and summary["total"]["fills"] == 6
        binance, bybit = summary["venues"]["binance"], summary["venues"]["bybit"]
        assert binance["funding"] == 0.0 and bybit["funding"] == pytest.approx(0.03 * 60_300.0 * 0.0003)
        for column in (binance, bybit, summary["total"]):  # net = trading - fees + funding
            assert column["pnl"] == pytest.approx(column["trading_pnl"] - column["fees"] + column["funding"])
        assert bybit["final_mid"] == 60_300.0  # the perpetual's position is valued at its mark price
    backtest = run_backtest(config)
    assert backtest.funding["venue"].tolist() == [1]
    assert backtest.funding["payment"].tolist() == pytest.approx([0.03 * 60_300.0 * 0.0003])
    paper = (tmp_path / "paper" / "funding.csv").read_text().splitlines()
    assert len(paper) == 2 and paper[1].split(",")[2] == "bybit"
    assert float(paper[1].split(",")[-1]) == pytest.approx(0.03 * 60_300.0 * 0.0003)
