"""Inventory across venues in the backtest (issue 45): a generated tape whose basis stays one-sided
(:mod:`arb.testing.inventory_tape`).

Bybit's bid keeps jumping 45 bps over Binance's ask (buy Binance, sell Bybit: 23 bps net), and now and
then Bybit's ask dips 24 bps under Binance's bid (the way back: 2 bps net, short of ``min_spread_bps``
= 5). Each venue starts with 0.05 BTC; pairs are 0.01 BTC. Without a policy Bybit's base runs out
after five pairs and every later opportunity is missed for want of balance; with the inventory skew
the way back clears its lowered threshold and refills Bybit, so trading lasts; with a transfer policy
Binance sends base over and trading goes on, the fee and delay booked. At zero latency the skewed
kernel decides alike in the backtest and the dry run.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.backtest import transfers
from arb.backtest.run import BacktestResult, run_backtest
from arb.cli import main
from arb.config import AppConfig, load_config
from arb.parity.against_dry_run import run_parity, zero_latency
from arb.reports.summary import run_summary
from arb.reports.valuation import InitialBalances
from arb.strategy.types import BUY
from arb.sweep.runner import figures_of
from arb.testing.inventory_tape import write_one_sided
from tests.support.captures import inventory_table, report_data
from tests.support.shared import made_once


def one_sided_tape(folder: Path, **sections: dict[str, Any]) -> AppConfig:
    """The one-sided tape (:mod:`arb.testing.inventory_tape`) in ``folder``, its configuration loaded;
    ``strategy={...}`` and ``backtest={...}`` merge into those sections."""
    return load_config(write_one_sided(folder, sections.get("strategy"), sections.get("backtest")))


THRESHOLD = {"transfer_policy": "threshold", "transfer_threshold": 0.25, "transfer_fee_base": 0.0002,
             "transfer_delay_base_s": 1.0}  # fmt: skip


@pytest.fixture(scope="module")
def transfer_loop(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The backtest loop of a transfer policy (a variant of its own, with the inventory it moves), compiled
    into Numba's cache once for the run's workers, under a lock (``tests/support/shared.py``): a worker whose
    first run of the threshold policy comes while another compiles it waits, then loads it, instead of
    compiling it too."""
    made_once(
        tmp_path_factory, "transfer-loop", lambda folder: run_backtest(one_sided_tape(folder, backtest=THRESHOLD))
    )


def pairs(result: BacktestResult) -> int:
    return int(result.kernel_state["pairs"])


def last_pair_s(result: BacktestResult) -> float:
    return float((result.fills["local_ts"].max() - result.start_ns) / 1e9)


def test_without_a_policy_trading_stops_when_bybits_base_runs_out_and_the_misses_are_counted(tmp_path: Path) -> None:
    result = run_backtest(one_sided_tape(tmp_path))
    inv = result.inventory
    assert pairs(result) == 5  # 0.05 BTC on Bybit, 0.01 a pair
    assert inv["balances"]["bybit"]["BTC"] == pytest.approx(0.0, abs=1e-12)
    assert inv["missed_for_balance"] == result.kernel_state["missed_for_balance"] > 5
    assert inv["transfers"] == 0 and inv["transfer_policy"] == "none"


def test_the_skew_refills_the_short_venue_on_the_way_back_so_trading_lasts(tmp_path: Path) -> None:
    plain = run_backtest(one_sided_tape(tmp_path / "plain"))
    skewed = run_backtest(one_sided_tape(tmp_path / "skew", strategy={"inventory_skew_bps": 4.0}))
    assert pairs(skewed) > pairs(plain)
    assert last_pair_s(skewed) > last_pair_s(plain) + 2.0
    back = skewed.fills[(skewed.fills["venue"] == 1) & (skewed.fills["side"] == BUY)]
    assert len(back) > 0  # pairs the way back: buying on Bybit, on 2 bps net
    assert skewed.inventory["missed_for_balance"] < plain.inventory["missed_for_balance"]


