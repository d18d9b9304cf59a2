"""Intent to request bytes written: the live executor with its journal, against a fake venue on loopback.

One order at a time, the clock starts when the executor is handed the intent (``submit``) and stops
when the create request's bytes are handed to the socket (``LiveOrder.written_ns``): the grid, the
client id, the journal's intent commit, the task hand-off, the request's building and signing, and
the write. Two order entries (``--entry``, the venue file's ``order_entry``): ``rest``, ccxt's
``create_order`` on aiohttp (bytes written: aiohttp's trace hook), and ``websocket``, arb's own client
on Bybit's ``/v5/trade`` (bytes written: the client's ``written_ns``). Also printed: intent to the
venue's acknowledgement handled (``LiveOrder.ack_ns``), the round trip to the fake and back.

The venue is the fake private Bybit (spot, ccxt unpatched) in a process of its own on loopback
(``python -m arb.sim.bybit.serve``), pinned to a core of its own (this process to the others), as a real venue
is another machine; each order is an IOC buy below the book, so it expires and the next one goes out
once it is done. Printed beside it, in the same run:
the journal's intent commit alone (or the intent log's store), and the paper executor's ``submit`` (what
the same intent costs in a dry run). Journals: SQLite with ``synchronous`` NORMAL and FULL, and NORMAL
with ``[live] intent_log`` (the intent stored in the memory-mapped log, committed after the request went
out), in a temporary folder (``--postgres URL`` adds PostgreSQL without and with the log). Never fails on
a timing.

    python benchmarks/bench_orders.py [--orders 500] [--entry rest|websocket|both] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
from machine import run_benchmark

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arb.config import load_config  # noqa: E402
from arb.execution.paper import PaperExecutor  # noqa: E402
from arb.live.engine import Engine  # noqa: E402
from arb.live.trading_session import KIND_MANUAL, trading_session  # noqa: E402
from arb.strategy.types import BUY  # noqa: E402
from tests.support.live_rig import BYBIT_SPOT, KEY, SECRET, write_live_config  # noqa: E402


class _Venue:
    # The URLs a configuration needs, as the served venue printed them.
    def __init__(self, urls: dict[str, str]) -> None:
        self.rest_url, self.ws_urls, self.private_ws_url = urls["rest"], [urls["ws"]], urls["ws_private"]
        self.trade_ws_url = urls["ws_trade"]
        self.bid = Decimal(urls["bid"])


async def serve_bybit_spot() -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    """The fake private Bybit spot (rate limits lifted) in a process of its own, and the URLs and best bid
    it printed; closing the process's stdin stops it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "arb.sim.bybit.serve", "spot", "--recording", str(BYBIT_SPOT.recording),
        "--key", KEY, "--secret", SECRET, "--balance", "USDT=10000000", "--balance", "BTC=50", "--no-limits",
        cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    line = await process.stdout.readline()
    _apart(process.pid)
    return process, json.loads(line)


_CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
"""The cores this process may use at its start (``_apart`` narrows its own set: the next run must not
read the narrowed one, or its venue shares this process's core)."""


def _apart(venue_pid: int) -> None:
    # The venue on the last core, this process on the others, as a real venue is another machine: on a
    # shared core the kernel runs the woken venue inside the sender's write (seen: 0.5 ms per request).
    cores = _CORES
    if len(cores) >= 2:
        os.sched_setaffinity(venue_pid, {cores[-1]})
        os.sched_setaffinity(0, set(cores[:-1]))


def _pct(values_ns: list[int]) -> str:
    a = np.array(values_ns, dtype=np.float64) / 1e3
    p50, p99 = np.percentile(a, [50, 99])
    return f"n={len(a):>5}  p50 {p50:7.1f} us  p99 {p99:7.1f} us  max {a.max():8.1f} us"


