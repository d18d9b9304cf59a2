"""The soak rig: both fake venues replaying one recording again and again, in a process of their own.

    python -m arb.testing.soak --mode dry --folder DIR --speed 100 --passes 135 [--style maker_taker]

stands up fake Binance spot and Bybit spot on 127.0.0.1 (the public venues for ``--mode dry``, a dry
run on live data; the trading venues with an account each for ``--mode live``), writes a configuration
for ``arb dry-run --live-data`` or ``arb live`` pointed at them into ``DIR``, and prints it as one JSON
line, ``{"config": ..., "env": {...}}`` (``env``: the venues' key variables ``arb live`` needs). Then,
for each pass: it waits until arb has subscribed to both books again and opened as many user streams as
it had at the end of the pass before, plays the recording at ``--speed`` times its pace, and at its end closes every
connection (:meth:`arb.sim.venue.FakeVenue.rewind`) and prints the pass as one JSON line
(``{"pass": 3, "start_ns": ..., "end_ns": ..., "reconnected": true, "wait_s": 0.4, "connections": 2}``;
wall-clock nanoseconds). After the last pass it prints ``{"done": true}`` and serves on, the market
still, until its standard input closes or it gets SIGTERM, so that arb stops cleanly.

What arb does in the meantime is read from arb (its paper account or its journal), not from here: the
rig knows nothing of arb but its connections. Used by ``benchmarks/bench_soak.py``.
"""

from __future__ import annotations

__all__ = ["MARKET_STREAMS", "main", "soak_config"]

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from arb.sim.binance.exchange import FakeBinanceExchange
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.bybit.exchange import FakeBybitExchange
from arb.sim.bybit.public import FakeBybitVenue
from arb.sim.options import VenueOptions
from arb.testing.configs import local_endpoints, write_config_files
from arb.testing.pair_rig import (
    BINANCE_SPOT_RULES,
    BYBIT_SPOT_RULES,
    KEY,
    SECRET,
    key_environment,
    write_pair_config,
)
from arb.waiting import cancel_and_wait

MARKET_STREAMS = ("btcusdt@depth@100ms", "orderbook.50.BTCUSDT")
"""The book streams arb subscribes to on Binance and Bybit: a pass starts once both are subscribed."""
RECONNECT_S = 120.0
"""How long a pass waits for arb's connections to come back before it plays without them."""

_SETTINGS: dict[str, Any] = {
    # sizes small against the balances, so that the same account trades through a day of passes
    "strategy": {"max_order_size": 0.001, "max_position_size": 5.0, "rebalance_threshold": 0.0,
                 "cooldown_ms": 300},
    # the rewind moves every mark back to the recording's start: the account's PnL jumps at each pass, so
    # the drawdown limit is out of the way (the default, 100 USDT, halts a day of passes within hours)
    "risk": {"stale_after_ms": 60_000, "max_notional_per_venue": 1e9, "position_limit": 1.0, "max_drawdown": 1e9},
    "dry_run": {"report_interval_s": 300},
    "ops": {"port": 0},
}  # fmt: skip
_MAKER = {"style": "maker_taker", "maker_venues": ["binance"]}


def soak_config(
    folder: Path, binance: Any, bybit: Any, *, mode: str, style: str, ops_history: int | None = None
) -> Path:
    """The configuration of the soak run in ``folder`` (``arbitrage.toml``'s path): ``mode`` ``"dry"`` (a
    paper account of 10 BTC and 1,000,000 USDT a venue) or ``"live"`` (orders to the fakes), ``style``
    the strategy's; ``ops_history``: the dashboard's snapshots kept (``[ops] history``; its default,
    3,600 snapshots of 500 ms, fills in half an hour of wall time, which a fast replay spreads over
    many market hours)."""
    settings = {name: dict(values) for name, values in _SETTINGS.items()}
    # keys left at their default are left out, so that an older arb (a reference checkout) reads it too
    settings["ops"]["daily_reports_kept"] = None
    if ops_history is not None:
        settings["ops"]["history"] = ops_history
    if style == "maker_taker":
        settings["strategy"] |= _MAKER
    if mode == "live":
        live = {"quotes_without_dead_man": True} if style == "maker_taker" else {}
        return write_pair_config(folder, binance, bybit, arbitrage=settings, live=live)
    settings["dry_run"]["state_dir"] = str(folder / "paper")
    venue = {"latency": {"order_entry_ms": 1.0, "order_response_ms": 1.0}, "account": {"base": 10.0, "quote": 1e6}}
    return write_config_files(
        folder,
        binance_overrides={**venue, **local_endpoints(binance.ws_urls, binance.rest_url)},
        bybit_overrides={**venue, **local_endpoints(bybit.ws_urls, bybit.rest_url)},
        arbitrage_overrides=settings,
    )


