"""Order entry alone, three ways, in one run: the call to the request's bytes handed to the socket, and to
the venue's acknowledgement.

- ccxt 4.5.90 REST ``create_order`` (what ``arb live`` sends today): market checks, request building,
  HMAC signing, aiohttp's client. Bytes written: aiohttp's ``on_request_chunk_sent`` trace hook.
- ccxt pro ``create_order_ws`` on Bybit's ``/v5/trade`` (logged in beforehand). Bytes written: taken
  when ccxt hands the frame to its connection's ``send`` (the benchmark wraps that one method to read
  the clock; nothing else is changed).
- arb's :class:`connectors.common.order_socket.OrderSocket` with :class:`connectors.bybit.trade_socket.
  BybitTradeFraming` on the same ``/v5/trade``: the order's parameters given as the REST body has them.
  Bytes written: the client's own ``written_ns``.

The venue is the fake private Bybit spot (``python -m arb.sim.bybit.serve``, rate limits lifted) in a process
of its own on loopback, as a real venue is another machine; each order is an IOC buy below the book, so
it expires, and the next goes out when the last was answered. Rounds alternate the three clients so the
machine's load falls on each alike. No journal and no executor here (``bench_orders.py`` times those);
never fails on a timing.

    python benchmarks/bench_order_entry.py [--orders 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from machine import run_benchmark

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_orders import serve_bybit_spot  # noqa: E402

from arb.execution.ccxt_setup import make_exchange  # noqa: E402
from connectors.bybit.trade_socket import CREATE, BybitTradeFraming  # noqa: E402
from connectors.common.order_socket import OrderSocket  # noqa: E402
from tests.support.live_rig import KEY, SECRET  # noqa: E402

_SEQ = iter(range(10**9))
"""Client order ids unique across clients and rounds."""

Timed = tuple[int, int, int]
"""(call, bytes written, answer) in ``time.perf_counter_ns``."""


def _order(price: str, tag: str) -> dict[str, Any]:
    return {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
            "price": price, "timeInForce": "IOC", "orderLinkId": f"{tag}-{os.getpid()}-{next(_SEQ)}"}  # fmt: skip


async def _ccxt_orders(
    create: Callable[..., Awaitable[Any]], written: list[int], price: str, n: int, tag: str
) -> list[Timed]:
    """``n`` IOC buys through ``create`` (a ccxt exchange's order method), one at a time; ``written`` is
    filled with the clock at the request's bytes."""
    out: list[Timed] = []
    for _ in range(n):
        written.clear()
        params = {"timeInForce": "IOC", "clientOrderId": f"{tag}-{os.getpid()}-{next(_SEQ)}"}
        t0 = time.perf_counter_ns()
        await create("BTC/USDT", "limit", "buy", 0.001, float(price), params)
        out.append((t0, written[0], time.perf_counter_ns()))
    return out


async def _rest(urls: dict[str, Any], price: str, n: int) -> list[Timed]:
    written: list[int] = []

    async def on_chunk(session: Any, ctx: Any, params: Any) -> None:
        written.append(time.perf_counter_ns())

    trace = aiohttp.TraceConfig()
    trace.on_request_chunk_sent.append(on_chunk)
    exchange = make_exchange("bybit", "spot", rest=urls["rest"], api_key=KEY, api_secret=SECRET, timeout_ms=5000)
    exchange.session = aiohttp.ClientSession(trace_configs=[trace])
    try:
        await exchange.load_markets()
        return await _ccxt_orders(exchange.create_order, written, price, n, "rest")
    finally:
        await exchange.close()


async def _ccxt_ws(urls: dict[str, Any], price: str, n: int) -> list[Timed]:
    exchange = make_exchange("bybit", "spot", rest=urls["rest"], ws_private=urls["ws_private"], api_key=KEY,
                             api_secret=SECRET, timeout_ms=5000, pro=True)  # fmt: skip
    exchange.urls["api"]["ws"]["private"]["trade"] = urls["ws_trade"]
    try:
        await exchange.load_markets()
        await exchange.authenticate(urls["ws_trade"])
        client = exchange.client(urls["ws_trade"])
        written: list[int] = []
        send = client.send

        def timed_send(message: Any) -> Any:
            written.append(time.perf_counter_ns())
            return send(message)

        client.send = timed_send
        return await _ccxt_orders(exchange.create_order_ws, written, price, n, "ccxtws")
    finally:
        await exchange.close()


async def _socket(urls: dict[str, Any], price: str, n: int) -> list[Timed]:
    client = OrderSocket(urls["ws_trade"], BybitTradeFraming(KEY, SECRET), name="bench order entry")
    await client.start()
    try:
        out: list[Timed] = []
        offset = time.perf_counter_ns() - time.time_ns()  # written_ns is wall-clock time
        for _ in range(n):
            order = _order(price, "sock")
            t0 = time.perf_counter_ns()
            sent = await client.send(CREATE, order)
            answer = await sent.answer()
            assert answer["retCode"] == 0, answer
            out.append((t0, sent.written_ns + offset, time.perf_counter_ns()))
        return out
    finally:
        await client.close()


def _line(name: str, timed: list[Timed]) -> str:
    a = np.array(timed, dtype=np.int64)
    write = (a[:, 1] - a[:, 0]) / 1e3
    trip = (a[:, 2] - a[:, 0]) / 1e3
    w50, w99 = np.percentile(write, [50, 99])
    r50, r99 = np.percentile(trip, [50, 99])
    return f"{name:<34} {w50:8.1f} {w99:8.1f}   {r50:8.1f} {r99:8.1f}   n={len(a)}"


async def _main(args: argparse.Namespace) -> None:
    process, urls = await serve_bybit_spot()
    try:
        price = str((Decimal(urls["bid"]) * Decimal("0.9")).quantize(Decimal("0.1")))
        ways: dict[str, Callable[..., Awaitable[list[Timed]]]] = {
            "ccxt REST create_order": _rest,
            "ccxt pro create_order_ws": _ccxt_ws,
            "arb OrderSocket (thin)": _socket,
        }
        runs: dict[str, list[Timed]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, way in ways.items():
                gc.collect()
                timed = await way(urls, price, args.orders + args.warm)
                runs[name].extend(timed[args.warm :])
        print(f"{'call -> (us)':<34} {'bytes p50':>8} {'p99':>8}   {'ack p50':>8} {'p99':>8}")
        for name, timed in runs.items():
            print(_line(name, timed))
    finally:
        if process.stdin is not None:
            process.stdin.close()
        await process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=400, help="timed orders per client and round")
    parser.add_argument("--warm", type=int, default=30, help="orders per client and round not timed")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(_main(args))


if __name__ == "__main__":
    run_benchmark(main)
