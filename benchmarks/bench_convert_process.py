"""``arb convert`` against hftbacktest's converter as whole processes, alternated, on the same file.

Issue 61, item 4: a warm ``arb convert`` of the USD-M capture (a few minutes of one symbol) should take at
most a fifth of hftbacktest's ``binancefutures.convert`` (which compiles in every process), in wall and
CPU time. Runs ``--repeat`` rounds, each one ``arb convert`` then one hftbacktest converter, in this
checkout's environment (the ``arb`` beside this Python; ``bench_cold_start.py`` measures a fresh clone),
after one untimed ``arb convert`` that fills Numba's cache if the input is large enough to use it (and
Python's bytecode cache: ``PYTHONDONTWRITEBYTECODE`` is dropped from the processes' environment). Prints
each process's wall and CPU seconds (its own and its children's), the best and the median of each, the
ratios, whether the ``arb convert`` process imported Numba, and the load average before and after.
Nothing asserts on timings.

    python benchmarks/bench_convert_process.py [--repeat 7] [--input FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench_cold_start import CAPTURE, CONVERT_TARGET_X, HBT_CONVERT, ROOT, Timing, _timed
from machine import run_benchmark

_PROBE = "import sys; from arb.cli import main; main(sys.argv[1:]); print('numba' in sys.modules)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="rounds of the two processes")
    parser.add_argument("--input", type=Path, default=ROOT / CAPTURE, help="the recording (Binance USD-M)")
    args = parser.parse_args()
    arb = str(Path(sys.executable).with_name("arb"))
    # Warm means Python's bytecode cache too: the untimed first process writes it, as any first run does
    # (an environment with PYTHONDONTWRITEBYTECODE would have every process compile arb's sources, ~0.07 s).
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    with tempfile.TemporaryDirectory(prefix="arb-convert-") as work:
        out = Path(work)
        ours = [arb, "-q", "convert", str(args.input), "-o", str(out / "arb.npz")]
        theirs = [sys.executable, "-c", HBT_CONVERT, str(args.input), str(out / "hbt.npz")]
        probe = [sys.executable, "-c", _PROBE, "convert", "-q", str(args.input), "-o", str(out / "probe.npz")]
        numba = _timed(probe, ROOT, env, capture=True)[1].strip().splitlines()[-1]  # also the untimed warm-up
        runs: dict[str, list[Timing]] = {"arb convert": [], "hftbacktest": []}
        for _ in range(args.repeat):
            runs["arb convert"].append(_timed(ours, ROOT, env)[0])
            runs["hftbacktest"].append(_timed(theirs, ROOT, env)[0])
    print(f"{args.input.name}: {args.repeat} rounds, each process alternately (arb convert imports Numba: {numba})")
    print(f"{'process':<16}{'best wall':>12}{'best CPU':>12}{'median wall':>14}{'median CPU':>13}")
    best: dict[str, Timing] = {}
    median: dict[str, Timing] = {}
    for name, timings in runs.items():
        best[name] = Timing(min(t.wall for t in timings), min(t.cpu for t in timings))
        median[name] = Timing(statistics.median(t.wall for t in timings), statistics.median(t.cpu for t in timings))
        print(
            f"{name:<16}{best[name].wall:>11.2f}s{best[name].cpu:>11.2f}s"
            f"{median[name].wall:>13.2f}s{median[name].cpu:>12.2f}s"
        )
    ours_best, theirs_best = best["arb convert"], best["hftbacktest"]
    ours_med, theirs_med = median["arb convert"], median["hftbacktest"]
    print(
        f"hftbacktest / arb convert: best {theirs_best.wall / ours_best.wall:.2f}x wall, "
        f"{theirs_best.cpu / ours_best.cpu:.2f}x CPU; median {theirs_med.wall / ours_med.wall:.2f}x wall, "
        f"{theirs_med.cpu / ours_med.cpu:.2f}x CPU (target >= {CONVERT_TARGET_X:.0f}x)"
    )


if __name__ == "__main__":
    run_benchmark(main)
