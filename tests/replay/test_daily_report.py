"""A running dry run writes the day's report by itself when its clock crosses a UTC midnight."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from rich.console import Console

from arb.config import load_config
from arb.execution.paper_account import PaperAccount
from arb.live.dry_run import dry_run_replay
from arb.ops.terminal import dry_run_watchers
from arb.testing.configs import write_config_files

REPO = Path(__file__).resolve().parents[2]


def test_the_replayed_sample_writes_the_report_of_the_day_it_crossed(tmp_path: Path) -> None:
    # the sample runs from shortly before to shortly after midnight UTC: one day ends inside it
    import json

    from arb.cli.dry_run import write_dry_run_report

    path = write_config_files(tmp_path, arbitrage_overrides={"backtest": {"recordings": str(REPO / "recordings")}})
    config = load_config(path)
    state = tmp_path / "elsewhere"  # not [dry_run] state_dir: the report must read this very account
    account = PaperAccount.open(state, config)
    base, quote = account.balances()
    console = Console(quiet=True)
    watchers = dry_run_watchers(config, account, console)
    result = asyncio.run(dry_run_replay(config, account=account, console=console, speed=None, watchers=watchers))
    assert result.watchers[0] is watchers[0]
    reports = sorted((state / "reports").glob("dry-run-day-*.html"))
    assert len(reports) == 1
    events = [e for _, e in watchers[0].hub.events_since(0) if e.kind == "info" and "report" in e.fields]
    assert [Path(str(e.fields["report"])) for e in events] == reports
    html = reports[0].read_text()
    day = re.search(r"dry-run-day-(\d{4}-\d{2}-\d{2})\.html", reports[0].name)
    assert day is not None and day.group(1) in html
    assert not re.search(r"""(src|href)\s*=\s*["']https?://""", html)  # opens with no network

    # the engine took the books' mids at midnight, before the first batch past it; the day's report
    # values the positions it carries at them: its three pairs each won, as in the whole run
    [mark] = result.engine.day_marks
    assert mark.ts == 1_723_161_600_000_000_000 and 0 < mark.ts - mark.book_ts < 1_000_000_000
    data = re.search(r'id="arb-report">(.*?)</script>', html, re.DOTALL)
    assert data is not None
    figures = json.loads(data.group(1).replace("<\\/", "</"))
    assert (figures["pairs"], figures["pairs_won"]) == (3, 3) and figures["pnl"] > 0
    assert "61,685.99" in html and "61,663.75" in html  # the mids at midnight, as the backtest took them
    # and the session's summary.json keeps them, as a backtest's does
    out = tmp_path / "run"
    assert write_dry_run_report(result, config, base, quote, out, source="replay", console=Console(quiet=True))
    summary = json.loads((out / "summary.json").read_text())
    assert [m["at"] for m in summary["marks"]] == ["start", "midnight", "end"]
    midnight = summary["marks"][1]
    assert (midnight["ts"], midnight["book_ts"]) == (mark.ts, mark.book_ts)
    assert midnight["mids"]["BTCUSDT"] == {"binance": float(mark.mid[0, 0]), "bybit": float(mark.mid[0, 1])}


def test_a_two_symbol_dry_run_writes_a_daily_report_with_each_symbol_at_its_own_mids(
    two_symbols: Path, tmp_path: Path
) -> None:
    import json

    from tests.support.two_symbols import two_symbol_config

    config = load_config(two_symbol_config(tmp_path, two_symbols))
    state = tmp_path / "elsewhere"
    account = PaperAccount.open(state, config)
    console = Console(quiet=True)
    watchers = dry_run_watchers(config, account, console)
    result = asyncio.run(dry_run_replay(config, account=account, console=console, speed=None, watchers=watchers))
    assert result.watchers[0] is watchers[0]
    [page] = sorted((state / "reports").glob("dry-run-day-*.html"))
    html = page.read_text()
    assert "<h2>Per symbol</h2>" in html
    data = re.search(r'id="arb-report">(.*?)</script>', html, re.DOTALL)
    assert data is not None
    figures = json.loads(data.group(1).replace("<\\/", "</"))
    assert list(figures["symbols"]) == ["BTCUSDT", "ETHUSDT"]
    # the session's mids at midnight value each symbol's coins: ETH's marks are ETH's, not BTC's
    marks = {name: own["mark_end"] for name, own in figures["symbols"].items()}
    assert 1_000 < marks["ETHUSDT"]["binance"] < 10_000 < marks["BTCUSDT"]["binance"]
    assert figures["pnl"] == pytest.approx(sum(own["pnl"] for own in figures["symbols"].values()), abs=1e-9)
