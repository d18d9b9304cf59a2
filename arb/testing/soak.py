"""The soak rig: both fake venues replaying one recording again and again, in a process of their own.

    python -m arb.testing.soak --mode dry --folder DIR --speed 100 --passes 135 [--style maker_taker]
                               [--symbols BTCUSDT,ETHUSDT --recordings DIR]

stands up fake Binance spot and Bybit spot on 127.0.0.1 (the public venues for ``--mode dry``, a dry
run on live data; the trading venues with an account each for ``--mode live``), writes a configuration
for ``arb dry-run --live-data`` or ``arb live`` pointed at them into ``DIR``, and prints it as one JSON
line, ``{"config": ..., "env": {...}}`` (``env``: the venues' key variables ``arb live`` needs, also
written as ``DIR/env.sh`` to source). Then,
for each pass: it waits until arb has subscribed to both books again and opened as many user streams as
it had at the end of the pass before, plays the recording at ``--speed`` times its pace (both venues on
one clock, the one ahead held back by the one behind: :data:`LOCKSTEP_NS`), and at its end closes every
connection (:meth:`arb.sim.venue.FakeVenue.rewind`) and prints the pass as one JSON line
(``{"pass": 3, "start_ns": ..., "end_ns": ..., "reconnected": true, "wait_s": 0.4, "connections": 2}``;
wall-clock nanoseconds). After the last pass it prints ``{"done": true}`` and serves on, the market
still, until its standard input closes (or a second SIGTERM), so that arb stops cleanly. SIGTERM or
SIGINT cuts the run short: the pass being played ends there (its line adds ``"played_ns"``, the market
time it played) and no other starts.

Several symbols (``--symbols``, BTCUSDT first, ETHUSDT the other one known): ``--recordings`` holds
``<symbol>_*.gz`` of each in ``binance_spot/`` and ``bybit_spot/``, replayed as one session per symbol on
one clock (a pass lasts as long as the longest); a pass starts once every symbol's books are subscribed.

What arb does in the meantime is read from arb (its paper account or its journal), not from here: the
rig knows nothing of arb but its connections. Used by ``benchmarks/bench_soak.py``.
"""

from __future__ import annotations

__all__ = ["SYMBOLS", "lockstep", "main", "soak_config"]

import argparse
import asyncio
import contextlib
import json
import shlex
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from arb.sim import fake_venue
from arb.sim.options import VenueOptions
from arb.sim.private import TradingVenue
from arb.testing.configs import local_endpoints, write_config_files
from arb.testing.pair_rig import (
    PAIR,
    book_stream,
    key_environment,
    open_account,
    open_fake,
    symbol_rules,
    symbol_tables,
    write_pair_config,
)
from arb.waiting import cancel_and_wait

_ETH_SIZES = {"max_order_size": 0.01, "max_position_size": 50.0, "rebalance_threshold": 0.0, "position_limit": 10.0}
SYMBOLS: dict[str, Any] = {
    "BTCUSDT": (symbol_rules(PAIR[0], "spot", "BTCUSDT"), symbol_rules(PAIR[1], "spot", "BTCUSDT"), None),
    # ten times BTC's orders in count
    "ETHUSDT": (symbol_rules(PAIR[0], "spot", "ETHUSDT"), symbol_rules(PAIR[1], "spot", "ETHUSDT"), _ETH_SIZES),
}
"""The symbols the rig knows: each venue's rules, and the ``[symbols.<SYMBOL>]`` sizes of one after the first."""
BALANCES = {"USDT": "1000000", "BTC": "10", "ETH": "200"}
"""Each venue's account (``--mode live``), or the paper account's (``--mode dry``: base and quote a symbol)."""


LOCKSTEP_NS = 2_000_000_000
"""How far (market time) one venue's playback may run ahead of the other's: a venue that falls behind its
pace (more frames, a busy machine) holds the other back, so that both books show the same moment."""
LOCKSTEP_S = 0.01
"""How often (wall seconds) the venues' gates move."""
RECONNECT_S = 120.0
"""How long a pass waits for arb's connections to come back before it plays without them."""

