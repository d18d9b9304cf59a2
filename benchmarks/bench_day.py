"""A whole day of Binance USD-M BTCUSDT ``depth@0ms``: ``arb convert`` and ``arb backtest`` in bounded memory.

Generates a recording of ``--hours`` (default 24) hours in a temporary folder from the real capture
``tests/fixtures/binance_usdm_btcusdt_20240808.gz`` (about 5 3/4 minutes, 93,954 messages): the
session is replayed again and again, each copy shifted by one session length in local and exchange
time (``E``, ``T`` and the 19-digit receive time) and in update ids (``U``, ``u``, ``pu``, the
bookTicker's ``u``) and trade ids, so that every copy's first diff continues the previous copy's last
(``pu`` = previous ``u``). The REST snapshot stays in the first copy only: the book is synced from
there on, and a later copy's snapshot would be older than the diffs already applied (the converter
would resync on it). Numbers keep their width, so a copy is the original bytes with digits rewritten.

Then, each in a fresh process, timed and with its peak RSS (``os.wait4``): ``arb convert`` of the
small capture and of the day (``--chunk-rows``, default the converter's), and ``arb backtest`` over
the shipped sample and over the day (Binance USD-M beside the sample's first Bybit file moved to the
same day; Bybit goes stale after its ten minutes, Binance runs the whole day). Prints the figures and
the day's row count; nothing is asserted. Nothing is written inside the repository.

    python benchmarks/bench_day.py [--hours 24] [--chunk-rows N] [--no-backtest] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numba as nb
import numpy as np
from isal import igzip
from machine import run_benchmark

from arb.testing.configs import write_config_files
from connectors.common.record_files import LineReader

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tests" / "fixtures" / "binance_usdm_btcusdt_20240808.gz"
BYBIT = ROOT / "recordings" / "bybit_spot" / "btcusdt_20240808.gz"
DAY = dt.date(2024, 8, 10)
NS_PER_MS = 1_000_000

# Field kinds: what a number is shifted by in copy k (k times the kind's step).
LOCAL, EXCH_MS, UPDATE_ID, TRADE_ID = 0, 1, 2, 3
_FIELDS = re.compile(rb'"(E|T|U|u|pu|lastUpdateId|t)":(\d+)')
_KIND = {b"E": EXCH_MS, b"T": EXCH_MS, b"U": UPDATE_ID, b"u": UPDATE_ID, b"pu": UPDATE_ID, b"lastUpdateId": UPDATE_ID,
         b"t": TRADE_ID}  # fmt: skip


def _inflate(path: Path) -> bytes:
    return b"".join(bytes(c) for c in LineReader(path).chunks())


Array = np.ndarray[Any, Any]


def _template(text: bytes) -> tuple[Array, Array, Array, Array, Array]:
    # Every number to shift: (offset, width, kind, value), and where each line starts.
    starts = np.array([0, *[m.end() for m in re.finditer(rb"\n", text)][:-1]], np.int64)
    offs, widths, kinds, values = [], [], [], []
    for s in starts.tolist():
        offs.append(s)
        widths.append(19)
        kinds.append(LOCAL)
        values.append(int(text[s : s + 19]))
    for m in _FIELDS.finditer(text):
        offs.append(m.start(2))
        widths.append(m.end(2) - m.start(2))
        kinds.append(_KIND[m.group(1)])
        values.append(int(m.group(2)))
    order = np.argsort(np.array(offs), kind="stable")
    return (np.array(offs)[order], np.array(widths)[order], np.array(kinds)[order], np.array(values, np.int64)[order],
            starts)  # fmt: skip


@nb.njit(cache=True)
def _rewrite(buf: Array, offs: Array, widths: Array, kinds: Array, values: Array, shift: Array) -> int:
    # Write value + shift[kind] over each field, same width; -1 when a number would need more digits.
    for i in range(offs.shape[0]):
        v = values[i] + shift[kinds[i]]
        w = widths[i]
        for j in range(w - 1, -1, -1):
            buf[offs[i] + j] = 48 + v % 10
            v //= 10
        if v != 0:
            return -1
    return 0


def generate_day(out: Path, hours: float, source: Path = SOURCE) -> tuple[int, int, float]:
    """Write ``hours`` of the replayed session to ``out`` (gzip); return (lines, copies, seconds)."""
    started = time.perf_counter()
    text = _inflate(source)
    offs, widths, kinds, values, starts = _template(text)
    local = values[kinds == LOCAL]
    diffs = [m for m in re.finditer(rb'"U":(\d+),"u":(\d+),"pu":(\d+)', text)]
    first_pu, last_u = int(diffs[0].group(3)), int(diffs[-1].group(2))
    trades = [int(m.group(1)) for m in re.finditer(rb'"t":(\d+)', text)]
    id_step = last_u - first_pu  # copy k's first pu = copy k-1's last u
    trade_step = max(trades) - min(trades) + 1
    period_ms = (int(local[-1]) - int(local[0])) // NS_PER_MS + 1  # one session, in whole ms
    day_start = int(dt.datetime.combine(DAY, dt.time(), dt.UTC).timestamp()) * 10**9
    base_ms = (day_start - int(local[0])) // NS_PER_MS + 1  # the first line just after midnight
    end = day_start + int(hours * 3600 * 10**9)
    snap_at = text.index(b' {"lastUpdateId"') - 19  # the REST snapshot's line
    snap_end = text.index(b"\n", snap_at) + 1
    snap_line = int(np.searchsorted(starts, snap_at))
    buf = np.frombuffer(text, np.uint8).copy()
    lines = copies = 0
    with igzip.open(out, "wb", compresslevel=1) as f:  # type: ignore[no-untyped-call]  # isal has no stubs
        k = 0
        while True:
            shift_ms = base_ms + k * period_ms
            if int(local[0]) + shift_ms * NS_PER_MS >= end:
                break
            shift = np.array([shift_ms * NS_PER_MS, shift_ms, k * id_step, k * trade_step], np.int64)
            if _rewrite(buf, offs, widths, kinds, values, shift) != 0:
                raise SystemExit(f"copy {k}: a number outgrew its width; use fewer --hours")
            keep = int(np.searchsorted(local + shift_ms * NS_PER_MS, end))  # lines before the end
            stop = int(starts[keep]) if keep < len(starts) else len(buf)
            if k == 0:
                f.write(buf[:stop].tobytes())
            else:  # the book is synced from the first copy on: later copies need no snapshot
                f.write(buf[: min(snap_at, stop)].tobytes())
                f.write(buf[snap_end:stop].tobytes() if stop > snap_end else b"")
                keep -= snap_line < keep
            lines += keep
            copies += 1
            k += 1
    return lines, copies, time.perf_counter() - started


def move_bybit(out: Path, source: Path = BYBIT) -> None:
    """The sample's Bybit file with every time moved by whole days onto ``DAY``."""
    text = _inflate(source)
    first = int(text[:19])
    days = (int(dt.datetime.combine(DAY, dt.time(), dt.UTC).timestamp()) * 10**9 - first) // (86400 * 10**9) + 1
    ms = days * 86_400_000

    def field(m: re.Match[bytes]) -> bytes:
        return m.group(1) + str(int(m.group(2)) + ms).encode()

    lines = []
    for line in text.splitlines():
        ts, payload = line[:19], line[20:]
        lines.append(b"%019d %s\n" % (int(ts) + ms * NS_PER_MS, re.sub(rb'("(?:ts|cts|T)":)(\d+)', field, payload)))
    with igzip.open(out, "wb", compresslevel=3) as f:  # type: ignore[no-untyped-call]  # isal has no stubs
        f.write(b"".join(lines))


