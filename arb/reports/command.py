"""``arb report`` and the daily report a running session writes at the UTC day boundary."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from arb.arguments import add_config_argument, day, existing_folder
from arb.errors import UsageError
from arb.report import SUMMARY_JSON, TRADES_CSV
from arb.reports.figures import PERIODS, PeriodReport, compute_period, period_of, utc_day
from arb.reports.html import render_html
from arb.reports.sources import SOURCES, Mark, SourceData, load_backtest, load_live, load_paper

if TYPE_CHECKING:
    from arb.config import AppConfig

__all__ = [
    "DAILY_MODES",
    "add_parser",
    "build_report",
    "html_output",
    "load_source",
    "write_daily_report",
    "write_html",
]

DAILY_MODES: Final = ("dry-run", "live")


def html_output(text: str) -> Path:
    """``arb report --out``: an ``.html`` file to write (the suffix is added when missing), not a
    folder, in a folder that exists or can be created and is writable."""
    path = Path(text)
    what = f"expected an output .html file, got {text!r}"
    if not text.strip() or path.is_dir():
        raise argparse.ArgumentTypeError(f"{what} (a folder)")
    if path.suffix.lower() not in (".html", ".htm"):
        path = path.with_name(path.name + ".html")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{what} (a folder)")
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(f"{what} ({parent} is a file)")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise argparse.ArgumentTypeError(f"{what} ({parent} is not writable)")
            break
    return path


def load_source(
    kind: str,
    *,
    results: Path | None = None,
    state_dir: Path | None = None,
    config: AppConfig | None = None,
    marks: Iterable[Mark] = (),
) -> SourceData:
    """Load a source (read-only). ``backtest``: the report folder ``results``; ``paper``: the paper
    account in ``state_dir``, marks from the dry-run reports in ``results``; ``live``: the journal of
    ``config`` (``state_dir`` replacing ``[live] state_dir``), marks from the live reports in ``results``.

    Raises:
        UsageError: The source is missing, unreadable or holds no fill and no mark (exit code 2).
    """
    if kind == "backtest":
        if results is None:
            raise UsageError("--results: expected the backtest's report folder")
        source = load_backtest(results)
    elif kind == "paper":
        if state_dir is None:
            raise UsageError("--state-dir: expected the paper account's folder")
        source = load_paper(state_dir, results, marks)
    elif kind == "live":
        if config is None:
            raise UsageError("--config: the live journal is found through the configuration")
        if state_dir is not None:
            import dataclasses

            config = dataclasses.replace(config, live=dataclasses.replace(config.live, state_dir=state_dir))
        source = load_live(config, results, marks)
    else:
        raise UsageError(f"--source: expected one of {', '.join(SOURCES)}, got {kind!r}")
    if len(source.fills) == 0:
        raise UsageError(f"{source.kind} {source.name}: holds no fill, nothing to report")
    return source


def build_report(source: SourceData, period: str, date: dt.date | None = None) -> PeriodReport:
    """The ``period`` (day, week, month) containing ``date``; by default the one containing the
    source's last record (for a session still running: the current period so far)."""
    return compute_period(source, period_of(period, date if date is not None else utc_day(source.last_ns)))


def write_html(report: PeriodReport, path: Path, generated_ns: int | None = None) -> Path:
    """Write the page of ``report`` to ``path`` atomically (a temporary file renamed over it)."""
    data = render_html(report, time.time_ns() if generated_ns is None else generated_ns).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    done = False
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; a report is for reading
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        done = True
    finally:
        if not done:  # never leave the temporary file behind
            Path(tmp).unlink(missing_ok=True)
    return path


