"""Converter speed: arb's ``convert_files`` against hftbacktest's ``binancefutures.convert``.

Both convert the same USD-M capture to hftbacktest rows in memory in this process, both including
hftbacktest's ``correct_local_timestamp``, ``correct_event_order`` and ``validate_event_order``,
neither saving to disk. Each is run once to compile (Numba) and warm the page cache, then the two
are run alternately ``--repeat`` times each (so a busy neighbour slows both alike); the best time of
each counts. Prints messages/s and rows/s for both, arb's speed-up, and how much of arb's time is
hftbacktest's corrections (a fixed cost both sides pay). The figure is for the record
(docs/performance.md); nothing asserts on it.

    python benchmarks/bench_convert.py [--file PATH] [--repeat 7]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from hftbacktest.data.utils import binancefutures
from machine import run_benchmark

from arb.events import EventArray
from arb.recording.convert import _correct, convert_files
from connectors.binance.normalize import BinanceNormalizer
from connectors.common.record_files import LineReader

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "tests" / "fixtures" / "binance_usdm_btcusdt_20240808.gz"


def _corrected_rows(rows: EventArray) -> int:
    return len(_correct(rows, 0, None)[0])


def _timed(fn: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    rows = fn()
    return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=7)
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
    _, arb_rows = _timed(ours)  # compile and warm the page cache
    len_hint = arb_rows
    theirs()
    arb_s = hbt_s = float("inf")
    hbt_rows = 0
    for _ in range(args.repeat):
        secs, arb_rows = _timed(ours)
        arb_s = min(arb_s, secs)
        secs, hbt_rows = _timed(theirs)
        hbt_s = min(hbt_s, secs)

    normalizer = BinanceNormalizer()  # the rows as the corrections receive them
    for chunk in LineReader(path).chunks():
        normalizer.on_chunk(chunk, lambda line: None)
    raw = normalizer.sink.take()
    copies = [raw.copy() for _ in range(args.repeat)]  # the correction shifts local_ts in place
    fixed_s = min(_timed(partial(_corrected_rows, rows))[0] for rows in copies)

    print(f"file: {path.name} ({path.stat().st_size / 1e6:.1f} MB gzip, {messages:,} messages)")
    print(f"{'converter':<34}{'seconds':>9}{'messages/s':>14}{'rows/s':>14}{'rows':>10}")
    for name, secs, rows in (
        ("arb convert_files", arb_s, arb_rows),
        ("hftbacktest binancefutures.convert", hbt_s, hbt_rows),
    ):
        print(f"{name:<34}{secs:>9.3f}{messages / secs:>14,.0f}{rows / secs:>14,.0f}{rows:>10,}")
    print(f"arb / hftbacktest speed: {hbt_s / arb_s:.2f}x (target >= 5x)")
    print(f"of arb's {arb_s:.3f} s, hftbacktest's corrections take {fixed_s:.3f} s")


if __name__ == "__main__":
    run_benchmark(main)
