"""``arb backtest`` end to end: the shipped sample, a constructed recording with one obvious
opportunity (exact pair, sizes and PnL worked out here), and the clear errors for missing days."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pytest

from arb.backtest.run import run_backtest
from arb.cli import main
from arb.config import load_config
from arb.reports.files import pnl_from_trades_csv, read_trades_csv
from arb.strategy.types import BUY, INTENT_OPEN, SELL
from arb.testing.configs import write_config_files
from tests.support.captures import ROOT
from tests.support.scenario_days import Book, Change, write_scenario

DAY = dt.date(2024, 1, 1)


def _scenario_config(tmp_path: Path, **strategy: float) -> Path:
    latency = {"order_entry_ms": 1.0, "order_response_ms": 1.0, "feed_ms": 0.0}
    account = {"base": 1.0, "quote": 100_000.0}
    venue = {"latency": latency, "account": account, "fees": {"maker": 0.001, "taker": 0.001}}
    return write_config_files(
        tmp_path,
        binance_overrides=venue,
        bybit_overrides=venue,
        arbitrage_overrides={
            "strategy": {
                "max_order_size": 0.1,
                "max_position_size": 1.0,
                "rebalance_threshold": 0.0,
                "min_spread_bps": 5.0,
                "cooldown_ms": 1000,
                **strategy,
            },
            "execution": {"slippage_tolerance_bps": 2.0},
            "risk": {"max_notional_per_venue": 1e9, "position_limit": 1.0},
            "backtest": {"recordings": "recordings"},
        },
    )


def _one_opportunity(root: Path) -> None:
    binance = Book(bids={59990.0: 1.0}, asks={60000.0: 0.3, 60010.0: 1.0})
    bybit = Book(bids={59995.0: 1.0}, asks={60005.0: 1.0})
    changes = [
        Change(5000, "bybit", bids={60300.0: 0.2}),  # Bybit bid jumps 50 bps above Binance's ask
        Change(5200, "bybit", bids={60300.0: 0.0}),  # and is gone 200 ms later
    ]
    write_scenario(root / "recordings", DAY, binance, bybit, changes)


def test_one_obvious_opportunity_gives_exactly_one_pair(tmp_path: Path) -> None:
    _one_opportunity(tmp_path)
    config = load_config(_scenario_config(tmp_path))
    result = run_backtest(config)
    fills = result.fills
    # One pair: buy 0.1 on Binance at its best ask, sell 0.1 on Bybit at its new best bid.
    # 0.1 = min(Binance ask 0.3, Bybit bid 0.2, max_order_size 0.1).
    assert len(fills) == 2
    buy, sell = sorted(fills, key=lambda f: f["venue"])
    assert (buy["venue"], buy["side"], buy["qty"], buy["price"]) == (0, BUY, pytest.approx(0.1), pytest.approx(60000.0))
    assert (sell["venue"], sell["side"], sell["qty"], sell["price"]) == (
        1,
        SELL,
        pytest.approx(0.1),
        pytest.approx(60300.0),
    )
    assert buy["pair_id"] == sell["pair_id"] == 1 and buy["kind"] == sell["kind"] == INTENT_OPEN
    assert buy["fee"] == pytest.approx(6.0) and sell["fee"] == pytest.approx(6.03)
    # Decided when the Bybit update arrived (5 ms feed latency), filled one order latency later.
    start = dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp()
    decided = int((start + 5.0) * 1e9) + 5_000_000
    assert buy["exch_ts"] == decided + 1_000_000
    assert buy["local_ts"] == decided + 2_000_000
    assert result.kernel_state["pairs"] == 1 and result.kernel_state["hedges"] == 0


def test_scenario_report_pnl_to_the_cent(tmp_path: Path) -> None:
    _one_opportunity(tmp_path)
    out = tmp_path / "report"
    assert main(["-q", "backtest", "--config", str(_scenario_config(tmp_path)), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    # cash: -6000 + 6030 - 6.00 - 6.03 = 17.97; positions +0.1 on Binance (mid 59995) and -0.1 on
    # Bybit (mid (59995 + 60005) / 2 = 60000): -0.5. Net 17.47.
    total = summary["total"]
    assert total["pnl_from_fills"] == pytest.approx(17.47, abs=0.005)
    final_mid = [summary["venues"]["binance"]["final_mid"], summary["venues"]["bybit"]["final_mid"]]
    assert final_mid == pytest.approx([59995.0, 60000.0])
    assert pnl_from_trades_csv(out / "trades.csv", final_mid) == pytest.approx(17.47, abs=0.005)
    assert summary["pairs"]["pairs"] == 1


def test_shipped_sample_trades_and_its_pnl_recomputes_from_trades_csv(tmp_path: Path, charts: None) -> None:
    out = tmp_path / "sample"
    assert main(["-q", "backtest", "--config", str(ROOT / "config" / "arbitrage.toml"), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pairs"]["pairs"] >= 1
    fills = read_trades_csv(out / "trades.csv")
    assert len(fills) >= 2
    final_mid = [summary["venues"]["binance"]["final_mid"], summary["venues"]["bybit"]["final_mid"]]
    recomputed = pnl_from_trades_csv(out / "trades.csv", final_mid)
    assert round(recomputed, 2) == round(summary["total"]["pnl_from_fills"], 2)
    assert round(recomputed, 2) == round(summary["total"]["pnl"], 2)
    assert (out / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_date_range_without_data_is_a_clear_error(tmp_path: Path, capsys) -> None:
    _one_opportunity(tmp_path)
    config = _scenario_config(tmp_path)
    assert main(["backtest", "--config", str(config), "--start", "2023-05-01", "--end", "2023-05-02"]) == 2
    err = capsys.readouterr().err
    assert "--start 2023-05-01: no recording of that day for binance spot BTCUSDT (recorded: 2024-01-01)" in err
    assert "Traceback" not in err


def test_gap_in_days_is_a_clear_error(tmp_path: Path, capsys) -> None:
    for day in (DAY, DAY + dt.timedelta(days=2)):
        write_scenario(
            tmp_path / "recordings",
            day,
            Book(bids={59990.0: 1.0}, asks={60000.0: 1.0}),
            Book(bids={59995.0: 1.0}, asks={60005.0: 1.0}),
            [],
            duration_ms=2000,
        )
    assert main(["backtest", "--config", str(_scenario_config(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "gap" in err and "2024-01-02 (missing for binance and bybit)" in err


def test_bad_start_date_is_a_clear_error(capsys) -> None:
    assert main(["backtest", "--config", str(ROOT / "config" / "arbitrage.toml"), "--start", "08/08/2024"]) == 2
    assert "expected a date like 2024-08-08" in capsys.readouterr().err


def test_starting_on_the_second_day_begins_from_the_first_days_closing_book() -> None:
    # The 2024-08-09 Binance file has no snapshot of its own: only the 08-08 end-of-day book lets
    # the backtest see a Binance book at all when it starts on the 9th.
    config = load_config(ROOT / "config" / "arbitrage.toml")
    result = run_backtest(config, start=dt.date(2024, 8, 9))
    assert result.days == [dt.date(2024, 8, 9)]
    assert len(result.calls) > 0
    first = result.calls[0]
    assert first["status"][0] == 0 and first["bid"][0] > 0  # Binance synced and priced from the start
    assert result.sync_losses == {"binance": 0, "bybit": 0}


def test_conversion_cache_is_reused_and_rebuilt_when_the_recording_changes(tmp_path: Path) -> None:
    from arb.recording.loader import load_venue

    _one_opportunity(tmp_path)
    config = load_config(_scenario_config(tmp_path))
    first = load_venue(config, config.venue("binance"), [DAY])
    cache = first.days[0].recording.with_suffix("").with_suffix(".npz")
    built = cache.stat().st_mtime_ns
    load_venue(config, config.venue("binance"), [DAY])
    assert cache.stat().st_mtime_ns == built  # reused
    recording = first.days[0].recording
    recording.write_bytes(recording.read_bytes())  # same content, new file: the key (size, mtime) changes
    os.utime(recording, ns=(built + 10**9, built + 10**9))
    again = load_venue(config, config.venue("binance"), [DAY])
    assert cache.stat().st_mtime_ns != built
    assert np.array_equal(again.days[0].rows, first.days[0].rows)
