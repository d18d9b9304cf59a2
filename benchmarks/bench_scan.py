"""``arb scan``'s speed: a venue-symbol-day scanned against ``arb convert`` of the same day, a shard's memory
whatever the range, and the wall time of about 100 venue-symbol-days on this machine's cores.

Three parts, each printed beside its reference and the load average; nothing asserts on timings.

- ``convert`` (the reference): for each input (default: the USD-M capture, the sample's three BTCUSDT days of
  2024-08-08), in one warm process, alternately: the scan of the day (every row read with the venue's scan read
  into the top of book at every change, then the depth at 100 moments, as a shard does for its episodes), the
  same first pass with the day read through the venue's normalizer (as ``arb convert`` reads it), and
  ``convert_to_parts`` of the same file (what ``arb convert`` runs). Best and median of ``--repeat`` each, and
  the ratio; then where the scan's CPU goes (the lines inflated and split alone, the rows read without a book).
- ``memory``: the peak resident memory of a scan process over one shard and over every shard of ``--copies``
  copies of the sample (one worker): a shard's memory is its own, whatever the range.
- ``scale``: ``--copies`` copies of the shipped sample (each symbol renamed, so every copy is a symbol of its
  own: 3 symbols x 3 venues x 2 days = 18 venue-symbol-days a copy) scanned by ``run_shards`` on ``--workers``
  processes, the wall time, per venue-symbol-day, and the compressed megabytes read per second; from it the
  estimate for a month of 50 symbols on three venues (4,500 venue-symbol-days) on a 32-core cluster, at the
  sample's bytes per venue-symbol-day scaled from its 11 minutes to 24 hours.

    python benchmarks/bench_scan.py [--part convert|memory|scale|all] [--repeat 5] [--copies 6] [--workers 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import run_benchmark

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "recordings"
INPUTS = (
    ROOT / "tests" / "fixtures" / "binance_usdm_btcusdt_20240808.gz",
    SAMPLE / "binance_spot" / "btcusdt_20240808.gz",
    SAMPLE / "bybit_spot" / "btcusdt_20240808.gz",
    SAMPLE / "okx_spot" / "btcusdt_20240808.gz",
)
SYMBOLS = {"BTCUSDT": "BTC", "ETHUSDT": "ETH", "SOLUSDT": "SOL"}
VENUES = ("binance", "bybit", "okx")
SAMPLE_SPAN_S = 651.0  # the sample's session: 2024-08-08 23:54:13 to 2024-08-09 00:05:04


def _scan_day(path: Path, venue: str, market: str, symbol: str, moments: int, scan_read: bool = True) -> int:
    # A venue's day as a shard reads it (read_tops: the top at every change; with ``scan_read`` False through
    # the venue's normalizer, as arb convert reads), then, with ``moments``, the depth at that many moments from
    # the rows kept (a day with episodes); without, nothing is kept.
    import numpy as np

    from arb.scan.tops import DepthAt, read_tops

    kept: list[Any] = []

    def keep() -> Any:
        kept.clear()
        return lambda chunk: kept.append(chunk.copy())

    tops, _ = read_tops([path], keep if moments else None, venue=venue, market=market, symbol=symbol,
                        scan_read=scan_read)  # fmt: skip
    if moments:
        depth = DepthAt(np.linspace(tops.start_ns, tops.end_ns, moments).astype(np.int64), 50)
        for rows in kept:
            depth.add(rows)
        depth.finish()
    return len(tops.records)


def _inflate(path: Path) -> None:
    # The day's lines inflated and split as the scan's reading does, nothing read from them.
    from connectors.common.record_files import LineReader

    for _ in LineReader(path, 1 << 16).chunks(prefetch=8):
        pass


def _read_only(path: Path, venue: str, market: str, symbol: str) -> None:
    # The day's rows read as the scan reads them (the venue's scan read), no book.
    from arb.scan.tops import scan_rows

    scan_rows([path], lambda: lambda rows: None, venue=venue, market=market, symbol=symbol)


def _timed(fn: Any) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _identity(path: Path) -> tuple[str, str, str]:
    from arb.recording.venues import infer_venue, sniff

    venue, market = infer_venue(path)
    found = sniff(path)
    return venue, market or found.market or "spot", found.symbol or "BTCUSDT"


def part_convert(repeat: int) -> None:
    from arb.recording.convert import convert_to_parts

    print("a venue-symbol-day, warm, alternately: the scan's first pass (every row into the top of book at every "
          "change, read with the venue's scan read), the same with the depth at 100 moments (a day with episodes), "
          "the first pass read through the venue's normalizer instead (as arb convert reads), and "
          "convert_to_parts (arb convert, which deflates and books on two threads beside its reading); wall and "
          "CPU seconds")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="arb-bench-scan-") as work:
        for path in INPUTS:
            venue, market, symbol = _identity(path)
            target = Path(work) / "out.npz"
            records = _scan_day(path, venue, market, symbol, 100)  # warm (Numba's cache, the page cache)
            convert_to_parts([path], target, scan=True, merge=True)
            _scan_day(path, venue, market, symbol, 0, scan_read=False)
            runs: dict[str, list[tuple[float, float]]] = {
                "scan": [], "scan+depth": [], "normalizer": [], "convert": [], "inflate": [], "read": [],
            }  # fmt: skip
            for _ in range(repeat):
                runs["inflate"].append(_timed(lambda: _inflate(path)))  # noqa: B023
                runs["read"].append(_timed(lambda: _read_only(path, venue, market, symbol)))  # noqa: B023
                runs["scan"].append(_timed(lambda: _scan_day(path, venue, market, symbol, 0)))  # noqa: B023
                runs["normalizer"].append(_timed(lambda: _scan_day(path, venue, market, symbol, 0, False)))  # noqa: B023
                runs["scan+depth"].append(_timed(lambda: _scan_day(path, venue, market, symbol, 100)))  # noqa: B023
                runs["convert"].append(_timed(lambda: convert_to_parts([path], target, scan=True, merge=True)))  # noqa: B023
            best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in runs.items()}
            med = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
            conv = best["convert"]
            print(f"  {path.relative_to(ROOT)} ({path.stat().st_size / 1e6:.1f} MB, {records:,} top-of-book records):")
            for k in ("scan", "scan+depth", "normalizer", "convert"):
                w, c = best[k]
                ratio = "" if k == "convert" else f"; convert / this: wall {conv[0] / w:.2f}x, CPU {conv[1] / c:.2f}x"
                print(f"    {k:<11} best wall {w:.3f} s (median {med[k]:.3f} s), best CPU {c:.3f} s{ratio}")
            inflate, read, scan = best["inflate"][1], best["read"][1], best["scan"][1]
            print(
                f"    where the scan's CPU goes (best of each): inflating and splitting the lines {inflate:.3f} s, "
                f"reading the rows {read - inflate:.3f} s more, the top of book {scan - read:.3f} s more"
            )


def _copy_sample(into: Path, copies: int) -> int:
    # ``copies`` copies of the sample's symbols, each renamed (BTC -> BTCA, BTCB, ...); returns the bytes.
    total = 0
    for k in range(copies):
        for symbol, base in SYMBOLS.items():
            new = f"{base}{chr(ord('A') + k)}"
            for venue in VENUES:
                for src in sorted((SAMPLE / f"{venue}_spot").glob(f"{symbol.lower()}_*.gz")):
                    text = gzip.decompress(src.read_bytes())
                    for old, repl in ((f"{base}USDT", f"{new}USDT"), (f"{base.lower()}usdt", f"{new.lower()}usdt"),
                                      (f"{base}-USDT", f"{new}-USDT")):  # fmt: skip
                        text = text.replace(old.encode(), repl.encode())
                    dst = into / f"{venue}_spot" / src.name.replace(symbol.lower(), f"{new.lower()}usdt")
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    dst.write_bytes(gzip.compress(text, compresslevel=6, mtime=0))
                    total += dst.stat().st_size
    return total


_SCAN_PROBE = r"""
import json, resource, sys, time
from pathlib import Path
from arb.scan.plan import VenueCosts, plan_scan
from arb.scan.runner import run_shards
recordings, out, workers, first = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
costs = [VenueCosts(v, ("spot",), 0.001, 20_000_000) for v in ("binance", "bybit", "okx")]
plan = plan_scan(recordings, costs, threshold_bps=5.0, size_base=0.001)
shards = plan.shards[:first] if first else plan.shards
t0 = time.perf_counter()
done = run_shards(shards, out, workers=workers)
wall = time.perf_counter() - t0
self_, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "shards": len(done), "venue_days": sum(len(s.venues) for s in shards),
                  "bytes": sum(d.bytes_read for d in done), "problems": sum(len(d.problems) for d in done),
                  "cpu": self_.ru_utime + self_.ru_stime + kids.ru_utime + kids.ru_stime,
                  "rss_mb": max(self_.ru_maxrss, kids.ru_maxrss) / 1024}))