_SETTINGS: dict[str, Any] = {
    # sizes small against the balances, so that the same account trades through a day of passes
    "strategy": {"max_order_size": 0.001, "max_position_size": 5.0, "rebalance_threshold": 0.0,
                 "cooldown_ms": 300},
    # the rewind moves every mark back to the recording's start: the account's PnL jumps at each pass, so
    # the drawdown limit is out of the way (the default, 100 USDT, halts a day of passes within hours)
    "risk": {"stale_after_ms": 60_000, "max_notional_per_venue": 1e9, "position_limit": 1.0, "max_drawdown": 1e9},
    # a hedge chases a market a hundred times faster than a real one, on a machine that may be busy: it
    # may try longer before the lone leg halts the run (the default, 3, halted arb live within hours)
    "execution": {"max_hedge_attempts": 20},
    "dry_run": {"report_interval_s": 300},
    "ops": {"port": 0},
}  # fmt: skip
_MAKER = {"style": "maker_taker", "maker_venues": [PAIR[0]]}


def soak_config(
    folder: Path,
    first: Any,
    second: Any,
    *,
    mode: str,
    style: str,
    ops_history: int | None = None,
    symbols: Sequence[str] = ("BTCUSDT",),
) -> Path:
    """The configuration of the soak run in ``folder`` (``arbitrage.toml``'s path): ``mode`` ``"dry"`` (a
    paper account of :data:`BALANCES` a venue) or ``"live"`` (orders to the fakes), ``style`` the
    strategy's; ``ops_history``: the dashboard's snapshots kept (``[ops] history``; its default, 3,600
    snapshots of 500 ms, fills in half an hour of wall time, which a fast replay spreads over many market
    hours); ``symbols``: BTCUSDT, then others of :data:`SYMBOLS`."""
    settings = {name: dict(values) for name, values in _SETTINGS.items()}
    others = {symbol: SYMBOLS[symbol] for symbol in symbols[1:]}
    # keys left at their default are left out, so that an older arb (a reference checkout) reads it too
    settings["ops"]["daily_reports_kept"] = None
    if ops_history is not None:
        settings["ops"]["history"] = ops_history
    if style == "maker_taker":
        settings["strategy"] |= _MAKER
    if mode == "live":
        live = {"quotes_without_dead_man": True} if style == "maker_taker" else {}
        tables = {s: symbol_tables(a, b, sizes) for s, (a, b, sizes) in others.items()}
        return write_pair_config(folder, first, second, arbitrage=settings, live=live, symbols=tables or None)
    settings["dry_run"]["state_dir"] = str(folder.resolve() / "paper")  # absolute, as write_pair_config's
    if others:
        held = {s: float(BALANCES[s.removesuffix("USDT")]) for s in others}
        settings["strategy"] |= {"symbol": None, "symbols": list(symbols)}
        settings["symbols"] = {
            s: symbol_tables(a, b, sizes, base=(held[s], held[s])) for s, (a, b, sizes) in others.items()
        }
    account = {"base": float(BALANCES["BTC"]), "quote": float(BALANCES["USDT"])}
    venue = {"latency": {"order_entry_ms": 1.0, "order_response_ms": 1.0}, "account": account}
    overrides = {f"{fake.venue_name}_overrides": {**venue, **local_endpoints(fake.ws_urls, fake.rest_url)}
                 for fake in (first, second)}  # fmt: skip
    return write_config_files(folder, arbitrage_overrides=settings, **overrides)


@contextlib.asynccontextmanager
async def _venues(mode: str, root: Path, symbols: Sequence[str]) -> AsyncIterator[Any]:
    # each venue replays a session per symbol (its files in order), the sessions on one clock
    def files(folder: str) -> list[list[Path]]:
        found = [sorted((root / folder).glob(f"{symbol.lower()}_*.gz")) for symbol in symbols]
        if not all(found):
            raise SystemExit(f"{root / folder}: no recording of one of {', '.join(symbols)}")
        return found

    options = VenueOptions(ping_interval=None)
    async with contextlib.AsyncExitStack() as stack:
        if mode == "live":
            rules = [[SYMBOLS[s][i] for s in symbols] for i in (0, 1)]
            venues = [await stack.enter_async_context(open_fake(name, files(f"{name}_spot"), market="spot",
                                                                rules=rules[i], options=options))
                      for i, name in enumerate(PAIR)]  # fmt: skip
            for venue in venues:
                open_account(venue, BALANCES)
        else:
            venues = [await stack.enter_async_context(fake_venue(name)(files(f"{name}_spot"), market="spot",
                                                                       options=options))
                      for name in PAIR]  # fmt: skip
        yield tuple(venues)


