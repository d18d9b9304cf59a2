"""A day of market in under half an hour: does a long dry run or ``arb live`` keep its memory, descriptors
and threads flat, and does it reconnect and trade through every pass?

Fake Binance spot and Bybit spot (``python -m arb.testing.soak``, a process of its own) replay the
shipped sample (``recordings/``, 10.8 minutes of BTCUSDT) again and again at ``--speed`` times its
pace, closing every connection at the end of each pass; ``arb dry-run --live-data`` or ``arb live``
runs against them, a process of its own, as a supervisor runs it. Every ``--sample-s`` seconds this
script reads the arb process's resident memory (``VmRSS``), open descriptors and threads from /proc.

Printed for each run: the resident memory at the end of the first market hour (warm-up: compiling,
first connections, the books' levels, the interpreter's pools) and at the end, the growth per market
hour after the first hour (a least-squares slope over the samples), descriptors and threads (min/max
after warm-up), passes, the passes arb reconnected for, what it traded per pass (pairs and fills, from
its paper account or its journal), the files it wrote and their growth per market day, and the load
average. ``--reference-commit REV`` (e.g. ``ab848b1``, the landed head of the issue) runs the same against
that commit, unpacked with ``git archive`` into a temporary folder and run by this checkout's
interpreter with the folder first on its path (its Numba cache starts cold), and prints both side by
side; ``--reference DIR`` does it with another checkout and its own ``.venv`` instead. Nothing is
asserted: the target (growth under 0.5 MB per market hour after the first, descriptors and threads flat,
every pass reconnected and traded) is printed beside the figures.

``--symbols BTCUSDT,ETHUSDT`` trades two symbols on the sample's first file's minutes (5.8 market minutes
a pass): its BTCUSDT and the real Binance spot ETHUSDT capture of the same minutes (``tests/fixtures``)
with a Bybit side generated from it as the multi-symbol tests do (``tests/support/two_symbols.py``, seed
11), written into the run's folder.

Market time is the recording's: a pass is 10.8 market minutes whatever the wall time it took; while
the venues wait for arb to reconnect, market time stands still. What arb does per wall second (the
snapshot every ``[ops] snapshot_ms``, its timers) happens ``--speed`` times less often per market
hour than in a real run: growth per frame, order or connection is what this measures.

Ctrl-C (SIGINT) or SIGTERM cuts the run under way short (the rig ends the pass it plays; the market
time counted is what it played), starts no other, and prints the figures of what ran.

``--tracemalloc DIR`` runs arb with allocation tracing (``benchmarks/soak_trace.py``: a snapshot every
``--trace-s`` seconds) and prints the allocation sites that grew most between the end of the first
market hour and the end, per market hour; traced runs are slower, so give them a lower ``--speed``.

    python benchmarks/bench_soak.py [--mode dry|live|both] [--style taker|maker_taker] [--speed 100]
                                    [--hours 24] [--symbols BTCUSDT,ETHUSDT] [--reference-commit ab848b1]
                                    [--tracemalloc DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from machine import run_benchmark

from arb.sim.replay import read_lines

ROOT = Path(__file__).resolve().parent.parent
NS_PER_H = 3_600_000_000_000
TARGET_MB_PER_H = 0.5
ARB_STOP_S = 180.0
CUT = threading.Event()
"""Set by SIGINT or SIGTERM: the run under way ends after the pass being played, the next ones are not
started, and the figures of what was run are printed."""


@dataclass
class Sample:
    wall_ns: int
    rss_mb: float
    fds: int
    threads: int


@dataclass
class Soak:
    """One run: what the rig said of each pass, the samples of arb's process, what arb wrote."""

    label: str
    mode: str
    pass_ns: int
    passes: list[dict[str, Any]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    fills: list[tuple[int, int]] = field(default_factory=list)
    """(local_ts_ns, pair_id) of every fill arb booked."""
    files: dict[str, int] = field(default_factory=dict)
    files_warm: dict[str, int] = field(default_factory=dict)
    """The same at the end of the first market hour, and when (market hours)."""
    warm_h: float = 0.0
    returncode: int | None = None
    traces: Path | None = None

    def market_h(self, wall_ns: int) -> float:
        """Market hours replayed by ``wall_ns``: whole passes, and the played part of the current one."""
        played = 0.0
        for p in self.passes:
            if wall_ns >= p["end_ns"]:
                played += min(1.0, p.get("played_ns", self.pass_ns) / self.pass_ns)  # a pass cut short: its part
            elif wall_ns > p["start_ns"]:
                played += (wall_ns - p["start_ns"]) / max(1, p["end_ns"] - p["start_ns"])
        return played * self.pass_ns / NS_PER_H

    def per_pass(self) -> tuple[list[int], list[int]]:
        """Fills and pairs (distinct pair ids) booked in each pass (from its start to the next one's)."""
        starts = [p["start_ns"] for p in self.passes] + [2**63 - 1]
        fills, pairs = [0] * len(self.passes), [set[int]() for _ in self.passes]
        for ts, pair in self.fills:
            for i in range(len(self.passes)):
                if starts[i] <= ts < starts[i + 1]:
                    fills[i] += 1
                    pairs[i].add(pair)
                    break
        return fills, [len(p) for p in pairs]


def _recording_span_ns(root: Path, symbols: list[str]) -> int:
    first, last = 2**63, 0
    for folder in ("binance_spot", "bybit_spot"):
        for symbol in symbols:
            for ts, _ in read_lines(sorted((root / folder).glob(f"{symbol.lower()}_*.gz"))):
                if ts is not None:
                    first, last = min(first, ts), max(last, ts)
    return last - first


def _recordings(args: argparse.Namespace, tmp: Path) -> Path:
    """The recordings the rig replays: ``--recordings`` for BTCUSDT alone; with ETHUSDT, a folder of
    both (the sample's BTCUSDT, the ETHUSDT capture and a Bybit side generated from it)."""
    if args.symbols == ["BTCUSDT"]:
        return Path(args.recordings)
    if args.symbols != ["BTCUSDT", "ETHUSDT"]:
        raise SystemExit(f"--symbols: expected BTCUSDT or BTCUSDT,ETHUSDT, got {','.join(args.symbols)}")
    sys.path.insert(0, str(ROOT))  # tests.support and examples, as the multi-symbol tests make them
    from tests.support.two_symbols import two_symbol_recordings

    return two_symbol_recordings(tmp / "recordings")


@dataclass(frozen=True)
class Checkout:
    """A checkout of arb to run: how to start its ``arb`` and with what ``PYTHONPATH`` (or none)."""

    label: str
    python: Path
    path: Path | None = None

    def argv(self, *args: str) -> list[str]:
        return [str(self.python), "-c", "import sys; from arb.cli import run; sys.argv[0] = 'arb'; run()", *args]


def _archive(commit: str, tmp: Path) -> Checkout:
    """``commit`` unpacked (``git archive``) into a folder under ``tmp``, run by this checkout's interpreter
    with the folder first on its path; exits if that interpreter would import another ``arb``."""
    folder = tmp / f"reference-{commit}"
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    python = Path(sys.executable)
    probe = subprocess.run([str(python), "-c", "import arb; print(arb.__file__)"], cwd=tmp, capture_output=True,
                           text=True, check=True, env=_env({}, folder)).stdout.strip()  # fmt: skip
    if not probe.startswith(str(folder)):
        raise SystemExit(f"--reference-commit {commit}: {python} imports arb from {probe}, not from {folder}")
    return Checkout("reference", python, folder)


def _env(extra: dict[str, str], path: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")} | extra
    return env | ({"PYTHONPATH": str(path)} if path is not None else {})


def _sample(pid: int) -> Sample | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss_kb = int(fields["VmRSS"].split()[0])
    return Sample(time.time_ns(), rss_kb / 1024, fds, int(fields["Threads"]))


def _fills(folder: Path, mode: str) -> list[tuple[int, int]]:
    if mode == "dry":
        query, paths = "select local_ts_ns, pair_id from paper_fills", list((folder / "paper").glob("*.sqlite"))
    else:
        query = "select f.local_ts_ns, i.pair_id from fills f join intents i on f.client_id = i.client_id"
        paths = list((folder / "live").glob("*.sqlite"))
    rows: list[tuple[int, int]] = []
    for path in paths:
        with sqlite3.connect(path) as db:
            rows += db.execute(query).fetchall()
    return rows


def _files(folder: Path) -> dict[str, int]:
    """Every file arb wrote under ``folder`` (not the configuration, not the rig's), by relative path."""
    skip = {"arbitrage.toml", "binance.toml", "bybit.toml", "rig.err", "rig.out"}
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in skip and "traces" not in p.parts}  # fmt: skip


def _follow(stream: TextIO, soak: Soak, done: threading.Event) -> None:
    for line in stream:
        said = json.loads(line)
        if "pass" in said:
            soak.passes.append(said)
        elif said.get("done"):
            done.set()
    done.set()


def _ops_history(args: argparse.Namespace) -> int:
    """``[ops] history``: ``--ops-history``, else for a replay at ``--speed`` the snapshots (one per 500 ms
    of wall time) the dashboard's ring keeps in the first market hour, as the default (3,600: half an
    hour) fills within the first hour of a real run; at least 60."""
    return int(args.ops_history or max(60, round(3600 / args.speed / 0.5)))


def _run(checkout: Checkout, args: argparse.Namespace, mode: str, pass_ns: int, tmp: Path) -> Soak:
    label = checkout.label
    folder = tmp / f"{label.replace(' ', '-')}-{mode}"
    folder.mkdir(parents=True)
    hours = args.reference_hours if label == "reference" and args.reference_hours else args.hours
    passes = max(1, round(hours * NS_PER_H / pass_ns))
    soak = Soak(label, mode, pass_ns)
    rig_argv = [sys.executable, "-m", "arb.testing.soak", "--mode", mode, "--folder", str(folder), "--style",
                args.style, "--speed", str(args.speed), "--passes", str(passes), "--symbols", ",".join(args.symbols),
                "--recordings", str(args.recordings_used),
                *(["--ops-history", str(_ops_history(args))] if args.ops_history != 0 else [])]  # fmt: skip
    with open(folder / "rig.err", "w") as rig_err:
        rig = subprocess.Popen(rig_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=rig_err, text=True,
                               cwd=ROOT)  # fmt: skip
    assert rig.stdout is not None and rig.stdin is not None
    try:
        first = json.loads(rig.stdout.readline())
        done = threading.Event()
        threading.Thread(target=_follow, args=(rig.stdout, soak, done), daemon=True).start()
        command = ["dry-run", "--live-data"] if mode == "dry" else ["live"]
        arb_args = [*command, "--config", first["config"], "--out", str(folder / "report")]
        argv = checkout.argv(*arb_args)
        if args.tracemalloc is not None:
            soak.traces = Path(args.tracemalloc) / folder.name
            shutil.rmtree(soak.traces, ignore_errors=True)
            argv = [str(checkout.python), str(ROOT / "benchmarks" / "soak_trace.py"), str(soak.traces),
                    str(args.trace_s), str(args.trace_frames), str(args.trace_after), "--", *arb_args]  # fmt: skip
        env = _env(first["env"], checkout.path)
        with open(folder / "arb.stdout", "w") as out, open(folder / "arb.stderr", "w") as err:
            process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=folder)
        try:
            cut = False
            while not done.is_set() and process.poll() is None:
                if CUT.is_set() and not cut:
                    cut = True
                    rig.send_signal(signal.SIGTERM)  # the rig ends the pass, says done, serves until stdin closes
                sample = _sample(process.pid)
                if sample is not None:
                    soak.samples.append(sample)
                    if not soak.files_warm and (hours := soak.market_h(sample.wall_ns)) >= 1.0:
                        soak.files_warm, soak.warm_h = _files(folder), hours
                done.wait(args.sample_s)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                soak.returncode = process.wait(ARB_STOP_S)
            except subprocess.TimeoutExpired:
                process.kill()
                soak.returncode = process.wait()
    finally:
        rig.stdin.close()
        try:
            rig.wait(60)
        except subprocess.TimeoutExpired:
            rig.kill()
            rig.wait()
    soak.fills = _fills(folder, mode)
    soak.files = _files(folder)
    return soak


