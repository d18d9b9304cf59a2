"""``arb report`` over real runs: the totals of a period that contains the whole run equal the run's
own summary.json to the cent (a backtest of the shipped sample, a replayed dry run's paper account),
and the days of a run that crosses midnight add up to it."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from arb.cli import main
from arb.config import load_config
from arb.reports import write_daily_report
from tests.support.captures import ROOT, report_data
from tests.support.scenario_days import STANDING_DAY, standing_spread_config

CENT = 0.01


def _sample_days(sample_backtest: Path, tmp_path: Path) -> list[dict[str, Any]]:
    """The figures of the sample run's two days (2024-08-08 and 2024-08-09), each from its own
    ``arb report --date`` page written in ``tmp_path``."""
    days = []
    for date in ("2024-08-08", "2024-08-09"):
        page = tmp_path / f"{date}.html"
        args = ["report", "--source", "backtest", "--results", str(sample_backtest), "--date", date, "--out", str(page)]
        assert main(args) == 0
        days.append(report_data(page))
    return days


def _self_contained(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert re.search(r"\b(src|href)\s*=", text, re.IGNORECASE) is None
    assert "http:" not in text and "https:" not in text and "url(" not in text and "@import" not in text
    assert "<svg" in text


def _same_as_summary(figures: dict[str, Any], summary: dict[str, Any]) -> None:
    total = summary["total"]
    assert figures["pnl"] == pytest.approx(total["pnl"], abs=CENT)
    assert figures["fees"] == pytest.approx(total["fees"], abs=CENT)
    assert figures["fills"] == total["fills"]
    assert figures["volume"] == pytest.approx(total["volume"], abs=1e-12)
    assert figures["pairs"] == summary["pairs"]["pairs"]
    assert figures["pairs_won"] == summary["pairs"]["pairs_won"]
    assert figures["win_rate"] == pytest.approx(summary["pairs"]["win_rate"])
    assert figures["spread_bps"] == pytest.approx(summary["pairs"]["spread_bps"])
    if total["holding_time_s"] is not None:
        assert figures["holding_time_s"] == pytest.approx(total["holding_time_s"])
    for name in ("binance", "bybit"):
        venue, mine = summary["venues"][name], figures["venues"][name]
        assert mine["pnl"] == pytest.approx(venue["pnl"], abs=CENT), name
        assert mine["fees"] == pytest.approx(venue["fees"], abs=CENT), name
        assert mine["fills"] == venue["fills"], name


@pytest.fixture(scope="module")
def sample_backtest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "backtest"
    assert main(["-q", "backtest", "--config", str(ROOT / "config" / "arbitrage.toml"), "--out", str(out)]) == 0
    return out


def test_the_week_of_the_sample_backtest_equals_its_summary_to_the_cent(sample_backtest: Path, tmp_path: Path) -> None:
    summary = json.loads((sample_backtest / "summary.json").read_text())
    page = tmp_path / "week.html"
    args = ["report", "--source", "backtest", "--results", str(sample_backtest), "--period", "week", "--out", str(page)]
    assert main(args) == 0
    figures = report_data(page)
    assert figures["label"].startswith("2024-W32 (2024-08-05")  # weeks start on Monday
    assert summary["total"]["fills"] > 0
    _same_as_summary(figures, summary)
    _self_contained(page)
    differences = {
        "pnl": abs(figures["pnl"] - summary["total"]["pnl"]),
        "fees": abs(figures["fees"] - summary["total"]["fees"]),
        **{f"{v} pnl": abs(figures["venues"][v]["pnl"] - summary["venues"][v]["pnl"]) for v in ("binance", "bybit")},
    }
    assert max(differences.values()) < 1e-6, differences  # far inside the cent: the same arithmetic


def test_the_days_of_a_run_across_midnight_add_up_to_its_summary(sample_backtest: Path, tmp_path: Path) -> None:
    # The sample runs from 2024-08-08 23:54 to 2024-08-09 00:05 UTC.
    summary = json.loads((sample_backtest / "summary.json").read_text())
    days = _sample_days(sample_backtest, tmp_path)
    assert all(d["fills"] > 0 for d in days)
    assert sum(d["fills"] for d in days) == summary["total"]["fills"]
    assert sum(d["pnl"] for d in days) == pytest.approx(summary["total"]["pnl"], abs=CENT)
    assert sum(d["fees"] for d in days) == pytest.approx(summary["total"]["fees"], abs=CENT)
    assert sum(d["pairs"] for d in days) == summary["pairs"]["pairs"]
    # the default period is the last day with a fill, and the page says so
    default = tmp_path / "default.html"
    assert main(["report", "--source", "backtest", "--results", str(sample_backtest), "--out", str(default)]) == 0
    assert report_data(default)["label"] == "2024-08-09"
    assert report_data(default)["choice"].startswith("no --date given: the last day with a fill (at 2024-08-09 ")


def test_the_sample_keeps_the_books_mids_at_its_start_at_midnight_and_at_its_end(sample_backtest: Path) -> None:
    summary = json.loads((sample_backtest / "summary.json").read_text())
    marks = summary["marks"]
    assert [m["at"] for m in marks] == ["start", "midnight", "end"]
    midnight = marks[1]
    assert midnight["time"] == "2024-08-09T00:00:00.000000000Z" and midnight["ts"] == 1_723_161_600_000_000_000
    # the books as they were at midnight: the last decision before it, a fraction of a second earlier
    assert 0 < midnight["ts"] - midnight["book_ts"] < 1_000_000_000
    meta = summary["meta"]
    assert meta["start_ns"] <= marks[0]["ts"] < midnight["ts"] < marks[2]["ts"]
    for name in ("binance", "bybit"):
        assert marks[2]["mids"]["BTCUSDT"][name] == summary["venues"][name]["final_mid"]
        assert 50_000 < midnight["mids"]["BTCUSDT"][name] < 70_000
    assert "prices" not in midnight  # spot: holdings are valued at the mids
    # the full-resolution equity beside it: one sample a second, the run's own
    from arb.reports.files import read_equity_npz

    equity = read_equity_npz(sample_backtest / "equity.npz")
    assert len(equity) == summary["risk"]["samples"] == meta["counters"]["equity_samples"]


def test_the_days_of_the_sample_tell_the_runs_story(sample_backtest: Path, tmp_path: Path) -> None:
    # Before: the day before midnight valued its carried positions at its fills' prices, so the three
    # pairs it opened (each of which won in the run) showed "win rate 0% of 3 pairs, PnL -0.31" beside
    # "mean captured spread 29.7 bps, net of fees 9.7", and drawdowns came from one-minute steps.
    summary = json.loads((sample_backtest / "summary.json").read_text())
    assert summary["pairs"]["pairs"] == summary["pairs"]["pairs_won"] == 13  # every pair of the run won
    days = _sample_days(sample_backtest, tmp_path)
    # the days' PnL is the run's: the same mids at midnight on both sides of it
    assert abs(sum(d["pnl"] for d in days) - summary["total"]["pnl"]) < 1e-9
    for name in ("binance", "bybit"):
        assert abs(sum(d["venues"][name]["pnl"] for d in days) - summary["venues"][name]["pnl"]) < 1e-9
    # the day before midnight: what the risk gate measured at its day boundary (its own day-start PnL)
    assert abs(days[0]["pnl"] - summary["meta"]["risk_state"]["day_start_pnl"]) < 1e-9
    # a pair that won in the run wins in its day
    assert [(d["pairs"], d["pairs_won"]) for d in days] == [(3, 3), (10, 10)]
    assert all(d["win_rate"] == 1.0 and d["pnl"] > 0 for d in days)
    # drawdown from the run's own samples (one a second), never deeper than the run's
    run_drawdown = summary["risk"]["max_drawdown"]
    assert all(d["samples"] == "run" and d["equity_samples"] > 100 for d in days)
    assert sum(d["equity_samples"] for d in days) == summary["risk"]["samples"] + 4  # and each day's two ends
    assert all(d["max_drawdown"] <= run_drawdown + 1e-9 for d in days)
    assert max(d["max_drawdown"] for d in days) == pytest.approx(run_drawdown, abs=1e-9)  # its deepest fall is in a day


def test_the_month_of_the_sample_backtest_equals_its_summary(sample_backtest: Path, tmp_path: Path) -> None:
    page = tmp_path / "month.html"
    args = [
        "report",
        "--source",
        "backtest",
        "--results",
        str(sample_backtest),
        "--period",
        "month",
        "--out",
        str(page),
    ]
    assert main(args) == 0
    _same_as_summary(report_data(page), json.loads((sample_backtest / "summary.json").read_text()))


DAY = STANDING_DAY


def _dry_run_config(tmp_path: Path) -> Path:
    return standing_spread_config(tmp_path)


def test_the_sample_backtests_inventory_ends_at_its_balances_and_the_page_draws_it(
    sample_backtest: Path, tmp_path: Path
) -> None:
    # inventory.csv: a row at the start, after each fill and at the end; its last balances are the run's own
    summary = json.loads((sample_backtest / "summary.json").read_text())
    with (sample_backtest / "inventory.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["event"] for r in rows] == ["start", *["fill"] * summary["total"]["fills"], "end"]
    first, last = rows[0], rows[-1]
    for venue in ("binance", "bybit"):
        own = summary["venues"][venue]
        assert float(last[f"{venue}_base"]) == pytest.approx(own["base_balance"], abs=1e-12)
        assert float(last[f"{venue}_quote"]) == pytest.approx(own["quote_balance"], rel=1e-12)
        assert float(first[f"{venue}_quote"]) == summary["initial"]["quote"][("binance", "bybit").index(venue)]
    # pairs left at the configured 0.001 BTC: the position band (0.01 a venue) binds on the sample
    assert (first["pairs_left_buy_binance_sell_bybit"], first["limit_buy_binance_sell_bybit"]) == (
        "10",
        "binance position",
    )
    assert all(int(r["pairs_left_buy_bybit_sell_binance"]) >= 0 for r in rows)
    # the period's page draws each venue's quote and coins over the period
    page = tmp_path / "month.html"
    args = ["report", "--source", "backtest", "--results", str(sample_backtest), "--period", "month",
            "--date", "2024-08-08", "--out", str(page)]  # fmt: skip
    assert main(args) == 0
    text = page.read_text(encoding="utf-8")
    section = text.split('<h2 id="inventory">', 1)[1].split("<h2", 1)[0]
    assert section.count("<svg") == 2 and "BTCUSDT on Binance" in section and "quote held (USDT)" in section


def test_a_replayed_dry_runs_paper_account_report_equals_its_summary(tmp_path: Path) -> None:
    config, state, results = _dry_run_config(tmp_path), tmp_path / "paper", tmp_path / "runs"
    run = ["dry-run", "--config", str(config), "--speed", "max", "--state-dir", str(state)]
    assert main([*run, "--out", str(results / "r1")]) == 0
    summary = json.loads((results / "r1" / "summary.json").read_text())
    assert summary["total"]["fills"] > 0 and summary["pairs"]["pairs"] > 0

    page = tmp_path / "day.html"
    report = ["report", "--config", str(config), "--source", "paper", "--state-dir", str(state)]
    assert main([*report, "--results", str(results), "--date", f"{DAY}", "--out", str(page)]) == 0
    figures = report_data(page)
    _same_as_summary(figures, summary)
    _self_contained(page)

    # the same account through the function a running session calls at midnight ([backtest] out is
    # where the session's reports are looked for: point it at the runs)
    loaded = load_config(config)
    loaded = msgspec.structs.replace(
        loaded,
        dry_run=msgspec.structs.replace(loaded.dry_run, state_dir=state),
        backtest=msgspec.structs.replace(loaded.backtest, out=results),
    )
    written = write_daily_report(loaded, "dry-run", DAY, tmp_path / "daily")
    assert written == tmp_path / "daily" / f"dry-run-day-{DAY}.html"
    assert report_data(written)["pnl"] == pytest.approx(summary["total"]["pnl"], abs=CENT)
    assert [p.name for p in (tmp_path / "daily").iterdir()] == [written.name]  # no temporary file left


# -- two symbols ---------------------------------------------------------------------------------------------


def _same_per_symbol(figures: dict[str, Any], summary: dict[str, Any]) -> None:
    # the account's figures as for one symbol (no summed volume), and every symbol's as its own section says
    _same_as_summary(figures, summary)
    assert figures["volume"] is None and summary["total"]["volume"] is None
    assert list(figures["symbols"]) == list(summary["symbols"]) == ["BTCUSDT", "ETHUSDT"]
    for name, mine in figures["symbols"].items():
        own = summary["symbols"][name]
        total = own["total"]
        assert total["fills"] > 0 and mine["fills"] == total["fills"], name
        for key in ("pnl", "pnl_from_fills", "fees", "notional"):
            assert mine[key] == pytest.approx(total[key], abs=1e-6), (name, key)
        assert mine["volume"] == pytest.approx(total["volume"], abs=1e-12), name
        assert (mine["pairs"], mine["pairs_won"]) == (own["pairs"]["pairs"], own["pairs"]["pairs_won"]), name
        assert mine["spread_bps"] == pytest.approx(own["pairs"]["spread_bps"]), name
        if total["holding_time_s"] is not None:
            assert mine["holding_time_s"] == pytest.approx(total["holding_time_s"]), name
        for venue in ("binance", "bybit"):
            assert mine["position_end"][venue] == pytest.approx(own["venues"][venue]["position"], abs=1e-12)
            assert mine["mark_end"][venue] == pytest.approx(own["venues"][venue]["final_mid"])
    assert sum(s["pnl"] for s in figures["symbols"].values()) == pytest.approx(figures["pnl"], abs=1e-9)


def test_the_week_of_a_two_symbol_backtest_equals_its_summary_symbol_by_symbol(
    two_symbols: Path, tmp_path: Path
) -> None:
    from tests.support.two_symbols import two_symbol_config

    config, out = two_symbol_config(tmp_path, two_symbols), tmp_path / "backtest"
    assert main(["-q", "backtest", "--config", str(config), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pnl_consistent"] and all(s["pnl_consistent"] for s in summary["symbols"].values())
    # what summary.json says of each symbol is what its rows of trades.csv say at its own final mids
    from arb.reports.files import pnl_from_trades_csv, read_trades_csv
    from arb.reports.pnl import pnl_from_fills

    names = list(summary["symbols"])
    mids = [[summary["symbols"][n]["venues"][v]["final_mid"] for v in ("binance", "bybit")] for n in names]
    assert pnl_from_trades_csv(out / "trades.csv", mids, names) == pytest.approx(summary["total"]["pnl"], abs=CENT)
    fills = read_trades_csv(out / "trades.csv", names)
    for s, name in enumerate(names):
        own, figures = fills[fills["symbol"] == s], summary["symbols"][name]["total"]
        assert len(own) == figures["fills"] > 0
        assert pnl_from_fills(own, mids[s]) == pytest.approx(figures["pnl"], abs=CENT)
        assert float(own["fee"].sum()) == pytest.approx(figures["fees"], abs=1e-9)
        assert float(own["qty"].sum()) == pytest.approx(figures["volume"], abs=1e-12)
    page = tmp_path / "week.html"
    assert main(["report", "--source", "backtest", "--results", str(out), "--period", "week", "--out", str(page)]) == 0
    figures = report_data(page)
    _same_per_symbol(figures, summary)
    assert abs(figures["pnl"] - summary["total"]["pnl"]) < 1e-6  # the same arithmetic, not just the cent
    _self_contained(page)
    text = page.read_text(encoding="utf-8")
    assert "<h2>Per symbol</h2>" in text and "ETHUSDT" in text


def test_a_two_symbol_paper_account_report_equals_its_dry_runs_summary(two_symbols: Path, tmp_path: Path) -> None:
    from tests.support.two_symbols import two_symbol_config

    config, state, results = two_symbol_config(tmp_path, two_symbols), tmp_path / "paper", tmp_path / "runs"
    run = ["dry-run", "--config", str(config), "--speed", "max", "--state-dir", str(state)]
    assert main([*run, "--out", str(results / "r1")]) == 0
    summary = json.loads((results / "r1" / "summary.json").read_text())
    assert summary["pnl_consistent"] and set(summary["symbols"]) == {"BTCUSDT", "ETHUSDT"}
    page = tmp_path / "day.html"
    report = ["report", "--config", str(config), "--source", "paper", "--state-dir", str(state)]
    assert main([*report, "--results", str(results), "--period", "week", "--out", str(page)]) == 0
    _same_per_symbol(report_data(page), summary)