def measured(argv: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run ``argv``: (wall seconds, peak RSS in MiB, its output); exits when it fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{output}")
    return wall, usage.ru_maxrss / 1024, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=24.0, help="hours of data to generate (default 24)")
    parser.add_argument("--chunk-rows", type=int, default=None, help="arb convert --chunk-rows (default: its own)")
    parser.add_argument("--no-backtest", action="store_true", help="convert only")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="arb-bench-day-"))
    work.mkdir(parents=True, exist_ok=True)
    arb = [str(Path(sys.executable).with_name("arb"))]
    try:
        recordings = work / "recordings"
        day_file = recordings / "binance_linear" / f"btcusdt_{DAY:%Y%m%d}.gz"
        day_file.parent.mkdir(parents=True, exist_ok=True)
        lines, copies, gen_s = generate_day(day_file, args.hours)
        print(f"generated {args.hours:g} h: {copies} copies of {SOURCE.name}, {lines:,} lines, "
              f"{day_file.stat().st_size / 2**20:,.0f} MiB gzip, in {gen_s:.0f} s")  # fmt: skip
        chunk = ["--chunk-rows", str(args.chunk_rows)] if args.chunk_rows else []
        measured([*arb, "-q", "convert", str(SOURCE), "-o", str(work / "warm.npz")], work)  # compile, page cache
        rows = []
        small = measured([*arb, "convert", str(SOURCE), "-o", str(work / "small.npz"), *chunk], work)
        rows.append(("arb convert, the capture (5.7 min)", small))
        big = measured([*arb, "convert", str(day_file), "-o", str(work / "day.npz"), *chunk], work)
        rows.append((f"arb convert, the generated day ({args.hours:g} h)", big))
        print(big[2].strip())
        if not args.no_backtest:
            sample = work / "sample"
            shutil.copytree(ROOT / "recordings", sample / "recordings", ignore=shutil.ignore_patterns("*.npz"))
            config = write_config_files(sample)
            bt_small = measured([*arb, "backtest", "--config", str(config), "--out", str(sample / "out")], sample)
            rows.append(("arb backtest, the shipped sample (cold cache: converts)", bt_small))
            (recordings / "bybit_spot").mkdir(exist_ok=True)
            move_bybit(recordings / "bybit_spot" / f"btcusdt_{DAY:%Y%m%d}.gz")
            config = write_config_files(work, binance_overrides={"market": "linear"})
            bt_day = measured([*arb, "backtest", "--config", str(config), "--out", str(work / "out")], work)
            rows.append(("arb backtest, the day (cold cache: converts)", bt_day))
            bt_warm = measured([*arb, "backtest", "--config", str(config), "--out", str(work / "out")], work)
            rows.append(("arb backtest, the day (cached parts)", bt_warm))
            print("\n".join(line for line in bt_warm[2].splitlines() if "rows" in line or "events" in line))
        day_rows = re.search(r"-> ([\d,]+) rows", big[2])
        print(f"\nday rows: {day_rows.group(1) if day_rows else '?'} "
              f"(from {lines:,} lines; {args.hours:g} h)")  # fmt: skip
        print(f"{'run':<58} {'wall s':>8} {'peak RSS MiB':>13}")
        for name, (wall, rss, _) in rows:
            print(f"{name:<58} {wall:>8.1f} {rss:>13,.0f}")
        if args.hours < 24:
            print(f"(a full day is about {24 / args.hours:.1f} times the day's rows and convert time; memory stays)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_benchmark(main)
