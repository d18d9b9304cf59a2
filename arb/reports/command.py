"""``arb report``: the command line of the periodic reports (:mod:`arb.reports.periodic`)."""

from __future__ import annotations

__all__ = ["COMMAND", "html_output", "main", "report_line"]

import argparse
import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from arb.command_line import Command, add_config_argument, day, existing_folder
from arb.errors import UsageError
from arb.reports.names import PERIODS, SOURCES

if TYPE_CHECKING:
    from arb.config import AppConfig
    from arb.reports.figures import PeriodReport


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


# -- the command --------------------------------------------------------------------------------------


def _add_arguments(parser: argparse.ArgumentParser) -> None:
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
    parser.add_argument(
        "--against", type=existing_folder("a backtest's report folder"), metavar="DIR",
        help="live only: beside the journal's orders, what this backtest (arb backtest of the same hours, "
        '[latency] order = "measured") predicted, per venue, over the overlap of the two',
    )  # fmt: skip
    add_config_argument(parser)
    parser.add_argument(
        "--out", type=html_output, metavar="FILE",
        help="the .html file (default: report-<source>-<period>.html in the results folder)",
    )  # fmt: skip


def report_line(report: PeriodReport) -> str:
    """The figures of ``report`` the terminal prints, in summary.json's words and to its 4 decimals:
    ``net PnL 0.7645 USDT = trading PnL 2.3050 - fees 1.5405, 26 fills, 13 pairs``."""
    total, quote = report.total, report.source.quote

    def money(x: float | None) -> str:
        return "n/a" if x is None else f"{x:,.4f}"

    funding = f" + funding {money(total.funding)}" if total.funding else ""
    fills = f"{total.fills} fills" if total.fills else "no fill in this period"
    return (
        f"net PnL {money(report.pnl)} {quote} = trading PnL {money(total.trading_pnl)} - fees {money(total.fees)}"
        f"{funding}, {fills}, {report.pairs_summary.pairs.pairs} pairs"
    )


def _newest_backtest(root: Path) -> Path:
    from arb.reports.files import SUMMARY_JSON, TRADES_CSV

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
        from arb.execution.paper_files import DB_NAME, LEGACY_ACCOUNT

        # the account arb dry-run keeps (its journal), or one an earlier arb kept (account.json)
        state_dir = config.dry_run.state_dir
        if not any((state_dir / name).is_file() for name in (DB_NAME, LEGACY_ACCOUNT)):
            raise UsageError(
                f"no paper account: {state_dir / DB_NAME} does not exist ([dry_run] state_dir in {where}); run arb "
                "dry-run to start one there, or pass --state-dir with the folder of an existing account"
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
    from arb.reports.against import backtest_orders_of, compare, live_orders
    from arb.reports.console import print_against
    from arb.reports.periodic import build_report, load_source, write_html
    from arb.ui import console

    kind: str = args.source
    config = None
    if args.against is not None and kind != "live":
        raise UsageError(f"--against: expected only with --source live, got --source {kind}")
    if kind == "backtest":
        if args.state_dir is not None:
            raise UsageError("--state-dir: expected only with --source paper or live")
        results = args.results if args.results is not None else _newest_backtest(load_config(args.config).backtest.out)
        source = load_source(kind, results=results)
    else:
        config = load_config(args.config)
        results = args.results if args.results is not None else config.backtest.out
        state_dir = args.state_dir
        if state_dir is None:
            _configured_source_exists(kind, config, args.config)
        if kind == "paper" and state_dir is None:
            state_dir = config.dry_run.state_dir
        source = load_source(kind, results=results, state_dir=state_dir, config=config)
    report = build_report(source, args.period, args.date)
    if args.against is not None:
        live = live_orders(config, source.first_ns, source.last_ns)
        report = dataclasses.replace(report, against=compare(live, backtest_orders_of(args.against), str(args.against)))
    out = args.out if args.out is not None else results / f"report-{kind}-{report.period.slug}.html"
    path = write_html(report, out)
    console.print(
        f"{report.period.kind} {report.period.label}: {report_line(report)}; report: {path}",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    if report.choice:
        console.print(f"({report.choice})", highlight=False, soft_wrap=True, markup=False)
    if report.against is not None:
        print_against(report.against, console)
    for halt in source.halts:
        console.print(f"HALT: {halt}", style="bold red", highlight=False, markup=False)
    return 0


COMMAND = Command(
    "report",
    main,
    help="write a day's, week's or month's report as one self-contained HTML file",
    description="Figures of one UTC period (a day, a week from Monday, a calendar month) of a backtest's "
    "results, a paper account or the live journal: return, Sharpe, drawdown, win rate, holding time, "
    "fees, per-venue figures and the captured spreads, in one HTML file that needs no network.",
    arguments=_add_arguments,
    config=False,
)
"""Add ``report`` to an ``argparse`` sub-command set; it runs :func:`main`."""
