"""arb.reports and arb.results with three venues: every per-venue figure, every direction, every file and
chart of a run that trades binance, bybit and a venue arb does not know ("okx": a name is all the reports
need of a venue), worked by hand; and no module of them names a venue.

The run starts with 0.1 BTC-like coins and 10,000 quote on each venue and trades four pairs (prices
about 100, so a bps is a cent a coin):

1. at 1 s, buy 1.0 @ 100.0 on binance (fee 0.1), sell 1.0 @ 101.0 on okx (fee 0.101): direction
   buy_binance_sell_okx, 100 bps captured;
2. at 2 s, buy 0.5 @ 100.2 on okx, sell 0.5 @ 100.8 on bybit (no fee): buy_okx_sell_bybit, the later
   venue (okx) under the earlier (bybit): -59.52 bps, captured +59.52 in the direction traded;
3. at 3 s, buy 0.4 @ 100.0 on bybit and sell 0.1 @ 100.5 on binance (the sell partly filled), then at
   4 s a hedge sells the 0.3 left @ 100.3 on okx: the buy is set against the venue that sold the most
   against it (okx, 30 bps), the binance sell against the bybit buy;
4. at 5 s, a lone buy of 0.2 @ 100.1 on okx: it sits at the mid spread of okx over binance.

Positions at the end: binance +0.9, bybit -0.1, okx -0.6.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import datetime as dt
import io
import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from arb.catalog import known_venues
from arb.events import NS_PER_S
from arb.reports.against import Orders, compare
from arb.reports.charts import chart_data, equity_figure, fill_spread_bps, mid_spread_bps
from arb.reports.console import print_summary
from arb.reports.figures import compute_period, period_of
from arb.reports.files import (
    SUMMARY_JSON,
    TRADES_CSV,
    TRANSFERS_CSV,
    pnl_from_trades_csv,
    read_equity_npz,
    read_orders_csv,
    read_trades_csv,
    read_transfers_csv,
    write_report,
)
from arb.reports.html import render_html
from arb.reports.inventory import INVENTORY_CSV, inventory_columns
from arb.reports.maker import maker_figures
from arb.reports.pnl import combined_leg_figures, leg_figures, pnl_from_fills
from arb.reports.sent_orders import ORDER_DTYPE
from arb.reports.sources import load_backtest, marks_from
from arb.reports.summary import Summary, summarize
from arb.reports.valuation import InitialBalances, boundary_marks
from arb.results.inventory import inventory, pairs_left_text
from arb.results.venues import directions, saved_venue_names, venue_names
from arb.strategy.types import (
    BUY,
    FILL_DTYPE,
    FUNDING_DTYPE,
    INTENT_HEDGE,
    INTENT_OPEN,
    INTENT_QUOTE,
    RULES_DTYPE,
    SELL,
    SENT_DTYPE,
    TRANSFER_DTYPE,
    decision_dtype,
    equity_dtype,
    new_views,
)
from tests.support.captures import ROOT

VENUES = ("binance", "bybit", "okx")
TITLES = ("Binance", "Bybit", "OKX")  # each venue's title, from its venue.toml
T0 = 1_723_075_200 * NS_PER_S  # 2024-08-08T00:00:00Z
INITIAL = InitialBalances(base=(0.1, 0.1, 0.1), quote=(10_000.0, 10_000.0, 10_000.0))
FINAL_MID = (100.0, 100.2, 100.4)
TIMES = [float(t) for t in range(7)]
META: dict[str, Any] = {
    "mode": "backtest",
    "start_ns": T0,
    "end_ns": T0 + 6 * NS_PER_S,
    "config": {
        "strategy": {"symbols": ["BTCUSDT"], "venues": list(VENUES), "max_order_size": 0.01,
                     "max_position_size": 2.0},
        **{name: {"name": name, "market": "spot", "fees": {"taker": 0.001, "maker": 0.0}} for name in VENUES},
    },
}  # fmt: skip


def ns(seconds: float) -> int:
    return T0 + round(seconds * NS_PER_S)


def make_fills(*rows: tuple[float, int, int, float, float, float, int, int]) -> np.ndarray:
    """Rows of (t seconds, venue, side, price, qty, fee, pair_id, kind); order ids 1, 2, ..."""
    out = np.zeros(len(rows), FILL_DTYPE)
    for i, (t, venue, side, price, qty, fee, pair_id, kind) in enumerate(rows):
        out[i] = (ns(t), ns(t) - 5_000_000, venue, side, price, qty, fee, pair_id, kind, i + 1, 0)
    return out


FILLS = make_fills(
    (1.0, 0, BUY, 100.0, 1.0, 0.1, 1, INTENT_OPEN),
    (1.0, 2, SELL, 101.0, 1.0, 0.101, 1, INTENT_OPEN),
    (2.0, 2, BUY, 100.2, 0.5, 0.0, 2, INTENT_OPEN),
    (2.0, 1, SELL, 100.8, 0.5, 0.0, 2, INTENT_OPEN),
    (3.0, 1, BUY, 100.0, 0.4, 0.0, 3, INTENT_OPEN),
    (3.0, 0, SELL, 100.5, 0.1, 0.0, 3, INTENT_OPEN),
    (4.0, 2, SELL, 100.3, 0.3, 0.0, 3, INTENT_HEDGE),
    (5.0, 2, BUY, 100.1, 0.2, 0.0, 4, INTENT_OPEN),
)


def mids_at(t: float) -> tuple[float, ...]:
    if t == TIMES[-1]:
        return FINAL_MID
    return (100.0 + 0.1 * math.sin(t), 100.1 + 0.1 * math.cos(t), 100.2 + 0.05 * t)


def driver_equity(fills: np.ndarray, initial: InitialBalances, times: list[float]) -> np.ndarray:
    """Equity samples as a driver books them: each venue's balances after the fills known at the sample."""
    n = initial.n_venues
    out = np.zeros(len(times), equity_dtype(n))
    for i, t in enumerate(times):
        mid = mids_at(t)
        for v in range(n):
            base, quote = initial.base[v], initial.quote[v]
            for f in fills[(fills["venue"] == v) & (fills["local_ts"] <= ns(t))]:
                base += f["side"] * f["qty"]
                quote += -f["side"] * f["price"] * f["qty"] - f["fee"]
            out["equity_venue"][i, v] = quote + base * mid[v]
            out["position"][i, v] = base - initial.base[v]
        out["ts"][i], out["equity"][i], out["mid"][i] = ns(t), out["equity_venue"][i].sum(), mid
    return out


