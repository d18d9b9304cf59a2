"""The fault campaign (issues 10, 25, 60 and 79): N seeded scenarios of one venue misbehaving while another
fills, two of Binance, Bybit, Hyperliquid and OKX a scenario (each venue faulted in turn, the other drawn),
each against ``arb live`` on the fake venues, with the invariants checked. Taker scenarios: rejects,
timeouts with the order placed or lost, partial fills, the user stream dropped or silent, the feed stalled
or closed, a fill after the "not found" verdict, a fill swept before its order is known, a 429 with
Retry-After or a ban in the middle of trading, a kill switch whose flatten is answered late. Maker
scenarios (``maker_taker``: quotes resting on the faulted venue, hedged on the other): a fill after the
cancel was sent, a cancel answered "unknown order", partial fills across a re-price, a post-only quote
refused because it would cross, the user stream silent during a fill, a quote's fill swept before its
order is known, a 429 or a ban. Invariants: the net position never past ``position_limit`` (resting
quotes at their worst), every scenario ends flat or halted with the exposure reported (then flattened by
the kill switch), no order sent twice, the journal equal to both venues' ledgers, no order left
incomplete with its fills on the venue, every quote fill hedged once, no flatten larger than the
position, nothing sent to a venue inside its Retry-After or ban but what the rule allows. See
``arb/testing/campaign.py``.

Prints a line per scenario, then the tally by style, fault and faulted venue; exits 1 if any invariant broke.
Any 84 consecutive seeds fault every kind of both styles on each of the four venues.

    PYTHONPATH=. python benchmarks/fault_campaign.py [--seed 0] [--scenarios 200] [--keep DIR] [-v]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arb.testing.campaign import Outcome, run_campaign  # noqa: E402

COLUMNS = ("scenarios", "pairs", "lone legs", "hedged", "unwound", "quotes", "mk fills", "by query", "c misses",
           "po rej", "limits", "w cancels", "halted", "killed", "late flat", "violations", "s/scen")  # fmt: skip
WIDTH = 11


def _line(outcome: Outcome) -> str:
    s = outcome.scenario
    flags = " HALTED" * outcome.halted + " KILLED" * outcome.killed
    verdict = "ok" if not outcome.violations else f"{len(outcome.violations)} VIOLATION(S)"
    if s.maker:
        what = (
            f"quotes {outcome.quotes}, maker fills {outcome.maker_fills} ({outcome.fills_by_query} found by query), "
            f"hedged {outcome.hedged}, cancel misses {outcome.cancel_misses}, post-only rejects "
            f"{outcome.post_only_rejects}"
        )
    else:
        what = (
            f"pairs {outcome.pairs}, lone legs {outcome.lone_legs}, hedged {outcome.hedged}, unwound {outcome.unwound}"
        )
    if outcome.limits_read:
        what += f", the limit read ({outcome.cancels_in_window} cancels inside its window)"
    if outcome.late_flattens:
        what += f", {outcome.late_flattens} flatten(s) answered late, found out"
    return (
        f"{s.describe()}\n    {what}, max |net| {outcome.max_net:.8f} (with the quotes {outcome.max_worst:.8f}, "
        f"limit {s.position_limit}), net at end {outcome.net_at_end:+.8f}{flags}, {outcome.wall_ns / 1e9:.1f} s: "
        f"{verdict}"
    )


def tally(outcomes: list[Outcome]) -> str:
    """The table: one row per (fault, venue), then the totals."""
    rows: dict[tuple[str, str, str], list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        s = outcome.scenario
        rows[("maker" if s.maker else "taker", s.fault.value, s.venue)].append(outcome)
    header = f"{'style':<7}{'fault':<18}{'venue':<12}" + "".join(f"{c:>{WIDTH}}" for c in COLUMNS)
    lines = [header, "-" * len(header)]

    def row(style: str, label: str, venue: str, group: list[Outcome]) -> str:
        figures = (
            len(group),
            sum(o.pairs for o in group),
            sum(o.lone_legs for o in group),
            sum(o.hedged for o in group),
            sum(o.unwound for o in group),
            sum(o.quotes for o in group),
            sum(o.maker_fills for o in group),
            sum(o.fills_by_query for o in group),
            sum(o.cancel_misses for o in group),
            sum(o.post_only_rejects for o in group),
            sum(o.limits_read for o in group),
            sum(o.cancels_in_window for o in group),
            sum(o.halted for o in group),
            sum(o.killed for o in group),
            sum(o.late_flattens for o in group),
            sum(len(o.violations) for o in group),
        )
        wall = sum(o.wall_ns for o in group) / len(group) / 1e9
        return f"{style:<7}{label:<18}{venue:<12}" + "".join(f"{f:>{WIDTH}}" for f in figures) + f"{wall:>{WIDTH}.1f}"

    for (style, fault, venue), group in sorted(rows.items()):
        lines.append(row(style, fault, venue, group))
    lines.append("-" * len(header))
    for style in ("taker", "maker"):
        group = [o for (st, _, _), g in rows.items() if st == style for o in g]
        if group:
            lines.append(row(style, "all", "", group))
    lines.append(row("all", "", "", outcomes))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--scenarios", type=int, default=200, help="how many consecutive seeds (default 200)")
    parser.add_argument("--keep", type=Path, help="keep each scenario's folder (journal, recordings) under DIR")
    parser.add_argument("-v", "--verbose", action="store_true", help="arb's warnings too")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL, format="%(name)s: %(message)s")
    seeds = list(range(args.seed, args.seed + args.scenarios))
    started = time.perf_counter()

    def show(outcome: Outcome) -> None:
        print(_line(outcome), flush=True)
        for violation in outcome.violations:
            print(f"    VIOLATION: {violation}", flush=True)
        if outcome.violations or outcome.halted:
            print("    arb live said (last lines):\n      " + "\n      ".join(outcome.output.splitlines()[-25:]))

    outcomes = asyncio.run(run_campaign(seeds, on_outcome=show, keep=args.keep))
    wall = time.perf_counter() - started
    print()
    print(tally(outcomes))
    broken = [o.scenario.seed for o in outcomes if o.violations]
    print(f"\n{len(outcomes)} scenarios in {wall:.0f} s ({wall / len(outcomes):.1f} s each); "
          f"invariant violations: {sum(len(o.violations) for o in outcomes)}"
          + (f" (seeds {broken})" if broken else ""))  # fmt: skip
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