@pytest.mark.usefixtures("transfer_loop")
def test_a_threshold_policy_keeps_trading_and_books_the_fees_and_the_delay(tmp_path: Path) -> None:
    plain = run_backtest(one_sided_tape(tmp_path / "plain"))
    config = one_sided_tape(tmp_path / "moved", backtest=THRESHOLD)
    moved = run_backtest(config)
    inv = moved.inventory
    btc = inv["assets"]["BTC"]
    assert pairs(moved) > pairs(plain) + 3
    assert btc["transfers"] >= 2 and inv["transfers"] == btc["transfers"]
    assert btc["fees"] == pytest.approx(0.0002 * btc["transfers"])
    assert btc["transit_s"] == pytest.approx(1.0 * btc["transfers"])
    assert inv["transfer_fees_quote"] == pytest.approx(btc["fees"] * 60000.0, rel=0.01)
    # every unit accounted for: start + what the fills bought or sold - transfer fees = held + on its way
    fills = moved.fills
    traded = float(np.sum(fills["side"] * fills["qty"]))
    held = inv["balances"]["binance"]["BTC"] + inv["balances"]["bybit"]["BTC"]
    assert 0.1 + traded - btc["fees"] == pytest.approx(held + btc["in_transit"], abs=1e-12)
    cash = float(np.sum(-fills["side"] * fills["price"] * fills["qty"] - fills["fee"]))
    usdt = inv["assets"]["USDT"]
    held_quote = inv["balances"]["binance"]["USDT"] + inv["balances"]["bybit"]["USDT"]
    assert 200_000.0 + cash - usdt["fees"] == pytest.approx(held_quote + usdt["in_transit"], abs=1e-6)
    # the report's PnL check counts what moved, and a sweep's point shows the same figures
    figures, _ = figures_of(config, moved)
    assert (figures["missed_for_balance"], figures["transfers"]) == (inv["missed_for_balance"], inv["transfers"])
    assert figures["transfer_fees"] == inv["transfer_fees_quote"]
    summary = run_summary(config, moved.fills, moved.equity, InitialBalances.of_symbols([moved.initial_base],
                          moved.initial_quote), {}, inventory=inv)  # fmt: skip
    assert summary.pnl_consistent and summary.to_dict()["inventory"]["transfers"] == inv["transfers"]


@pytest.mark.usefixtures("transfer_loop")
def test_the_report_page_shows_the_threshold_runs_inventory_as_its_summary_has_it(tmp_path: Path) -> None:
    # arb backtest of the threshold run, then arb report on its folder: the page's inventory table (the
    # terminal's rows) gives summary.json's figures, and its embedded JSON holds them exactly
    config, out, page = write_one_sided(tmp_path, backtest=THRESHOLD), tmp_path / "run", tmp_path / "day.html"
    assert main(["-q", "backtest", "--config", str(config), "--out", str(out)]) == 0
    assert main(["report", "--source", "backtest", "--results", str(out), "--period", "day", "--out", str(page)]) == 0
    inv = json.loads((out / "summary.json").read_text())["inventory"]
    assert inv["transfers"] >= 2 and inv["missed_for_balance"] > 0  # the section has something to show
    text = page.read_text(encoding="utf-8")
    rows = {row[0].strip(): row[1:] for row in inventory_table(text)[1:]}
    btc, balances = inv["assets"]["BTC"], inv["balances"]
    assert rows["missed for balance (decisions)"][0] == str(inv["missed_for_balance"])
    assert rows["transfers (threshold)"][0] == str(inv["transfers"])
    assert float(rows["transfer fees (quote)"][0]) == pytest.approx(inv["transfer_fees_quote"], abs=5e-5)
    fees, in_transit = map(float, rows["BTC fees / on its way"][0].split(" / "))
    assert (fees, in_transit) == pytest.approx((btc["fees"], btc["in_transit"]), rel=1e-7)
    assert float(rows["BTC time in transit (s)"][0]) == pytest.approx(btc["transit_s"], abs=5e-4)
    for asset in ("BTC", "USDT"):
        total, *held = map(float, rows[f"{asset} held at end"])
        assert held == pytest.approx([balances["binance"][asset], balances["bybit"][asset]], rel=1e-7)
        assert total == pytest.approx(balances["binance"][asset] + balances["bybit"][asset], rel=1e-7)
    assert "USDT fees / on its way" not in rows  # no quote moved
    assert report_data(page)["inventory"] == inv
    assert text.count("<svg", text.index('<h2 id="inventory">')) >= 2  # the balances' charts follow


