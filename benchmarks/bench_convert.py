"""Converter speed: arb's ``convert_files`` against hftbacktest's ``binancefutures.convert``.

Both convert the same USD-M capture to hftbacktest rows in this process, both including
hftbacktest's timestamp correction and event ordering, neither saving to disk. Each is run once to
compile (Numba) and then ``--repeat`` times; the best time counts. Prints messages/s and rows/s for
both and arb's speed-up. The figure is for the record (docs/performance.md); nothing asserts on it.

    python benchmarks/bench_convert.py [--file PATH] [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from pathlib import Path

from hftbacktest.data.utils import binancefutures

from arb.recording.convert import convert_files

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "tests" / "fixtures" / "binance_usdm_btcusdt_20240808.gz"


def _best(fn, repeat: int) -> tuple[float, int]:
    fn()  # compile and warm the page cache
    best = float("inf")
    rows = 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = fn()
        best = min(best, time.perf_counter() - started)
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path: Path = args.file

    messages = 0

    def ours() -> int:
        nonlocal messages
        result = convert_files([path], with_eod=False)
        messages = result.stats.messages
        return len(result.rows)

    def theirs() -> int:
        with contextlib.redirect_stdout(io.StringIO()):
            return len(binancefutures.convert(str(path), buffer_size=len_hint * 2))

    len_hint = 1_000_000
    arb_s, arb_rows = _best(ours, args.repeat)
    len_hint = arb_rows
    hbt_s, hbt_rows = _best(theirs, args.repeat)

    print(f"file: {path.name} ({path.stat().st_size / 1e6:.1f} MB gzip, {messages:,} messages)")
    print(f"{'converter':<34}{'seconds':>9}{'messages/s':>14}{'rows/s':>14}{'rows':>10}")
    for name, secs, rows in (
        ("arb convert_files", arb_s, arb_rows),
        ("hftbacktest binancefutures.convert", hbt_s, hbt_rows),
    ):
        print(f"{name:<34}{secs:>9.3f}{messages / secs:>14,.0f}{rows / secs:>14,.0f}{rows:>10,}")
    print(f"arb / hftbacktest speed: {hbt_s / arb_s:.2f}x (target >= 5x)")


if __name__ == "__main__":
    main()
