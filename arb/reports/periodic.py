"""The periodic reports: a day, a week or a month of a source (a backtest's results, a paper account,
the live journal) as one self-contained HTML page, and the daily report a running session writes at
the UTC day boundary. ``arb report`` (:mod:`arb.reports.command`) runs them from the command line.
"""

from __future__ import annotations

__all__ = [
    "DAILY_MODES",
    "build_report",
    "default_period",
    "load_source",
    "prune_daily_reports",
    "write_daily_report",
    "write_html",
]

import dataclasses
import datetime as dt
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from arb.errors import UsageError
from arb.files import write_atomic
from arb.reports.common import utc_text
from arb.reports.figures import Period, PeriodReport, compute_period, period_of, utc_day
from arb.reports.html import render_html
from arb.reports.sources import SOURCES, Mark, SourceData, load_backtest, load_live, load_paper

if TYPE_CHECKING:
    from arb.config import AppConfig

DAILY_MODES: Final = ("dry-run", "live")


def load_source(
    kind: str,
    *,
    results: Path | None = None,
    state_dir: Path | None = None,
    config: AppConfig | None = None,
    marks: Iterable[Mark] = (),
) -> SourceData:
    """Load a source (read-only). ``backtest``: the report folder ``results``; ``paper``: the paper
    account in ``state_dir``, marks from the dry-run reports in ``results`` (its venues named by
    ``config``'s when given); ``live``: the journal of
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
        source = load_paper(state_dir, results, marks, config.venue_names if config is not None else ())
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
        why = f"the last {kind} with a fill (at {utc_text(last)})"
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
    span = f"the records run from {utc_text(source.first_ns)} to {utc_text(source.last_ns)}"
    return chosen, f"no --date given: {why}; {span}"


def write_html(report: PeriodReport, path: Path, generated_ns: int | None = None) -> Path:
    """Write the page of ``report`` to ``path`` atomically (:func:`arb.files.write_atomic`: a temporary
    file renamed over it); returns ``path``."""
    html = render_html(report, time.time_ns() if generated_ns is None else generated_ns)
    write_atomic(path, html)
    return path


def write_daily_report(
    config: AppConfig, mode: str, day: dt.date, out_dir: Path, *, marks: Iterable[Mark] = ()
) -> Path:
    """Write the report of the UTC ``day`` of a running session into ``out_dir``; returns its path.

    ``mode``: ``"dry-run"`` (the paper account in ``[dry_run] state_dir``) or ``"live"`` (the
    journal in ``[live] state_dir`` or at ``[live] journal_url``). Marks: the fills' prices, the final
    mids of the session reports in ``[backtest] out``, and ``marks`` (``(ts_ns, (mid per venue))``: the
    session's mids at the day boundary, which value the positions it carries; a
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
        source = load_paper(config.dry_run.state_dir, results, at_end, config.venue_names)
    else:
        source = load_live(config, results, at_end)
    report = compute_period(source, period)
    return write_html(report, out_dir / f"{mode}-{report.period.slug}.html")


def prune_daily_reports(out_dir: Path, mode: str, kept: int) -> list[Path]:
    """Delete all but the newest ``kept`` daily reports of ``mode`` in ``out_dir`` (``<mode>-day-YYYY-MM-DD.html``,
    newest by their day; 0 keeps every one); returns the paths deleted. Other files are left alone."""
    if kept <= 0:
        return []
    days = sorted(out_dir.glob(f"{mode}-day-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].html"))
    gone = days[: max(0, len(days) - kept)]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone
