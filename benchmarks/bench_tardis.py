"""A whole day of Tardis.dev CSV: ``arb convert`` beside hftbacktest's own Tardis converter, as processes.

Generates ``--hours`` (default 24) of Tardis's ``incremental_book_L2`` and ``trades`` files for Binance spot
BTCUSDT in a temporary folder, from the real captures: the sample's 11-minute session
(``recordings/binance_spot``, both days) is first written as Tardis's rows the way Tardis builds them
(``arb.testing.history_files.tardis_from``), then replayed again and again, each copy moved by one
session length in both time columns (``timestamp``, ``local_timestamp``); the first copy starts with the
book snapshot, later ones continue the book with updates only (a day has one snapshot, at 00:00 UTC).
Numbers keep their width: a copy is the original bytes with digits rewritten.

Then, each as a process of its own, timed with its peak RSS (``os.wait4``), in the same run:

- ``arb convert BOOK TRADES -o day.npz`` (``--chunk-rows`` as given, default the converter's): parts of
  at most a chunk, hftbacktest's corrections, the end-of-day book;
- ``hftbacktest.data.utils.tardis.convert([TRADES, BOOK], output_filename=...)``: hftbacktest's converter
  (trades first, as its docstring asks), which holds the whole day and saves one ``.npz``.

Each runs once first (Numba compiles and caches; the page cache fills), then both alternately ``--repeat``
times; the best of each counts. Prints both, the ratio, the peak RSS of each, the rows and the load
average before and after (other processes share the cores). Nothing is asserted; nothing is written
inside the repository.

    python benchmarks/bench_tardis.py [--hours 24] [--repeat 2] [--chunk-rows N] [--keep DIR]
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

from arb.recording.tardis import HEADERS
from arb.testing.history_files import tardis_from
from connectors.common.textfile import TextChunks

ROOT = Path(__file__).resolve().parent.parent
SESSION = [ROOT / "recordings" / "binance_spot" / f"btcusdt_2024080{d}.gz" for d in (8, 9)]
DAY = dt.date(2024, 8, 10)
HBT = (
    "import sys; from hftbacktest.data.utils import tardis; "
    "tardis.convert(sys.argv[1:3], output_filename=sys.argv[3], buffer_size=int(sys.argv[4]))"
)
_TIMES = re.compile(rb"^[^,]*,[^,]*,(\d{16}),(\d{16}),", re.M)
Array = np.ndarray[Any, Any]


def _text(path: Path) -> bytes:
    return b"".join(bytes(c) for c in TextChunks(path))


@nb.njit(cache=True)
def _rewrite(buf: Array, offs: Array, values: Array, shift: int) -> None:
    # Write value + shift over each 16-digit time field.
    for i in range(offs.shape[0]):
        v = values[i] + shift
        for j in range(15, -1, -1):
            buf[offs[i] + j] = 48 + v % 10
            v //= 10


class _Template:
    # One data type's rows of the session (after the header), with the offsets and values of its times.
    def __init__(self, body: bytes) -> None:
        self.buf = np.frombuffer(body, np.uint8).copy()
        offs, values, starts, local = [], [], [], []
        for m in _TIMES.finditer(body):
            starts.append(m.start())
            for g in (1, 2):
                offs.append(m.start(g))
                values.append(int(m.group(g)))
            local.append(int(m.group(2)))
        self.offs = np.array(offs, np.int64)
        self.values = np.array(values, np.int64)
        self.starts = np.array(starts, np.int64)
        self.local = np.array(local, np.int64)

    def copy(self, shift: int, end_us: int, skip_to: int = 0) -> tuple[bytes, int]:
        # The rows moved by ``shift`` us, from row ``skip_to``, those before ``end_us`` (local): (bytes, rows).
        _rewrite(self.buf, self.offs, self.values, shift)
        keep = int(np.searchsorted(self.local + shift, end_us))
        if keep <= skip_to:
            return b"", 0
        stop = int(self.starts[keep]) if keep < len(self.starts) else len(self.buf)
        return self.buf[int(self.starts[skip_to]) : stop].tobytes(), keep - skip_to


def generate(out: Path, hours: float) -> tuple[Path, Path, int, int, float]:
    """Write ``hours`` of Tardis files for ``DAY`` into ``out``: (book, trades, book rows, trade rows, seconds)."""
    started = time.perf_counter()
    session = tardis_from("binance", SESSION, out / "session", market="spot", level=6)  # as big as the venue's
    kinds = {"incremental_book_L2": [], "trades": []}  # type: dict[str, list[bytes]]
    for (kind, _), path in sorted(session.items()):
        kinds[kind].append(_text(path).split(b"\n", 1)[1])
    # the book: the first snapshot, then updates only (the second day's 00:00 snapshot dropped)
    day1, day2 = kinds["incremental_book_L2"]
    first_update = day2.index(b",false,")
    day2 = day2[day2.rindex(b"\n", 0, first_update) + 1 :]
    book = _Template(day1 + day2)
    snapshot_rows = day1[: day1.rindex(b"\n", 0, day1.index(b",false,")) + 1].count(b"\n")
    trades = _Template(b"".join(kinds["trades"]))
    period = int(book.local[-1] - book.local[0]) + 1_000  # us
    start_us = int(dt.datetime.combine(DAY, dt.time(), dt.UTC).timestamp()) * 1_000_000
    end_us = start_us + int(hours * 3600 * 1_000_000)
    base = start_us - int(book.local[0]) + 1
    paths = {k: out / f"binance_{k}_{DAY:%Y-%m-%d}_BTCUSDT.csv.gz" for k in kinds}
    rows = {k: 0 for k in kinds}
    with (
        igzip.open(paths["incremental_book_L2"], "wb", compresslevel=3) as fb,  # type: ignore[no-untyped-call]
        igzip.open(  # type: ignore[no-untyped-call]
            paths["trades"], "wb", compresslevel=3
        ) as ft,
    ):
        fb.write(HEADERS["incremental_book_L2"] + b"\n")
        ft.write(HEADERS["trades"] + b"\n")
        k = 0
        while base + k * period + int(book.local[0]) < end_us:
            shift = base + k * period
            data, n = book.copy(shift, end_us, 0 if k == 0 else snapshot_rows)
            fb.write(data)
            rows["incremental_book_L2"] += n
            data, n = trades.copy(shift, end_us)
            ft.write(data)
            rows["trades"] += n
            k += 1
    shutil.rmtree(out / "session")
    return (
        paths["incremental_book_L2"],
        paths["trades"],
        rows["incremental_book_L2"],
        rows["trades"],
        (time.perf_counter() - started),
    )


def measured(argv: list[str], cwd: Path) -> tuple[float, float, str, float]:
    """Run ``argv``: (wall seconds, peak RSS in MiB, its output, CPU seconds of all its threads); exits when it
    fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{output}")
    return wall, usage.ru_maxrss / 1024, output, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=24.0, help="hours of data to generate (default 24)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs of each converter after the first")
    parser.add_argument("--chunk-rows", type=int, default=None, help="arb convert --chunk-rows (default: its own)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="arb-bench-tardis-"))
    work.mkdir(parents=True, exist_ok=True)
    arb = str(Path(sys.executable).with_name("arb"))
    try:
        book, trades, book_rows, trade_rows, gen_s = generate(work, args.hours)
        size = (book.stat().st_size + trades.stat().st_size) / 2**20
        print(f"generated {args.hours:g} h of Binance spot BTCUSDT as Tardis CSV: {book_rows:,} book rows, "
              f"{trade_rows:,} trades, {size:,.0f} MiB gzip, in {gen_s:.0f} s")  # fmt: skip
        chunk = ["--chunk-rows", str(args.chunk_rows)] if args.chunk_rows else []
        ours = [arb, "-q", "convert", str(book), str(trades), "-o", str(work / "arb.npz"), *chunk]
        buffer = str(int((book_rows + trade_rows) * 1.2) + 1_000_000)
        theirs = [sys.executable, "-c", HBT, str(trades), str(book), str(work / "hbt.npz"), buffer]
        first_ours = measured(ours, work)
        first_theirs = measured(theirs, work)
        best_ours, best_theirs = first_ours, first_theirs
        for _ in range(args.repeat):
            got = measured(ours, work)
            best_ours = got if got[0] < best_ours[0] else best_ours
            got = measured(theirs, work)
            best_theirs = got if got[0] < best_theirs[0] else best_theirs
        said = re.search(r"-> ([\d,]+) rows", best_ours[2])
        arb_rows = said.group(1) if said else "?"
        print(f"{'converter (whole process)':<40}{'first s':>9}{'best s':>9}{'its CPU s':>11}{'peak RSS MiB':>14}")
        for name, first, best in (
            ("arb convert --format tardis", first_ours, best_ours),
            ("hftbacktest.data.utils.tardis.convert", first_theirs, best_theirs),
        ):
            print(f"{name:<40}{first[0]:>9.1f}{best[0]:>9.1f}{best[3]:>11.1f}{max(first[1], best[1]):>14,.0f}")
        print(f"arb rows written: {arb_rows} in {len(list(work.glob('arb*.npz'))) - 1} parts")
        print(f"speed: arb {best_theirs[0] / best_ours[0]:.2f}x hftbacktest's converter (target >= 3x), "
              f"{best_theirs[3] / best_ours[3]:.2f}x in CPU time; "
              f"peak RSS {max(first_ours[1], best_ours[1]):,.0f} MiB against "
              f"{max(first_theirs[1], best_theirs[1]):,.0f} MiB")  # fmt: skip
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_benchmark(main)
