"""Two to six venues, beside a reference commit: tick-to-decision and the backtest loop.

What the N-venue kernel costs. ``bench_live.py`` (every depth frame: normalizer, engine, kernel, risk
gate) runs in rounds, each round in fresh processes and in turn: the reference commit on two venues
(``git archive`` of ``--ref``, default c3016bf, into a temporary folder: this tree's ``bench_live.py`` on
its arb, configuration and sample), then
this tree on two, three, four and six venues. The sample has three (Binance, Bybit, an OKX third); the
fourth to sixth are twins (``bench_live.py --twin``, :mod:`arb.testing.twins`): Binance's, Bybit's and
OKX's folders under new names, each replaying its source's recorded days, so a run of six handles twice
the frames of three and weighs 30 directions a decision instead of 6. Alternating spreads a busy
neighbour over all five; the figures are each variant's median over the rounds of its p99 (and p50),
each beside the reference's, and the cost of a venue added past two: the p50 and p99 over two venues',
divided by the venues added. Each run then times the engine's compiled decision alone (``bench_live.py
--decision``: one symbol's views, the strategy over every direction, the guard, the gate, on the books the
replay left), the best of 50 batches of 200 calls, printed as each variant's best over the rounds beside the
reference's: a figure a busy neighbour can only add to, fine enough to show what a venue adds to the
decision. Then (``--cpu-rounds``) the same counts of this tree again (``--cpu-rounds``), each frame timed
by its thread's CPU time (``bench_live.py --clock cpu``), so that what a venue adds is not lost among a busy
neighbour's time slices. Then ``bench_backtest.py`` on three venues: the strategy loop against
hftbacktest's bare ``wait_next_feed`` loop over the same rows.

Targets (printed beside the figures, never asserted): this tree's two-venue p99 within 1.05x of the
reference's, three venues within 1.5x of it; the three-venue loop at least 80 % of the bare loop.
The first round of each variant compiles (each tree has its own Numba cache), so it is left out when
there are more than one.

    python benchmarks/bench_venues.py [--ref c3016bf] [--rounds 3] [--repeat 2] [--counts 2,3,4,6]
                                      [--cpu-rounds 2] [--no-loop]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import archive_tree, run_benchmark

ROOT = Path(__file__).resolve().parent.parent
THREE = 'strategy.venues=["binance", "bybit", "okx"]'
SAMPLE = ("binance", "bybit", "okx")
"""The sample's venues, the run's first three; a run of more adds twins of them, in this order."""
_LINE = re.compile(r"tick to decision \(every depth frame\)\s+n=\s*([\d,]+)\s+p50\s+([\d.]+) us\s+p99\s+([\d.]+) us")
_DECISION = re.compile(r"decision alone \(compiled step, symbol 0\)\s+best\s+([\d.]+) ns a call")
_LOOP = re.compile(r"strategy loop at (\d+)% of the bare loop")


def _env(tree: Path) -> dict[str, str]:
    # ``tree``'s arb first on the path (an installed arb stays behind it)
    return {**os.environ, "PYTHONPATH": str(tree)}


def _count_args(n: int) -> list[str]:
    # bench_live.py's arguments for a run of ``n`` venues: the sample's first ones, then twins of them
    twins = [(f"twin_{chr(ord('a') + k)}", SAMPLE[k % len(SAMPLE)]) for k in range(max(0, n - len(SAMPLE)))]
    names = [*SAMPLE[: min(n, len(SAMPLE))], *(twin for twin, _ in twins)]
    args = [a for twin, source in twins for a in ("--twin", f"{twin}={source}")]
    return args if n == 2 else [*args, "--set", f"strategy.venues={json.dumps(names)}"]


def _tick(tree: Path, repeat: int, extra: list[str]) -> tuple[int, float, float, float]:
    # One run of this tree's bench_live.py in a fresh process on ``tree``'s arb, config and sample: (frames
    # timed, p50 us, p99 us, the compiled decision alone's best, ns a call; NaN when not asked for)
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_live.py"), "--repeat", str(repeat), *extra]
    out = subprocess.run(cmd, cwd=tree, env=_env(tree), check=True, capture_output=True, text=True).stdout
    found = _LINE.search(out)
    if found is None:
        raise SystemExit(f"bench_live.py on {tree} printed no tick-to-decision line:\n{out}")
    decision = _DECISION.search(out)
    alone = float(decision[1]) if decision is not None else float("nan")
    return int(found[1].replace(",", "")), float(found[2]), float(found[3]), alone


def _cpu_per_venue(counts: list[int], rounds: int, repeat: int) -> None:
    # This tree's counts again, each frame timed by its thread's CPU time (bench_live.py --clock cpu): what
    # a venue added costs, without the time slices a busy neighbour takes (the wall figures above have them)
    cpu: dict[int, list[tuple[float, float]]] = {n: [] for n in counts}
    for r in range(rounds):
        for n in counts:
            frames, p50, p99, _ = _tick(ROOT, repeat, [*_count_args(n), "--clock", "cpu"])
            cpu[n].append((p50, p99))
            print(f"CPU round {r + 1} this tree, {n} venues {frames:>7,} frames  p50 {p50:6.1f} us  p99 {p99:6.1f} us",
                  flush=True)  # fmt: skip
    medians = {n: (statistics.median(p[0] for p in v), statistics.median(p[1] for p in v)) for n, v in cpu.items()}
    print(f"\ntick to decision in CPU time, median over {rounds} rounds")
    for n, (p50, p99) in medians.items():
        added = ""
        if n > 2 and 2 in medians:
            added = (f"  a venue added past two: p50 {(p50 - medians[2][0]) / (n - 2):+5.2f} us  "
                     f"p99 {(p99 - medians[2][1]) / (n - 2):+6.2f} us")  # fmt: skip
        print(f"  this tree, {n} venues  p50 {p50:6.1f} us  p99 {p99:6.1f} us{added}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref", default="c3016bf", help="the reference commit (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the variants")
    parser.add_argument("--repeat", type=int, default=2, help="sample replays per bench_live.py run")
    parser.add_argument("--counts", default="2,3,4,6", help="this tree's venue counts (default %(default)s)")
    parser.add_argument("--cpu-rounds", type=int, default=0, help="rounds of this tree's counts in CPU time")
    parser.add_argument("--no-loop", action="store_true", help="skip the three-venue backtest loop")
    args = parser.parse_args()
    counts = [int(n) for n in args.counts.split(",")]

    reference = "reference, 2 venues"
    variants: dict[str, list[tuple[float, float]]] = {reference: []}
    variants.update({f"this tree, {n} venues": [] for n in counts})
    alone: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        ref = archive_tree(ROOT, args.ref, Path(tmp))
        runs = [(reference, ref, _count_args(2)), *((f"this tree, {n} venues", ROOT, _count_args(n)) for n in counts)]
        for r in range(args.rounds):
            for name, tree, extra in runs:
                n, p50, p99, ns = _tick(tree, args.repeat, [*extra, "--decision"])
                variants[name].append((p50, p99))
                alone[name].append(ns)
                print(f"round {r + 1} {name:<22} {n:>7,} frames  p50 {p50:6.1f} us  p99 {p99:6.1f} us  "
                      f"decision alone {ns:7.0f} ns", flush=True)  # fmt: skip
    kept = 1 if args.rounds > 1 else 0  # the first round compiled
    medians = {k: (statistics.median(p[0] for p in v[kept:]), statistics.median(p[1] for p in v[kept:]))
               for k, v in variants.items()}  # fmt: skip
    ref_p99 = medians[reference][1]
    targets = {reference: "", "this tree, 2 venues": "target <= 1.05x", "this tree, 3 venues": "target <= 1.50x"}
    print(f"\ntick to decision, median over rounds {kept + 1}-{args.rounds} (reference {args.ref})")
    for name, (p50, p99) in medians.items():
        print(f"  {name:<22} p50 {p50:6.1f} us  p99 {p99:6.1f} us  {p99 / ref_p99:5.2f}x the reference  "
              f"{targets.get(name, '')}")  # fmt: skip
    if 2 in counts:
        two = medians["this tree, 2 venues"]
        for n in (c for c in counts if c > 2):
            p50, p99 = medians[f"this tree, {n} venues"]
            print(f"  a venue added past two, at {n}: p50 {(p50 - two[0]) / (n - 2):+6.1f} us  "
                  f"p99 {(p99 - two[1]) / (n - 2):+6.1f} us")  # fmt: skip

    best = {name: min(v) for name, v in alone.items()}  # every round's: the process's compile is not in it
    print("\nthe compiled decision alone (engine step, one symbol, the books the replay left), best of the rounds")
    base = best.get("this tree, 2 venues", best[reference])  # what a venue adds: over this tree's two
    for name, ns in best.items():
        n_venues = int(name.split(", ")[1].split()[0])
        added = f"  a venue added past two: {(ns - base) / (n_venues - 2):+6.0f} ns" if n_venues > 2 else ""
        print(f"  {name:<22} {ns:7.0f} ns  {ns / best[reference]:5.2f}x the reference{added}")

    if args.cpu_rounds:
        _cpu_per_venue(counts, args.cpu_rounds, args.repeat)

    if not args.no_loop:
        cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_backtest.py"), "--no-cold", "--set", THREE]
        out = subprocess.run(cmd, cwd=ROOT, env=_env(ROOT), check=True, capture_output=True, text=True).stdout
        print("\nbacktest loop, three venues:")
        print("\n".join("  " + line for line in out.splitlines() if not line.startswith(tuple("0123456789"))))
        found = _LOOP.search(out)
        if found is None:
            raise SystemExit(f"bench_backtest.py printed no loop ratio:\n{out}")


if __name__ == "__main__":
    run_benchmark(main)
