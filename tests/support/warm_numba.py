"""Compile what most tests compile, once, into Numba's cache, before the test workers start.

A clean clone has an empty Numba cache: each pytest-xdist worker (and each ``arb`` child a test starts)
that reaches the kernel, the backtest loop or the live engine's step before another has cached it
compiles the same machine code again, and four workers doing so on two cores took minutes of the
suite. ``tests/conftest.py`` runs this module as a child process of the controller once, before the
workers start; what it compiles, every worker and child then loads from the cache (the package's
``__pycache__`` folders, or ``NUMBA_CACHE_DIR``). A cache that is already warm makes it a load of a few
seconds. It compiles from the shipped sample's configuration, without market data:

- the backtest loop and its cached helpers (the kernel, the risk gate), in the two halves
  ``arb.backtest.run.warm_loop_in_background`` uses, one process each (both cores);
- the live engine's compiled step, the kernel's live entry points and both venues' normalizers (what
  ``arb dry-run`` and ``arb live`` compile), here, beside the two halves.

Run as ``python -m tests.support.warm_numba`` from the repository's root; exits 0 when all of it
compiled (a failure is the tests' to find: the conftest carries on).
"""

from __future__ import annotations

__all__ = ["main", "warm"]

import sys
import time

from tests.support.captures import ROOT


def warm() -> None:
    """Compile (or load) the backtest loop in two other processes while this one does the live path."""
    from arb.backtest import run as bt
    from arb.config import load_config
    from arb.live.engine import Engine
    from arb.live.session_loop import warm_up_kernel
    from arb.recording.venues import make_normalizer

    config = load_config(ROOT / "config" / "arbitrage.toml")
    warming = bt.warm_loop_in_background(config)  # None: cached already
    warm_up_kernel(config)
    Engine(config)
    for venue in config.venues:
        make_normalizer(venue.name, venue.market, config.strategy.symbol)
    if warming is not None:
        warming.join()
        codes = [process.exitcode for process in warming.processes]
        if codes != [0, 0]:
            raise SystemExit(f"the backtest loop's warm-up processes exited {codes}")
    bt.warm_loop(config)  # loads what the two halves cached (compiles what a failed half left)


def main() -> int:
    """Warm the cache; print how long it took."""
    start = time.monotonic()
    warm()
    print(f"numba warm-up: {time.monotonic() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
