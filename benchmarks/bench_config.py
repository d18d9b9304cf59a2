"""Configuration load speed: ``load_config`` on the shipped files, beside reading and parsing the same
three files with ``tomllib`` alone (the floor any loader pays), measured in the same run.

Every command starts with ``load_config``; this prints its median and best time over ``--repeat``
loads (after one warm-up load, so imports and first-use caches are not counted), the TOML floor, and
the machine's load average. It also times the first load in a fresh interpreter (``import arb.config``
plus one load), which is what a command pays. Prints the figures; nothing asserts on them.

    python benchmarks/bench_config.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from machine import run_benchmark

from arb.config import load_config

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "arbitrage.toml"
FILES = [SHIPPED, ROOT / "config" / "binance.toml", ROOT / "config" / "bybit.toml"]

_FRESH = """
import time
started = time.perf_counter()
from arb.config import load_config
imported = time.perf_counter()
load_config({path!r}, warn=False)
print(imported - started, time.perf_counter() - imported)
"""


def _times(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def _parse_only() -> None:
    for path in FILES:
        tomllib.loads(path.read_bytes().decode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--fresh", type=int, default=5, help="fresh interpreters for the first-load figure")
    args = parser.parse_args()

    loads = _times(lambda: load_config(SHIPPED, warn=False), args.repeat)
    floor = _times(_parse_only, args.repeat)
    fresh = []
    for _ in range(args.fresh):
        done = subprocess.run(
            [sys.executable, "-c", _FRESH.format(path=str(SHIPPED))], check=True, capture_output=True, text=True
        )
        imported, loaded = (float(x) for x in done.stdout.split())
        fresh.append((imported, loaded))

    def us(x: float) -> str:
        return f"{x * 1e6:,.0f} us"

    print(f"load_config (shipped files, warm): median {us(statistics.median(loads))}, best {us(min(loads))}")
    print(f"tomllib parse of the same 3 files:  median {us(statistics.median(floor))}, best {us(min(floor))}")
    print(
        f"fresh interpreter: import arb.config median {us(statistics.median(f[0] for f in fresh))}, "
        f"first load_config median {us(statistics.median(f[1] for f in fresh))}"
    )


if __name__ == "__main__":
    run_benchmark(main)
