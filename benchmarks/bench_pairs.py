"""Tick to trade in a real run: ``arb live`` trading pairs against fake Binance and Bybit (``--venues``: any
two of Binance, Bybit and OKX, on the standing spread), every order's arrival stamped by the kernel at the
venue's port.

A real ``arb live`` process (the shipped configuration: journal SQLite ``normal`` with the intent log)
trades the end-to-end tests' standing spread (Bybit's bid above Binance's ask, a pair every cooldown)
replayed in real time by the fake venues (``arb.sim``, in this process), or (``--market sample``) the shipped
sample (``recordings/``, both days, 10.8 market minutes) at ``--speed`` times its pace (10 by default), with the
shipped ``cooldown_ms = 0``: pairs come in bursts while the spread stands, each decided while the previous one's
answers, fills and journal rows are being handled; each venue's REST port and order
WebSocket are reached through a :class:`~arb.sim.tap.WireTap`, which stamps with ``SO_TIMESTAMPNS`` when
each request's bytes reached the venue's port (the kernel's time, on the clock of arb's own stamps). Per
order entry (``--entry``: the venue files' ``order_entry``, REST or WebSocket), from the journal arb wrote
and the taps:

- intent -> arrival: from ``submit`` (``intent_ns``) to the order's bytes at the venue's port, and arb's own
  intent -> written (``written_ns``, its stamp at the socket write) beside it, and written -> arrival;
- per pair (two legs decided together, both venues): the second leg's arrival after the first's, and tick
  -> trade, from the receive time of the frame the pair was decided at (``tick_ns``) to each leg's
  arrival, over the pairs decided while idle (every earlier order answered before the frame came) and
  over all (first and last leg);
- the one-order figure in the same run: ``bench_orders``' single orders (one at a time, fake Bybit spot in a
  process of its own, the same journal) intent -> written, and the paper executor's ``submit`` (the CPU
  reference: what the intent costs without a venue);
- the floor of the legs' gap on this machine, last: a process on arb's cores makes two plain socket sends
  back to back, to two ports behind the same taps on the venues' core, once every half second (awake every
  5 ms between, as arb's event loop is: after a longer sleep the first send runs cold); the second arrival
  after the first. On loopback the first send also delivers its bytes and wakes the receiving
  thread on the other core before it returns: a cost of the machine, not of arb's code.

``--reference COMMIT`` runs ``arb live`` of that commit of this repository (its tree from ``git archive``, in a
temporary folder, first on ``PYTHONPATH``; this interpreter and its packages unless ``--reference-python``
names another) against the same venues, alternated with this checkout's ``--rounds`` times per entry
(``--reference DIR``: another checkout as it is); the figures of each are printed run by run, then their
range per checkout. Every run also times each ``Engine.on_batches`` inside arb (tick -> decision, the ops
watch's ``tick_to_decision``: ``gc_probe/engine_probe.py``); ``BENCH_PAIRS_LOOP=1`` times every callback
of arb's event loop too (``gc_probe/loop_probe.py``) and prints, over the pairs, what ran between each
pair's tick and its first leg's write.

Prints the load average before and after (``machine.py``): on a shared machine the figures move with it.
Never fails on a timing.

    python benchmarks/bench_pairs.py [--entry rest|websocket|both] [--seconds 30] [--orders 100] [--live KEY=VALUE]
    python benchmarks/bench_pairs.py --venues binance,okx --entry websocket --orders 0   # an OKX leg
    python benchmarks/bench_pairs.py --market sample --speed 10 --orders 0 --rounds 2 --reference ab848b1
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from machine import run_benchmark

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arb.journal import Journal  # noqa: E402
from arb.sim.binance.exchange import FakeBinanceExchange  # noqa: E402
from arb.sim.bybit.exchange import FakeBybitExchange  # noqa: E402
from arb.sim.options import VenueOptions  # noqa: E402
from arb.sim.tap import WireTap  # noqa: E402
from arb.strategy.types import INTENT_OPEN  # noqa: E402
from arb.testing.pair_rig import (  # noqa: E402
    KEY,
    PAIR,
    SECRET,
    SPOT_RULES,
    book_stream,
    key_environment,
    order_socket_url,
    spot_pair,
    write_pair_config,
)
from tests.support.scenario_days import write_standing_spread  # noqa: E402

CLIENT_ID = rb"arb[-X][0-9a-z]+[-X][0-9a-z]+[-X][01]"
"""arb's client id as it goes out: as arb writes it, or as OKX's ``clOrdId`` (the dashes as ``X``)."""
_CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _pct(values_ns: list[int] | np.ndarray[Any, Any]) -> str:
    a = np.asarray(values_ns, dtype=np.float64) / 1e3
    if not len(a):
        return "n=    0"
    p50, p99 = np.percentile(a, [50, 99])
    return f"n={len(a):>5}  p50 {p50:8.1f} us  p99 {p99:8.1f} us  max {a.max():8.1f} us"


def _p50_p99(values_ns: list[int]) -> tuple[float, float]:
    if not values_ns:
        return (float("nan"), float("nan"))
    p50, p99 = np.percentile(np.asarray(values_ns, dtype=np.float64) / 1e3, [50, 99])
    return (float(p50), float(p99))


def _tapped(folder: Path, venues: list[Any]) -> list[WireTap]:
    # A tap in front of each venue's REST port and order WebSocket; the venue files point at the taps
    taps: list[WireTap] = []
    for venue in venues:
        name = venue.venue_name
        files = {name: folder / f"{name}.toml"}
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


async def _wait(condition: Any, timeout_s: float, what: str, process: Any, out: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if process.returncode is not None:
            said = (out / "stderr").read_text()[-3000:]
            raise SystemExit(f"bench_pairs: arb live exited ({process.returncode}) before {what}:\n{said}")
        if time.monotonic() > deadline:
            raise SystemExit(f"bench_pairs: gave up waiting for {what}")
        await asyncio.sleep(0.05)  # a benchmark's poll, not a test's wait


_UNKNOWN_KEY = re.compile(r"^arb\.errors\.ConfigError: (\S+): (\w+)\.(\w+): unknown key", re.MULTILINE)


def _fit_config(checkout: Checkout, config: Path) -> None:
    # A reference older than the rig that wrote the configuration refuses the keys added since (the rig's
    # defaults of newer options): each one its loader names is taken out, so it runs on its own default
    for _ in range(20):
        loaded = subprocess.run([checkout.python, "-c", "import sys; from arb.config import load_config; "
                                 "load_config(sys.argv[1])", str(config)], capture_output=True, text=True,
                                env={**os.environ, "PYTHONPATH": str(checkout.root)}, cwd=config.parent)  # fmt: skip
        unknown = _UNKNOWN_KEY.search(loaded.stderr)
        if loaded.returncode == 0 or unknown is None:
            return
        path, section, key = Path(unknown[1]), unknown[2], unknown[3]
        lines, inside = path.read_text().splitlines(keepends=True), False
        for k, line in enumerate(lines):
            if line.startswith("["):
                inside = line.strip() == f"[{section}]"
            elif inside and line.split("=", 1)[0].strip() == key:
                print(f"    ({checkout.label} knows no {section}.{key} in {path.name}: left out)")
                del lines[k]
                break
        else:
            return
        path.write_text("".join(lines))


@dataclass(frozen=True)
class Run:
    """What one real run left: the journal's intents, each order's arrival at its venue's port (ns, by
    client id), the collector's pauses, every ``Engine.on_batches`` as ``(took_ns, intents sent)``
    (``gc_probe/engine_probe.py``) and, with ``BENCH_PAIRS_LOOP``, every callback of arb's event loop as
    ``(start_ns, took_ns, cpu_ns, name)`` (``gc_probe/loop_probe.py``)."""

    rows: list[dict[str, Any]]
    arrivals: dict[bytes, int]
    collections: list[dict[str, int]]
    decisions: list[tuple[int, int]]
    loop: list[tuple[int, int, int, str]]


@dataclass(frozen=True)
class Checkout:
    """Whose ``arb live`` runs: a label, the interpreter and the checkout put first on its ``PYTHONPATH``."""

    label: str
    python: str
    root: Path


@contextlib.asynccontextmanager
async def _venues(
    folder: Path, market: str, seconds: int, pair: tuple[str, str] = PAIR
) -> AsyncIterator[tuple[Any, Any]]:
    # The fake venues, each replaying its market: the standing spread (on the venues of ``pair``), or the
    # shipped sample (both days as one session)
    balances = {"USDT": "100000000", "BTC": "100"}
    if market == "standing":
        files = write_standing_spread(folder, duration_ms=(seconds + 3) * 1000, heartbeat_ms=100, venues=pair)
        async with spot_pair(*files, balances=balances, venues=pair) as venues:
            yield venues
        return
    sample = ROOT / "recordings"
    options = VenueOptions(ping_interval=None)
    async with (
        FakeBinanceExchange([sorted((sample / "binance_spot").glob("btcusdt_*.gz"))], market="spot",
                            rules=[SPOT_RULES["binance"]], options=options) as binance,
        FakeBybitExchange([sorted((sample / "bybit_spot").glob("btcusdt_*.gz"))], market="spot",
                          rules=[SPOT_RULES["bybit"]], options=options) as bybit,
    ):  # fmt: skip
        for venue in (binance, bybit):
            venue.add_account("arb", api_key=KEY, api_secret=SECRET, balances=balances)
        yield binance, bybit


async def _real_run(
    folder: Path,
    entry: str,
    seconds: int,
    live: dict[str, Any],
    checkout: Checkout,
    market: str,
    speed: float,
    pair: tuple[str, str] = PAIR,
) -> Run:
    if len(_CORES) >= 2:
        # the venues and the taps (threads made from now on) on a core of their own, arb on the others, as a
        # venue is another machine: woken on arb's core, a tap would run inside arb's write (seen: 0.2-0.4 ms)
        os.sched_setaffinity(0, {_CORES[-1]})
    keys = key_environment()
    os.environ.update(keys)
    async with _venues(folder, market, seconds, pair) as (binance, bybit):
        arbitrage: dict[str, Any] = {"strategy": {"max_position_size": 50.0}, "risk": {"position_limit": 100.0}}
        if market == "sample":  # the shipped cooldown: a pair at every frame the spread stands
            arbitrage["strategy"]["cooldown_ms"] = 0
        config = write_pair_config(folder, binance, bybit, arbitrage=arbitrage, order_entry=entry, live=live)
        if checkout.root != ROOT:
            _fit_config(checkout, config)
        taps = _tapped(folder, [binance, bybit])
        for tap in taps:
            tap.__enter__()
        try:
            out = folder / "out"
            out.mkdir()
            with (out / "stdout").open("wb") as stdout, (out / "stderr").open("wb") as stderr:
                process = await asyncio.create_subprocess_exec(
                    checkout.python, "-m", "arb.cli", "live", "--config", str(config), "--out", str(out / "report"),
                    env={**os.environ, **keys,
                         "PYTHONPATH": f"{ROOT / 'benchmarks' / 'gc_probe'}{os.pathsep}{checkout.root}",
                         "ARB_GC_PROBE": str(out / "gc.jsonl"), "ARB_ENGINE_PROBE": str(out / "engine.jsonl"),
                         **({"ARB_LOOP_PROBE": str(out / "loop.jsonl")} if os.environ.get("BENCH_PAIRS_LOOP") else {})},
                    cwd=out, stdout=stdout, stderr=stderr,
                )  # fmt: skip
                if len(_CORES) >= 2:  # arb on the other cores
                    os.sched_setaffinity(process.pid, set(_CORES[:-1]))
                spy = None
                if os.environ.get("BENCH_PAIRS_PYSPY"):  # a profile of arb live (pip install py-spy)
                    spy = subprocess.Popen(["py-spy", "record", "--pid", str(process.pid), "--rate", "500",
                                            "--nonblocking", "--format", "raw", "-o", str(out / "pyspy.txt")],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                try:
                    await _wait(
                        lambda: all(
                            v.subscriber_count(book_stream(v)) >= 1 and v.user_streams_up() for v in (binance, bybit)
                        ),
                        1800,  # a first run compiles its checkout's code (Numba) first: minutes on a busy machine
                        "arb live to subscribe",
                        process,
                        out,
                    )
                    binance.play(1.0 if market == "standing" else speed)
                    bybit.play(1.0 if market == "standing" else speed)
                    if market == "standing":
                        await asyncio.sleep(seconds + 2)  # the recording plays in real time
                    else:
                        await binance.wait_played()
                        await bybit.wait_played()
                        await asyncio.sleep(2)  # the last answers
                    if process.returncode is not None:
                        said = (out / "stderr").read_text()[-3000:]
                        raise SystemExit(f"bench_pairs: arb live exited ({process.returncode}) while trading:\n{said}")
                    process.send_signal(signal.SIGINT)
                    async with asyncio.timeout(120):
                        await process.wait()
                    if spy is not None:
                        spy.wait(timeout=60)
                finally:
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
        finally:
            for tap in taps:
                tap.__exit__()
        arrivals: dict[bytes, int] = {}
        for tap in taps:  # by arb's client id (OKX's clOrdId has X for arb's dashes)
            arrivals |= {cid.replace(b"X", b"-"): ns for cid, ns in tap.arrivals(CLIENT_ID).items()}
    if os.environ.get("BENCH_PAIRS_KEEP"):  # arb's output and journal, for a look after the run
        import shutil

        kept = Path(os.environ["BENCH_PAIRS_KEEP"]) / f"{checkout.label}-{entry}-{time.strftime('%H%M%S')}"
        shutil.copytree(out, kept / "out")
        shutil.copytree(folder / "live", kept / "live")
    with Journal.open(folder / "live" / "main.sqlite") as journal:
        rows = journal.intents()
    if not rows:
        raise SystemExit(f"bench_pairs: arb live sent no order; its output:\n{(out / 'stderr').read_text()[-3000:]}")
    return Run(rows, arrivals, *(_lines(out / name) for name in ("gc.jsonl", "engine.jsonl", "loop.jsonl")))


def _lines(path: Path) -> list[Any]:
    # A probe's JSON lines (benchmarks/gc_probe), none when it did not run
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def _report(entry: str, run: Run) -> dict[str, tuple[float, float]]:
    """Print one run's figures; returns the headline ones (name -> (p50, p99) in us) for the summary."""
    rows, arrivals, collections = run.rows, run.arrivals, run.collections
    for row in rows:
        row["arrival_ns"] = arrivals.get(row["client_id"].encode(), 0)
    sent = [r for r in rows if r["written_ns"] and r["arrival_ns"]]
    print(f"  {entry}: {len(rows)} orders, {len(sent)} seen at the venues' ports")
    for c in collections:  # from the session's freeze: while trading, then the stop and the report ("after")
        phase = {"trading": "", "after": " after"}.get(str(c.get("phase", "")), "")
        print(f"    {'gc' + phase + ' generation ' + str(c['generation']) + ': collections, longest':<44}"
              f"{c['n']:>8}  {c['max_ns'] / 1e3:,.0f} us (all: {c['total_ns'] / 1e6:,.1f} ms); CPU: longest "
              f"{c.get('cpu_max_ns', 0) / 1e3:,.0f} us, all {c.get('cpu_total_ns', 0) / 1e6:,.1f} ms")  # fmt: skip
    figures: dict[str, list[int]] = {
        "intent -> arrival at the venue": [r["arrival_ns"] - r["intent_ns"] for r in sent],
        "intent -> written (arb latency)": [r["written_ns"] - r["intent_ns"] for r in sent],
        "written -> arrival": [r["arrival_ns"] - r["written_ns"] for r in sent],
    }
    for venue in sorted({r["venue"] for r in sent}):  # each venue apart, a pair's legs and the other orders
        mine = [r for r in sent if r["venue"] == venue]
        figures[f"intent -> arrival, {venue}, pair legs"] = [
            r["arrival_ns"] - r["intent_ns"] for r in mine if int(r["kind"]) == INTENT_OPEN
        ]
        if any(int(r["kind"]) != INTENT_OPEN for r in mine):  # hedges and unwinds: a spot fee traded back
            figures[f"intent -> arrival, {venue}, hedges"] = [
                r["arrival_ns"] - r["intent_ns"] for r in mine if int(r["kind"]) != INTENT_OPEN
            ]
    decisions: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for r in sent:
        if r["tick_ns"]:
            decisions.setdefault((r["run_id"], r["pair_id"], r["tick_ns"]), []).append(r)
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
    if os.environ.get("BENCH_PAIRS_DETAIL"):
        for q in sorted(pairs):
            print("      pair", "idle" if q in idle else "busy", [round((x - q[0]) / 1e3) for x in q[1:]])
    figures |= {
        "pairs: second leg after the first (arrivals)": [p[2] - p[1] for p in pairs],
        "pairs: tick -> first intent (the decision)": [p[3] - p[0] for p in pairs],
        "pairs: first intent -> second intent": [p[4] - p[3] for p in pairs],
        "pairs: second intent -> first leg written": [p[5] - p[4] for p in pairs],
        "pairs: first leg written -> second written": [p[6] - p[5] for p in pairs],
        "tick -> trade, first leg, idle": [p[1] - p[0] for p in idle],
        "tick -> trade, last leg, idle": [p[2] - p[0] for p in idle],
        "tick -> trade, first leg, all pairs": [p[1] - p[0] for p in pairs],
        "tick -> trade, last leg, all pairs": [p[2] - p[0] for p in pairs],
    }
    figures |= {
        "tick -> decision, every arrival": [took for took, _ in run.decisions],
        "tick -> decision, arrivals that sent": [took for took, sent in run.decisions if sent],
    }
    for name, values in figures.items():
        print(f"    {name:<44}{_pct(values)}")
    if run.loop:
        _between(run.loop, [(p[0], p[5]) for p in pairs])
    return {name: _p50_p99(values) for name, values in figures.items()} | {"pairs": (len(pairs), len(idle))}