EQUITY = driver_equity(FILLS, INITIAL, TIMES)


def run_summary_of(**given: Any) -> Summary:
    summary = summarize(FILLS, EQUITY, INITIAL, META, **given)
    return dataclasses.replace(summary, marks=boundary_marks(EQUITY))


def by_hand(venue: int) -> tuple[float, float]:
    """(position, net PnL) of one venue from the fills, at the final mid."""
    own = FILLS[FILLS["venue"] == venue]
    position = float(np.sum(own["side"] * own["qty"]))
    cash = float(np.sum(-own["side"] * own["price"] * own["qty"] - own["fee"]))
    return position, cash + position * FINAL_MID[venue]


# --- the run's figures --------------------------------------------------------------------------------


def test_every_venue_has_its_column_named_by_the_run() -> None:
    s = run_summary_of()
    assert s.venue_names == VENUES and len(s.out_of_sync) == 3
    positions = [by_hand(v)[0] for v in range(3)]
    assert positions == pytest.approx([0.9, -0.1, -0.6])
    for v, f in enumerate(s.venues):
        assert f.position == pytest.approx(positions[v], abs=1e-12)
        assert f.pnl == pytest.approx(by_hand(v)[1], abs=1e-9)
        assert f.pnl_from_fills == pytest.approx(by_hand(v)[1], abs=1e-9)
        assert f.final_mid == FINAL_MID[v]
        assert f.base_balance == pytest.approx(0.1 + positions[v], abs=1e-12)
    assert [f.fills for f in s.venues] == [2, 2, 4]
    assert s.total.pnl == pytest.approx(sum(by_hand(v)[1] for v in range(3)), abs=1e-9) and s.pnl_consistent
    assert s.total.fees == pytest.approx(0.201) and s.venues[2].fees == pytest.approx(0.101)
    assert s.pairs.pairs == 4 and s.total.hedge_fills == 1
    # the same names without a configuration in meta: given, or the numbers' stand-ins
    assert summarize(FILLS, EQUITY, INITIAL, {}, venues=VENUES).venue_names == VENUES
    assert summarize(FILLS, EQUITY, INITIAL, {}).venue_names == ("venue0", "venue1", "venue2")


