"""The backtest loop and its cached helpers can be compiled ahead, without data, for the types the
loop uses.

``arb.backtest.run.warm_loop`` compiles them from the configuration alone (what the first
``arb backtest`` does in two other processes while it converts the recordings). Each must end up with
exactly one compiled signature when the loop itself then runs: a second one would mean the warm-up
compiled types the loop never passes, and the loop paid the compile again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from arb._jit import _index_path
from arb.backtest import run as bt
from arb.backtest.compiled_loop import _run_loop
from arb.config import load_config
from tests.support.warm_numba import first_run_seen

ROOT = Path(__file__).resolve().parent.parent.parent


def test_warm_loop_compiles_what_the_loop_uses() -> None:
    config = load_config(ROOT / "config" / "arbitrage.toml")
    bt.warm_loop(config)
    loop = bt.Loop(config, _Span(), None)  # type: ignore[arg-type]  # only the span is read
    helpers = {fn for fn, _ in bt._helper_calls(loop)} | {_run_loop}
    before = {fn: len(fn.signatures) for fn in helpers}
    assert all(n >= 1 for n in before.values())
    result = bt.run_backtest(config)
    assert result.counters["decision_points"] > 0
    for fn in helpers:
        # _track is called from two places with the same types; every helper keeps the one signature
        assert len(fn.signatures) == before[fn], fn.py_func.__name__


def test_every_function_the_warm_up_compiles_is_in_numbas_cache() -> None:
    # What the halves compile is for the later processes to load: a helper Numba declines to cache (it
    # warns and goes on, as it does for code holding the address of a global) would compile again in each.
    config = load_config(ROOT / "config" / "arbitrage.toml")
    bt.warm_loop(config)
    loop = bt.Loop(config, _Span(), None)  # type: ignore[arg-type]  # only the span is read
    for fn in [fn for fn, _ in bt._helper_calls(loop)] + [_run_loop]:
        index = _index_path(fn)
        assert index is not None and os.path.exists(index), fn.py_func.__name__


def test_no_background_warm_up_once_cached() -> None:
    config = load_config(ROOT / "config" / "arbitrage.toml")
    bt.warm_loop(config)  # writes the cache (or finds it)
    assert bt.warm_loop_in_background(config) is None


def test_the_two_halves_split_the_helpers_the_loop_calls() -> None:
    # Half 0 compiles _STEP_HALF's helpers, half 1 the rest and then the loop: a name in _STEP_HALF that
    # is not one of the loop's helper calls would compile in neither half before the loop (the loop's half
    # would compile it inside the loop, and the halves stop ending together); the step comes last in half 0.
    from arb.backtest.compiled_loop import _STEP_HALF
    from arb.strategy.step import decide_symbol

    config = load_config(ROOT / "config" / "arbitrage.toml")
    loop = bt.Loop(config, _Span(), None)  # type: ignore[arg-type]  # only the span is read
    helpers = [fn for fn, _ in bt._helper_calls(loop)]
    assert set(_STEP_HALF) <= set(helpers) and len(set(_STEP_HALF)) == len(_STEP_HALF)
    assert _STEP_HALF[-1] is decide_symbol
    assert [fn for fn in helpers if fn not in _STEP_HALF], "half 1 would compile no helper before the loop"


class _Span:
    start_ns = 0
    end_ns = 0


_IMPORTS = (
    "import sys; from arb.config import load_config; from arb.backtest import run as bt; "
    "from arb.backtest.compiled_loop import _run_loop; "
)
_LOOP_CACHE = "sum(_run_loop.stats.cache_hits.values()), sum(_run_loop.stats.cache_misses.values())"


def _last_line(script: str, env: dict[str, str] | None = None) -> list[str]:
    # The words of the last line ``script`` prints, run in a new process given the sample's configuration
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS + script, str(ROOT / "config" / "arbitrage.toml")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    return done.stdout.strip().splitlines()[-1].split()


def test_a_later_process_loads_the_loop_from_the_cache() -> None:
    # The loop calls hftbacktest's library by symbol name (arb.backtest.hbt_abi), so its machine code is
    # cached: once one process has run it, the next links it instead of compiling it again.
    config = load_config(ROOT / "config" / "arbitrage.toml")
    assert bt.run_backtest(config).counters["decision_points"] > 0
    points, hits, misses = _last_line(
        f"r = bt.run_backtest(load_config(sys.argv[1])); print(r.counters['decision_points'], {_LOOP_CACHE})"
    )
    assert int(points) > 0
    assert (int(hits), int(misses)) == (1, 0)


def test_the_first_run_loads_the_loop_its_warm_up_compiled(tmp_path: Path) -> None:
    # As right after an install (an empty Numba cache of its own): the two warm-up processes compile
    # the helpers and the loop while the run waits and converts, and the run then loads the loop
    # from the cache instead of compiling it a second time. On a clean clone the suite's own warm-up
    # (tests/support/warm_numba.py, before the workers start) was that first run, on the repository's
    # empty cache: what it saw is checked, not compiled a third time; otherwise a new process does it.
    seen = first_run_seen()
    if seen is not None:
        exits = ",".join(str(code) for code in seen["exits"])
        points, hits, misses = seen["decision_points"], seen["loop_hits"], seen["loop_misses"]
    else:
        exits, points, hits, misses = _last_line(
            "config = load_config(sys.argv[1]); warming = bt.warm_loop_in_background(config); "
            "warming.make_room(); warming.join(); r = bt.run_backtest(config); "
            f"print(','.join(str(p.exitcode) for p in warming.processes), r.counters['decision_points'], "
            f"{_LOOP_CACHE})",
            env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")},
        )
    assert exits == "0,0"
    assert int(points) > 0
    assert (int(hits), int(misses)) == (1, 0)


def test_the_warm_up_forks_from_a_lone_thread_and_spawns_beside_others(tmp_path: Path) -> None:
    # A forked child inherits the locks other threads hold at the fork: with any running, the halves are
    # spawned. An empty Numba cache of its own (as right after an install), the halves stopped once started.
    script = (
        "import threading; config = load_config(sys.argv[1]); kinds = []\n"
        "def halves():\n"
        "    warming = bt.warm_loop_in_background(config)\n"
        "    kinds.append(sorted(type(p).__name__ for p in warming.processes))\n"
        "    for p in warming.processes: p.kill(); p.join()\n"
        "halves(); stop = threading.Event(); other = threading.Thread(target=stop.wait); other.start()\n"
        "halves(); stop.set(); other.join(); print(*(','.join(k) for k in kinds))"
    )
    alone, beside = _last_line(script, {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)})
    assert (alone, beside) == ("ForkProcess,ForkProcess", "SpawnProcess,SpawnProcess")