def _say(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _user_streams(venue: Any) -> int:
    """Open user-stream connections to ``venue`` (a trading venue's; 0 for a public one)."""
    if not isinstance(venue, TradingVenue):
        return 0
    return sum(1 for conn in venue.connections if venue.user_stream.is_user_stream(conn))


async def _reconnected(
    venues: Sequence[Any], before: Sequence[int], symbols: Sequence[str], stop: asyncio.Event
) -> bool:
    """Whether arb subscribed to every symbol's books again and opened as many user streams to each venue as
    it had before the rewind (``before``), within :data:`RECONNECT_S`, the rig not stopped meanwhile."""

    def back(venue: Any, users: int, streams: list[str]) -> bool:
        return all(venue.subscriber_count(s) >= 1 for s in streams) and _user_streams(venue) >= users

    async def all_back() -> None:
        for venue, users in zip(venues, before, strict=True):
            streams = [book_stream(venue, symbol) for symbol in symbols]
            await venue.wait_until(lambda v=venue, u=users, s=streams: back(v, u, s))

    waits = [asyncio.ensure_future(all_back()), asyncio.ensure_future(stop.wait())]
    done, _ = await asyncio.wait(waits, timeout=RECONNECT_S, return_when=asyncio.FIRST_COMPLETED)
    await cancel_and_wait(*waits)
    return waits[0] in done and not waits[0].cancelled()


async def _played(venues: Sequence[Any]) -> None:
    for venue in venues:
        await venue.wait_played()


async def lockstep(venues: Sequence[Any]) -> None:
    """Keep the venues' timed playbacks within :data:`LOCKSTEP_NS` of each other (each gated at the
    earliest frame any of them has yet to release, plus that) until the task is cancelled."""
    while True:
        heads = [frame.local_ts for venue in venues if (frame := venue.peek()) is not None]
        gate = min(heads) + LOCKSTEP_NS if heads else None
        for venue in venues:
            venue.gate(gate)
        await asyncio.sleep(LOCKSTEP_S)


async def _soak(args: argparse.Namespace) -> None:
    root, symbols = Path(args.recordings), args.symbols.split(",")
    if symbols[0] != "BTCUSDT" or not set(symbols) <= set(SYMBOLS):
        raise SystemExit(f"--symbols: expected BTCUSDT then any of {', '.join(SYMBOLS)}, got {args.symbols}")
    stop, cut = asyncio.Event(), asyncio.Event()  # serve no more; play no more

    def on_signal() -> None:
        (stop if cut.is_set() else cut).set()

    def on_stdin() -> None:
        if not sys.stdin.readline():
            cut.set()
            stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    loop.add_reader(sys.stdin.fileno(), on_stdin)
    async with _venues(args.mode, root, symbols) as venues:
        folder, history = Path(args.folder), args.ops_history
        config = soak_config(folder, *venues, mode=args.mode, style=args.style, ops_history=history, symbols=symbols)
        env = key_environment() if args.mode == "live" else {}
        # the same as a file to source (`. DIR/env.sh`): the fake venues' keys, nobody's secret
        (folder / "env.sh").write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
        _say(config=str(config), env=env)
        before = [0, 0]  # the first pass: the books subscribed (user streams come before them)
        for number in range(args.passes):
            waited = time.monotonic()
            reconnected = await _reconnected(venues, before, symbols, cut)
            wait_s = time.monotonic() - waited
            start_ns = time.time_ns()
            origin = min(frame.local_ts for venue in venues if (frame := venue.peek()) is not None)
            for venue in venues:
                venue.play(args.speed, origin_ns=origin)
            played = asyncio.ensure_future(_played(venues))
            stopping = asyncio.ensure_future(cut.wait())
            paced = asyncio.ensure_future(lockstep(venues))
            await asyncio.wait([played, stopping], return_when=asyncio.FIRST_COMPLETED)
            await cancel_and_wait(played, stopping, paced)
            end_ns = time.time_ns()
            heads = [frame.local_ts for venue in venues if (frame := venue.peek()) is not None]
            played_ns = {"played_ns": min(heads) - origin} if heads else {}  # cut short
            before = [_user_streams(venue) for venue in venues]
            closed = [await venue.rewind() for venue in venues]
            _say(**{"pass": number, "start_ns": start_ns, "end_ns": end_ns, "reconnected": reconnected,
                    "wait_s": round(wait_s, 3), "connections": sum(closed), **played_ns})  # fmt: skip
            if cut.is_set():
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
    parser.add_argument("--recordings", type=Path, default=Path("recordings"),
                        help=" and ".join(f"{name}_spot/" for name in PAIR))  # fmt: skip
    parser.add_argument("--symbols", default="BTCUSDT", help="BTCUSDT, or BTCUSDT,ETHUSDT (default BTCUSDT)")
    asyncio.run(_soak(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
