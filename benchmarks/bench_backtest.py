"""Backtest speed: the strategy loop against a bare ``wait_next_feed`` loop over the same data.

Both run over the shipped sample (the run's venues, both days) in this process, on fresh
``HashMapMarketDepthBacktest`` objects built from the same arrays; each is run once to compile and
then ``--repeat`` times, best time counts (wall time, and apart the process's CPU time: on a busy machine
the wall time holds other processes' turns on the core). Events are the rows hftbacktest replays (both venues).
Also times the cold start of ``arb backtest`` in a fresh process: once with no conversion cache and
no Numba cache, once warm. Prints the figures; nothing asserts on them.

    python benchmarks/bench_backtest.py [--repeat 3] [--no-cold] [--set KEY=VALUE ...]
    python benchmarks/bench_backtest.py --ref c3016bf [--rounds 5] [--repeat 7]

``--set`` changes the configuration as ``arb backtest --set`` does: three venues are
``--set 'strategy.venues=["binance","bybit","okx"]'`` (the sample has an OKX third).

``--ref REV``: the loop beside a reference commit instead. In each round, fresh processes in turn: this
script on the reference's arb, configuration and sample (``git archive`` of ``REV``), then on this tree's,
each timing the compiled loop's run alone (``Loop.run`` over the sample, without the set-up before it),
best of ``--repeat`` after one to compile; printed: each round, then each tree's median over the rounds
and their ratio (target: this tree within 1.05x of the reference). A busy neighbour slows whichever run it
meets, which the alternation and the medians spread over both.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hftbacktest.binding import HashMapMarketDepthBacktest_
from machine import archive_tree, run_benchmark
from numba import njit

from arb.backtest import run as bt
from arb.command_line import setting
from arb.config import load_config
from arb.recording.loader import load_timeline, plan_days

ROOT = Path(__file__).resolve().parent.parent


@njit
def _bare(hbt):  # type: ignore[no-untyped-def]
    n = 0
    while True:
        rc = hbt.wait_next_feed(False, 1 << 62)
        if rc != 2:
            break
        n += 1
    return n


def _time(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    # The best of ``repeat`` runs (after one to compile) in wall time and, apart, in the process's CPU time:
    # on a shared machine the wall time of a run includes the other processes' turns on its core.
    fn()
    best = cpu = float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return best, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-start measurement")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--ref", help="time the loop beside this reference commit instead (see the module)")
    parser.add_argument("--rounds", type=int, default=5, help="--ref: alternations of the two trees")
    parser.add_argument("--loop-only", metavar="TREE", help=argparse.SUPPRESS)  # --ref's child: TREE's sample
    args = parser.parse_args()
    settings = [setting(text) for text in args.set]  # as arb backtest --set reads them
    if args.loop_only:
        _print_loop_only(Path(args.loop_only), settings, args.repeat)
        return
    if args.ref:
        _beside_ref(args.ref, args.rounds, args.repeat, args.set)  # each child reads them again
        return

    config = load_config(ROOT / "config" / "arbitrage.toml", settings=settings)
    session = load_timeline(config, plan_days(config, None, None))
    events = sum(len(a) for arrays in session.arrays for a in arrays)

    def bare() -> None:
        hbt = bt.build_hbt(config, session)
        try:
            _bare(HashMapMarketDepthBacktest_(hbt.ptr))  # hftbacktest's own jitclass on the same backtester
        finally:
            hbt.close()

    schedule = bt.Schedule.of(session)  # computed once, outside the timing, as run_backtest does first

    def strategy() -> None:
        _strategy_only(config, session, schedule)

    bare_s, bare_cpu = _time(bare, args.repeat)
    strat_s, strat_cpu = _time(strategy, args.repeat)
    venues = ", ".join(config.venue_names)
    print(f"data: shipped sample, {len(session.arrays[0])} day(s), {events:,} events over {venues}")
    print(f"{'loop':<44}{'seconds':>9}{'events/s':>14}")
    print(f"{'bare wait_next_feed (hftbacktest only)':<44}{bare_s:>9.3f}{events / bare_s:>14,.0f}")
    print(f"{'arb strategy loop (kernel + risk + orders)':<44}{strat_s:>9.3f}{events / strat_s:>14,.0f}")
    print(f"strategy loop at {bare_s / strat_s:.0%} of the bare loop's speed (target >= 80%)")
    print(f"in CPU time: bare {bare_cpu:.3f} s, strategy {strat_cpu:.3f} s, {bare_cpu / strat_cpu:.0%}")

    if not args.no_cold:
        cold, warm = _cold_start()
        print(f"arb backtest, fresh process: cold {cold:.1f} s (no conversion or Numba cache), warm {warm:.1f} s")


def _strategy_only(config, session, schedule) -> None:  # type: ignore[no-untyped-def]
    # run_backtest's loop over the same arrays, with fresh state, in one call to the end.
    loop = bt.Loop(config, session, schedule)
    hbt = bt.build_hbt(config, session)
    try:
        hbt.elapse(1)
        loop.run(hbt, session.end_ns + 1)
    finally:
        hbt.close()


_LOOP_LINE = re.compile(r"loop run ([\d.]+) ms over ([\d,]+) events")


def _print_loop_only(tree: Path, settings: list[tuple[str, Any]], repeat: int) -> None:
    # --ref's child: the compiled loop's run alone over ``tree``'s sample, best of ``repeat`` after one
    config = load_config(tree / "config" / "arbitrage.toml", settings=settings)
    session = load_timeline(config, plan_days(config, None, None))
    events = sum(len(a) for arrays in session.arrays for a in arrays)
    schedule = bt.Schedule.of(session)
    best = float("inf")
    for k in range(repeat + 1):
        loop = bt.Loop(config, session, schedule)
        hbt = bt.build_hbt(config, session)
        try:
            hbt.elapse(1)
            started = time.perf_counter()
            loop.run(hbt, session.end_ns + 1)
            took = time.perf_counter() - started
        finally:
            hbt.close()
        if k > 0:  # the first compiles or loads the loop
            best = min(best, took)
    print(f"loop run {best * 1e3:.2f} ms over {events:,} events")


def _beside_ref(ref: str, rounds: int, repeat: int, settings: list[str]) -> None:
    # The loop of the reference commit and of this tree, alternately, each in fresh processes on its own arb
    # (``settings``: the --set texts as given)
    sets = [a for text in settings for a in ("--set", text)]
    with tempfile.TemporaryDirectory(prefix="arb-bench-ref-") as tmp:
        trees = {f"reference {ref}": archive_tree(ROOT, ref, Path(tmp)), "this tree": ROOT}
        runs: dict[str, list[float]] = {name: [] for name in trees}
        for r in range(rounds):
            for name, tree in trees.items():
                cmd = [sys.executable, str(Path(__file__).resolve()), "--loop-only", str(tree), "--repeat",
                       str(repeat), *sets]  # fmt: skip
                env = {**os.environ, "PYTHONPATH": str(tree)}
                out = subprocess.run(cmd, cwd=tree, env=env, check=True, capture_output=True, text=True).stdout
                found = _LOOP_LINE.search(out)
                if found is None:
                    raise SystemExit(f"no loop figure from {name}:\n{out}")
                runs[name].append(float(found[1]))
                print(f"round {r + 1} {name:<22} loop run {float(found[1]):8.2f} ms over {found[2]} events", flush=True)
    medians = {name: statistics.median(times) for name, times in runs.items()}
    reference = medians[f"reference {ref}"]
    print(f"\nthe backtest loop's run, median over {rounds} rounds")
    for name, median in medians.items():
        target = "  target <= 1.05x" if name == "this tree" else ""
        print(f"  {name:<22} {median:8.2f} ms   {median / reference:.3f}x the reference{target}")


def _cold_start() -> tuple[float, float]:
    # A copy of the recordings without caches, and an empty Numba cache directory.
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "recordings"
        shutil.copytree(ROOT / "recordings", rec, ignore=shutil.ignore_patterns("*.npz"))
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba-cache")}
        out = str(Path(tmp) / "out")
        cmd = [sys.executable, "-m", "arb.cli", "-q", "backtest", "--recordings", str(rec), "--out", out]
        times = []
        for _ in range(2):
            started = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
    return times[0], times[1]


if __name__ == "__main__":
    run_benchmark(main)
