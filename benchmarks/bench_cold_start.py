"""Cold start: the README's first command on a fresh clone, and ``arb convert`` against hftbacktest's converter.

Clones this repository's HEAD into a temporary folder, makes a fresh virtualenv there and runs
``pip install .`` (timed on its own), then times, each as a whole process:

1. ``arb convert`` of the USD-M capture the very first time after the install (nothing in Numba's
   cache yet), then hftbacktest's ``binancefutures.convert`` on the same file, then both again
   alternately ``--repeat`` times with arb's cache warm (best of each counts; hftbacktest's converter
   has no cache: every process compiles it).
2. With arb's Numba cache emptied again (as right after ``pip install .``) and no conversion cache:
   the first ``arb backtest`` on the shipped sample, then a second one.
3. ``arb sweep`` of a 4-point grid on 2 local workers, with Numba's cache as the backtests left it,
   then with it emptied again (the first sweep after an install): the whole sweep and each worker's
   time to be ready (what the sweep reports as its compile time).

Each figure is printed beside its reference from the same run (15 s for the first backtest, 5 s for
the second, 10 s for a sweep worker to be ready; 3x hftbacktest's converter process for
``arb convert``), and the machine's load average before and after (other processes share the cores:
a busy neighbour stretches every figure).
Nothing asserts on timings.

    python benchmarks/bench_cold_start.py [--repeat 3] [--keep DIR] [--rev REV]

``--rev`` measures another commit of the repository (an earlier one, for a before/after).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from machine import run_benchmark

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = Path("tests") / "fixtures" / "binance_usdm_btcusdt_20240808.gz"
HBT_CONVERT = (
    "import sys; from hftbacktest.data.utils import binancefutures; "
    "binancefutures.convert(sys.argv[1], output_filename=sys.argv[2], buffer_size=2_000_000)"
)
FIRST_BACKTEST_TARGET_S = 15.0
SECOND_BACKTEST_TARGET_S = 5.0
WORKER_READY_TARGET_S = 10.0
GRID = """\
[grid]
"strategy.min_spread_bps" = [1.0, 2.0]
"strategy.cooldown_ms" = [0, 1000]
"""
CONVERT_TARGET_X = 3.0


def _timed(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def _sweep(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    # (wall seconds, the sweep's line of each worker's one-off compile time)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    line = next((x.strip() for x in done.stdout.splitlines() if "compiled once" in x), "?")
    return wall, line


def _drop_numba_cache(site: Path) -> int:
    # What arb._numba_cache deletes when arb's sources change: the state right after ``pip install .``.
    dropped = 0
    for package in ("arb", "connectors"):
        for path in (site / package).rglob("*.nb[ic]"):
            path.unlink()
            dropped += 1
    return dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="warm runs of each converter")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("--rev", default="HEAD", help="the commit to measure (default: HEAD)")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="arb-cold-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        _run(work, args.repeat, args.rev)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def _run(work: Path, repeat: int, rev: str) -> None:
    repo = work / "repo"
    venv = work / "venv"
    out = work / "out"
    if repo.exists():
        shutil.rmtree(repo)
    if venv.exists():
        shutil.rmtree(venv)
    head = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True).stdout
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    subprocess.run(["git", "checkout", "-q", head.strip()], cwd=repo, check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    venv_s = _timed([sys.executable, "-m", "venv", str(venv)], work, env)
    install_s = _timed([str(venv / "bin" / "pip"), "install", "-q", "."], repo, env)
    python = str(venv / "bin" / "python")
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    arb = str(venv / "bin" / "arb")

    capture = repo / CAPTURE
    ours = [arb, "-q", "convert", str(capture), "-o", str(out / "arb.npz")]
    theirs = [python, "-c", HBT_CONVERT, str(capture), str(out / "hbt.npz")]
    out.mkdir(exist_ok=True)
    _drop_numba_cache(site)
    convert_first = _timed(ours, repo, env)
    hbt_first = _timed(theirs, repo, env)
    convert_warm = hbt_warm = float("inf")
    for _ in range(repeat):
        convert_warm = min(convert_warm, _timed(ours, repo, env))
        hbt_warm = min(hbt_warm, _timed(theirs, repo, env))

    _drop_numba_cache(site)
    for npz in (repo / "recordings").rglob("*.npz"):
        npz.unlink()
    backtest = [arb, "-q", "backtest", "--out", str(out / "backtest")]
    first = _timed(backtest, repo, env)
    second = _timed(backtest, repo, env)
    grid = work / "grid.toml"
    grid.write_text(GRID)
    sweep = [arb, "sweep", "--grid", str(grid), "--workers", "2", "--out", str(out / "sweep")]
    sweep_warm = _sweep(sweep, repo, env)
    _drop_numba_cache(site)
    sweep_cold = _sweep(sweep, repo, env)

    print(f"fresh clone of {head.strip()} in {work}, Python {sys.version.split()[0]}")
    print(f"{'step (whole processes)':<52}{'seconds':>9}   reference")
    print(f"{'python -m venv':<52}{venv_s:>9.1f}")
    print(f"{'pip install .':<52}{install_s:>9.1f}")
    print(f"{'arb backtest, first after install':<52}{first:>9.1f}   target <= {FIRST_BACKTEST_TARGET_S:.0f} s")
    print(f"{'arb backtest, second':<52}{second:>9.1f}   target <= {SECOND_BACKTEST_TARGET_S:.0f} s")
    for label, (wall, line) in (("after the backtests", sweep_warm), ("first after install", sweep_cold)):
        print(f"{'arb sweep, 4 points, 2 workers, ' + label:<52}{wall:>9.1f}   {line}")
    print(f"{'':<52}{'':>9}   target: each worker ready <= {WORKER_READY_TARGET_S:.0f} s")
    print(f"{'arb convert USD-M capture, first after install':<52}{convert_first:>9.2f}   hftbacktest {hbt_first:.2f}")
    print(
        f"{'arb convert USD-M capture, warm (best of ' + str(repeat) + ')':<52}{convert_warm:>9.2f}"
        f"   hftbacktest {hbt_warm:.2f} (best of {repeat})"
    )
    print(
        f"arb convert / hftbacktest converter speed: first {hbt_first / convert_first:.2f}x, "
        f"warm {hbt_warm / convert_warm:.2f}x (target >= {CONVERT_TARGET_X:.0f}x warm)"
    )


if __name__ == "__main__":
    run_benchmark(main)