async def _live(
    folder: Path, orders: int, journal_url: str, synchronous: str, entry: str, intent_log: bool = False
) -> tuple[list[int], list[int], list[int]]:
    spec = BYBIT_SPOT
    os.environ["BYBIT_API_KEY"], os.environ["BYBIT_API_SECRET"] = KEY, SECRET
    process, urls = await serve_bybit_spot()
    venue = _Venue(urls)
    try:
        live = {"journal_synchronous": synchronous, "intent_log": intent_log}
        config = load_config(write_live_config(folder, spec, venue, journal_url=journal_url, order_entry=entry,
                                               live=live))  # fmt: skip
        price = float(venue.bid * Decimal("0.9"))
        async with trading_session(config, [spec.index]) as session:
            executor = session.executors[spec.index]
            journal = executor.journal
            record = journal.record_intent
            commits: list[int] = []

            def timed(*args: object, **kwargs: object) -> None:
                t0 = time.perf_counter_ns()
                record(*args, **kwargs)  # type: ignore[arg-type]
                commits.append(time.perf_counter_ns() - t0)

            journal.record_intent = timed  # type: ignore[method-assign]
            done = asyncio.Event()
            executor.on_done = lambda _o: done.set()
            written: list[int] = []
            acked: list[int] = []
            gc.collect()
            gc.freeze()
            async with asyncio.TaskGroup() as group:
                executor.run_background(group)
                for k in range(orders + 20):
                    done.clear()
                    order = executor.submit(BUY, price, 0.001, KIND_MANUAL, k, executor.clock())
                    await done.wait()
                    if k >= 20:  # the first ones warm ccxt, the connection pool and the journal
                        written.append(order.written_ns - order.intent_ns)
                        acked.append(order.ack_ns - order.intent_ns)
                executor.stop()
            gc.unfreeze()
            assert (executor.order_entry is not None) == (entry == "websocket"), "the order entry asked for"
            return written, acked, commits[20:]
    finally:
        assert process.stdin is not None
        process.stdin.close()
        await process.wait()


def _paper(orders: int) -> list[int]:
    config = load_config(ROOT / "config" / "arbitrage.toml")
    engine = Engine(config)
    paper = engine.executor
    assert isinstance(paper, PaperExecutor)
    out = []
    for k in range(orders + 20):
        now = k * 1_000_000_000  # one order a second, each answered before the next (as in a dry run)
        t0 = time.perf_counter_ns()
        paper.submit(1, BUY, 50_000.0, 0.001, 1, k, now)
        out.append(time.perf_counter_ns() - t0)
        paper.run_until(now + 500_000_000, lambda _order: None)
    return out[20:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument(
        "--entry",
        choices=("rest", "websocket", "both"),
        default="both",
        help="the order entry measured (the venue file's order_entry); both: one after the other",
    )
    parser.add_argument("--postgres", metavar="URL", help="also measure with a PostgreSQL journal")
    args = parser.parse_args()
    print(f"{args.orders} orders, one at a time (fake Bybit spot on loopback)")
    print(f"  {'paper executor submit (reference)':<64}{_pct(_paper(args.orders))}")
    runs = [("sqlite", "normal", False), ("sqlite", "full", False), ("sqlite", "normal", True)]
    if args.postgres:
        runs += [("postgresql", "", False), ("postgresql", "", True)]
    for entry in ("rest", "websocket") if args.entry == "both" else (args.entry,):
        for backend, synchronous, intent_log in runs:
            with tempfile.TemporaryDirectory() as folder:
                url = args.postgres if backend == "postgresql" else ""
                written, acked, commits = asyncio.run(_live(Path(folder), args.orders, url, synchronous or "full",
                                                            entry, intent_log))  # fmt: skip
            name = f"{entry}, journal {backend} {synchronous}".strip() + (" + intent log" if intent_log else "")
            print(f"  {name:<40} intent -> request bytes  {_pct(written)}")
            print(f"  {'':<40} intent -> acknowledged   {_pct(acked)}")
            print(f"  {'':<40} the intent stored        {_pct(commits)}")


if __name__ == "__main__":
    run_benchmark(main)
