"""Tick to trade in a real run: ``arb live`` trading pairs against fake Binance and Bybit, every order's
arrival stamped by the kernel at the venue's port.

A real ``arb live`` process (the shipped configuration: journal SQLite ``normal`` with the intent log)
trades the end-to-end tests' standing spread (Bybit's bid above Binance's ask, a pair every cooldown)
replayed in real time by the fake venues (``arb.sim``, in this process); each venue's REST port and order
WebSocket are reached through a :class:`~arb.sim.tap.WireTap`, which stamps with ``SO_TIMESTAMPNS`` when
each request's bytes reached the venue's port (the kernel's time, on the clock of arb's own stamps). Per
order entry (``--entry``: the venue files' ``order_entry``, REST or WebSocket), from the journal arb wrote
and the taps:

- intent -> arrival: from ``submit`` (``intent_ns``) to the order's bytes at the venue's port, and arb's own
  intent -> written (``written_ns``, its stamp at the socket write) beside it, and written -> arrival;
- per pair (two legs decided together, both venues): the second leg's arrival after the first's, and tick
  -> trade, from the receive time of the frame the pair was decided at (``tick_ns``) to each leg's
  arrival, over the pairs decided while idle (every earlier order answered before the frame came) and
  over all;
- the one-order figure in the same run: ``bench_orders``' single orders (one at a time, fake Bybit spot in a
  process of its own, the same journal) intent -> written, and the paper executor's ``submit`` (the CPU
  reference: what the intent costs without a venue);
- the floor of the legs' gap on this machine, last: a process on arb's cores makes two plain socket sends
  back to back, to two ports behind the same taps on the venues' core, once every half second (awake every
  5 ms between, as arb's event loop is: after a longer sleep the first send runs cold); the second arrival
  after the first. On loopback the first send also delivers its bytes and wakes the receiving
  thread on the other core before it returns: a cost of the machine, not of arb's code.

Prints the load average before and after (``machine.py``): on a shared machine the figures move with it.
Never fails on a timing.

    python benchmarks/bench_pairs.py [--entry rest|websocket|both] [--seconds 30] [--orders 100] [--live KEY=VALUE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from machine import run_benchmark

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arb.journal import Journal  # noqa: E402
from arb.sim.tap import WireTap  # noqa: E402
from arb.testing.pair_rig import key_environment, order_socket_url, spot_pair, write_pair_config  # noqa: E402
from tests.support.scenario_days import write_standing_spread  # noqa: E402

CLIENT_ID = rb"arb-[0-9a-z]+-[0-9a-z]+-[01]"
_CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _pct(values_ns: list[int] | np.ndarray[Any, Any]) -> str:
    a = np.asarray(values_ns, dtype=np.float64) / 1e3
    if not len(a):
        return "n=    0"
    p50, p99 = np.percentile(a, [50, 99])
    return f"n={len(a):>5}  p50 {p50:8.1f} us  p99 {p99:8.1f} us  max {a.max():8.1f} us"


def _tapped(folder: Path, venues: list[Any]) -> list[WireTap]:
    # A tap in front of each venue's REST port and order WebSocket; the venue files point at the taps
    taps: list[WireTap] = []
    files = {"binance": folder / "binance.toml", "bybit": folder / "bybit.toml"}
    for name, venue in zip(("binance", "bybit"), venues, strict=True):
        text = files[name].read_text()
        for url in dict.fromkeys((venue.rest_url, order_socket_url(venue))):
            port = int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
            tap = next((t for t in taps if t.target[1] == port), None)
            if tap is None:
                tap = WireTap("127.0.0.1", port)
                taps.append(tap)
            assert f'"{url}"' in text, f"{url} not in {files[name]}"
            text = text.replace(f'"{url}"', f'"{tap.url(url)}"')
        files[name].write_text(text)
    return taps


async def _wait(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench_pairs: gave up waiting for {what}")
        await asyncio.sleep(0.05)  # a benchmark's poll, not a test's wait


async def _real_run(
    folder: Path, entry: str, seconds: int, live: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[bytes, int], list[dict[str, int]]]:
    if len(_CORES) >= 2:
        # the venues and the taps (threads made from now on) on a core of their own, arb on the others, as a
        # venue is another machine: woken on arb's core, a tap would run inside arb's write (seen: 0.2-0.4 ms)
        os.sched_setaffinity(0, {_CORES[-1]})
    files = write_standing_spread(folder, duration_ms=(seconds + 3) * 1000, heartbeat_ms=100)
    keys = key_environment()
    os.environ.update(keys)
    balances = {"USDT": "100000000", "BTC": "100"}
    async with spot_pair(*files, balances=balances) as (binance, bybit):
        arbitrage = {"strategy": {"max_position_size": 50.0}, "risk": {"position_limit": 100.0}}
        config = write_pair_config(folder, binance, bybit, arbitrage=arbitrage, order_entry=entry, live=live)
        taps = _tapped(folder, [binance, bybit])
        for tap in taps:
            tap.__enter__()
        try:
            out = folder / "out"
            out.mkdir()
            with (out / "stdout").open("wb") as stdout, (out / "stderr").open("wb") as stderr:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "arb.cli", "live", "--config", str(config), "--out", str(out / "report"),
                    env={**os.environ, **keys, "PYTHONPATH": f"{ROOT / 'benchmarks' / 'gc_probe'}{os.pathsep}{ROOT}",
                         "ARB_GC_PROBE": str(out / "gc.jsonl")},
                    cwd=out, stdout=stdout, stderr=stderr,
                )  # fmt: skip
                if len(_CORES) >= 2:  # arb on the other cores
                    os.sched_setaffinity(process.pid, set(_CORES[:-1]))
                try:
                    await _wait(
                        lambda: (
                            binance.subscriber_count("btcusdt@depth@100ms") >= 1
                            and bybit.subscriber_count("orderbook.50.BTCUSDT") >= 1
                            and binance.user_streams_up()
                            and bybit.user_streams_up()
                        ),
                        300,
                        "arb live to subscribe",
                    )
                    binance.play(1.0)
                    bybit.play(1.0)
                    await asyncio.sleep(seconds + 2)  # the recording plays in real time
                    process.send_signal(signal.SIGINT)
                    async with asyncio.timeout(120):
                        await process.wait()
                finally:
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
        finally:
            for tap in taps:
                tap.__exit__()
        arrivals: dict[bytes, int] = {}
        for tap in taps:
            arrivals |= tap.arrivals(CLIENT_ID)
    with Journal.open(folder / "live" / "main.sqlite") as journal:
        rows = journal.intents()
    if not rows:
        raise SystemExit(f"bench_pairs: arb live sent no order; its output:\n{(out / 'stderr').read_text()[-3000:]}")
    gc_file = out / "gc.jsonl"  # benchmarks/gc_probe: arb live's collections, per generation
    collections = [json.loads(line) for line in gc_file.read_text().splitlines()] if gc_file.is_file() else []
    return rows, arrivals, collections


def _report(
    entry: str, rows: list[dict[str, Any]], arrivals: dict[bytes, int], collections: list[dict[str, int]]
) -> None:
    for row in rows:
        row["arrival_ns"] = arrivals.get(row["client_id"].encode(), 0)
    sent = [r for r in rows if r["written_ns"] and r["arrival_ns"]]
    print(f"  {entry}: {len(rows)} orders, {len(sent)} seen at the venues' ports")
    for c in collections:  # the whole process's, start-up included
        print(f"    {'gc generation ' + str(c['generation']) + ': collections, longest':<44}"
              f"{c['n']:>8}  {c['max_ns'] / 1e3:,.0f} us (all: {c['total_ns'] / 1e6:,.1f} ms); CPU: longest "
              f"{c.get('cpu_max_ns', 0) / 1e3:,.0f} us, all {c.get('cpu_total_ns', 0) / 1e6:,.1f} ms")  # fmt: skip
    print(f"    {'intent -> arrival at the venue':<44}{_pct([r['arrival_ns'] - r['intent_ns'] for r in sent])}")
    print(f"    {'intent -> written (arb latency)':<44}{_pct([r['written_ns'] - r['intent_ns'] for r in sent])}")
    print(f"    {'written -> arrival':<44}{_pct([r['arrival_ns'] - r['written_ns'] for r in sent])}")
    decisions: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for r in sent:
        if r["tick_ns"]:
            decisions.setdefault((r["run_id"], r["pair_id"], r["tick_ns"]), []).append(r)
    answered = sorted(int(r["ack_ns"]) for r in rows if r["ack_ns"])
    pairs, idle = [], []
    for (_, _, tick), legs in decisions.items():
        if len(legs) != 2 or legs[0]["venue"] == legs[1]["venue"]:
            continue
        first, last = sorted(leg["arrival_ns"] for leg in legs)
        intents = sorted(int(leg["intent_ns"]) for leg in legs)
        written = sorted(int(leg["written_ns"]) for leg in legs)
        pair = (tick, first, last, intents[0], intents[1], written[0], written[1])
        pairs.append(pair)
        earlier = [r for r in rows if r["intent_ns"] < tick]
        if all(r["ack_ns"] and r["ack_ns"] < tick for r in earlier):
            idle.append(pair)
    del answered
    if os.environ.get("BENCH_PAIRS_DETAIL"):
        for q in sorted(pairs):
            print("      pair", [round((x - q[0]) / 1e3) for x in q[1:]])
    print(f"    {'pairs: second leg after the first (arrivals)':<44}{_pct([p[2] - p[1] for p in pairs])}")
    print(f"    {'pairs: tick -> first intent (the decision)':<44}{_pct([p[3] - p[0] for p in pairs])}")
    print(f"    {'pairs: first intent -> second intent':<44}{_pct([p[4] - p[3] for p in pairs])}")
    print(f"    {'pairs: second intent -> first leg written':<44}{_pct([p[5] - p[4] for p in pairs])}")
    print(f"    {'pairs: first leg written -> second written':<44}{_pct([p[6] - p[5] for p in pairs])}")
    print(f"    {'tick -> trade, first leg, idle':<44}{_pct([p[1] - p[0] for p in idle])}")
    print(f"    {'tick -> trade, last leg, idle':<44}{_pct([p[2] - p[0] for p in idle])}")
    print(f"    {'tick -> trade, last leg, all pairs':<44}{_pct([p[2] - p[0] for p in pairs])}")


def _one_order(entry: str, orders: int) -> None:
    if len(_CORES) >= 2:
        os.sched_setaffinity(0, set(_CORES))  # bench_orders places itself and its venue
    from bench_orders import _live, _paper

    with tempfile.TemporaryDirectory() as folder:
        written, _, _ = asyncio.run(_live(Path(folder), orders, "", "normal", entry, True))
    print(f"    {'one order at a time: intent -> written':<44}{_pct(written)}")
    print(f"    {'paper executor submit (CPU reference)':<44}{_pct(_paper(orders))}")


_BARE_SENDER = """
import socket, sys, time
ports, count, gap_s = [int(p) for p in sys.argv[1:3]], int(sys.argv[3]), float(sys.argv[4])
socks = [socket.create_connection(("127.0.0.1", port)) for port in ports]
for sock in socks:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
pad = b"x" * 400
for i in range(count):
    for _ in range(round(gap_s / 0.005)):  # awake every 5 ms, as arb's loop is (a longer sleep runs the sends cold)
        time.sleep(0.005)
    first, second = b"bare-%d " % i + pad, b"bare-%d " % i + pad
    socks[0].send(first)
    socks[1].send(second)