def test_summary_json_holds_each_venue_by_name() -> None:
    data = json.loads(json.dumps(run_summary_of(out_of_sync=((), (), ((ns(2), ns(3)),))).to_dict()))
    assert list(data["venues"]) == list(VENUES) and list(data["out_of_sync"]) == list(VENUES)
    assert data["out_of_sync"]["okx"] == [[ns(2), ns(3)]] and data["venues"]["okx"]["out_of_sync_s"] == 1.0
    assert data["initial"] == {"base": [0.1] * 3, "quote": [10_000.0] * 3}
    assert data["marks"][-1]["mids"] == {"BTCUSDT": dict(zip(VENUES, FINAL_MID, strict=True))}
    assert data["total"]["out_of_sync_s"] == 1.0


def test_the_run_must_give_as_many_venues_everywhere() -> None:
    with pytest.raises(ValueError, match="expected the balances of 3 venues"):
        summarize(FILLS, EQUITY, InitialBalances((0.1, 0.1), (1.0, 1.0)), META)
    with pytest.raises(ValueError, match="expected the spans of 3 venues"):
        summarize(FILLS, EQUITY, INITIAL, META, out_of_sync=((), ()))
    with pytest.raises(ValueError, match="expected the names of 3 venues"):
        summarize(FILLS, EQUITY, INITIAL, META, venues=VENUES[:2])
    bad = FILLS.copy()
    bad["venue"][0] = 3
    with pytest.raises(ValueError, match=r"venue must be one of \(0, 1, 2\)"):
        summarize(bad, EQUITY, INITIAL, META)
    with pytest.raises(ValueError, match="expected 3 finite numbers"):
        InitialBalances(base=(0.1, 0.1), quote=(1.0, 1.0, 1.0))
    both = InitialBalances.of_symbols([(0.1, 0.2, 0.3), (1.0, 2.0, 3.0)], (5.0, 6.0, 7.0))
    assert both.n_venues == 3 and both.symbol(1).quote == (0.0, 0.0, 0.0)
    assert both.equity([[100.0, 100.0, 100.0], [10.0, 10.0, 10.0]]) == pytest.approx(18 + 60 + 60)


def test_funding_and_transfers_between_any_two_venues() -> None:
    funding = np.zeros(1, FUNDING_DTYPE)
    funding[0] = (ns(4.5), ns(4.5), 2, 0, 0.0001, 100.3, -0.6, 0.25)
    # 0.05 coins sent from okx to binance at 5.5 s, arrived at 5.8 s, fee 0.001 coin (0.1 quote)
    transfers = np.zeros(1, TRANSFER_DTYPE)
    transfers[0] = (ns(5.5), ns(5.8), 0, 0, 2, 0, 0.05, 0.001, 0.1)
    equity = EQUITY.copy()
    later = equity["ts"] >= ns(5.5)
    equity["equity_venue"][later, 0] += 0.05 * equity["mid"][later, 0]
    equity["equity_venue"][later, 2] -= 0.051 * equity["mid"][later, 2]
    equity["equity_venue"][equity["ts"] >= ns(4.5), 2] += 0.25
    equity["equity"] = equity["equity_venue"].sum(axis=1)
    s = summarize(FILLS, equity, INITIAL, META, funding=funding, transfers=transfers)
    assert [f.funding for f in s.venues] == [0.0, 0.0, 0.25]
    assert s.venues[0].base_balance == pytest.approx(0.1 + 0.9 + 0.05)
    assert s.venues[2].base_balance == pytest.approx(0.1 - 0.6 - 0.051)
    assert s.venues[1].base_balance == pytest.approx(0.1 - 0.1)
    # a venue's PnL counts no coin moved to or from it (what binance received is taken off at okx's
    # price); the account's holds the fee and the coins now valued at binance's mid, not okx's
    assert s.venues[0].pnl == pytest.approx(by_hand(0)[1] + 0.05 * (100.0 - 100.4), abs=1e-9)
    assert s.venues[2].pnl == pytest.approx(by_hand(2)[1] + 0.25 - 0.001 * 100.4, abs=1e-9)
    moved = 0.05 * 100.0 - 0.051 * 100.4
    assert s.total.pnl == pytest.approx(sum(by_hand(v)[1] for v in range(3)) + 0.25 + moved, abs=1e-9)
    assert s.pnl_consistent