# -- the figures ---------------------------------------------------------------------------------


def _after_warm_up(soak: Soak) -> list[tuple[float, Sample]]:
    # from the end of the first market hour to the end of the last pass (not arb's stop)
    end = soak.passes[-1]["end_ns"] if soak.passes else 0
    return [(h, s) for s in soak.samples if (h := soak.market_h(s.wall_ns)) >= 1.0 and s.wall_ns <= end]


def _slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 3 or points[-1][0] - points[0][0] < 1.0:
        return float("nan")
    x, y = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def _figures(soak: Soak) -> dict[str, str]:
    warm = _after_warm_up(soak)
    rows: dict[str, str] = {}
    hours = soak.market_h(soak.passes[-1]["end_ns"]) if soak.passes else 0.0
    rows["market hours (passes)"] = f"{hours:.1f} ({len(soak.passes)})"
    if soak.passes and soak.samples:
        wall = (soak.passes[-1]["end_ns"] - soak.passes[0]["start_ns"]) / 1e9
        rows["wall minutes of passes"] = f"{wall / 60:.1f}"
    if warm:
        rows["RSS at warm-up end (1 h), MB"] = f"{warm[0][1].rss_mb:.1f}"
        rows["RSS at the end, MB"] = f"{warm[-1][1].rss_mb:.1f}"
        slope = _slope([(h, s.rss_mb) for h, s in warm])
        met = "met" if slope < TARGET_MB_PER_H else "NOT met"
        rows["RSS growth after 1 h, MB per market h"] = f"{slope:+.3f} ({met})"
        fds, threads = [s.fds for _, s in warm], [s.threads for _, s in warm]
        rows["descriptors min/max"] = f"{min(fds)}/{max(fds)}"
        rows["threads min/max"] = f"{min(threads)}/{max(threads)}"
        rows["samples after warm-up"] = f"{len(warm)}"
    else:
        rows["RSS"] = "no sample after the first market hour"
    reconnected = sum(1 for p in soak.passes[1:] if p["reconnected"])
    rows["passes reconnected (after the first)"] = f"{reconnected}/{max(0, len(soak.passes) - 1)}"
    waits = [p["wait_s"] for p in soak.passes[1:]]
    if waits:
        rows["reconnect wait s median/max"] = f"{np.median(waits):.1f}/{max(waits):.1f}"
    fills, pairs = soak.per_pass()
    if fills:
        idle = sum(1 for f in fills if f == 0)
        rows["fills per pass min/median/max"] = f"{min(fills)}/{int(np.median(fills))}/{max(fills)}"
        rows["pairs per pass min/median/max"] = f"{min(pairs)}/{int(np.median(pairs))}/{max(pairs)}"
        rows["passes without a fill"] = f"{idle}"
        rows["fills, pairs in all"] = f"{sum(fills)}, {sum(pairs)}"
    rows["exit code"] = f"{soak.returncode}"
    return rows


