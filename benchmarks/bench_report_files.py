"""What writing a report's equity.npz costs: a day of equity samples, three ways, in the same run.

A report keeps the run's equity samples at full resolution (``equity.npz``, one row a second per
symbol: 86,400 rows of ``equity_dtype(2)`` a day, 8.3 MB raw). Measured alternating, in the same folder
(same disk), each through :func:`arb.files.atomic_writer` (temporary file, fsync, rename) as
``write_report`` does:

- *uncompressed* (today): ``np.savez``, no deflate;
- *savez_compressed* (the reference, what arb wrote before): NumPy's zlib, level 6.

The samples are a synthetic day shaped like the sample backtest's (mids that walk by the steps the
sample's did, a spread around its own, positions that change now and then), so they compress as
a real day does. Prints the median time and the size of each, with the load average. Never fails on
a timing.

    python benchmarks/bench_report_files.py [--days 1] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from machine import run_benchmark

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arb.files import atomic_writer  # noqa: E402
from arb.reports.files import read_equity_npz  # noqa: E402
from arb.strategy.types import equity_dtype  # noqa: E402

Array = np.ndarray[Any, np.dtype[Any]]
T0 = 1_723_161_255_482_812_064  # the sample's first equity sample


def day_of_samples(days: float, seed: int = 7) -> Array:
    """``days`` of one-second ``equity_dtype(2)`` samples of one symbol, shaped like the sample run's."""
    n = int(days * 86_400)
    rng = np.random.default_rng(seed)
    rows = np.zeros(n, equity_dtype(2))
    rows["ts"] = T0 + np.arange(n, dtype=np.int64) * 1_000_000_000 + rng.integers(0, 600_000, n)
    mid0 = 61_837.635 + np.cumsum(np.round(rng.normal(0.0, 4.0, n), 2))  # cent ticks, like the sample's
    spread_bps = rng.normal(-1.0, 0.4, n)
    mid1 = np.round(mid0 * (1 + spread_bps / 1e4), 2)
    rows["mid"][:, 0], rows["mid"][:, 1] = mid0, mid1
    rows["price"] = rows["mid"]
    rows["spread_bps"] = (mid1 - mid0) / mid0 * 1e4
    changes = np.sort(rng.choice(n, size=max(1, n // 300), replace=False))  # a fill every 5 minutes
    steps = np.zeros(n)
    steps[changes] = rng.choice([-0.001, 0.001], size=len(changes))
    rows["position"][:, 0] = np.cumsum(steps)
    rows["position"][:, 1] = -rows["position"][:, 0]
    cash = 8_091.88 - np.cumsum(steps * mid0)
    rows["equity_venue"][:, 0] = cash + rows["position"][:, 0] * mid0
    rows["equity_venue"][:, 1] = 8_091.88 + np.cumsum(steps * mid1) + rows["position"][:, 1] * mid1
    rows["equity"] = rows["equity_venue"].sum(axis=1)
    return rows


def _zlib(f: BinaryIO, rows: Array) -> None:
    np.savez_compressed(f, equity=rows)


def _stored(f: BinaryIO, rows: Array) -> None:
    np.savez(f, equity=rows)


WAYS: dict[str, Callable[[BinaryIO, Array], None]] = {
    "uncompressed (today)": _stored,
    "savez_compressed (reference)": _zlib,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=1.0, help="days of one-second samples (default 1)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds, each writing every way once (default 5)")
    args = parser.parse_args()
    rows = day_of_samples(args.days)
    times: dict[str, list[float]] = {name: [] for name in WAYS}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="arb-bench-report-") as folder:
        for _ in range(args.repeat):
            for name, write in WAYS.items():
                path = Path(folder) / "equity.npz"
                t0 = time.perf_counter()
                with atomic_writer(path) as f:
                    write(f, rows)
                times[name].append(time.perf_counter() - t0)
                sizes[name] = path.stat().st_size
                back = read_equity_npz(path)
                assert np.array_equal(back, rows), name  # every way reads back to the same samples
    print(f"equity.npz of {len(rows):,} samples ({args.days:g} day(s), {rows.nbytes / 1e6:.1f} MB raw), "
          f"median of {args.repeat}")  # fmt: skip
    reference = statistics.median(times["savez_compressed (reference)"])
    for name in WAYS:
        median = statistics.median(times[name])
        print(f"  {name:30s} {median * 1e3:8.1f} ms  {sizes[name] / 1e6:6.2f} MB  "
              f"({median / reference:.2f}x the reference's time)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(run_benchmark(main))
