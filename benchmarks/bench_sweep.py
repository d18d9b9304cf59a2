"""Sweep speed: the same grid on 1 and on 2 local workers (and on 2 Ray actors when Ray is installed).

The grid is 4 x 3 x 2 = 24 points over the shipped sample (both venues, both days: each point is a
full backtest of 1.47 M events). Each run starts fresh worker processes, so each worker pays its own
one-off costs: reading the days' arrays (from the conversion cache, or Ray's object store) and
compiling the loop (hftbacktest's jitclasses cannot be cached on disk). The figures printed:

- wall: the whole sweep, planning and process start-up included;
- per worker: load and compile seconds, as each worker measured them;
- points: the busiest worker's summed point times (how long the points took once every worker was
  ready; contention for the CPU shows here as longer points);
- speed-up: 1 worker's time over this run's, for the whole sweep and for the points alone.

Ray's cluster is started by the benchmark (``ray.init(num_cpus=N)``, timed on its own) and the sweep
uses it (``--ray auto`` does the same with a running cluster).

Also checks that every run gives the same figures (digests) as the 1-worker run. Nothing asserts on
timings.

    python benchmarks/bench_sweep.py [--workers 2] [--no-ray]
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import tempfile
import time
from pathlib import Path

from machine import run_benchmark

from arb.config import load_config
from arb.sweep import SweepResult, load_grid, run_sweep

ROOT = Path(__file__).resolve().parent.parent

GRID = """\
[grid]
"strategy.min_spread_bps" = [0.5, 1.0, 2.0, 5.0]
"strategy.max_order_size" = [0.0005, 0.001, 0.002]
"strategy.cooldown_ms" = [0, 1000]
"""


def _points_s(sweep: SweepResult) -> float:
    # the busiest worker's summed point times
    busy: dict[str, float] = {}
    for r in sweep.results:
        busy[r.worker.name] = busy.get(r.worker.name, 0.0) + r.wall_s
    return max(busy.values(), default=0.0)


def _show(label: str, sweep: SweepResult, base: SweepResult | None) -> None:
    costs = ", ".join(f"load {w.load_s:.2f} s + compile {w.compile_s:.1f} s" for w in sweep.workers)
    line = f"{label:<12} wall {sweep.wall_s:6.1f} s   points {_points_s(sweep):6.1f} s   workers: {costs}"
    if base is not None:
        line += (
            f"\n{'':<12} speed-up over 1 worker: whole sweep x{base.wall_s / sweep.wall_s:.2f}, "
            f"points x{_points_s(base) / _points_s(sweep):.2f}"
        )
        same = [a.digest for a in base.results] == [b.digest for b in sweep.results]
        same = same and all(a.figures == b.figures for a, b in zip(base.results, sweep.results, strict=True))
        line += f"; figures {'identical' if same else 'DIFFERENT'} to the 1-worker run"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="workers of the parallel runs (default 2)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray run")
    args = parser.parse_args()

    config = load_config(ROOT / "config" / "arbitrage.toml")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "grid.toml"
        path.write_text(GRID)
        grid = load_grid(path, config)
    print(f"{len(grid.points())} points over the shipped sample, fresh worker processes per run", flush=True)
    one = run_sweep(config, grid, workers=1)
    _show("pool x1", one, None)
    many = run_sweep(config, grid, workers=args.workers)
    _show(f"pool x{args.workers}", many, one)
    if args.no_ray:
        return
    if importlib.util.find_spec("ray") is None:
        print("ray: not installed (pip install 'arb[ray]'), skipped")
        return
    import ray

    from arb.sweep.ray_runner import shutdown_ray

    started = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, logging_level=logging.WARNING)
    print(f"ray: a local cluster of {args.workers} CPUs started in {time.perf_counter() - started:.1f} s", flush=True)
    try:
        on_ray = run_sweep(config, grid, workers=args.workers, ray="auto")
    finally:
        shutdown_ray(ray)
    _show(f"ray x{args.workers}", on_ray, one)


if __name__ == "__main__":
    run_benchmark(main)
