"""Tick-to-intent latency of the live path, replaying a real capture.

Each recorded frame goes the way a WebSocket frame goes once it is in memory: the venue's normalizer
(``on_message`` + ``sink.take()``), the engine (book update, view, ``may_act``, the compiled kernel,
the risk gate) and, when the kernel wants orders, the hand-off to the paper executor. The clock
starts when the frame is handed to the normalizer and stops when the engine returns, so for frames
that produced orders it is frame receipt to intents handed to the executor. The socket and the event
loop are not in it: ``benchmarks/bench_feed.py`` measures frame receipt to rows over loopback.

Prints p50 / p99 / p99.9 for every depth frame (each ends with a decision) and for the frames that
sent orders, beside the same figures for the normalizer alone measured in the same run.

    python benchmarks/bench_live.py [--config config/arbitrage.toml]
"""

from __future__ import annotations

import argparse
import heapq
import time
from pathlib import Path

import numpy as np

from arb.config import load_config
from arb.events import BINANCE, BYBIT
from arb.recording.convert import make_normalizer
from arb.recording.format import LineReader
from arb.runtime.engine import Engine
from arb.runtime.live import warm_up_kernel
from arb.runtime.loader import find_days, load_session, plan_days
from arb.runtime.replay import ReplayBatch

ROOT = Path(__file__).resolve().parent.parent


def _pct(values: list[int]) -> str:
    a = np.array(values, dtype=np.float64) / 1e3
    if len(a) == 0:
        return "n/a"
    p50, p99, p999 = np.percentile(a, [50, 99, 99.9])
    return f"n={len(a):>7,}  p50 {p50:7.1f} us  p99 {p99:7.1f} us  p99.9 {p999:7.1f} us"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "arbitrage.toml")
    args = parser.parse_args()
    config = load_config(args.config)
    days = plan_days(config, None, None)
    session = load_session(config, days)  # the common clock shift, as the replay uses it
    warm_up_kernel(config)

    def venue_frames(v: int) -> list[tuple[int, int, bytes]]:
        venue = config.venues[v]
        files = find_days(config.backtest.recordings, venue, config.strategy.symbol)
        shift = session.local_shift_ns + venue.latency.feed_ns
        return [(ts + shift, v, payload) for day in days for ts, payload in LineReader(files[day])]

    merged = list(heapq.merge(venue_frames(BINANCE), venue_frames(BYBIT), key=lambda f: (f[0], f[1])))

    normalizers = [make_normalizer(v.name, v.market, config.strategy.symbol) for v in config.venues]
    engine = Engine(config)
    depth_all: list[int] = []
    depth_orders: list[int] = []
    normalize_only: list[int] = []
    sent_before = 0
    for ts, v, payload in merged:
        norm = normalizers[v]
        t0 = time.perf_counter_ns()
        norm.on_message(payload, ts)
        rows = norm.sink.take()
        t1 = time.perf_counter_ns()
        if len(rows) == 0:
            continue
        engine.on_batches(ts, [ReplayBatch(v, rows, ts, norm.status.state, False, norm.status.update_id)])
        t2 = time.perf_counter_ns()
        is_depth = b"depth" in payload[:40] or b"orderbook" in payload[:40]
        if is_depth:
            depth_all.append(t2 - t0)
            normalize_only.append(t1 - t0)
            if engine.log.sent.n > sent_before:
                depth_orders.append(t2 - t0)
        sent_before = engine.log.sent.n
    print(f"sample: {len(merged):,} frames, {engine.log.sent.n} intents sent, {engine.log.fills.n} fills")
    print(f"normalize only (depth frame -> rows)      {_pct(normalize_only)}")
    print(f"tick to decision (every depth frame)      {_pct(depth_all)}")
    print(f"tick to intent (frames that sent orders)  {_pct(depth_orders)}")
    print("target: p99 under 100 us from frame receipt to intent")


if __name__ == "__main__":
    main()
