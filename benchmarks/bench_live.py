"""Tick-to-intent latency of the live path, replaying a real capture.

Each recorded frame goes the way a WebSocket frame goes once it is in memory: the venue's normalizer
(``on_message`` + ``sink.take()``), the engine (book update, view, ``may_act``, the compiled kernel,
the risk gate) and, when the kernel wants orders, the hand-off to the paper executor. The clock
starts when the frame is handed to the normalizer and stops when the engine returns, so for frames
that produced orders it is frame receipt to intents handed to the executor. The socket and the event
loop are not in it: ``benchmarks/bench_feed.py`` measures frame receipt to rows over loopback.

Executor events (simulated order arrivals and answers) due before a frame are processed before its
clock starts, as the dry run's timer task does between frames (``arb.live.session_loop``); the decisions
they trigger (hedges, the next pair) are timed on their own line, which includes the paper venue's
simulated matching.

Prints p50 / p99 / p99.9 for every depth frame (each ends with a decision) and for the frames whose
own decision sent orders, beside the same figures for the normalizer alone measured in the same run.
The sample sends orders on a handful of frames only: ``--repeat N`` replays it N times (a fresh
engine and normalizers each time) for more of them.

Every venue of the run is replayed (``--set 'strategy.venues=["binance","bybit","okx"]'`` for three: the
sample has an OKX third); ``benchmarks/bench_venues.py`` alternates this with the reference commit's.
More venues than the sample has are twins (``--twin NAME=SOURCE``, :mod:`arb.testing.twins`): venue
SOURCE's folders under a new name, replaying SOURCE's recorded days (a folder of links to them, made for
the run), which the run then lists like any venue: ``--twin twin_a=binance --set
'strategy.venues=["binance","bybit","okx","twin_a"]'`` for four.

    python benchmarks/bench_live.py [--config config/arbitrage.toml] [--repeat N] [--set KEY=VALUE ...]
                                    [--twin NAME=SOURCE ...] [--clock wall|cpu] [--decision]
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from machine import run_benchmark

from arb.command_line import setting
from arb.config import load_config
from arb.events import DEPTH_CLEAR_EVENT, DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, EVENT_KIND_MASK
from arb.live.engine import Engine
from arb.live.recorded_source import ReplayBatch
from arb.live.session_loop import warm_up_kernel
from arb.recording.loader import find_days, load_timeline, plan_days
from arb.recording.venues import make_normalizer
from connectors.common.record_files import LineReader

ROOT = Path(__file__).resolve().parent.parent


def rows_are_book(rows: np.ndarray[Any, Any]) -> bool:
    """Whether a frame's rows change the book (a depth update or snapshot, not trades alone)."""
    kinds = rows["ev"] & EVENT_KIND_MASK
    return bool(np.any((kinds == DEPTH_EVENT) | (kinds == DEPTH_SNAPSHOT_EVENT) | (kinds == DEPTH_CLEAR_EVENT)))


def book_frames(config: Any, merged: list[tuple[int, int, bytes]]) -> list[bool]:
    """For each frame of ``merged`` (``(local_ts, venue, payload)``), whether its rows change the book, found
    by fresh normalizers before any clock runs: the timed replay then tells its depth frames by an index,
    and nothing but the path runs between two timed frames (NumPy's calls on every frame's rows there
    took the next frame's caches: 1.3 us of its p50)."""
    normalizers = [make_normalizer(v.name, v.market, config.strategy.symbol) for v in config.venues]
    found = []
    for ts, v, payload in merged:
        norm = normalizers[v]
        norm.on_message(payload, ts)
        rows = norm.sink.take()
        found.append(len(rows) > 0 and rows_are_book(rows))
    return found


def _pct(values: list[int]) -> str:
    a = np.array(values, dtype=np.float64) / 1e3
    if len(a) == 0:
        return "n/a"
    p50, p99, p999 = np.percentile(a, [50, 99, 99.9])
    return f"n={len(a):>7,}  p50 {p50:7.1f} us  p99 {p99:7.1f} us  p99.9 {p999:7.1f} us  max {a.max():7.1f} us"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "arbitrage.toml")
    parser.add_argument("--repeat", type=int, default=1, help="replay the sample this many times (default 1)")
    parser.add_argument("--set", type=setting, action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="time each frame by the wall clock (default) or by this thread's CPU time")  # fmt: skip
    parser.add_argument("--decision", action="store_true",
                        help="then time the compiled decision alone, on the books the replay left")  # fmt: skip
    parser.add_argument("--twin", action="append", default=[], metavar="NAME=SOURCE",
                        help="one more venue, SOURCE's folders and recordings under NAME (repeatable)")  # fmt: skip
    args = parser.parse_args()
    twins = dict(pair.split("=", 1) for pair in args.twin)
    with contextlib.ExitStack() as stack:
        if twins:
            from arb.testing.twins import twin_venues  # this tree's: the script also runs on older trees' arb

            stack.enter_context(twin_venues(twins))
            recordings = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            shipped = load_config(args.config, settings=()).backtest.recordings  # the sample's folder
            _link_recordings(Path(shipped), recordings, twins)
            args.set.append(setting(f"backtest.recordings={recordings}"))
            folder = args.config.resolve().parent  # each twin's venue file: its source's
            args.set += [setting(f"venues.{twin}={folder / source}.toml") for twin, source in twins.items()]
        clock = time.thread_time_ns if args.clock == "cpu" else time.perf_counter_ns
        engine, now = replay(load_config(args.config, settings=args.set), args.repeat, clock)
        if args.decision:
            print(f"decision alone (compiled step, symbol 0)   best {decision_ns(engine, now):8.0f} ns a call")


