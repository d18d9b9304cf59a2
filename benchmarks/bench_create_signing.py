"""A REST create's signing, per venue-market: ccxt's ``sign`` (the reference) beside the venue's own
(:meth:`connectors.common.ccxt_venue.CcxtVenue.create_signer`), the same create, the same client, in one run.

Both legs of a decision are signed before either is written, so what one signing takes is on the way of
both. Each round signs ``--orders`` creates each way, back to back (a warm CPU: a decision's first pass,
run cold, takes several times these); rounds alternate the two so the machine's load falls on both alike.
Nothing is sent. Never fails on a timing.

    python benchmarks/bench_create_signing.py [--orders 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from machine import run_benchmark

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connectors.common.ccxt_venue import CcxtVenue  # noqa: E402
from connectors.common.private import Market, OrderRequest  # noqa: E402
from connectors.registry import private_venue  # noqa: E402

MARKETS: list[tuple[str, Market]] = [("binance", "spot"), ("binance", "linear"), ("bybit", "spot"), ("bybit", "linear")]


def _timed(sign: Callable[[], object], n: int) -> list[int]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        sign()
        out.append(time.perf_counter_ns() - t0)
    return out


async def _one(venue: str, market: Market, args: argparse.Namespace) -> str:
    adapter = private_venue(venue, market)
    assert isinstance(adapter, CcxtVenue)
    exchange = adapter.make_client(rest="http://127.0.0.1:9", api_key="bench-key", api_secret="bench-secret")
    try:
        signer = adapter.create_signer(exchange)
        if signer is None:
            raise SystemExit(f"bench_create_signing: {venue} {market} has no signing of its own for this client")
        _, params = adapter.socket_create(OrderRequest("BTCUSDT", "BTC/USDT", 1, "0.00125", "64999.9", "arb-1a2b-7-0"))

        def by_ccxt() -> object:
            return adapter.ccxt_signed(exchange, dict(params))

        def by_own() -> object:
            return signer.sign(params, exchange.nonce())

        ccxt_ns: list[int] = []
        own_ns: list[int] = []
        for _ in range(args.rounds):
            ccxt_ns += _timed(by_ccxt, args.orders)
            own_ns += _timed(by_own, args.orders)
        (c50, c99), (o50, o99) = (np.percentile(np.array(x) / 1e3, [50, 99]) for x in (ccxt_ns, own_ns))
        return f"{venue + ' ' + market:<34} {c50:9.1f} {c99:7.1f}   {o50:9.1f} {o99:7.1f}"
    finally:
        await exchange.close()


async def _main(args: argparse.Namespace) -> None:
    print(f"{'signing one create (us)':<34} {'ccxt p50':>9} {'p99':>7}   {'own p50':>9} {'p99':>7}")
    for venue, market in MARKETS:
        print(await _one(venue, market, args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=5000, help="creates signed each way per round")
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    run_benchmark(main)