def _overlapping(
    loop: list[tuple[int, int, int, str]], starts: list[int], tick: int, written: int
) -> Iterator[tuple[int, int, int, str]]:
    # The callbacks of ``loop`` (sorted, ``starts`` their starts) that ran inside (tick, written): start, wall
    # and CPU ns, and the name (a task by its own name)
    k = max(0, bisect.bisect_left(starts, tick) - 1)
    while k < len(loop) and loop[k][0] < written:
        start, took, cpu_ns, name = loop[k]
        k += 1
        if start + took > tick:
            yield start, took, cpu_ns, name.split(" ", 2)[1] if name.startswith("task ") else name


def _between(loop: list[tuple[int, int, int, str]], spans: list[tuple[int, int]]) -> None:
    # What arb's event loop ran between each pair's tick and its first leg's write (BENCH_PAIRS_LOOP): each
    # callback's part inside the span, summed by name over the pairs, wall and CPU (a callback whose wall is
    # much longer than its CPU waited for the core)
    loop = sorted(loop)
    starts = [r[0] for r in loop]
    wall: dict[str, int] = {}
    cpu: dict[str, int] = {}
    count: dict[str, int] = {}
    for tick, written in spans:
        for start, took, cpu_ns, name in _overlapping(loop, starts, tick, written):
            inside = min(start + took, written) - max(start, tick)
            if inside <= 0:
                continue
            name = "send-<order>" if name.startswith("send-") else name
            wall[name] = wall.get(name, 0) + inside
            cpu[name] = cpu.get(name, 0) + cpu_ns * inside // max(took, 1)
            count[name] = count.get(name, 0) + 1
    if os.environ.get("BENCH_PAIRS_DETAIL"):  # each pair's callbacks: name, start after the tick, wall / CPU (us)
        for tick, written in sorted(spans):
            ran = [f"{name}@{(start - tick) / 1e3:.0f}:{took / 1e3:.0f}/{cpu_ns / 1e3:.0f}"
                   for start, took, cpu_ns, name in _overlapping(loop, starts, tick, written)]  # fmt: skip
            print(f"      pair {(written - tick) / 1e3:,.0f} us:", " ".join(ran))
    total = sum(written - tick for tick, written in spans)
    print(
        f"    what the loop ran from each pair's tick to its first leg written ({len(spans)} pairs, "
        f"{total / 1e3 / max(len(spans), 1):,.0f} us a pair), summed over the pairs: wall / CPU (us), runs"
    )
    for name in sorted(wall, key=wall.__getitem__, reverse=True)[:12]:
        print(f"      {name:<42}{wall[name] / 1e3:>10,.0f} / {cpu[name] / 1e3:>8,.0f}  {count[name]:>6}")
    # each kind of callback from the first pair's tick to the last one's write: what one costs the loop (CPU)
    each: dict[str, list[int]] = {}
    begin, end = min((t for t, _ in spans), default=0), max((w for _, w in spans), default=0)
    for start, _, cpu_ns, name in loop:
        if not begin <= start < end:
            continue
        name = name.split(" ", 2)[1] if name.startswith("task ") else name
        each.setdefault("send-<order>" if name.startswith("send-") else name, []).append(cpu_ns)
    print("    every callback from the first pair's tick to the last's write, by kind, its CPU: n, p50 / p99 / max "
          "(us), all (ms)")  # fmt: skip
    for name in sorted(each, key=lambda n: sum(each[n]), reverse=True)[:14]:
        a = np.asarray(each[name], dtype=np.float64) / 1e3
        p50, p99 = np.percentile(a, [50, 99])
        print(f"      {name:<42}{len(a):>8}  {p50:8.1f} / {p99:8.1f} / {a.max():8.1f}  {a.sum() / 1e3:8.1f}")