@pytest.mark.usefixtures("transfer_loop")
def test_every_figure_rebuilt_from_the_files_counts_the_threshold_runs_transfers(tmp_path: Path) -> None:
    # arb backtest of the threshold run: transfers.csv holds summary.json's transfers, inventory.csv ends
    # with its balances, the terminal's per-venue rows count them, and arb report's page gives its PnL
    config, out, page = write_one_sided(tmp_path, backtest=THRESHOLD), tmp_path / "run", tmp_path / "day.html"
    assert main(["-q", "backtest", "--config", str(config), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    inv, btc = summary["inventory"], summary["inventory"]["assets"]["BTC"]
    rows = list(csv.DictReader((out / "transfers.csv").open(encoding="utf-8")))
    assert len(rows) == inv["transfers"] >= 2
    assert sum(float(r["fee_quote"]) for r in rows) == pytest.approx(inv["transfer_fees_quote"], abs=1e-9)
    assert sum(float(r["fee"]) for r in rows) == pytest.approx(btc["fees"], abs=1e-12)
    assert {(r["asset"], r["from"], r["to"]) for r in rows} == {("base", "binance", "bybit")}
    on_its_way = [float(r["amount"]) for r in rows if r["arrive_ts"] == "-1"]
    assert sum(on_its_way) == pytest.approx(btc["in_transit"], abs=1e-12)
    arrived = [r for r in rows if r["arrive_ts"] != "-1"]
    assert all(int(r["arrive_ts"]) >= int(r["local_ts"]) + 10**9 for r in arrived)  # the 1 s delay
    # inventory.csv's last row: summary.json's balances (on its way: in neither venue's)
    last = list(csv.DictReader((out / "inventory.csv").open(encoding="utf-8")))[-1]
    balances = inv["balances"]
    for venue in ("binance", "bybit"):
        assert float(last[f"{venue}_base"]) == pytest.approx(balances[venue]["BTC"], abs=1e-12)
        assert float(last[f"{venue}_quote"]) == pytest.approx(balances[venue]["USDT"], abs=1e-6)
    events = [r["event"] for r in csv.DictReader((out / "inventory.csv").open(encoding="utf-8"))]
    assert events.count("transfer") == len(rows) and events.count("arrival") == len(arrived)
    # the terminal's per-venue rows: the balances, and PnL that add up without what was moved
    total, venues = summary["total"], summary["venues"]
    for venue in ("binance", "bybit"):
        assert venues[venue]["base_balance"] == pytest.approx(balances[venue]["BTC"], abs=1e-12)
        assert venues[venue]["quote_balance"] == pytest.approx(balances[venue]["USDT"], abs=1e-6)
        assert abs(venues[venue]["pnl"]) < 200.0  # not the ±14,000 of the coins moved
    assert sum(v["pnl"] for v in venues.values()) == pytest.approx(total["pnl"], abs=1e-6)
    assert total["pnl_from_fills"] == pytest.approx(total["pnl"], abs=1e-6) and summary["pnl_consistent"]
    # arb report's page: summary.json's net PnL and balances, and no caveat about what it leaves out
    assert main(["report", "--source", "backtest", "--results", str(out), "--period", "day", "--out", str(page)]) == 0
    data = report_data(page)
    assert data["pnl"] == pytest.approx(total["pnl"], abs=1e-6)
    for venue in ("binance", "bybit"):
        assert data["venues"][venue]["pnl"] == pytest.approx(venues[venue]["pnl"], abs=1e-6)
    text = page.read_text(encoding="utf-8")
    assert "are not in them" not in text and "transfers (transfers.csv) are in the" in text


@pytest.mark.usefixtures("transfer_loop")
def test_the_transfer_log_grows_as_the_loop_fills_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a log of two rows to start with: the loop stops when it is full and the driver grows it, so the
    # run logs every transfer it booked, each in the order sent
    monkeypatch.setattr(transfers, "_LOG_ROWS", 2)
    result = run_backtest(one_sided_tape(tmp_path, backtest=THRESHOLD))
    log, btc = result.transfers, result.inventory["assets"]["BTC"]
    assert len(log) == result.inventory["transfers"] > 4
    assert np.all(np.diff(log["ts"]) > 0) and float(log["fee"].sum()) == pytest.approx(btc["fees"], abs=1e-12)
    assert float(log["amount"][log["arrive_ts"] < 0].sum()) == pytest.approx(btc["in_transit"], abs=1e-12)


def test_the_skewed_kernel_decides_alike_in_the_backtest_and_the_dry_run(tmp_path: Path) -> None:
    config = one_sided_tape(tmp_path, strategy={"inventory_skew_bps": 4.0})
    report = run_parity(zero_latency(config), exact=True)
    assert report.agree, report.describe()
    assert report.intents[0] >= 14  # more than the five pairs the balance allows without the skew
