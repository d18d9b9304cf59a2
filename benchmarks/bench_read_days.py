"""Reading converted days back, as every ``arb backtest`` after the first does: ``load_timeline`` over the
shipped sample in a fresh process, its wall time, user and system CPU and minor page faults.

Extracts a commit's ``arb``, ``connectors``, ``config`` and ``recordings`` (``git archive``; ``--rev``, default
HEAD, and ``--ref REV`` a second commit run alternately beside it) into a temporary folder each, converts
the sample there once (untimed), then runs ``--repeat`` rounds: in each, one process per commit in turn
reads the days (``load_timeline`` of the default configuration's days, timed alone, nothing converted and
nothing compiled). Each process is new, so the memory it reads the days into is fresh, as in a user's run:
page faults are part of the cost. Prints every round, the best and the median per commit, and the load
average. Nothing asserts on timings.

    python benchmarks/bench_read_days.py [--rev HEAD] [--ref REV] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_compile import commit_tree
from machine import run_benchmark

# Run in each timed process, in the extracted tree: the days read, and what reading them cost.
_PROBE = r"""
import json, resource, sys, time
from arb.config import load_config
from arb.recording.loader import load_timeline, plan_days

config = load_config("config/arbitrage.toml")
days = plan_days(config, None, None)
before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
session = load_timeline(config, days)
wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
rows = sum(d.row_count for venue in session.assets for d in venue.days)
print(json.dumps({"wall": wall, "user": after.ru_utime - before.ru_utime, "sys": after.ru_stime - before.ru_stime,
                  "faults": after.ru_minflt - before.ru_minflt, "rows": rows}))
"""


def _read(tree: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")}
    env.update(PYTHONPATH=str(tree), NUMBA_CACHE_DIR=str(tree / "numba"))
    done = subprocess.run([sys.executable, "-c", _PROBE], cwd=tree, env=env, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _line(name: str, f: dict[str, float]) -> str:
    return (
        f"{name:<12} wall {f['wall']:6.3f} s  user {f['user']:6.3f} s  sys {f['sys']:6.3f} s  "
        f"page faults {f['faults']:>8,.0f}  ({f['rows']:,.0f} rows)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD", help="the commit measured (default HEAD)")
    parser.add_argument("--ref", help="a second commit, run alternately beside it")
    parser.add_argument("--repeat", type=int, default=5, help="rounds, one process per commit each")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arb-read-days-") as work:
        trees: dict[str, Path] = {}
        for i, rev in enumerate([args.rev] + ([args.ref] if args.ref else [])):
            tree = Path(work) / str(i)
            trees[commit_tree(rev, tree)] = tree
            _read(tree)  # converts the sample's days (untimed)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for r in range(args.repeat):
            for name, tree in trees.items():
                runs[name].append(_read(tree))
                print(f"round {r + 1}  " + _line(name, runs[name][-1]), flush=True)
        print("load_timeline over the sample, each in a fresh process: best / median")
        for name, figures in runs.items():
            best = min(figures, key=lambda f: f["wall"])
            median = {key: statistics.median(f[key] for f in figures) for key in best}
            print("  best   " + _line(name, best))
            print("  median " + _line(name, median))


if __name__ == "__main__":
    run_benchmark(main)