def _summary(runs: list[tuple[str, str, dict[str, tuple[float, float]]]]) -> None:
    # Per entry and checkout, each headline figure's p50 and p99 as the range over its runs
    print("summary (us; the range over the runs of each checkout: p50 / p99)")
    for entry in dict.fromkeys(e for e, _, _ in runs):
        labels = list(dict.fromkeys(label for e, label, _ in runs if e == entry))
        print(f"  {entry}: " + " | ".join(f"{label} ({sum(1 for e, x, _ in runs if (e, x) == (entry, label))} runs)"
                                          for label in labels))  # fmt: skip
        names = dict.fromkeys(name for e, _, f in runs if e == entry for name in f)  # a figure some runs lack
        for name in names:
            cells = []
            for label in labels:
                got = [f[name] for e, x, f in runs if (e, x) == (entry, label) and name in f]
                if not got:  # no such orders in this checkout's runs (a hedge)
                    cells.append("-")
                    continue
                if name == "pairs":
                    cells.append(", ".join(f"{int(a)} ({int(b)} idle)" for a, b in got))
                    continue
                lo50, hi50 = min(g[0] for g in got), max(g[0] for g in got)
                lo99, hi99 = min(g[1] for g in got), max(g[1] for g in got)
                cells.append(f"{_span(lo50, hi50)} / {_span(lo99, hi99)}")
            print(f"    {name:<44}" + " | ".join(f"{c:<26}" for c in cells))


