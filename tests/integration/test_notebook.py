"""The notebook's way in (arb.notebook): a backtest from Python returns what ``arb backtest`` reports, as
objects, and takes settings, a strategy and its parameters as the command line does."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from arb.config import load_config
from arb.errors import ArbError
from arb.notebook import backtest, compare
from arb.reports.files import read_trades_csv
from tests.support.scenario_days import EPISODES_ARBITRAGE, Book, Change, order_latency, scenario_config, write_scenario

DAY = "2024-08-08"


def _scenario(tmp_path: Path) -> Path:
    # Every 700 ms Bybit's book jumps 45 bps away from Binance's and back: a pair an episode.
    binance = Book(bids={59990.0: 2.0, 59980.0: 3.0}, asks={60000.0: 2.0, 60010.0: 3.0})
    bybit = Book(bids={59995.0: 2.0, 59985.0: 3.0}, asks={60005.0: 2.0, 60015.0: 3.0})
    changes = []
    for k in range(6):
        t = 500 + 700 * k
        if k % 2 == 0:
            changes += [Change(t, "bybit", bids={60270.0: 0.5}), Change(t + 300, "bybit", bids={60270.0: 0.0})]
        else:
            changes += [Change(t, "bybit", asks={59720.0: 0.5}), Change(t + 300, "bybit", asks={59720.0: 0.0})]
    write_scenario(tmp_path / "recordings", dt.date.fromisoformat(DAY), binance, bybit, changes, duration_ms=5_000)
    return Path(scenario_config(tmp_path, EPISODES_ARBITRAGE, latency=order_latency(4.0)))


def test_a_backtest_from_python_is_the_command_s_report_as_objects(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    run = backtest(path)
    figures = run.figures
    assert figures["strategy"] == "taker" and figures["days"] == 1
    assert figures["pairs"] >= 6 and figures["fills"] == 2 * figures["pairs"]
    written = run.write(tmp_path / "report")
    assert {p.name for p in written} >= {"trades.csv", "summary.json", "orders.csv"}
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["total"]["pnl"] == pytest.approx(figures["net_pnl"], abs=1e-9)
    assert summary["total"]["fills"] == figures["fills"]
    trades = run.trades
    from_file = read_trades_csv(tmp_path / "report" / "trades.csv", ("BTCUSDT",), ("binance", "bybit"))
    assert len(trades) == len(from_file) == figures["fills"]
    assert list(trades["price"]) == pytest.approx(list(from_file["price"]))
    assert set(trades["venue"]) == {"binance", "bybit"} and set(trades["side"]) == {"buy", "sell"}
    equity = run.equity
    names = set(equity.columns) if hasattr(equity, "columns") else set(equity.dtype.names)  # pandas or not
    assert len(equity) > 0 and {"equity", "equity_binance", "equity_bybit"} <= names


def test_settings_and_a_strategy_s_parameters_change_the_run_and_compare_side_by_side(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    base = backtest(path)
    strict = backtest(path, settings={"strategy.min_spread_bps": 80.0})  # 45 bps never clears 80
    table = compare({"base": base, "strict": strict})
    assert list(table["run"]) == ["base", "strict"]
    assert list(table["pairs"]) == [base.figures["pairs"], 0]
    assert load_config(path).strategy.min_spread_bps != 80.0  # the file is left as it was


def test_a_bad_setting_raises_the_command_line_s_error(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    with pytest.raises(ArbError, match="min_spread_bps"):
        backtest(path, settings={"strategy.min_spread_bps": "wide"})