for sock in socks:
    sock.close()
"""


def _bare_pairs(count: int = 58, gap_s: float = 0.5) -> None:
    # The floor of the legs' gap (see the module docstring): two sends back to back, nothing else
    if len(_CORES) >= 2:
        os.sched_setaffinity(0, {_CORES[-1]})  # the sinks and the taps where the venues were
    sinks = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]

    def drain(server: socket.socket) -> None:
        connection, _ = server.accept()
        with connection:
            while connection.recv(1 << 16):
                pass

    drains = [threading.Thread(target=drain, args=(sink,), daemon=True) for sink in sinks]
    for thread in drains:
        thread.start()
    taps = [WireTap("127.0.0.1", sink.getsockname()[1]) for sink in sinks]
    with taps[0], taps[1]:
        sender = subprocess.Popen([sys.executable, "-c", _BARE_SENDER, str(taps[0].port), str(taps[1].port),
                                   str(count), str(gap_s)])  # fmt: skip
        if len(_CORES) >= 2:
            os.sched_setaffinity(sender.pid, set(_CORES[:-1]))
        sender.wait(timeout=count * gap_s + 60)
        for thread in drains:  # every byte forwarded: the taps hold them all
            thread.join(timeout=30)
    for sink in sinks:
        sink.close()
    first, second = (tap.arrivals(rb"bare-[0-9]+ ") for tap in taps)
    print("  the machine's floor: two bare socket sends back to back, through the same taps")
    print(f"    {'the second arrival after the first':<44}{_pct([second[k] - first[k] for k in first if k in second])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entry", choices=("rest", "websocket", "both"), default="both")
    parser.add_argument("--seconds", type=int, default=30, help="the real run's trading time (default 30)")
    parser.add_argument("--orders", type=int, default=100, help="single orders for the one-order figure")
    parser.add_argument("--live", action="append", default=[], metavar="KEY=VALUE",
                        help="a [live] key instead of the shipped, e.g. warm_interval_ms=0 (repeatable)")  # fmt: skip
    args = parser.parse_args()
    live = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.live)}
    sys.setswitchinterval(0.0005)  # the taps' thread forwards promptly beside the venues' event loop
    print(f"arb live against fake Binance and Bybit spot, {args.seconds} s of a standing spread, shipped journal"
          + "".join(f", {key} = {value}" for key, value in live.items()))  # fmt: skip
    for entry in ("rest", "websocket") if args.entry == "both" else (args.entry,):
        with tempfile.TemporaryDirectory() as folder:
            rows, arrivals, collections = asyncio.run(_real_run(Path(folder), entry, args.seconds, live))
        _report(entry, rows, arrivals, collections)
        _one_order(entry, args.orders)
    _bare_pairs()


if __name__ == "__main__":
    run_benchmark(main)
