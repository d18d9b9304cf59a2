"""Every report of a run says what the run's own summary.json says: the terminal line of ``arb report``,
its page (the figures it embeds) and the daily reports (each UTC day's, added up), for a backtest's
folder, a paper account and the live journal alike."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from arb.cli import main
from tests.support.captures import report_data

CENT = 0.01
_LINE = re.compile(
    r"^(?P<period>\w+) (?P<label>\S+): net PnL (?P<pnl>-?[\d,.]+) (?P<quote>\w+) = trading PnL (?P<trading>-?[\d,.]+) "
    r"- fees (?P<fees>-?[\d,.]+)(?: \+ funding (?P<funding>-?[\d,.]+))?, (?P<fills>\d+) fills, (?P<pairs>\d+) pairs; "
    r"report: (?P<page>\S+)$",
    re.MULTILINE,
)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def run_days(summary: dict[str, Any]) -> list[dt.date]:
    """The UTC days a run's summary.json spans, in order."""
    meta = summary["meta"]
    first = dt.datetime.fromtimestamp(meta["start_ns"] // 10**9, tz=dt.UTC).date()
    last = dt.datetime.fromtimestamp(meta["end_ns"] // 10**9, tz=dt.UTC).date()
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def terminal_figures(text: str) -> dict[str, Any]:
    """The figures of ``arb report``'s terminal line (one line in ``text``)."""
    (match,) = list(_LINE.finditer(text))
    return {
        "pnl": _number(match["pnl"]),
        "trading_pnl": _number(match["trading"]),
        "fees": _number(match["fees"]),
        "funding": _number(match["funding"]) if match["funding"] else 0.0,
        "fills": int(match["fills"]),
        "pairs": int(match["pairs"]),
        "page": Path(match["page"]),
    }


def assert_figures_equal_summary(figures: dict[str, Any], summary: dict[str, Any], what: str) -> None:
    """A period's figures (a page's embedded JSON, or days added up) equal the run's: pairs, wins, fills,
    the PnL terms (net, trading before fees, fees) and each venue's."""
    total, pairs = summary["total"], summary["pairs"]
    assert summary["total"]["fills"] > 0 and pairs["pairs"] > 0, what  # a run that traded
    assert (figures["fills"], figures["pairs"]) == (total["fills"], pairs["pairs"]), what
    assert figures["pairs_won"] == pairs["pairs_won"], what
    for key in ("pnl", "trading_pnl", "fees"):
        assert figures.get(key) == pytest.approx(total[key], abs=CENT), (what, key)
    for name in summary["venues"]:  # the run's venues
        venue, mine = summary["venues"][name], figures["venues"][name]
        assert mine["fills"] == venue["fills"], (what, name)
        for key in ("pnl", "trading_pnl", "fees"):
            assert mine.get(key) == pytest.approx(venue[key], abs=CENT), (what, name, key)


def assert_terminal_equals_summary(line: dict[str, Any], summary: dict[str, Any], what: str) -> None:
    """``arb report``'s terminal line says the run's figures, to the 4 decimals it prints."""
    total = summary["total"]
    assert (line["fills"], line["pairs"]) == (total["fills"], summary["pairs"]["pairs"]), what
    for key in ("pnl", "trading_pnl", "fees", "funding"):
        assert line[key] == pytest.approx(total[key], abs=CENT), (what, key)


def added_up(days: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of consecutive days added up (what the run's whole figures must be)."""
    out: dict[str, Any] = {key: sum(d[key] for d in days) for key in ("fills", "pairs", "pairs_won", "pnl", "fees")}
    out["trading_pnl"] = sum(d.get("trading_pnl", math.nan) for d in days)
    out["venues"] = {
        name: {
            key: sum(d["venues"][name].get(key, math.nan) for d in days)
            for key in ("fills", "pnl", "trading_pnl", "fees")
        }
        for name in days[0]["venues"]
    }
    return out


def check_reports(
    summary: dict[str, Any], source: str, args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``arb report --source source *args`` over the whole run (its month) and over each of its days:
    the terminal line and the page of the month, and the days added up, equal ``summary``."""
    what = f"{source} report"
    tmp_path.mkdir(parents=True, exist_ok=True)
    month = tmp_path / f"{source}-month.html"
    capsys.readouterr()
    assert main(["report", "--source", source, *args, "--period", "month", "--out", str(month)]) == 0
    out, err = capsys.readouterr()
    assert_figures_equal_summary(report_data(month), summary, what)
    line = terminal_figures(out + err)
    assert line["page"] == month
    assert_terminal_equals_summary(line, summary, what)
    days = []
    for day in run_days(summary):
        page = tmp_path / f"{source}-{day}.html"
        assert main(["report", "--source", source, *args, "--date", f"{day}", "--out", str(page)]) == 0
        days.append(report_data(page))
    assert_figures_equal_summary(added_up(days), summary, f"{what}, its days added up")


def check_daily_reports(summary: dict[str, Any], config: Any, mode: str, out_dir: Path) -> list[dict[str, Any]]:
    """The daily reports a running ``mode`` session writes (``write_daily_report``), one per day of the
    run, added up equal ``summary``; returns each day's figures."""
    from arb.reports import write_daily_report

    days = [report_data(write_daily_report(config, mode, day, out_dir)) for day in run_days(summary)]
    assert_figures_equal_summary(added_up(days), summary, f"{mode} daily reports added up")
    return days


def check_live_reports(config: Path, out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An ``arb live`` session configured by ``config`` that wrote its report into ``out/report``: every
    report of its journal (``arb report --source live``, the daily reports) equals its summary.json."""
    import msgspec

    from arb.config import load_config

    summary = json.loads((out / "report" / "summary.json").read_text())
    assert summary["meta"]["mode"] == "live"
    check_reports(summary, "live", ["--config", str(config), "--results", str(out)], tmp_path, capsys)
    loaded = load_config(config)
    loaded = msgspec.structs.replace(loaded, backtest=msgspec.structs.replace(loaded.backtest, out=out))
    check_daily_reports(summary, loaded, "live", tmp_path / "daily")
