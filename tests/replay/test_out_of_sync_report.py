"""A venue out of sync for part of a run shows in the report: the backtest and the live path both hand
the report the span its book was not synced, and the table prints the time per venue."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from arb.backtest.run import run_backtest
from arb.events import NS_PER_S
from arb.parity.against_dry_run import run_live_replay
from arb.reports.console import print_summary
from arb.reports.summary import summarize
from arb.reports.valuation import InitialBalances
from tests.replay.test_status_gates import DAY, START_NS, _books, _config
from tests.support.scenario_days import Change, write_scenario
from tests.support.venues import BINANCE, BYBIT


def _gap_scenario(tmp_path: Path) -> None:
    # Bybit's update ids skip at 2.0 s (book cleared, out of sync) and a fresh snapshot comes at 5.0 s.
    binance, bybit = _books()
    changes = [
        Change(2000, "bybit", bids={59996.0: 1.0}, kind="gap"),
        Change(5000, "bybit", bids={59996.0: 1.0}, kind="snapshot"),
    ]
    write_scenario(tmp_path / "recordings", DAY, binance, bybit, changes)


def test_both_drivers_report_the_span_a_venue_was_out_of_sync(tmp_path: Path) -> None:
    _gap_scenario(tmp_path)
    config = _config(tmp_path)
    result = run_backtest(config)
    log = run_live_replay(config, result.days)
    live = log.out_of_sync(result.start_ns, result.end_ns)
    for spans in (result.out_of_sync, live):
        assert spans[BINANCE] == () and len(spans[BYBIT]) == 1, spans
        (start, end), shift = spans[BYBIT][0], result.local_shift_ns
        assert abs(start - shift - (START_NS + 2 * NS_PER_S)) < 50_000_000, (start - START_NS) / 1e9
        assert abs(end - shift - (START_NS + 5 * NS_PER_S)) < 50_000_000, (end - START_NS) / 1e9
    assert live == result.out_of_sync  # the same data, the same verdict

    initial = InitialBalances(result.initial_base, result.initial_quote)
    summary = summarize(result.fills, result.equity, initial, {"mode": "backtest"}, out_of_sync=result.out_of_sync)
    assert summary.venues[BYBIT].out_of_sync_s == summary.total.out_of_sync_s == 3.0
    out = io.StringIO()
    print_summary(summary, Console(file=out, width=160))
    text = out.getvalue()
    assert re.search(r"time out of sync \(s\)\s*│\s*3\.000\s*│\s*0\.000\s*│\s*3\.000\s*│", text)
    assert re.search(r"out-of-sync spans\s*│\s*1\s*│\s*0\s*│\s*1\s*│", text)