def _file_rows(soak: Soak) -> list[str]:
    """Each file's size at the end of the market, and its growth per market day from the end of the first
    market hour (a file of fixed size, or rewritten to the same size, grows by 0)."""
    end_h = soak.market_h(soak.passes[-1]["end_ns"]) if soak.passes else 0.0
    days = (end_h - soak.warm_h) / 24 if soak.files_warm else 0.0
    lines = [f"  files {soak.label} {soak.mode} wrote: size at the end, growth per market day after the first hour "
             f"({days * 24:.1f} market hours measured)"]  # fmt: skip
    for name, size in soak.files.items():
        if name.startswith("report/"):
            continue
        growth = (size - soak.files_warm.get(name, 0)) / days / 1e6 if days > 0 else float("nan")
        lines.append(f"    {name:<44} {size / 1e6:9.3f} MB {growth:+10.3f} MB/day")
    written = sum(size for name, size in soak.files.items() if name.startswith("report/"))
    lines.append(f"    {'report/ (the run report, written at the stop)':<44} {written / 1e6:9.3f} MB")
    return lines


def _traced(soak: Soak, top: int) -> list[str]:
    """The allocation sites (by traceback) that grew steadily from the end of the first market hour to the
    end of the market: each site's size in every snapshot between, its least-squares slope per market hour,
    ranked by slope; a site that grew only at the last snapshot (a burst of frames in flight) has a poor fit
    and is left out (correlation under 0.8)."""
    if soak.traces is None or not soak.passes:
        return []
    end = soak.passes[-1]["end_ns"]
    shots = sorted((int(p.stem), p) for p in soak.traces.glob("*.tracemalloc"))
    warm = [(t, p) for t, p in shots if soak.market_h(t) >= 1.0 and t <= end]
    if len(warm) < 3:
        return [f"  {soak.label} {soak.mode}: fewer than three snapshots after warm-up in {soak.traces}"]
    hours = np.array([soak.market_h(t) for t, _ in warm])
    sizes: dict[tracemalloc.Traceback, np.ndarray[Any, Any]] = {}
    counts: dict[tracemalloc.Traceback, np.ndarray[Any, Any]] = {}
    for i, (_, path) in enumerate(warm):
        for stat in tracemalloc.Snapshot.load(str(path)).statistics("traceback"):
            sizes.setdefault(stat.traceback, np.zeros(len(warm)))[i] = stat.size
            counts.setdefault(stat.traceback, np.zeros(len(warm)))[i] = stat.count
    rows = []
    for key, size in sizes.items():
        if size[-1] <= size[0] or np.ptp(size) == 0:
            continue
        slope = float(np.polyfit(hours, size, 1)[0])
        fit = float(np.corrcoef(hours, size)[0, 1])
        if slope > 0 and fit >= 0.8:
            rows.append((slope, float(np.polyfit(hours, counts[key], 1)[0]), fit, key))
    rows.sort(key=lambda r: -r[0])
    lines = [f"  {soak.label} {soak.mode}: allocation sites growing from market hour {hours[0]:.1f} to "
             f"{hours[-1]:.1f} ({len(warm)} snapshots; slope per market hour, fit r):"]  # fmt: skip
    for slope, blocks, fit, key in rows[:top]:
        frames = [f for f in key if "/arb/" in f.filename or "/connectors/" in f.filename]
        innermost = list(key)[-1]  # the allocation itself, then arb's frames that led to it
        where = " <- ".join(f"{_short(f.filename)}:{f.lineno}" for f in [innermost, *frames[::-1][:3]])
        lines.append(f"    {slope / 1024:8.1f} KiB/h {blocks:8.0f} blk/h r={fit:.2f}  {where}")
    return lines