# --- spreads, per direction ---------------------------------------------------------------------------


def test_each_fill_sits_at_the_spread_its_pair_captured_on_any_two_venues() -> None:
    spreads = fill_spread_bps(FILLS, EQUITY)
    assert spreads[:2] == pytest.approx([100.0, 100.0])  # okx over binance, both legs
    assert spreads[2:4] == pytest.approx([(100.2 - 100.8) / 100.8 * 1e4] * 2)  # okx (later) over bybit
    assert spreads[4] == pytest.approx(30.0)  # bybit's buy against okx's hedge (0.3 sold) not binance's 0.1
    assert spreads[5] == pytest.approx((100.0 - 100.5) / 100.5 * 1e4)  # binance's sell against bybit's buy
    assert spreads[6] == pytest.approx(30.0)  # okx's hedge against bybit's buy
    at = int(np.searchsorted(EQUITY["ts"], ns(5.0)))  # the lone leg: okx over binance at its sample
    assert spreads[7] == pytest.approx((EQUITY["mid"][at, 2] - EQUITY["mid"][at, 0]) / EQUITY["mid"][at, 0] * 1e4)
    assert np.isnan(fill_spread_bps(FILLS, EQUITY, ((), (), ((ns(4.9), ns(5.1)),)))[7])  # its sample out of sync


def test_the_spread_panel_draws_each_venue_over_the_first() -> None:
    s = run_summary_of(out_of_sync=((), ((ns(2), ns(3)),), ()))
    spread = mid_spread_bps(EQUITY["mid"])
    assert spread.shape == (len(EQUITY), 2)
    assert spread[-1] == pytest.approx([(100.2 - 100.0) / 100.0 * 1e4, (100.4 - 100.0) / 100.0 * 1e4])
    data = chart_data(s, FILLS, EQUITY)
    assert data.spread_bps.shape == (len(EQUITY), 2) and np.isnan(data.spread_bps[2]).all()
    fig = equity_figure(s, FILLS, EQUITY)
    labels = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert "spread (Bybit over Binance)" in labels and "spread (OKX over Binance)" in labels
    assert {"filled: Binance", "hollow: Bybit"} <= set(labels) and any(t.startswith("light: OKX") for t in labels)
    assert any(t.startswith("Bybit book out of sync") for t in labels)
    low, high = fig.axes[2].get_ylim()  # every marker inside the panel, those far off the lines too
    assert low < (100.2 - 100.8) / 100.8 * 1e4 and high > 100.0


def test_the_period_signs_each_pairs_spread_in_the_direction_traded(tmp_path: Path) -> None:
    s = run_summary_of()
    write_report(tmp_path, s, FILLS, EQUITY)
    report = compute_period(load_backtest(tmp_path), period_of("day", dt.date(2024, 8, 8)))
    # pairs 1 to 4 by their first opening fill: bought binance sold okx (+100), bought okx sold bybit
    # (+59.52), bought bybit (against okx) +30, the lone okx buy at okx over binance
    assert report.spreads_bps[:3] == pytest.approx([100.0, (100.8 - 100.2) / 100.8 * 1e4, 30.0])
    assert [r.name for r in report.venues] == [*VENUES, "total"]
    assert report.pnl == pytest.approx(s.total.pnl, abs=1e-9)
    assert [r.position_end for r in report.venues[:3]] == pytest.approx([0.9, -0.1, -0.6])
    assert list(report.totals()["venues"]) == list(VENUES)
    page = render_html(report, T0)
    assert all(f"<th>{title}</th>" in page for title in TITLES)