@contextlib.asynccontextmanager
async def _venues(mode: str, binance_files: Sequence[Path], bybit_files: Sequence[Path]) -> AsyncIterator[Any]:
    # each venue replays its files as one session of consecutive files
    options = VenueOptions(ping_interval=None)
    if mode == "live":
        async with (
            FakeBinanceExchange([list(binance_files)], market="spot", rules=[BINANCE_SPOT_RULES], options=options) as a,
            FakeBybitExchange([list(bybit_files)], market="spot", rules=[BYBIT_SPOT_RULES], options=options) as b,
        ):
            for venue in (a, b):
                venue.add_account("arb", api_key=KEY, api_secret=SECRET, balances={"USDT": "1000000", "BTC": "10"})
            yield a, b
        return
    async with (
        FakeBinanceVenue([list(binance_files)], market="spot", options=options) as binance,
        FakeBybitVenue([list(bybit_files)], market="spot", options=options) as bybit,
    ):
        yield binance, bybit


def _say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _user_streams(venue: Any) -> int:
    """Open user-stream connections to ``venue`` (a trading venue's; 0 for a public one)."""
    if not isinstance(venue, FakeBinanceExchange | FakeBybitExchange):
        return 0
    return sum(1 for conn in venue.connections if venue.user_stream.is_user_stream(conn))


async def _reconnected(venues: Sequence[Any], before: Sequence[int], stop: asyncio.Event) -> bool:
    """Whether arb subscribed to both books again and opened as many user streams to each venue as it had
    before the rewind (``before``), within :data:`RECONNECT_S`, the rig not stopped meanwhile."""

    def back(venue: Any, users: int, stream: str) -> bool:
        return venue.subscriber_count(stream) >= 1 and _user_streams(venue) >= users

    async def all_back() -> None:
        for venue, users, stream in zip(venues, before, MARKET_STREAMS, strict=True):
            await venue.wait_until(lambda v=venue, u=users, s=stream: back(v, u, s))

    waits = [asyncio.ensure_future(all_back()), asyncio.ensure_future(stop.wait())]
    done, _ = await asyncio.wait(waits, timeout=RECONNECT_S, return_when=asyncio.FIRST_COMPLETED)
    await cancel_and_wait(*waits)
    return waits[0] in done and not waits[0].cancelled()


async def _played(venues: Sequence[Any]) -> None:
    for venue in venues:
        await venue.wait_played()


async def _soak(args: argparse.Namespace) -> None:
    root = Path(args.recordings)
    binance_files = sorted((root / "binance_spot").glob("btcusdt_*.gz"))
    bybit_files = sorted((root / "bybit_spot").glob("btcusdt_*.gz"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.readline() else None)
    async with _venues(args.mode, binance_files, bybit_files) as venues:
        folder, history = Path(args.folder), args.ops_history
        config = soak_config(folder, *venues, mode=args.mode, style=args.style, ops_history=history)
        _say(config=str(config), env=key_environment() if args.mode == "live" else {})
        before = [0, 0]  # the first pass: the books subscribed (user streams come before them)
        for number in range(args.passes):
            waited = time.monotonic()
            reconnected = await _reconnected(venues, before, stop)
            wait_s = time.monotonic() - waited
            start_ns = time.time_ns()
            for venue in venues:
                venue.play(args.speed)
            played = asyncio.ensure_future(_played(venues))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait([played, stopping], return_when=asyncio.FIRST_COMPLETED)
            await cancel_and_wait(played, stopping)
            end_ns = time.time_ns()
            before = [_user_streams(venue) for venue in venues]
            closed = [await venue.rewind() for venue in venues]
            _say(**{"pass": number, "start_ns": start_ns, "end_ns": end_ns, "reconnected": reconnected,
                    "wait_s": round(wait_s, 3), "connections": sum(closed)})  # fmt: skip
            if stop.is_set():
                break
        _say(done=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m arb.testing.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--mode", choices=("dry", "live"), required=True)
    parser.add_argument("--folder", type=Path, required=True, help="where the configuration is written")
    parser.add_argument("--style", choices=("taker", "maker_taker"), default="taker")
    parser.add_argument("--speed", type=float, default=100.0, help="times the recorded pace")
    parser.add_argument("--passes", type=int, default=135, help="passes over the recording")
    parser.add_argument("--ops-history", type=int, help="[ops] history (default: arb's)")
    parser.add_argument("--recordings", type=Path, default=Path("recordings"), help="binance_spot/ and bybit_spot/")
    asyncio.run(_soak(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
