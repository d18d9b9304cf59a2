"""``arb latency``: the order latencies ``arb live`` measured, from its journal.

::

    arb latency [--config PATH] [--venue VENUE] [--plot PNG] [--export [DIR]] [--json]

Per venue: the round trip of every answered order (request written to the venue's answer), tick to trade
(from the receive time of the market-data frame the decision was made at to the order's request written),
and the decision-to-request and decision-to-first-fill times, as percentiles; per pair (the legs of one
decision), tick to the first and to the last leg's request written and the gap between the legs;
``--plot`` draws the round trips
over time; ``--export`` writes each venue's rows in the form hftbacktest's interpolated order latency
reads (:mod:`arb.backtest.order_latency`), where ``[latency] order = "measured"`` makes backtests replay them.
The journal is the one ``arb live`` writes (``[live] journal_url``, or ``<state_dir>/<account>.sqlite``);
it is only read.
"""

from __future__ import annotations

__all__ = ["COMMAND"]

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from arb.cli.venue_option import add_venue_option, venue_numbers
from arb.command_line import Command, output_file, output_folder
from arb.config import load_config
from arb.errors import UsageError


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    add_venue_option(parser)
    parser.add_argument(
        "--plot", type=output_file("a .png file"), metavar="PNG", help="draw each venue's round trips over time here"
    )
    parser.add_argument(
        "--export",
        type=output_folder("an export folder"),
        nargs="?",
        const=Path(""),
        metavar="DIR",
        help='write <DIR>/<venue>.npz for backtests with [latency] order = "measured" '
        "(default DIR: each venue's [latency] measured_dir)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def _line(venue: str, figures: dict[str, dict[str, float]]) -> str:
    parts = []
    for stage, name in (("round_trip", "request to answer"), ("tick_to_written", "tick to trade"),
                        ("intent_to_written", "decision to request"),
                        ("intent_to_first_fill", "decision to first fill")):  # fmt: skip
        f = figures[stage]
        if f.get("n"):
            parts.append(f"{name} p50 {f['p50']:,.0f} / p95 {f['p95']:,.0f} / p99 {f['p99']:,.0f} us")
    n = int(figures["round_trip"].get("n", 0))
    return f"{venue}: {n:,} orders answered" + (": " + "; ".join(parts) if parts else "")


def pair_line(pairs: dict[str, dict[str, float]]) -> str:
    """The pairs' tick to trade in one line (empty when no decision sent two legs or more)."""
    n = int(pairs.get("tick_to_last_leg", {}).get("n", 0))
    if not n:
        return ""
    parts = []
    for stage, name in (("tick_to_first_leg", "tick to first leg"), ("tick_to_last_leg", "tick to last leg"),
                        ("leg_gap", "between the legs")):  # fmt: skip
        f = pairs[stage]
        parts.append(f"{name} p50 {f['p50']:,.0f} / p95 {f['p95']:,.0f} / p99 {f['p99']:,.0f} us")
    return f"pairs: {n:,} decisions with two legs or more: " + "; ".join(parts)


def _plot(path: Path, trips: dict[str, np.ndarray[Any, Any]]) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4))
    axes = figure.add_subplot()
    for venue, rows in trips.items():
        if len(rows):
            axes.plot((rows["req_ts"] - rows["req_ts"][0]) / 1e9, (rows["resp_ts"] - rows["req_ts"]) / 1e3, ".",
                      markersize=3, label=venue)  # fmt: skip
    axes.set_xlabel("seconds since the venue's first order")
    axes.set_ylabel("request to answer (us)")
    axes.legend()
    figure.savefig(path, dpi=100)


def _cmd_latency(args: argparse.Namespace) -> int:
    from arb.backtest.order_latency import latency_rows, measured_path, percentiles
    from arb.journal.journal import Journal

    config = load_config(args.config)
    live = config.live
    target: str | Path = live.journal_url or live.state_dir / f"{live.account}.sqlite"
    if isinstance(target, Path) and not target.is_file():
        raise UsageError(f"arb latency: no journal at {target} ([live] state_dir, account): arb live writes it")
    venues = [config.venues[v] for v in venue_numbers(config, args.venue, "arb latency")]
    figures: dict[str, dict[str, dict[str, float]]] = {}
    trips: dict[str, np.ndarray[Any, Any]] = {}
    with Journal.open(target) as journal:
        for venue in venues:
            written, answered = journal.round_trips(venue.name)
            rows = latency_rows(written, answered)
            trips[venue.name] = rows
            figures[venue.name] = {"round_trip": percentiles(rows["resp_ts"] - rows["req_ts"])}
            stages = journal.latencies(venue.name)
            figures[venue.name] |= {
                k: stages[k] for k in ("tick_to_written", "intent_to_written", "intent_to_first_fill")
            }
        pairs = journal.pair_latencies()
    if args.json:
        out = {"journal": str(target), "latency_us": figures, "pair_latency_us": pairs}
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        for venue_name, venue_figures in figures.items():
            sys.stdout.write(_line(venue_name, venue_figures) + "\n")
        if line := pair_line(pairs):
            sys.stdout.write(line + "\n")
    if args.plot is not None:
        _plot(args.plot, trips)
        sys.stdout.write(f"plot: {args.plot}\n")
    if args.export is not None:
        for venue in venues:
            folder = args.export if args.export != Path("") else venue.latency.measured_dir
            if not len(trips[venue.name]):
                sys.stdout.write(f"{venue.name}: no answered order to export\n")
                continue
            folder.mkdir(parents=True, exist_ok=True)
            path = measured_path(folder, venue.name)
            np.savez(path, data=trips[venue.name])
            sys.stdout.write(f"{venue.name}: {len(trips[venue.name]):,} rows -> {path}\n")
    return 0


COMMAND = Command(
    "latency",
    _cmd_latency,
    help="the order latencies arb live measured, from its journal",
    description="Per venue, the round trip of every answered order (request to answer), tick to trade (the "
    "receive time of the market-data frame the decision was made at to the request written) and the times "
    "from the decision to the request and to the first fill; per pair, tick to the first and the last leg; as "
    "percentiles, from the journal arb live writes. "
    "--plot draws the round trips over time; --export writes them for backtests with [latency] order = "
    '"measured" (hftbacktest\'s interpolated order latency; each round trip split in half between the way '
    "there and the way back).",
    arguments=_add_arguments,
)
"""``arb latency``: the journal's order latencies."""