# --- inventory: every direction ---------------------------------------------------------------------


def _params(size: float = 0.01, band: float = 0.05) -> np.ndarray:
    params = np.zeros(1, RULES_DTYPE)
    params["max_order_size"], params["max_position_size"] = size, band
    return params


def test_inventory_counts_every_direction_of_three_venues() -> None:
    views = new_views(1, 3)
    views["base_balance"], views["quote_balance"] = 0.1, 10_000.0
    views["position"][0] = (0.0, 0.0, -0.03)
    (inv,) = inventory(views, _params(), prices=np.full((1, 3), 100.0), venues=VENUES)
    assert [v.venue for v in inv.venues] == list(VENUES)
    assert [(d.buy, d.sell) for d in inv.directions] == list(directions(3)) == [
        (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]  # fmt: skip
    assert [d.name for d in inv.directions] == [
        "buy_binance_sell_bybit", "buy_binance_sell_okx", "buy_bybit_sell_binance", "buy_bybit_sell_okx",
        "buy_okx_sell_binance", "buy_okx_sell_bybit"]  # fmt: skip
    left = {d.name: (d.pairs_left, d.limit) for d in inv.directions}
    assert left["buy_binance_sell_okx"] == (2, "okx position")  # 0.05 - 0.03 of room to sell on okx
    assert left["buy_okx_sell_binance"] == (5, "binance position")
    assert left["buy_binance_sell_bybit"] == (5, "binance position")
    text = pairs_left_text((inv,))
    assert text.startswith("left buy binance sell bybit 5 | buy binance sell okx 2 | ")
    # without names, the directions are the default names' when there are two, the numbers' stand-ins else
    (unnamed,) = inventory(views, _params(), prices=np.full((1, 3), 100.0))
    assert unnamed.directions[1].name == "buy_venue0_sell_venue2"


def test_inventory_csv_has_a_column_per_venue_and_per_direction(tmp_path: Path) -> None:
    s = run_summary_of()
    write_report(tmp_path, s, FILLS, EQUITY)
    with (tmp_path / INVENTORY_CSV).open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == inventory_columns(VENUES)
    assert [c for c in rows[0] if c.startswith("pairs_left_")] == [
        f"pairs_left_buy_{VENUES[b]}_sell_{VENUES[s]}" for b, s in directions(3)]  # fmt: skip
    last = rows[-1]
    for f in s.venues:
        assert float(last[f"{f.name}_base"]) == pytest.approx(f.base_balance)
        assert float(last[f"{f.name}_quote"]) == pytest.approx(f.quote_balance)
        assert float(last[f"{f.name}_position"]) == pytest.approx(f.position)
    assert last["limit_buy_okx_sell_binance"] != ""  # a size and a price: every direction is known


# --- the files, read back -----------------------------------------------------------------------------


def test_the_files_name_every_venue_and_read_back_exactly(tmp_path: Path) -> None:
    transfers = np.zeros(1, TRANSFER_DTYPE)
    transfers[0] = (ns(5.5), -1, 0, 1, 2, 1, 50.0, 1.0, 1.0)  # quote from okx to bybit, still on its way
    s = run_summary_of()
    write_report(tmp_path, s, FILLS, EQUITY, transfers=transfers)
    text = (tmp_path / TRADES_CSV).read_text().splitlines()
    assert [line.split(",")[3] for line in text[1:3]] == ["binance", "okx"]
    assert np.array_equal(read_trades_csv(tmp_path / TRADES_CSV, ("BTCUSDT",), VENUES), FILLS)
    assert (tmp_path / TRANSFERS_CSV).read_text().splitlines()[1].split(",")[4:6] == ["okx", "bybit"]
    assert np.array_equal(read_transfers_csv(tmp_path / TRANSFERS_CSV, ("BTCUSDT",), VENUES), transfers)
    assert read_equity_npz(tmp_path / "equity.npz").dtype == equity_dtype(3)
    mids = [json.loads((tmp_path / SUMMARY_JSON).read_text())["venues"][v]["final_mid"] for v in VENUES]
    assert pnl_from_trades_csv(tmp_path / TRADES_CSV, mids, venues=VENUES) == pytest.approx(s.total.pnl_from_fills)
    assert pnl_from_fills(FILLS, FINAL_MID) == pytest.approx(s.total.pnl_from_fills)
    source = load_backtest(tmp_path)
    assert source.venues == VENUES and np.array_equal(source.fills, FILLS)
    assert source.marks.dtype["mid"].shape == (3,) and source.equity.dtype == equity_dtype(3)


def test_the_terminal_table_has_a_column_per_venue() -> None:
    out = io.StringIO()
    print_summary(run_summary_of(), Console(file=out, width=200, color_system=None))
    header = next(line for line in out.getvalue().splitlines() if "figure" in line)
    columns = [cell.strip() for cell in header.split("┃")[1:-1]]
    assert columns == ["figure", "Total", *TITLES]
    maker = next(line for line in out.getvalue().splitlines() if "net PnL, fills" in line)
    assert len([cell for cell in maker.split("│")[1:-1]]) == 5  # the figure, the total and three venues


def test_leg_and_maker_figures_hold_a_value_per_venue() -> None:
    sent = np.zeros(2, SENT_DTYPE)
    sent[0] = (ns(3), 1, BUY, 100.0, 0.4, INTENT_OPEN, 3, 0, 0, 0)
    sent[1] = (ns(3), 0, SELL, 100.5, 0.4, INTENT_OPEN, 3, 0, 1, 0)  # partly filled: faulted
    legs = leg_figures(FILLS[FILLS["pair_id"] == 3][:2], sent, FINAL_MID, max_hedge_attempts=3)
    assert legs.exposure == pytest.approx((-0.1, 0.4, 0.0)) and legs.open_at_end == 1
    assert len(combined_leg_figures([legs, legs]).exposure) == 3
    calls = np.zeros(1, decision_dtype(3))
    fills = FILLS.copy()
    fills["kind"][2] = INTENT_QUOTE
    maker = maker_figures(fills, np.zeros(0, SENT_DTYPE), calls)
    assert maker.maker_fees == (0.0, 0.0, 0.0) and maker.taker_fees == pytest.approx((0.1, 0.0, 0.101))


def test_live_against_the_backtest_venue_by_venue_by_name() -> None:
    orders = np.zeros(2, ORDER_DTYPE)
    orders[0] = (10, 2, 0, BUY, 100.0, 1.0, INTENT_OPEN, 1, 1, 1_000_000)
    orders[1] = (20, 0, 0, SELL, 100.0, 1.0, INTENT_OPEN, 1, 2, 1_000_000)
    none = np.zeros(0, [("order", "i8"), ("price", "f8"), ("qty", "f8")])
    live = Orders(orders, none, 0, 30, ("BTCUSDT",), venues=VENUES)
    # the backtest's run lists the venues in another order: okx is its venue 0
    backtest = Orders(orders[:1].copy(), none, 0, 30, ("BTCUSDT",), venues=("okx", "binance", "bybit"))
    backtest.orders["venue"] = 0
    c = compare(live, backtest, "bt")
    assert [row.venue for row in c.rows] == list(VENUES)
    assert [(row.live.orders, row.backtest.orders) for row in c.rows] == [(1, 0), (0, 0), (1, 1)]


# --- a report folder an older arb wrote ---------------------------------------------------------------

OLD = ROOT / "tests" / "fixtures" / "report_ab848b1"


def test_a_report_folder_of_the_two_venue_arb_is_read_as_it_was() -> None:
    summary = json.loads((OLD / SUMMARY_JSON).read_text())
    assert "venues" not in summary["meta"]["config"]["strategy"]  # written before [strategy] venues
    assert saved_venue_names(summary["meta"]["config"]) == ("binance", "bybit")
    source = load_backtest(OLD)
    assert source.venues == ("binance", "bybit") and source.initial.n_venues == 2
    trades = list(csv.DictReader((OLD / TRADES_CSV).open()))
    assert [("binance", "bybit")[v] for v in source.fills["venue"]] == [row["venue"] for row in trades]
    assert source.equity.dtype == equity_dtype(2) and len(source.equity) == 652  # its spread_bps left out
    orders = read_orders_csv(OLD / "orders.csv", source.symbols, source.venues)
    assert [("binance", "bybit")[v] for v in orders["venue"]] == [
        row["venue"] for row in csv.DictReader((OLD / "orders.csv").open())]  # fmt: skip
    # inventory.csv's columns, now made for any venues, are the ones the two-venue arb wrote
    assert (OLD / INVENTORY_CSV).read_text().splitlines()[0] == ",".join(inventory_columns(source.venues))
    mids = [summary["venues"][v]["final_mid"] for v in ("binance", "bybit")]
    assert pnl_from_trades_csv(OLD / TRADES_CSV, mids) == pytest.approx(summary["total"]["pnl_from_fills"], abs=1e-9)
    report = compute_period(source, period_of("week", dt.date(2024, 8, 8)))  # the run crosses midnight
    assert [r.name for r in report.venues] == ["binance", "bybit", "total"]
    assert report.total.fills == summary["total"]["fills"]
    assert report.pnl == pytest.approx(summary["total"]["pnl"], abs=0.01)
    assert "<th>Binance</th><th>Bybit</th><th>Total</th>" in render_html(report, T0)


def test_an_older_configurations_venue_tables_give_the_order_of_the_file() -> None:
    config = {"strategy": {"symbols": ["X"]}, "live": {"account": "a"}, "bybit": {"name": "bybit"},
              "leg_faults": {"binance": {}}, "binance": {"name": "binance"}}  # fmt: skip
    assert saved_venue_names(config) == ("bybit", "binance")
    assert saved_venue_names({"strategy": {"venues": list(VENUES)}}) == VENUES
    assert saved_venue_names(None) == () and venue_names(2) == ("binance", "bybit")


def test_marks_hold_as_many_venues_as_the_source() -> None:
    marks = marks_from(FILLS, [(ns(6), FINAL_MID)], 3)
    assert marks.dtype["mid"].shape == (3,) and marks["mid"][-1] == pytest.approx(FINAL_MID)
    assert marks_from(FILLS[:1], []).dtype["mid"].shape == (2,)  # the default run's, at the least
    with pytest.raises(ValueError, match="expected 2 venues"):
        marks_from(FILLS, [], 2)


# --- no venue named -----------------------------------------------------------------------------------


def _docstrings(tree: ast.Module) -> set[int]:
    # the ids of every docstring's node: a docstring may name a venue as an example
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
        # an attribute's docstring: a string expression right after an assignment
        for body in (getattr(node, "body", None), getattr(node, "orelse", None)):
            if isinstance(body, list):
                for a, b in itertools.pairwise(body):
                    if isinstance(a, ast.Assign | ast.AnnAssign) and isinstance(b, ast.Expr):
                        out.add(id(b.value))
    return out


def test_no_report_or_result_module_names_a_venue() -> None:
    names = {name.lower() for name in known_venues()}
    found = []
    for path in sorted((ROOT / "arb" / "reports").glob("*.py")) + sorted((ROOT / "arb" / "results").glob("*.py")):
        tree = ast.parse(path.read_text())
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            words: list[str] = []
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                words = [node.value]
            elif isinstance(node, ast.Name):
                words = [node.id]
            elif isinstance(node, ast.Attribute):
                words = [node.attr]
            elif isinstance(node, ast.alias):
                words = [node.name, node.asname or ""]
            elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.arg):
                words = [getattr(node, "name", None) or getattr(node, "arg", "")]
            for word in words:
                if any(name in word.lower() for name in names) or "ASSET_NAMES" in word:
                    found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}: {word[:60]!r}")
    assert found == []
