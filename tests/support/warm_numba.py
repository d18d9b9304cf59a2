"""Compile what most tests compile, once, into Numba's cache, before the test workers start.

A clean clone has an empty Numba cache: each pytest-xdist worker (and each ``arb`` child a test starts)
that reaches the kernel, the backtest loop or the live engine's step before another has cached it
compiles the same machine code again, and four workers doing so on two cores took minutes of the
suite. ``tests/conftest.py`` runs this module as a child process of the controller once, before the
workers start; what it compiles, every worker and child then loads from the cache (the package's
``__pycache__`` folders, or ``NUMBA_CACHE_DIR``). A cache that is already warm makes it a load of a few
seconds. From the shipped sample's configuration, as the image's build does (``Dockerfile``):

- a backtest of the shipped sample, as the first ``arb backtest`` runs it: the loop and its helpers (the
  kernel, the risk gate) compiled in its two warm-up processes (``arb.backtest.run.warm_loop_in_background``),
  the converter's compiled path meanwhile here (the sample's small days convert without it, the tests of
  the converter use it), then the run, which converts the recordings (writing the ``.npz`` files every
  worker's backtest of the sample reads) and loads the loop from the cache;
- in another process beside it, the live engine's compiled step, the kernel's live entry points and
  both venues' normalizers (what ``arb dry-run`` and ``arb live`` compile).

Run as ``python -m tests.support.warm_numba`` from the repository's root; exits 0 when all of it
compiled (a failure is the tests' to find: the conftest carries on). When the cache was empty (a clean
clone, or sources changed since it was written), that backtest is the first run after an install that
``tests/unit/test_loop_warm.py`` checks: what it saw (:data:`RECORD_ENV`) lets the test read it instead of
compiling everything once more in a cache of its own.
"""

from __future__ import annotations

__all__ = ["RECORD_ENV", "first_run_seen", "main", "warm", "warm_converter", "warm_live"]

import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "arbitrage.toml"
RECORD_ENV = "ARB_TESTS_NUMBA_WARM_RECORD"
"""The environment variable naming the file the warm-up writes what its backtest saw to (the conftest sets
it for the warm-up child and the workers): :func:`first_run_seen` reads it."""


def warm_live() -> None:
    """Compile (or load) what arb dry-run and arb live compile before their first tick, for the sample."""
    from arb.config import load_config
    from arb.live.engine import Engine
    from arb.live.session_loop import warm_up_kernel
    from arb.recording.venues import make_normalizer

    config = load_config(SAMPLE)
    warm_up_kernel(config)
    Engine(config)
    for venue in config.venues:
        make_normalizer(venue.name, venue.market, config.strategy.symbol)


def warm_converter(config: Any) -> None:
    """Compile (or load) the converter as a large day converts (the sample's days convert without it),
    on each venue's first recorded day, into a scratch folder."""
    import tempfile

    from arb.recording.convert import convert_to_parts
    from arb.recording.sources import find_day_files

    for venue in config.venues:
        days = find_day_files(config.backtest.recordings, venue.name, venue.market, config.strategy.symbol)
        files = days[min(days)]
        with tempfile.TemporaryDirectory(prefix="arb-warm-") as scratch:
            convert_to_parts(list(files.inputs), Path(scratch) / "day.npz", venue=venue.name, market=venue.market,
                             symbol=config.strategy.symbol, local_offset_ns=0, scan=False, merge=False,
                             allow_unsynced=True, fmt=files.source, plain=False)  # fmt: skip


def warm() -> dict[str, Any]:
    """The live path in a child process, the sample's backtest (with its own two) here; what the backtest
    saw: ``cold`` (the loop's helpers were not in the cache: its warm-up processes compiled them, as after
    an install), their exit codes, the run's decision points and its loop's cache hits and misses."""
    from arb.backtest import run as bt
    from arb.backtest.compiled_loop import _run_loop
    from arb.config import load_config

    live = multiprocessing.get_context("spawn").Process(target=warm_live)
    live.start()
    try:
        config = load_config(SAMPLE)
        warming = bt.warm_loop_in_background(config)  # None: the cache holds them already
        if warming is not None:  # what the first arb backtest does, as the test runs it
            warming.make_room()
            warm_converter(config)  # the backtest converts the sample without Numba; the tests compile it
            warming.join()
        result = bt.run_backtest(config)
        assert result.counters["decision_points"] > 0
    finally:
        live.join()
    if live.exitcode != 0:
        raise SystemExit(f"the live path's warm-up process exited {live.exitcode}")
    return {
        "cold": warming is not None,
        "exits": [p.exitcode for p in warming.processes] if warming is not None else [],
        "decision_points": int(result.counters["decision_points"]),
        "loop_hits": sum(_run_loop.stats.cache_hits.values()),
        "loop_misses": sum(_run_loop.stats.cache_misses.values()),
    }


def first_run_seen() -> dict[str, Any] | None:
    """What this run's warm-up backtest saw (:func:`warm`), when it ran from an empty cache; None when the
    run had no warm-up (one process, no compilation), the cache held the loop already, or it failed."""
    path = os.environ.get(RECORD_ENV)
    if not path or not Path(path).exists():
        return None
    seen: dict[str, Any] = json.loads(Path(path).read_text())
    return seen if seen["cold"] else None


def main() -> int:
    """Warm the cache; print how long it took."""
    start = time.monotonic()
    seen = warm()
    record = os.environ.get(RECORD_ENV)
    if record:
        Path(record).write_text(json.dumps(seen))
    print(f"numba warm-up: {time.monotonic() - start:.1f} s ({'cold' if seen['cold'] else 'cached'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