def write_daily_report(
    config: AppConfig, mode: str, day: dt.date, out_dir: Path, *, marks: Iterable[Mark] = ()
) -> Path:
    """Write the report of the UTC ``day`` of a running session into ``out_dir``; returns its path.

    ``mode``: ``"dry-run"`` (the paper account in ``[dry_run] state_dir``) or ``"live"`` (the
    journal in ``[live] state_dir`` or at ``[live] journal_url``). Marks: the fills' prices, the final
    mids of the session reports in ``[backtest] out``, and ``marks`` (``(ts_ns, (mid_binance,
    mid_bybit))``: the session's mids at the day boundary, which value the positions it carries; a
    mark taken after the day's end, at the first snapshot past midnight, counts as the mids at midnight).

    Safe in a worker thread while the session trades: the sources are only read (the journal through
    a read-only connection of its own), and the page is written to a temporary file renamed to
    ``<out_dir>/<mode>-day-YYYY-MM-DD.html``. A day without a fill gives a report of zeros.

    Raises:
        ValueError: ``mode`` is neither ``"dry-run"`` nor ``"live"``.
        UsageError: The source is missing or unreadable.
    """
    if mode not in DAILY_MODES:
        raise ValueError(f"mode: expected one of {', '.join(DAILY_MODES)}, got {mode!r}")
    period = period_of("day", day)
    # the session's mids at the first moment it saw past midnight are the mids of the day's end
    at_end = [(min(int(ts), period.end_ns), mids) for ts, mids in marks]
    results = config.backtest.out
    if mode == "dry-run":
        source = load_paper(config.dry_run.state_dir, results, at_end)
    else:
        source = load_live(config, results, at_end)
    report = compute_period(source, period)
    return write_html(report, out_dir / f"{mode}-{report.period.slug}.html")


# -- the command --------------------------------------------------------------------------------------


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``report`` to an ``argparse`` sub-command set; it runs :func:`main`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="write a day's, week's or month's report as one self-contained HTML file",
        description="Figures of one UTC period (a day, a week from Monday, a calendar month) of a backtest's "
        "results, a paper account or the live journal: return, Sharpe, drawdown, win rate, holding time, "
        "fees, per-venue figures and the captured spreads, in one HTML file that needs no network.",
    )
    parser.add_argument(
        "--period", choices=PERIODS, default="day", help="day, week (from Monday) or month (default: day)"
    )
    parser.add_argument(
        "--date", type=day, metavar="DATE",
        help="a UTC day inside the period, e.g. 2024-08-08 (default: the day of the source's last record)",
    )  # fmt: skip
    parser.add_argument(
        "--source", choices=SOURCES, default="paper",
        help="backtest (a report folder), paper (the paper account) or live (the journal) (default: paper)",
    )  # fmt: skip
    parser.add_argument(
        "--results", type=existing_folder("a results folder"), metavar="DIR",
        help="backtest: its report folder (default: the newest backtest under [backtest] out); paper, live: "
        "where the sessions' reports are looked for marks (default: [backtest] out)",
    )  # fmt: skip
    parser.add_argument(
        "--state-dir", type=existing_folder("a state folder"), metavar="DIR",
        help="paper: the account's folder (default: [dry_run] state_dir); live: the journal's "
        "(default: [live] state_dir)",
    )  # fmt: skip
    add_config_argument(parser)
    parser.add_argument(
        "--out", type=html_output, metavar="FILE",
        help="the .html file (default: report-<source>-<period>.html in the results folder)",
    )  # fmt: skip
    parser.set_defaults(run=main)
    return parser


def _newest_backtest(root: Path) -> Path:
    found = sorted(
        (p.parent for p in root.glob(f"backtest-*/{SUMMARY_JSON}") if (p.parent / TRADES_CSV).is_file()),
        key=lambda p: p.name,
    )
    if not found:
        raise UsageError(f"--results (default: the newest backtest in [backtest] out): no backtest report in {root}")
    return found[-1]


def main(args: argparse.Namespace) -> int:
    """Run ``arb report``: load the source, compute the period, write the page, print one line."""
    from arb.config import load_config
    from arb.ui import console

    kind: str = args.source
    config = None
    if kind == "backtest":
        if args.state_dir is not None:
            raise UsageError("--state-dir: expected only with --source paper or live")
        results = args.results if args.results is not None else _newest_backtest(load_config(args.config).backtest.out)
        source = load_source(kind, results=results)
        folder = results
    else:
        config = load_config(args.config)
        results = args.results if args.results is not None else config.backtest.out
        state_dir = args.state_dir
        if kind == "paper" and state_dir is None:
            state_dir = config.dry_run.state_dir
        source = load_source(kind, results=results, state_dir=state_dir, config=config)
        folder = results
    report = build_report(source, args.period, args.date)
    out = args.out if args.out is not None else folder / f"report-{kind}-{report.period.slug}.html"
    path = write_html(report, out)
    pnl = report.pnl
    pnl_text = "n/a" if pnl is None else f"{pnl:,.2f} {source.quote}"
    console.print(
        f"{report.period.kind} {report.period.label}: PnL {pnl_text}, {report.total.fills} fills, "
        f"{report.pairs_summary.pairs.pairs} pairs; report: {path}",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    for halt in source.halts:
        console.print(f"HALT: {halt}", style="bold red", highlight=False, markup=False)
    return 0