def _span(lo: float, hi: float) -> str:
    return f"{lo:,.0f}" if round(lo) == round(hi) else f"{lo:,.0f}-{hi:,.0f}"


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
    parser.add_argument(
        "--market",
        choices=("standing", "sample"),
        default="standing",
        help="the standing spread in real time (default), or the shipped sample at --speed",
    )
    parser.add_argument("--speed", type=float, default=10.0, help="the sample's pace, times real time (default 10)")
    parser.add_argument("--venues", default=",".join(PAIR),
                        help="the standing spread's two venues, in the run's order (default binance,bybit; "
                             "binance,okx: an OKX leg)")  # fmt: skip
    parser.add_argument("--seconds", type=int, default=30, help="the standing spread's trading time (default 30)")
    parser.add_argument("--orders", type=int, default=100, help="single orders for the one-order figure (0: none)")
    parser.add_argument("--rounds", type=int, default=1, help="real runs per entry and checkout, alternated")
    parser.add_argument("--reference", metavar="COMMIT|DIR",
                        help="a commit of this repository (its tree from git archive, in a temporary folder) or "
                             "another checkout, run alternately with this one")  # fmt: skip
    parser.add_argument("--reference-python", default="",
                        help="the reference's interpreter (default: this one, with its packages)")  # fmt: skip
    parser.add_argument("--no-floor", action="store_true", help="skip the machine's floor (two bare sends)")
    parser.add_argument("--live", action="append", default=[], metavar="KEY=VALUE",
                        help="a [live] key instead of the shipped, e.g. warm_interval_ms=0 (repeatable)")  # fmt: skip
    args = parser.parse_args()
    pair = tuple(args.venues.split(","))
    if len(pair) != 2 or len(set(pair)) != 2 or not set(pair) <= {"binance", "bybit", "okx"}:
        parser.error(f"--venues: two of binance, bybit and okx, comma-separated, got {args.venues!r}")
    if pair != PAIR and args.market != "standing":
        parser.error("--venues: the shipped sample is Binance's and Bybit's (--market standing for another pair)")
    live = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.live)}
    sys.setswitchinterval(0.0005)  # the taps' thread forwards promptly beside the venues' event loop
    checkouts = [Checkout(_head_label(), sys.executable, ROOT)]
    with contextlib.ExitStack() as stack:
        if args.reference is not None:
            checkouts.append(_reference(args.reference, args.reference_python or sys.executable, stack))
        _runs(args, checkouts, live)
    if not args.no_floor:
        _bare_pairs()