def _short(filename: str) -> str:
    for anchor in ("/arb/", "/connectors/", "/site-packages/", "/lib/python"):
        if anchor in filename:
            return anchor.strip("/") + "/" + filename.split(anchor, 1)[1]
    return filename


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: CUT.set())
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("dry", "live", "both"), default="both")
    parser.add_argument("--style", choices=("taker", "maker_taker"), default="taker")
    parser.add_argument("--speed", type=float, default=100.0, help="times the recorded pace (default 100)")
    parser.add_argument("--hours", type=float, default=24.0, help="market hours per run (default 24)")
    parser.add_argument("--sample-s", type=float, default=2.0, help="wall seconds between samples (default 2)")
    parser.add_argument("--reference", type=Path, help="another checkout with its own .venv, run the same way")
    parser.add_argument("--reference-commit", help="a commit (git archive into a temporary folder), run the same way")
    parser.add_argument("--symbols", default="BTCUSDT", type=lambda v: v.split(","),
                        help="BTCUSDT (default) or BTCUSDT,ETHUSDT")  # fmt: skip
    parser.add_argument("--reference-only", action="store_true", help="run the reference checkout alone")
    parser.add_argument("--reference-hours", type=float, help="market hours of the reference's runs (default: --hours)")
    parser.add_argument("--ops-history", type=int, help="[ops] history (default: filled in the first market "
                        "hour at --speed; 0: arb's default, 3,600)")  # fmt: skip
    parser.add_argument("--recordings", type=Path, default=ROOT / "recordings")
    parser.add_argument("--tracemalloc", type=Path, help="trace arb's allocations, snapshots in this folder")
    parser.add_argument("--trace-s", type=float, default=30.0, help="wall seconds between snapshots (default 30)")
    parser.add_argument("--trace-frames", type=int, default=12, help="frames kept per traced allocation")
    parser.add_argument("--trace-after", type=float, default=90.0, help="wall seconds before tracing starts")
    parser.add_argument("--top", type=int, default=15, help="allocation sites printed per traced run")
    parser.add_argument("--keep", type=Path, help="keep each run's folder here (default: a temporary one)")
    args = parser.parse_args()
    modes = ("dry", "live") if args.mode == "both" else (args.mode,)
    checkouts = [] if args.reference_only else [Checkout("head", ROOT / ".venv" / "bin" / "python")]
    if args.reference is not None:
        checkouts.append(Checkout("reference", args.reference.resolve() / ".venv" / "bin" / "python"))
    for checkout in checkouts:
        if not checkout.python.exists():
            raise SystemExit(f"{checkout.python}: no venv there (python3 -m venv .venv && .venv/bin/pip install -e .)")
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="bench-soak-"))
    runs: list[Soak] = []
    try:
        if args.reference_commit is not None:
            checkouts.append(_archive(args.reference_commit, tmp))
        args.recordings_used = _recordings(args, tmp)
        pass_ns = _recording_span_ns(args.recordings_used, args.symbols)
        for mode in modes:
            for checkout in checkouts:
                if CUT.is_set():
                    break
                print(f"running {checkout.label} {mode} ...", flush=True)
                runs.append(_run(checkout, args, mode, pass_ns, tmp))
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    referenced = args.reference or args.reference_commit
    theirs = f" ({args.reference_hours:g} for the reference)" if referenced and args.reference_hours else ""
    print(f"\nsoak: {', '.join(args.symbols)} ({pass_ns / 6e10:.1f} market minutes a pass) at {args.speed:g}x, "
          f"every connection closed at each pass's end, style {args.style}, {args.hours:g} market hours a run"
          f"{theirs}")  # fmt: skip
    if args.reference_commit is not None:
        print(f"reference: {args.reference_commit} (git archive), run by {sys.executable}")
    table = [_figures(r) for r in runs]
    names = list(dict.fromkeys(k for t in table for k in t))
    print(f"{'':<42}" + "".join(f"{r.label + ' ' + r.mode:>22}" for r in runs))
    for name in names:
        print(f"{name:<42}" + "".join(f"{t.get(name, '-'):>22}" for t in table))
    print(f"target: after the first market hour, RSS grows < {TARGET_MB_PER_H} MB per market hour; descriptors and "
          "threads flat; every pass reconnected and traded")  # fmt: skip
    for run in runs:
        print("\n".join(_file_rows(run)))
    for run in runs:
        for line in _traced(run, args.top):
            print(line)


if __name__ == "__main__":
    run_benchmark(main)