def _link_recordings(shipped: Path, into: Path, twins: dict[str, str]) -> None:
    # ``shipped``'s venue folders as links in ``into``, and each twin's folder: links to its source's files
    for folder in shipped.iterdir():
        if folder.is_dir():
            (into / folder.name).symlink_to(folder.resolve(), target_is_directory=True)
    for twin, source in twins.items():
        for folder in shipped.glob(f"{source}_*"):
            linked = into / (twin + folder.name[len(source) :])
            linked.mkdir()
            for file in folder.iterdir():
                (linked / file.name).symlink_to(file.resolve())


def replay(config: Any, repeat: int, clock: Callable[[], int] = time.perf_counter_ns) -> tuple[Engine, int]:
    """Replay the run's recorded days ``repeat`` times through the live path, timing each frame by ``clock``
    (ns: the wall clock, or the thread's CPU time, which a busy neighbour's time slices do not count);
    print the figures."""
    days = plan_days(config, None, None)
    session = load_timeline(config, days)  # the common clock shift, as the replay uses it
    warm_up_kernel(config)

    def venue_frames(v: int) -> list[tuple[int, int, bytes]]:
        venue = config.venues[v]
        files = find_days(config.backtest.recordings, venue, config.strategy.symbol)
        shift = session.local_shift_ns + venue.latency.feed_ns
        return [(ts + shift, v, payload) for day in days for ts, payload in LineReader(files[day])]

    merged = list(heapq.merge(*(venue_frames(v) for v in range(len(config.venues))), key=lambda f: (f[0], f[1])))
    is_book = book_frames(config, merged)

    depth_all: list[int] = []
    depth_orders: list[int] = []
    normalize_only: list[int] = []
    answers_orders: list[int] = []
    perf = clock
    for _ in range(repeat):
        normalizers = [make_normalizer(v.name, v.market, config.strategy.symbol) for v in config.venues]
        engine = Engine(config)
        sent = engine.log.sent
        for i, (ts, v, payload) in enumerate(merged):
            before = sent.n
            t = perf()
            engine.advance(ts)  # the timer's work between frames: simulated arrivals, answers, decisions
            if sent.n > before:
                answers_orders.append(perf() - t)
            norm = normalizers[v]
            before = sent.n
            t0 = perf()
            norm.on_message(payload, ts)
            rows = norm.sink.take()
            t1 = perf()
            if len(rows) == 0:
                continue
            engine.on_batches(ts, [ReplayBatch(v, rows, ts, norm.status.state, False, norm.status.update_id)])
            t2 = perf()
            if is_book[i]:
                depth_all.append(t2 - t0)
                normalize_only.append(t1 - t0)
                if sent.n > before:
                    depth_orders.append(t2 - t0)
    print(f"venues: {', '.join(config.venue_names)}")
    print(f"sample: {len(merged):,} frames x {repeat}; per replay {sent.n} intents sent, {engine.log.fills.n} fills")
    print(f"normalize only (depth frame -> rows)       {_pct(normalize_only)}")
    print(f"tick to decision (every depth frame)       {_pct(depth_all)}")
    print(f"tick to intent (frame's decision sent)     {_pct(depth_orders)}")
    print(f"order answer -> intents (paper venue incl.) {_pct(answers_orders)}")
    print("target: p99 under 100 us from frame receipt to intent")
    return engine, merged[-1][0]


def decision_ns(engine: Engine, now: int, batches: int = 50, calls: int = 200) -> float:
    """The engine's compiled decision alone, as ``Engine._decide`` calls it for symbol 0 on the books the
    replay left (their views, the strategy over every direction, the guard, the gate, the call log), without
    the hand-off of its intents: the best of ``batches`` batches of ``calls`` calls, ns a call (the best: a
    busy neighbour only ever adds to a batch). The engine's private parts, the same in older trees."""
    logs = (np.zeros(engine.n_symbols, engine.log.calls.data.dtype), np.zeros(len(engine._intent_ints),
            engine.log.sent.data.dtype), (engine._intent_ints, engine._intent_floats))  # fmt: skip
    pending, step = engine._pending, engine._step
    best = float("inf")
    for _ in range(batches):
        t = time.perf_counter_ns()
        for _ in range(calls):
            pending[0] = 1
            step(now, pending, engine._state, engine._risk, engine._books, logs, 0, 0)
        best = min(best, (time.perf_counter_ns() - t) / calls)
    return best


if __name__ == "__main__":
    run_benchmark(main)