def _reference(reference: str, python: str, stack: contextlib.ExitStack) -> Checkout:
    # Another checkout as it is, or a commit's tree extracted from this repository (git archive) into a
    # temporary folder that lives as long as the runs (its Numba cache made by its first run)
    if Path(reference).is_dir():
        return Checkout(_head_label(Path(reference)), python, Path(reference).resolve())
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-pairs-ref-")))
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", reference], capture_output=True,
                            text=True, check=True).stdout.strip()  # fmt: skip
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    print(f"reference: {commit} from git archive in {folder}, run by {python}")
    return Checkout(f"{commit} (git archive)", python, folder)


def _runs(args: argparse.Namespace, checkouts: list[Checkout], live: dict[str, Any]) -> None:
    # Each entry's real runs, the checkouts alternated round by round; then the summary
    market = (f"the shipped sample at {args.speed:g}x" if args.market == "sample"
              else f"{args.seconds} s of a standing spread")  # fmt: skip
    pair = tuple(args.venues.split(","))
    print(f"arb live against fake {' and '.join(pair)} spot, {market}, shipped journal"
          + "".join(f", {key} = {value}" for key, value in live.items()))  # fmt: skip
    runs: list[tuple[str, str, dict[str, tuple[float, float]]]] = []
    for entry in ("rest", "websocket") if args.entry == "both" else (args.entry,):
        for _ in range(args.rounds):
            for checkout in checkouts:
                print(f"  {checkout.label}, load average {os.getloadavg()[0]:.2f}:")
                with tempfile.TemporaryDirectory() as folder:
                    got = asyncio.run(_real_run(Path(folder), entry, args.seconds, live, checkout, args.market,
                                                args.speed, (pair[0], pair[1])))  # fmt: skip
                runs.append((entry, checkout.label, _report(entry, got)))
        if args.orders:
            _one_order(entry, args.orders)
    if len(runs) > 1:
        _summary(runs)


def _head_label(root: Path = ROOT) -> str:
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()  # fmt: skip
        changed = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        commit, changed = "?", ""
    return f"{root.name}@{commit}" + ("+changes" if changed else "")


if __name__ == "__main__":
    run_benchmark(main)
