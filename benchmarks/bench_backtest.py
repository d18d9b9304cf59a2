"""Backtest speed: the strategy loop against a bare ``wait_next_feed`` loop over the same data.

Both run over the shipped sample (the run's venues, both days) in this process, on fresh
``HashMapMarketDepthBacktest`` objects built from the same arrays; each is run once to compile and
then ``--repeat`` times, best time counts (wall time, and apart the process's CPU time: on a busy machine
the wall time holds other processes' turns on the core). Events are the rows hftbacktest replays (both venues).
Also times the cold start of ``arb backtest`` in a fresh process: once with no conversion cache and
no Numba cache, once warm. Prints the figures; nothing asserts on them.

    python benchmarks/bench_backtest.py [--repeat 3] [--no-cold] [--set KEY=VALUE ...]

``--set`` changes the configuration as ``arb backtest --set`` does: three venues are
``--set 'strategy.venues=["binance","bybit","okx"]'`` (the sample has an OKX third).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hftbacktest.binding import HashMapMarketDepthBacktest_
from machine import run_benchmark
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
    parser.add_argument("--set", type=setting, action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()

    config = load_config(ROOT / "config" / "arbitrage.toml", settings=args.set)
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
