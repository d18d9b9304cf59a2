"""A running dry run writes the day's report by itself when its clock crosses a UTC midnight."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from rich.console import Console

from arb.config import load_config
from arb.runtime.live import PaperAccount, dry_run_replay
from arb.testing.configs import write_config_files

REPO = Path(__file__).resolve().parents[2]


def test_the_replayed_sample_writes_the_report_of_the_day_it_crossed(tmp_path: Path) -> None:
    # the sample runs from shortly before to shortly after midnight UTC: one day ends inside it
    path = write_config_files(tmp_path, arbitrage_overrides={"backtest": {"recordings": str(REPO / "recordings")}})
    config = load_config(path)
    state = tmp_path / "elsewhere"  # not [dry_run] state_dir: the report must read this very account
    account = PaperAccount.open(state, config)
    result = asyncio.run(dry_run_replay(config, account=account, console=Console(quiet=True), speed=None))
    assert result.watch is not None
    reports = sorted((state / "reports").glob("dry-run-day-*.html"))
    assert len(reports) == 1
    events = [e for _, e in result.watch.hub.events_since(0) if e.kind == "info" and "report" in e.fields]
    assert [Path(str(e.fields["report"])) for e in events] == reports
    html = reports[0].read_text()
    day = re.search(r"dry-run-day-(\d{4}-\d{2}-\d{2})\.html", reports[0].name)
    assert day is not None and day.group(1) in html
    assert not re.search(r"""(src|href)\s*=\s*["']https?://""", html)  # opens with no network
