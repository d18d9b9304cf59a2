"""``arb report`` and the daily report a running session writes at the UTC day boundary."""

from __future__ import annotations

import argparse
import dataclasses
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
from arb.reports.figures import PERIODS, Period, PeriodReport, compute_period, period_of, utc_day
from arb.reports.html import render_html
from arb.reports.sources import SOURCES, Mark, SourceData, load_backtest, load_live, load_paper

if TYPE_CHECKING:
    from arb.config import AppConfig

__all__ = [
    "DAILY_MODES",
    "add_parser",
    "build_report",
    "default_period",
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
    A source without a fill is loaded all the same: its report says so.

    Raises:
        UsageError: The source is missing or unreadable (exit code 2).
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
            import msgspec

            config = msgspec.structs.replace(config, live=msgspec.structs.replace(config.live, state_dir=state_dir))
        source = load_live(config, results, marks)
    else:
        raise UsageError(f"--source: expected one of {', '.join(SOURCES)}, got {kind!r}")
    return source


def build_report(
    source: SourceData, period: str, date: dt.date | None = None, *, today: dt.date | None = None
) -> PeriodReport:
    """The ``period`` (day, week, month) containing ``date``; without a date, the one
    :func:`default_period` chooses, and the report says why (``PeriodReport.choice``).

    ``today``: the UTC day the report of a source without any record is of (default: the wall clock's).
    """
    if date is not None:
        return compute_period(source, period_of(period, date))
    chosen, why = default_period(source, period, today=today)
    return dataclasses.replace(compute_period(source, chosen), choice=why)


def default_period(source: SourceData, kind: str, *, today: dt.date | None = None) -> tuple[Period, str]:
    """The period of ``kind`` to report when none is asked for, and why, in words.

    The last period with a fill (where the source's activity ended), so a run that ends a moment past
    midnight is not reported by the sliver of the day it reached. A source without a fill: the period
    holding the largest part of its records (the later one on a tie); without any record: the
    period of ``today`` (default: the wall clock's UTC day).
    """
    if len(source.fills):
        last = int(source.fills["local_ts"].max())
        chosen = period_of(kind, utc_day(last))
        why = f"the last {kind} with a fill (at {_utc_text(last)})"
    elif source.empty:
        day_ = today if today is not None else dt.datetime.now(dt.UTC).date()
        return period_of(kind, day_), f"no --date given: the current {kind} (the source holds no fill and no record)"
    else:
        candidates = []
        day_ = utc_day(source.first_ns)
        while True:
            candidate = period_of(kind, day_)
            held = min(candidate.end_ns, source.last_ns + 1) - max(candidate.start_ns, source.first_ns)
            candidates.append((max(held, 0), candidate.start_ns, candidate))
            if candidate.end_ns > source.last_ns:
                break
            day_ = utc_day(candidate.end_ns)
        chosen = max(candidates, key=lambda c: (c[0], c[1]))[2]
        why = f"the {kind} holding the largest part of the records (the source holds no fill)"
    span = f"the records run from {_utc_text(source.first_ns)} to {_utc_text(source.last_ns)}"
    return chosen, f"no --date given: {why}; {span}"


def _utc_text(ts_ns: int) -> str:
    return dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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
        help="a UTC day inside the period, e.g. 2024-08-08 (default: the last period with a fill; the report "
        "says which and why)",
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


def _configured_source_exists(kind: str, config: AppConfig, config_path: Path | None) -> None:
    # Without --state-dir the account comes from the configuration: say which file was looked for,
    # where that folder was configured, and how to point arb at an account.
    from arb.config import DEFAULT_CONFIG_PATH

    where = config_path if config_path is not None else DEFAULT_CONFIG_PATH
    if kind == "paper":
        account = config.dry_run.state_dir / "account.json"
        if not account.is_file():
            raise UsageError(
                f"no paper account: {account} does not exist ([dry_run] state_dir in {where}); run arb dry-run to "
                "start one there, or pass --state-dir with the folder of an existing account"
            )
    elif kind == "live" and not config.live.journal_url:
        journal = config.live.state_dir / f"{config.live.account}.sqlite"
        if not journal.is_file():
            raise UsageError(
                f"no live journal: {journal} does not exist ([live] state_dir and account in {where}); run arb live "
                "first, or pass --state-dir with the folder of an existing journal"
            )


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
        if state_dir is None:
            _configured_source_exists(kind, config, args.config)
        if kind == "paper" and state_dir is None:
            state_dir = config.dry_run.state_dir
        source = load_source(kind, results=results, state_dir=state_dir, config=config)
        folder = results
    report = build_report(source, args.period, args.date)
    out = args.out if args.out is not None else folder / f"report-{kind}-{report.period.slug}.html"
    path = write_html(report, out)
    pnl = report.pnl
    pnl_text = "n/a" if pnl is None else f"{pnl:,.2f} {source.quote}"
    fills = f"{report.total.fills} fills" if report.total.fills else "no fill in this period"
    console.print(
        f"{report.period.kind} {report.period.label}: PnL {pnl_text}, {fills}, "
        f"{report.pairs_summary.pairs.pairs} pairs; report: {path}",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    if report.choice:
        console.print(f"({report.choice})", highlight=False, soft_wrap=True, markup=False)
    for halt in source.halts:
        console.print(f"HALT: {halt}", style="bold red", highlight=False, markup=False)
    return 0
