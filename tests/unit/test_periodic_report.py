"""Periodic reports on constructed sources: UTC periods (weeks from Monday), the slicing at midnight,
positions carried into a period, a synthetic live journal read without being touched, a page that
needs no network, and the command's errors (exit 2, one line)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from arb.cli import main
from arb.config import AppConfig, load_config
from arb.journal import Journal
from arb.reports import SourceData, build_report, compute_period, period_of, render_html, write_daily_report
from arb.reports.console import print_summary
from arb.reports.figures import PeriodReport
from arb.reports.inventory import inventory_rows
from arb.reports.periodic import default_period
from arb.reports.pnl import pnl_from_fills
from arb.reports.sources import marks_from
from arb.reports.valuation import InitialBalances
from arb.strategy.types import BUY, FILL_DTYPE, INTENT_HEDGE, INTENT_OPEN, SELL
from arb.testing.configs import write_config_files
from tests.support.captures import inventory_table

NS = 1_000_000_000
DAY = dt.date(2024, 8, 8)  # a Thursday
MIDNIGHT = int(dt.datetime(2024, 8, 9, tzinfo=dt.UTC).timestamp()) * NS  # the end of DAY


def _fills(*rows: tuple[int, int, int, float, float, float, int, int]) -> np.ndarray[Any, Any]:
    # (local_ts, venue, side, price, qty, fee, pair_id, kind)
    return np.array([(t, t, v, s, p, q, f, pair, k, i, 0) for i, (t, v, s, p, q, f, pair, k) in enumerate(rows)],
                    dtype=FILL_DTYPE)  # fmt: skip


def _source(fills: np.ndarray[Any, Any], sessions: list[tuple[int, list[float]]] | None = None) -> SourceData:
    sessions = sessions or []
    marks = marks_from(fills, sessions)
    times = [*fills["local_ts"].tolist(), *(t for t, _ in sessions)]
    return SourceData(
        kind="paper",
        name="<test & co>",
        fills=fills,
        marks=marks,
        initial=InitialBalances((1.0, 1.0), (100_000.0, 100_000.0)),
        first_ns=min(times),
        last_ns=max(times),
        quote="USDT",
    )


def test_periods_are_utc_days_weeks_from_monday_and_calendar_months() -> None:
    day = period_of("day", DAY)
    assert (day.start_ns, day.end_ns) == (MIDNIGHT - 86_400 * NS, MIDNIGHT)
    week = period_of("week", DAY)
    assert week.first_day == dt.date(2024, 8, 5) and week.first_day.weekday() == 0
    assert week.end_ns - week.start_ns == 7 * 86_400 * NS
    assert period_of("week", dt.date(2024, 8, 11)).first_day == dt.date(2024, 8, 5)  # a Sunday: the same week
    assert period_of("week", dt.date(2024, 8, 12)).first_day == dt.date(2024, 8, 12)  # the next Monday: the next
    december = period_of("month", dt.date(2024, 12, 31))
    assert december.first_day == dt.date(2024, 12, 1)
    assert december.end_ns == int(dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp()) * NS
    assert (
        period_of("month", dt.date(2024, 2, 10)).end_ns == int(dt.datetime(2024, 3, 1, tzinfo=dt.UTC).timestamp()) * NS
    )
    assert (day.label, week.label, december.label) == ("2024-08-08", "2024-W32 (2024-08-05 to 2024-08-11)", "2024-12")
    with pytest.raises(ValueError, match="period: expected one of day, week, month"):
        period_of("year", DAY)


def test_a_fill_a_nanosecond_before_midnight_and_one_at_midnight_land_in_different_days() -> None:
    # A pair opened at 23:59:59.999999999: Binance buy, Bybit sell; unwound at 00:00:00 exactly.
    fills = _fills(
        (MIDNIGHT - 1, 0, BUY, 60_000.0, 0.01, 0.6, 1, INTENT_OPEN),
        (MIDNIGHT - 1, 1, SELL, 60_060.0, 0.01, 0.6, 1, INTENT_OPEN),
        (MIDNIGHT, 0, SELL, 60_030.0, 0.01, 0.6, 2, INTENT_OPEN),
        (MIDNIGHT, 1, BUY, 60_030.0, 0.01, 0.6, 2, INTENT_OPEN),
    )
    source = _source(fills, [(MIDNIGHT + 60 * NS, [60_030.0, 60_030.0])])
    first = compute_period(source, period_of("day", DAY))
    second = compute_period(source, period_of("day", DAY + dt.timedelta(days=1)))
    whole = compute_period(source, period_of("week", DAY))
    assert (first.total.fills, second.total.fills, whole.total.fills) == (2, 2, 4)
    assert (first.pairs_summary.pairs.pairs, second.pairs_summary.pairs.pairs) == (1, 1)
    assert first.total.fees == pytest.approx(1.2) and second.total.fees == pytest.approx(1.2)
    # the days add up to the week, and the week is the PnL of the fills at the last marks
    assert first.pnl is not None and second.pnl is not None and whole.pnl is not None
    assert first.pnl + second.pnl == pytest.approx(whole.pnl, abs=1e-9)
    assert whole.pnl == pytest.approx(pnl_from_fills(fills, [60_030.0, 60_030.0]), abs=1e-9)
    assert whole.pnl == pytest.approx(0.6 - 2.4)  # 60 x 0.01 captured, four fees


def test_a_position_carried_into_a_period_is_revalued_from_its_start_to_its_end() -> None:
    # Day 1: buy 1 BTC on Binance at 100 (fee 1), nothing else. Day 2: the mark is 110 at 12:00.
    noon = MIDNIGHT + 12 * 3600 * NS
    fills = _fills((MIDNIGHT - 3600 * NS, 0, BUY, 100.0, 1.0, 1.0, 7, INTENT_HEDGE))
    source = _source(fills, [(noon, [110.0, 100.0])])
    first = compute_period(source, period_of("day", DAY))
    second = compute_period(source, period_of("day", DAY + dt.timedelta(days=1)))
    assert first.pnl == pytest.approx(-1.0)  # the fee; the coin is worth what was paid at the day's end mark
    assert second.pnl == pytest.approx(10.0)  # the carried coin, 100 -> 110
    assert second.total.fills == 0 and second.total.fees == 0
    assert second.venues[0].pnl == pytest.approx(10.0) and second.venues[1].pnl == pytest.approx(0.0)
    assert second.venues[0].position_end == pytest.approx(1.0)
    assert second.curve_pnl[-1] == pytest.approx(10.0) and second.curve_pnl[0] == 0.0


def test_the_page_needs_no_network_and_escapes_what_it_shows() -> None:
    fills = _fills(
        (MIDNIGHT - 60 * NS, 0, BUY, 60_000.0, 0.01, 0.6, 1, INTENT_OPEN),
        (MIDNIGHT - 60 * NS, 1, SELL, 60_060.0, 0.01, 0.6, 1, INTENT_OPEN),
    )
    source = dataclasses.replace(_source(fills), halts=("halted </script><b>x</b>",))
    text = render_html(compute_period(source, period_of("day", DAY)), MIDNIGHT)
    assert re.search(r"\b(src|href)\s*=", text, re.IGNORECASE) is None
    assert "http" not in text and "url(" not in text and "@import" not in text
    assert text.count("<svg") == 5  # PnL, per venue, the inventory's quote and base, captured spreads
    assert "&lt;test &amp; co&gt;" in text and "<b>x</b>" not in text
    embedded = re.search(r'id="arb-report">(.*?)</script>', text, re.DOTALL)
    assert embedded is not None and json.loads(embedded.group(1).replace("<\\/", "</"))["fills"] == 2


# what summary.json's inventory holds after the one-sided tape's threshold run (docs/inventory.md)
INVENTORY: dict[str, Any] = {
    "transfer_policy": "threshold", "missed_for_balance": 5, "transfers": 8, "transfer_fees_quote": 95.992,
    "assets": {
        "BTC": {"transfers": 8, "fees": 0.0016, "fees_by_venue": {"binance": 0.0016, "bybit": 0.0},
                "fees_quote": 95.992, "transit_s": 8.0, "in_transit": 0.0296,
                "moved_by_venue": {"binance": -0.2396, "bybit": 0.238}},
        "USDT": {"transfers": 0, "fees": 0.0, "fees_by_venue": {"binance": 0.0, "bybit": 0.0}, "fees_quote": 0.0,
                 "transit_s": 0.0, "in_transit": 0.0, "moved_by_venue": {"binance": 0.0, "bybit": 0.0}},
    },
    "balances": {"binance": {"BTC": 0.0592, "USDT": 85057.072}, "bybit": {"BTC": 0.0096, "USDT": 114980.180824}},
}  # fmt: skip


def _terminal_rows(report: PeriodReport, inventory: dict[str, Any]) -> list[list[str]]:
    # the terminal's table of a summary holding ``inventory``: each row's cells, stripped
    out = io.StringIO()
    print_summary(dataclasses.replace(report.period_summary, inventory=inventory), Console(file=out, width=200))
    return [[cell.strip() for cell in line.strip().strip("│").split("│")] for line in out.getvalue().splitlines()
            if line.startswith("│")]  # fmt: skip


def test_the_page_shows_what_inventory_cost_the_run_as_the_terminal_does() -> None:
    fills = _fills(
        (MIDNIGHT - 60 * NS, 0, BUY, 60_000.0, 0.01, 0.6, 1, INTENT_OPEN),
        (MIDNIGHT - 60 * NS, 1, SELL, 60_060.0, 0.01, 0.6, 1, INTENT_OPEN),
    )
    source = dataclasses.replace(_source(fills), kind="backtest", inventory=INVENTORY)
    report = compute_period(source, period_of("day", DAY))
    page = render_html(report, MIDNIGHT)
    rows = inventory_table(page)
    assert rows[0] == ("figure", "Total", "Binance", "Bybit")  # the terminal's columns, in its order
    assert rows[1:] == inventory_rows(INVENTORY, ("binance", "bybit"))
    assert ("transfer fees (quote)", "95.9920", "", "") in rows
    assert ("BTC held at end", "0.0688", "0.0592", "0.0096") in rows
    terminal = _terminal_rows(report, INVENTORY)
    for row in rows[1:]:
        assert [cell.strip() for cell in row] in terminal, row
    assert "the whole run, inside this period" in page and "Money in quote (USDT)" in page
    # a folder without transfers.csv (an older arb's): its charts and PnL follow the fills alone, and it says so
    assert "no transfers.csv" in page and "the run's 8 transfers are not in the charts below" in page
    assert page.count("<svg") == 5  # the inventory's two charts are still there
    assert report.totals()["inventory"] == INVENTORY
    # the next day holds none of the run: the figures are still the run's, and the page says so
    later = render_html(compute_period(source, period_of("day", DAY + dt.timedelta(days=1))), MIDNIGHT)
    assert inventory_table(later) == rows and "not this period's part of it" in html.unescape(later)


@pytest.mark.parametrize(
    ("policy", "missed", "shown"),
    [("none", 0, False), ("none", 3, True), ("threshold", 0, True)],
)
def test_the_page_shows_the_inventory_figures_when_the_terminal_does(policy: str, missed: int, shown: bool) -> None:
    fills = _fills((MIDNIGHT - 60 * NS, 0, BUY, 60_000.0, 0.01, 0.6, 1, INTENT_OPEN))
    inventory = {**INVENTORY, "transfer_policy": policy, "missed_for_balance": missed, "transfers": 0,
                 "assets": {asset: {**own, "transfers": 0} for asset, own in INVENTORY["assets"].items()}}  # fmt: skip
    report = compute_period(dataclasses.replace(_source(fills), inventory=inventory), period_of("day", DAY))
    page = render_html(report, MIDNIGHT)
    in_terminal = any(row[0] == "missed for balance (decisions)" for row in _terminal_rows(report, inventory))
    assert bool(inventory_table(page)) is in_terminal is shown
    assert ("inventory" in report.totals()) is shown
    assert '<h2 id="inventory">' in page and "transfers are not in them" not in page  # no transfer made
    without = compute_period(_source(fills), period_of("day", DAY))  # a paper account: no summary.json inventory
    assert inventory_table(render_html(without, MIDNIGHT)) == [] and "inventory" not in without.totals()


# -- the live journal -----------------------------------------------------------------------------------


def _live_config(tmp_path: Path) -> AppConfig:
    path = write_config_files(tmp_path / "config", arbitrage_overrides={"live": {"state_dir": "../live",
                                                                              "account": "acct"}})  # fmt: skip
    return load_config(path)


def _journal(config: AppConfig, rows: list[dict[str, Any]]) -> Path:
    path = config.live.state_dir / f"{config.live.account}.sqlite"
    with Journal.open(path) as journal:
        for n, row in enumerate(rows):
            venue = config.venues[row["venue"]]
            client = f"c{n}"
            journal.add_intent({
                "client_id": client, "account": config.live.account, "run_id": "r1", "venue": venue.name,
                "market": venue.market, "symbol": "BTCUSDT", "side": row["side"], "order_type": "limit",
                "time_in_force": "ioc", "price": str(row["price"]), "qty": str(row["qty"]), "reduce_only": False,
                "kind": row["kind"], "pair_id": row["pair"], "state": "filled", "intent_ns": row["ts"] - 1000,
            })  # fmt: skip
            journal.add_fill({
                "account": config.live.account, "venue": venue.name, "market": venue.market, "trade_id": f"t{n}",
                "client_id": client, "venue_order_id": f"v{n}", "symbol": "BTCUSDT", "side": row["side"],
                "price": str(row["price"]), "qty": str(row["qty"]), "fee": str(row["fee"]),
                "fee_asset": row["fee_asset"], "is_maker": False, "exch_ts_ms": row["ts"] // 1_000_000,
                "local_ts_ns": row["ts"], "source": "stream",
            })  # fmt: skip
        journal.set_state(f"{config.live.account}/halt", "risk limit [risk] max_drawdown")
        # another account's fill in the same database is not this account's
        journal.add_fill({
            "account": "other", "venue": config.venues[0].name, "market": config.venues[0].market, "trade_id": "x",
            "client_id": "", "venue_order_id": "x", "symbol": "BTCUSDT", "side": 1, "price": "1", "qty": "5",
            "fee": "1", "fee_asset": "USDT", "is_maker": False, "exch_ts_ms": 0, "local_ts_ns": MIDNIGHT - NS,
            "source": "rest",
        })  # fmt: skip
    return path


def test_a_daily_report_of_a_live_journal_totals_the_journal(tmp_path: Path) -> None:
    config = _live_config(tmp_path)
    t = MIDNIGHT - 3600 * NS
    rows = [  # a pair: buy Binance (fee in BTC), sell Bybit (fee in USDT); then a pair the next day
        {"venue": 0, "side": 1, "price": 60_000.0, "qty": 0.01, "fee": 0.00001, "fee_asset": "BTC",
         "kind": INTENT_OPEN, "pair": 1, "ts": t},
        {"venue": 1, "side": -1, "price": 60_090.0, "qty": 0.01, "fee": 0.6009, "fee_asset": "USDT",
         "kind": INTENT_OPEN, "pair": 1, "ts": t + 5_000_000},
        {"venue": 0, "side": -1, "price": 60_010.0, "qty": 0.01, "fee": 0.6001, "fee_asset": "USDT",
         "kind": INTENT_OPEN, "pair": 2, "ts": MIDNIGHT + 3600 * NS},
    ]  # fmt: skip
    path = _journal(config, rows)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    marks = [(MIDNIGHT + 250_000_000, (60_050.0, 60_040.0))]  # the first snapshot past midnight
    page = write_daily_report(config, "live", DAY, tmp_path / "daily", marks=marks)
    assert page.name == f"live-day-{DAY}.html"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # read, never written

    data = re.search(r'id="arb-report">(.*?)</script>', page.read_text(), re.DOTALL)
    assert data is not None
    figures = json.loads(data.group(1).replace("<\\/", "</"))
    fees = 0.00001 * 60_000.0 + 0.6009  # the base fee valued at its fill's price
    cash = -60_000.0 * 0.01 + 60_090.0 * 0.01 - fees
    value = 0.01 * 60_050.0 - 0.01 * 60_040.0
    assert figures["fills"] == 2 and figures["pairs"] == 1
    assert figures["fees"] == pytest.approx(fees, abs=1e-9)
    assert figures["pnl"] == pytest.approx(cash + value, abs=1e-9)
    assert figures["venues"]["binance"]["pnl"] == pytest.approx(-600.0 - 0.6 + 600.5, abs=1e-9)
    assert figures["halts"] == ["the live account is halted: risk limit [risk] max_drawdown"]


def test_write_daily_report_names_its_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode: expected one of dry-run, live"):
        write_daily_report(_live_config(tmp_path), "backtest", DAY, tmp_path)


# -- the command's errors -----------------------------------------------------------------------------------


def _config(tmp_path: Path) -> Path:
    return write_config_files(tmp_path / "config")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no account", "--state-dir: expected a paper account folder with paper.sqlite"),
        ("not a backtest", "--results: expected a backtest report folder with summary.json"),
        ("state with backtest", "--state-dir: expected only with --source paper or live"),
        ("no journal", "--state-dir: expected the live journal"),
    ],
)
def test_a_missing_or_empty_source_is_exit_2_in_one_line(
    case: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    folder = tmp_path / "folder"
    folder.mkdir()
    args = ["report", "--config", str(config)]
    if case == "no account":
        args += ["--source", "paper", "--state-dir", str(folder)]
    elif case == "not a backtest":
        args += ["--source", "backtest", "--results", str(folder)]
    elif case == "state with backtest":
        args += ["--source", "backtest", "--results", str(folder), "--state-dir", str(folder)]
    else:
        args += ["--source", "live", "--state-dir", str(folder)]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(args) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arb report: ") and message in lines[0], err
    assert out == "" and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written, no journal created


def test_a_source_without_a_fill_is_a_report_that_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # before: "holds no fill, nothing to report" and exit 2
    config = _config(tmp_path)
    state = tmp_path / "paper"
    state.mkdir()
    (state / "account.json").write_text(json.dumps({"inception_base": [1, 1], "inception_quote": [1e5, 1e5]}))
    page = tmp_path / "page.html"
    args = ["report", "--config", str(config), "--source", "paper", "--state-dir", str(state), "--out", str(page)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "no fill in this period" in out + err and "Traceback" not in err
    text = page.read_text()
    assert 'id="no-fill"' in text and "No fill in this day (the source holds no fill at all)" in text
    assert "no --date given: the current day (the source holds no fill and no record)" in text
    # a day without a fill of a source that has fills elsewhere: the same, exit 0
    fills = _fills((MIDNIGHT - 60 * NS, 0, BUY, 60_000.0, 0.01, 0.6, 1, INTENT_OPEN))
    report = compute_period(_source(fills), period_of("day", DAY + dt.timedelta(days=3)))
    assert report.total.fills == 0
    assert "No fill in this day.</p>" in render_html(report, MIDNIGHT)


def test_without_a_paper_account_the_message_names_the_configured_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: "--state-dir: expected a paper account folder", an option the user never passed
    config = _config(tmp_path)
    assert main(["report", "--config", str(config), "--source", "paper"]) == 2
    _, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    folder = load_config(config).dry_run.state_dir
    assert line.startswith("arb report: no paper account: ")
    assert f"{folder / 'paper.sqlite'} does not exist ([dry_run] state_dir in {config})" in line
    assert "run arb dry-run" in line and "or pass --state-dir with the folder of an existing account" in line
    assert main(["report", "--config", str(config), "--source", "live"]) == 2
    _, err = capsys.readouterr()
    live = load_config(config).live
    assert f"no live journal: {live.state_dir / (live.account + '.sqlite')} does not exist" in err
    assert "[live] state_dir and account in" in err


def test_without_a_date_the_last_day_with_a_fill_is_reported_and_the_page_says_why() -> None:
    # A run from 23:00 to one second past midnight, every fill before midnight: before, the default was
    # the day of the last record, which holds one second of the run and nothing else.
    fills = _fills(
        (MIDNIGHT - 1800 * NS, 0, BUY, 60_000.0, 0.01, 0.6, 1, INTENT_OPEN),
        (MIDNIGHT - 1800 * NS, 1, SELL, 60_060.0, 0.01, 0.6, 1, INTENT_OPEN),
    )
    source = dataclasses.replace(_source(fills, [(MIDNIGHT + NS, [60_030.0, 60_030.0])]), first_ns=MIDNIGHT - 3600 * NS)
    report = build_report(source, "day")
    assert report.period.label == f"{DAY}" and report.total.fills == 2
    assert report.choice.startswith("no --date given: the last day with a fill (at 2024-08-08 23:30:00 UTC)")
    assert "the records run from 2024-08-08 23:00:00 UTC to 2024-08-09 00:00:01 UTC" in report.choice
    assert report.totals()["choice"] == report.choice
    assert f"Period: {report.choice}." in render_html(report, MIDNIGHT)
    assert build_report(source, "day", DAY + dt.timedelta(days=1)).choice == ""  # asked for: nothing to explain
    # no fill at all: the period holding most of the records, not the last one's
    empty = dataclasses.replace(source, fills=fills[:0], marks=marks_from(fills[:0], [(MIDNIGHT + NS, [1.0, 1.0])]))
    chosen, why = default_period(empty, "day")
    assert chosen.first_day == DAY and "holding the largest part of the records" in why


def _time_labels(page: str) -> list[str]:
    # the tick labels under the first chart's time axis (the trading PnL over the period)
    chart = page[page.index("<svg") : page.index("</svg>")]
    return re.findall(r'<text x="[\d.]+" y="246" font-size="11" text-anchor="\w+">([^<]*)</text>', chart)


@pytest.mark.parametrize(
    ("span_s", "want"),
    [
        (340, ["08-08 23:55", "23:56", "23:57", "23:58", "23:59", "08-09 00:00"]),
        (20, ["08-08 23:59:40", "23:59:45", "23:59:50", "23:59:55", "08-09 00:00:00"]),
        (86_400, ["08-08 00:00", "06:00", "12:00", "18:00", "08-09 00:00"]),
    ],
)
def test_the_time_axis_has_distinct_labels_at_round_times(span_s: int, want: list[str]) -> None:
    # before: seven evenly spaced "%H:%M" labels: "23:54 23:55 23:55 23:56 ..." over a few minutes
    fills = _fills((MIDNIGHT - 1 * NS, 0, BUY, 60_000.0, 0.01, 0.6, 1, INTENT_OPEN))
    source = dataclasses.replace(_source(fills, [(MIDNIGHT, [60_000.0, 60_000.0])]),
                                 first_ns=MIDNIGHT - span_s * NS)  # fmt: skip
    labels = _time_labels(render_html(compute_period(source, period_of("day", DAY)), MIDNIGHT))
    assert labels == want and len(set(labels)) == len(labels)


def test_every_bar_chart_names_its_unit() -> None:
    fills = _fills(
        (MIDNIGHT - 60 * NS, 0, BUY, 60_000.0, 0.01, 0.6, 1, INTENT_OPEN),
        (MIDNIGHT - 60 * NS, 1, SELL, 60_060.0, 0.01, 0.6, 1, INTENT_OPEN),
    )
    page = render_html(compute_period(_source(fills), period_of("day", DAY)), MIDNIGHT)
    bars = page[page.index('aria-label="per venue') :]
    bars = bars[: bars.index("</svg>")]
    assert 'aria-label="per venue (USDT)"' in page
    assert ">USDT</text>" in bars and "PnL (USDT)</text>" in bars and "fees (USDT)</text>" in bars
    assert "<title>binance net PnL: -0.6000 USDT</title>" in bars and ">-0.60</text>" in bars  # each bar's value


def test_a_paper_fill_being_appended_is_not_read_yet(tmp_path: Path) -> None:
    # the daily report runs in a thread while the session appends to fills.csv: a last line without
    # its newline is a fill still being written, not a damaged file
    from arb.reports import load_paper

    state = tmp_path / "paper"
    state.mkdir()
    (state / "account.json").write_text(json.dumps({"inception_base": [1, 1], "inception_quote": [1e5, 1e5]}))
    t = MIDNIGHT - 60 * NS
    (state / "fills.csv").write_text(
        "local_ts,venue,side,price,qty,fee,pair_id,kind,order_id\n"
        f"{t},binance,buy,60000.0,0.01,0.6,1,open,1\n"
        f"{t},bybit,sell,60060.0,0.01,0.6,1,open,2\n"
        f"{t + 1},binance,se"
    )
    source = load_paper(state)
    assert len(source.fills) == 2 and source.last_ns == t
    report = compute_period(source, period_of("day", DAY))
    assert report.total.fills == 2 and report.pairs_summary.pairs.pairs == 1


# -- two symbols ------------------------------------------------------------------------------------------

ETH_MARK = (3_001.0, 3_003.0)
BTC_MARK = (60_030.0, 60_020.0)


def _two_symbol_source() -> SourceData:
    # BTCUSDT: a pair on DAY; ETHUSDT: a pair on DAY and a lone Binance buy the next day (carried at its marks)
    fills = np.concatenate([
        _fills((MIDNIGHT - 600 * NS, 0, BUY, 60_000.0, 0.01, 0.6, 1, INTENT_OPEN),
               (MIDNIGHT - 600 * NS, 1, SELL, 60_060.0, 0.01, 0.6, 1, INTENT_OPEN)),
        _fills((MIDNIGHT - 300 * NS, 1, BUY, 3_000.0, 0.5, 1.5, 2, INTENT_OPEN),
               (MIDNIGHT - 300 * NS, 0, SELL, 3_009.0, 0.5, 1.5, 2, INTENT_OPEN),
               (MIDNIGHT + 300 * NS, 0, BUY, 3_002.0, 0.2, 0.6, 3, INTENT_HEDGE)),
    ])  # fmt: skip
    fills["symbol"][2:] = 1
    fills = fills[np.argsort(fills["local_ts"], kind="stable")]
    end = MIDNIGHT + 3600 * NS
    sessions: list[Any] = [(end, [list(BTC_MARK), list(ETH_MARK)])]  # a session's final mids, per symbol
    return SourceData(
        kind="backtest", name="two", fills=fills, marks=marks_from(fills, sessions),
        initial=InitialBalances.of_symbols([(0.05, 0.05), (1.0, 1.0)], (10_000.0, 10_000.0)),
        first_ns=int(fills["local_ts"].min()), last_ns=end, quote="USDT", symbols=("BTCUSDT", "ETHUSDT"),
    )  # fmt: skip


def test_two_symbols_each_fill_valued_at_its_own_symbols_marks() -> None:
    source = _two_symbol_source()
    fills = source.fills
    week = compute_period(source, period_of("week", DAY))
    btc, eth = week.symbols
    assert (btc.name, eth.name) == ("BTCUSDT", "ETHUSDT")
    own = [fills[fills["symbol"] == s] for s in (0, 1)]
    assert btc.total.pnl == pytest.approx(pnl_from_fills(own[0], BTC_MARK), abs=1e-9)
    assert eth.total.pnl == pytest.approx(pnl_from_fills(own[1], ETH_MARK), abs=1e-9)
    assert week.pnl == pytest.approx(pnl_from_fills(fills, [BTC_MARK, ETH_MARK]), abs=1e-9)
    assert week.pnl == pytest.approx(btc.total.pnl + eth.total.pnl, abs=1e-9)
    assert eth.total.volume == pytest.approx(1.2) and btc.total.volume == pytest.approx(0.02)
    assert week.total.volume is None  # BTC and ETH do not add up
    assert eth.position_end == pytest.approx((-0.3, 0.5)) and eth.mark_end == ETH_MARK
    assert (btc.pairs, eth.pairs, week.pairs_summary.pairs.pairs) == (1, 1, 2)
    # the days add up to the week, symbol by symbol
    days = [compute_period(source, period_of("day", d)) for d in (DAY, DAY + dt.timedelta(days=1))]
    for s in (0, 1):
        parts = [d.symbols[s].total.pnl for d in days]
        assert parts[0] is not None and parts[1] is not None
        assert parts[0] + parts[1] == pytest.approx(week.symbols[s].total.pnl, abs=1e-9)
    assert days[1].symbols[1].total.fills == 1 and days[1].symbols[0].total.fills == 0
    # what the page shows and embeds
    text = render_html(week, MIDNIGHT)
    assert "<h2>Per symbol</h2>" in text and "BTCUSDT" in text and "ETHUSDT" in text
    assert text.count("<svg") == 6  # PnL, per venue, per symbol, the inventory's quote and base, captured spreads
    assert "volume (base)" not in text and "volume (its base)" in text
    data = week.totals()
    assert data["volume"] is None and set(data["symbols"]) == {"BTCUSDT", "ETHUSDT"}
    assert data["symbols"]["ETHUSDT"]["pnl"] == pytest.approx(eth.total.pnl)
    assert data["symbols"]["ETHUSDT"]["position_end"] == pytest.approx({"binance": -0.3, "bybit": 0.5})


def test_equity_is_rebuilt_a_row_per_symbol_from_its_own_marks() -> None:
    from arb.reports import equity_at

    source = _two_symbol_source()
    times = np.array([MIDNIGHT - 400 * NS, MIDNIGHT + 3600 * NS], np.int64)
    rows = equity_at(source, times)
    assert rows["symbol"].tolist() == [0, 1, 0, 1] and rows["ts"].tolist() == [times[0], times[0], times[1], times[1]]
    assert rows["mid"][0].tolist() == [60_000.0, 60_060.0]  # BTC's fill prices, the marks before its session's
    assert rows["mid"][3].tolist() == list(ETH_MARK)
    # the first symbol's row holds the starting quote, the other only its own cash and coins
    # before ETH's fills: its coins at its first marks (its Binance sell at 3,009, its Bybit buy at 3,000)
    assert rows["equity"][1] == pytest.approx(1.0 * 3_009.0 + 1.0 * 3_000.0)
    binance = 10_000.0 - 600.0 - 0.6 + 0.06 * 60_000.0  # after BTC's pair
    bybit = 10_000.0 + 600.6 - 0.6 + 0.04 * 60_060.0
    assert rows["equity_venue"][0].tolist() == pytest.approx([binance, bybit])


def _two_symbol_live_config(tmp_path: Path) -> AppConfig:
    from tests.support.two_symbols import ETH

    overrides = {"strategy": {"symbol": None, "symbols": ["BTCUSDT", "ETHUSDT"]}, "symbols": {"ETHUSDT": ETH},
                 "live": {"state_dir": "../live", "account": "acct"}}  # fmt: skip
    return load_config(write_config_files(tmp_path / "config", arbitrage_overrides=overrides))


def test_a_live_journal_of_two_symbols_values_each_at_its_own_prices(tmp_path: Path) -> None:
    from arb.reports import load_live

    config = _two_symbol_live_config(tmp_path)
    t = MIDNIGHT - 3600 * NS
    path = config.live.state_dir / f"{config.live.account}.sqlite"
    rows = [  # (venue, symbol, side, price, qty, fee, fee asset, pair)
        (0, "BTCUSDT", 1, 60_000.0, 0.01, 0.6, "USDT", 1),
        (1, "BTCUSDT", -1, 60_090.0, 0.01, 0.6009, "USDT", 1),
        (0, "ETHUSDT", 1, 3_000.0, 0.1, 0.0001, "ETH", 2),  # a fee in ETH: at its own fill's price
        (1, "ETHUSDT", -1, 3_012.0, 0.1, 0.3012, "USDT", 2),
        (0, "SOLUSDT", 1, 150.0, 1.0, 0.15, "USDT", 3),  # a symbol this strategy does not trade
    ]
    with Journal.open(path) as journal:
        for n, (v, symbol, side, price, qty, fee, asset, pair) in enumerate(rows):
            venue = config.venues[v]
            journal.add_intent({
                "client_id": f"c{n}", "account": "acct", "run_id": "r1", "venue": venue.name, "market": venue.market,
                "symbol": symbol, "side": side, "order_type": "limit", "time_in_force": "ioc", "price": str(price),
                "qty": str(qty), "reduce_only": False, "kind": INTENT_OPEN, "pair_id": pair, "state": "filled",
                "intent_ns": t + n - 1000,
            })  # fmt: skip
            journal.add_fill({
                "account": "acct", "venue": venue.name, "market": venue.market, "trade_id": f"t{n}",
                "client_id": f"c{n}", "venue_order_id": f"v{n}", "symbol": symbol, "side": side, "price": str(price),
                "qty": str(qty), "fee": str(fee), "fee_asset": asset, "is_maker": False,
                "exch_ts_ms": (t + n) // 1_000_000, "local_ts_ns": t + n, "source": "stream",
            })  # fmt: skip
    marks = [(MIDNIGHT - NS, [[60_050.0, 60_040.0], [3_004.0, 3_006.0]])]  # the mids a second before midnight
    source = load_live(config, marks=marks)
    assert source.symbols == ("BTCUSDT", "ETHUSDT") and len(source.fills) == 4
    assert source.fills["symbol"].tolist() == [0, 0, 1, 1]
    assert source.initial.bases == ((0.05, 0.05), (1.0, 1.0))  # no baseline: the configuration's
    report = compute_period(source, period_of("day", DAY))
    eth = report.symbols[1]
    assert eth.total.fees == pytest.approx(0.0001 * 3_000.0 + 0.3012)
    assert eth.total.pnl == pytest.approx(-300.0 + 301.2 - 0.3 - 0.3012 + 0.1 * (3_004.0 - 3_006.0), abs=1e-9)
    btc = report.symbols[0]
    assert btc.total.pnl == pytest.approx(0.9 - 1.2009 + 0.01 * (60_050.0 - 60_040.0), abs=1e-9)
    assert report.pnl == pytest.approx(eth.total.pnl + btc.total.pnl, abs=1e-9)
