"""Compile what most tests compile, once, into Numba's cache, before the test workers start.

A clean clone has an empty Numba cache: each pytest-xdist worker (and each ``arb`` child a test starts)
that reaches the kernel, the backtest loop or the live engine's step before another has cached it
compiles the same machine code again, and four workers doing so on two cores took minutes of the
suite. ``tests/conftest.py`` runs this module as a child process of the controller once, before the
workers start; what it compiles, every worker and child then loads from the cache (the package's
``__pycache__`` folders, or ``NUMBA_CACHE_DIR``). A cache that is already warm makes it a load of a few
seconds. From the shipped sample's configuration, as the image's build does (``Dockerfile``):

- a backtest of the shipped sample, as the first ``arb backtest`` runs it: the loop and its helpers (the
  kernel, the risk gate) compiled in its two warm-up processes while it converts the recordings (which
  compiles the converter, and writes the ``.npz`` files every worker's backtest of the sample reads);
- in another process beside it, the live engine's compiled step, the kernel's live entry points and
  both venues' normalizers (what ``arb dry-run`` and ``arb live`` compile).

Run as ``python -m tests.support.warm_numba`` from the repository's root; exits 0 when all of it
compiled (a failure is the tests' to find: the conftest carries on).
"""

from __future__ import annotations

__all__ = ["main", "warm", "warm_live"]

import multiprocessing
import sys
import time

from tests.support.captures import ROOT

SAMPLE = ROOT / "config" / "arbitrage.toml"


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


def warm() -> None:
    """The live path in a child process, the sample's backtest (with its own two) here."""
    from arb.backtest import run as bt
    from arb.config import load_config

    live = multiprocessing.get_context("spawn").Process(target=warm_live)
    live.start()
    try:
        result = bt.run_backtest(load_config(SAMPLE))
        assert result.counters["decision_points"] > 0
    finally:
        live.join()
    if live.exitcode != 0:
        raise SystemExit(f"the live path's warm-up process exited {live.exitcode}")


def main() -> int:
    """Warm the cache; print how long it took."""
    start = time.monotonic()
    warm()
    print(f"numba warm-up: {time.monotonic() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