"""


def _scan_process(recordings: Path, out: Path, workers: int, first: int = 0) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", _SCAN_PROBE, str(recordings), str(out), str(workers), str(first)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True)  # fmt: skip
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def part_memory(copies: int) -> None:
    with tempfile.TemporaryDirectory(prefix="arb-bench-scan-") as work:
        recordings = Path(work) / "recordings"
        _copy_sample(recordings, copies)
        _scan_process(recordings, Path(work) / "warm", 1, 1)  # Numba's cache
        one = _scan_process(recordings, Path(work) / "one", 1, 1)
        every = _scan_process(recordings, Path(work) / "every", 1)
    print(f"memory: peak resident {one['rss_mb']:.0f} MB scanning 1 shard; {every['rss_mb']:.0f} MB scanning "
          f"{every['shards']:.0f} shards ({every['venue_days']:.0f} venue-symbol-days) one after another")  # fmt: skip


def part_scale(copies: int, workers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="arb-bench-scan-") as work:
        recordings = Path(work) / "recordings"
        size = _copy_sample(recordings, copies)
        _scan_process(recordings, Path(work) / "warm", 1, 1)
        f = _scan_process(recordings, Path(work) / "out", workers)
    per = f["wall"] / f["venue_days"]
    mb_s = f["bytes"] / 1e6 / f["wall"]
    print(f"scale: {f['venue_days']:.0f} venue-symbol-days ({f['shards']:.0f} shards, {size / 1e6:.1f} MB of "
          f"recordings, {f['bytes'] / 1e6:.1f} MB read with the days before) on {workers} workers: wall "
          f"{f['wall']:.1f} s ({per:.3f} s a venue-symbol-day), CPU {f['cpu']:.1f} s, {mb_s:.2f} MB/s read; "
          f"{f['problems']:.0f} problems")  # fmt: skip
    day_mb = size / f["venue_days"] / 1e6 * 86_400 / SAMPLE_SPAN_S
    cpu_per_mb = f["cpu"] / (f["bytes"] / 1e6)
    month = 4_500 * day_mb * cpu_per_mb / 32
    print(f"estimate: a month of 50 symbols on three venues (4,500 venue-symbol-days) on 32 cores, at the "
          f"sample's {day_mb:,.0f} MB a venue-symbol-day (its {size / f['venue_days'] / 1e6:.2f} MB per 11 min, "
          f"scaled to 24 h) and this run's {cpu_per_mb:.2f} CPU-s a MB: {month / 3600:,.1f} h "
          "(the CPU a MB includes the days read again before a day whose book never syncs alone)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("convert", "memory", "scale", "all"), default="all")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--copies", type=int, default=6, help="copies of the sample (18 venue-symbol-days each)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.part in ("convert", "all"):
        part_convert(args.repeat)
    if args.part in ("memory", "all"):
        part_memory(min(args.copies, 3))
    if args.part in ("scale", "all"):
        part_scale(args.copies, args.workers)


if __name__ == "__main__":
    run_benchmark(main)
