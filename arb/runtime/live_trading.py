"""``arb live``: the compiled kernel and the risk gate of the dry run, on real orders, every symbol of
``[strategy] symbols`` in one process.

The driver is the dry run's (``arb.runtime.live``): both venues' feeds (one connection each, every
symbol subscribed) put batches on one bounded queue, one task applies them to the engine, which calls
each symbol's kernel and the one gate. The executor is the live one
(:class:`~arb.execution.live.LiveExecutor`): orders go through the journal and ccxt, their answers
wake the engine, fills come from the user streams (one private connection per venue, every symbol's).

Start, in order: markets and trading rules loaded for every symbol (differences from the
configuration are printed), every venue reconciled with the journal symbol by symbol (anything
unexplained stops the start), a linear venue's account set one-way with the ``[perpetual]`` leverage
and margin mode for every symbol, balances and positions read into the kernels' views, the kernel
compiled. The account's inception (the balances when this journal first traded) is kept in the
journal, so a symbol's position on a venue is what the account gained or lost since then: an
imbalance left by a crash is its kernel's to hedge after the restart.

Stop (``--duration``, Ctrl-C, SIGTERM): no new decision, open orders cancelled on both venues,
orders in flight resolved (bounded by ``[live] shutdown_timeout_ms``; what is left is named), then
the same report as a dry run plus each venue's order latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from rich.console import Console
from rich.markup import escape

from arb.arguments import add_config_argument, duration, output_folder, reason, report_folder
from arb.config import AppConfig
from arb.errors import ArbError, NeedsOperatorError, exit_code_of
from arb.events import ASSET_NAMES
from arb.runtime.trading import exit_codes_help

if TYPE_CHECKING:
    from arb.execution.kill import KillReport
    from arb.execution.orders import LiveOrder
    from arb.ops.watch import Watch
    from arb.runtime.deadline import StopDeadline
    from arb.runtime.engine import Engine

__all__ = ["KILL_FILE", "PID_FILE", "LiveResult", "add_halt_parser", "add_kill_parser", "run_live"]

log = logging.getLogger(__name__)

PID_FILE = "live.pid"
"""In ``[live] state_dir`` while ``arb live`` runs: its process id, for ``arb kill``."""
KILL_FILE = "KILL"
"""Created in ``[live] state_dir`` by ``arb kill``: a running ``arb live`` sees it within 0.25 s."""


@contextlib.asynccontextmanager
async def _announce(pid_file: Path) -> AsyncIterator[None]:
    # Say where this process is, for arb kill; one arb live per account and state folder.
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    other = _running_pid(pid_file)
    if other is not None:
        raise ArbError(f"arb live is already running for this account (pid {other}, {pid_file})")
    pid_file.write_text(f"{os.getpid()} {_started(os.getpid())}\n")
    try:
        yield
    finally:
        pid_file.unlink(missing_ok=True)


def _running_pid(pid_file: Path) -> int | None:
    # The pid of the arb live that wrote pid_file, if that process still runs. A file left by a process
    # that died (a crash, a container restarted) is stale even when its pid is in use again: by this very
    # process (a container's arb has the same pid each start) or by one started at another time.
    try:
        pid_text, _, started = pid_file.read_text().strip().partition(" ")
        pid = int(pid_text)
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    if pid == os.getpid() or (started and _started(pid) not in ("", started)):
        return None
    return pid


def _started(pid: int) -> str:
    # When process pid started, in clock ticks since boot (/proc/<pid>/stat field 22); "" where unknown
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


@dataclass(slots=True)
class LiveResult:
    """What an ``arb live`` session leaves behind, for the report."""

    engine: Engine
    start_ns: int
    end_ns: int
    batches: int
    interrupted: bool
    wall_s: float
    base: list[list[float]]
    """Base holdings at the end, per symbol per venue."""
    quote: list[float]
    """The quote balance at the end, per venue."""
    left_in_flight: list[LiveOrder] = field(default_factory=list)
    latencies: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    rule_differences: list[str] = field(default_factory=list)
    kill: KillReport | None = None
    """What the kill switch did, when it ended the session."""
    stop_signal: int | None = None
    """The signal that stopped the session (``signal.SIGINT`` for Ctrl-C), None when it ended otherwise."""
    watch: Watch | None = None
    """What the session published for its watchers (its hub keeps the last snapshots and events)."""


def exposure_lines(engine: Engine) -> list[str]:
    """A loud line per venue (and symbol) while a leg stays naked after its kernel gave up hedging it."""
    from arb.strategy.types import HEDGE_FAILED

    lines = []
    several = engine.n_symbols > 1
    for s, sym in enumerate(engine.config.symbols):
        if not int(engine.kstate[s]["flags"]) & HEDGE_FAILED:
            continue
        lot = min(i.lot_size for i in sym.instruments)
        if _is_dust(engine, s, float(engine.position[s, 0] + engine.position[s, 1])):
            continue
        for v in (0, 1):
            position = float(engine.position[s, v])
            if abs(position) >= lot:
                mid = float(engine.last_mid[s, v])
                value = f"{abs(position) * mid:,.2f}" if np.isfinite(mid) else "unknown"
                where = f"{ASSET_NAMES[v]} {sym.name}" if several else ASSET_NAMES[v]
                lines.append(
                    f"NAKED LEG after {engine.config.execution.max_hedge_attempts} hedge attempts: "
                    f"{where} {'long' if position > 0 else 'short'} {abs(position):.8g} "
                    f"(mark value {value}); no new pair until it is closed (arb kill flattens it)"
                )
    return lines


def _is_dust(engine: Engine, s: int, net: float) -> bool:
    # As symbol s's kernel sees it: no venue would take an order for the net (lot, minimum quantity and
    # notional).
    from arb.strategy.kernel import floor_to_grid

    for v, instrument in enumerate(engine.config.symbols[s].instruments):
        qty = floor_to_grid(abs(net), instrument.lot_size)
        mid = float(engine.last_mid[s, v])
        if qty > 0.0 and qty >= instrument.min_qty * (1 - 1e-9) and not (qty * mid < instrument.min_notional):
            return False
    return True


class _StateStore(Protocol):
    # the journal's account state (arb.execution.journaling's sink and the journal itself have it)
    def get_state(self, key: str) -> str | None: ...
    def set_state(self, key: str, value: str) -> None: ...


def keep_risk_memory(journal: _StateStore, engine: Engine, console: Console, now: int) -> Callable[[], None]:
    """Continue the gate's memory (the risk day, the last 24 hours' pairs) from the journal, print a
    daily-loss pause it still holds at ``now``, and keep the memory in the journal after every fill
    and breach. Returns the function that saves it (call it at the end)."""
    from arb.execution.risk import RISK_MEMORY_KEY, day_pause_text, restore_risk_memory, risk_memory

    raw = journal.get_state(RISK_MEMORY_KEY)
    if raw:
        memory = json.loads(raw)
        restore_risk_memory(engine.rstate, engine.srisk, memory, engine.symbols)
        paused = day_pause_text(memory, engine.limits, now)
        if paused is not None:
            console.print(f"[bold red]PAUSED[/] ({escape(paused)})", highlight=False, soft_wrap=True)

    def save(*_: Any) -> None:
        journal.set_state(RISK_MEMORY_KEY, json.dumps(risk_memory(engine.rstate, engine.srisk, engine.symbols)))

    booked = engine.on_fill

    def on_fill(row: Any) -> None:
        if booked is not None:
            booked(row)
        save()

    engine.on_fill = on_fill
    engine.on_risk_event = save
    return save


class _Reporter:
    # A line per fill and a periodic account line, as the dry run prints them.
    def __init__(self, console: Console, interval_ns: int, symbols: tuple[str, ...] = ()) -> None:
        self.console = console
        self.interval = interval_ns
        self.symbols = symbols  # named on each fill line when there are several
        self.next_at = 0
        self.synced_once = False  # the first account line comes as soon as both books are synced
        self.on_hedge_failed: Callable[[], None] | None = None
        """Called once when the kernel gives up hedging within its attempts (the driver halts)."""
        self._hedge_failed = False

    def fill(self, row: Any) -> None:
        side = "buy " if int(row["side"]) > 0 else "sell"
        symbol = f"{self.symbols[int(row['symbol'])]} " if len(self.symbols) > 1 else ""
        self.console.print(
            f"fill {ASSET_NAMES[int(row['venue'])]:<7} {symbol}{side} {float(row['qty']):.8g} @ "
            f"{float(row['price']):.8g} fee {float(row['fee']):.6g} (pair {int(row['pair_id'])})",
            highlight=False,
            soft_wrap=True,
        )

    def maybe(self, engine: Engine, now: int, force: bool = False) -> None:

        if not self._hedge_failed and engine.hedge_failed:
            self._hedge_failed = force = True
            if self.on_hedge_failed is not None:
                self.on_hedge_failed()
        if self.next_at == 0:
            self.next_at = (now // self.interval + 1) * self.interval
        if not self.synced_once and engine.both_synced():
            self.synced_once = force = True
        if not force and now < self.next_at:
            return
        self.next_at = (now // self.interval + 1) * self.interval
        mids = np.where(np.isfinite(engine.last_mid), engine.last_mid, 0.0)
        base = engine.init_base + engine.position
        quote = engine.init_quote + engine.cash.sum(axis=0)
        equity = float(quote.sum() + (base * mids).sum())
        when = time.strftime("%H:%M:%S", time.gmtime(now / 1e9))
        from arb.runtime.live import positions_text

        self.console.print(
            f"[{when} UTC] cash {quote[0]:,.2f} | {quote[1]:,.2f}  positions "
            f"{positions_text(engine.symbols, engine.position)}  equity {equity:,.2f}  fills {engine.log.fills.n}  "
            f"open orders {engine.executor.open_orders}",
            highlight=False,
            soft_wrap=True,
        )
        for line in exposure_lines(engine):
            self.console.print(f"[bold red]{line}[/]", highlight=False, soft_wrap=True)


async def run_live(
    config: AppConfig,
    *,
    console: Console,
    duration_ns: int | None = None,
    stop_event: asyncio.Event | None = None,
    clock: Callable[[], int] = time.time_ns,
    queue_size: int = 10_000,
    on_watch: Callable[[Watch], None] | None = None,
    on_stop_signal: Callable[[], None] | None = None,
) -> LiveResult:
    """Trade the kernel on both venues with real orders until stopped (see the module docstring).
    ``on_watch(watch)`` is called once the dashboard and metrics are up (``[ops]``); ``on_stop_signal()``
    when SIGTERM or SIGINT asks for the clean stop (``arb live`` arms its stop deadline there)."""
    from arb.ops.watch import Watch
    from arb.runtime.engine import Engine
    from arb.runtime.live import _stop_on_signals, _StopRequestError, warm_up_kernel
    from arb.runtime.trading import trading_session, venue_account
    from connectors.binance.feed import BinanceFeed
    from connectors.bybit.feed import BybitFeed

    started = time.perf_counter()
    warm_up_kernel(config)
    stop_event = stop_event or asyncio.Event()
    killed = asyncio.Event()
    pid_file = config.live.state_dir / PID_FILE
    kill_file = config.live.state_dir / KILL_FILE
    kill_file.unlink(missing_ok=True)
    async with trading_session(config, (0, 1), clock=clock) as session, _announce(pid_file):
        reports = await session.reconcile()
        for report in reports:
            for line in report.describe():
                console.print(line, highlight=False)
        if not all(r.ok for r in reports):
            raise NeedsOperatorError(
                "reconciliation found differences: nothing is traded until they are explained; "
                "see the lines above, then arb reconcile --accept-venue-state if the venues are right"
            )
        from arb.execution.perpetual import apply_perpetual_settings

        for v, venue_executor in session.executors.items():
            venue = config.venues[v]
            for line in await apply_perpetual_settings(venue_executor, venue.perpetual, str(venue.path)):
                console.print(line, highlight=False)
        window = config.live.dead_man_window_ns // 1_000_000_000
        if window:  # armed before anything is traded: a venue that refuses it stops the start here
            for venue_executor in session.executors.values():
                armed = await venue_executor.arm_dead_man(window)
                console.print(f"{venue_executor.venue} dead-man's switch: {armed}", highlight=False, soft_wrap=True)
        accounts = [await venue_account(session, v) for v in (0, 1)]
        wake = asyncio.Event()
        executor = session.live_executor(on_ready=wake.set)
        reporter = _Reporter(console, config.dry_run.report_interval_ns, config.symbol_names)

        def hedge_failed() -> None:
            # the kernel opens no new pair now; the halt outlives this process until a person clears it
            from arb.execution.kill import HALT_KEY

            exposure = "; ".join(exposure_lines(engine)) or "the leg was closed on the last attempt"
            session.journal.set_state(HALT_KEY, f"hedge failed after {config.execution.max_hedge_attempts} attempts")
            console.print(
                f"[bold red]HALTED: a lone leg was not hedged within {config.execution.max_hedge_attempts} attempts "
                f"({exposure}); no new pair until a person clears the halt[/]",
                highlight=False,
                soft_wrap=True,
            )

        reporter.on_hedge_failed = hedge_failed
        symbols = range(len(config.symbols))
        engine = Engine(
            config,
            base=[[accounts[v].inception_base[s] for v in (0, 1)] for s in symbols],
            quote=(accounts[0].inception_quote, accounts[1].inception_quote),
            executor=executor,
            on_fill=reporter.fill,
        )
        for s in symbols:
            for v in (0, 1):
                engine.position[s, v], engine.cash[s, v] = accounts[v].position[s], accounts[v].cash[s]
        from arb.execution.kill import HALT_KEY

        kept = session.journal.get_state(HALT_KEY)
        if kept:
            engine.hold()
            console.print(
                f"[bold red]HALTED[/] ({escape(kept)}): no new pair until a person clears it (arb halt --clear); "
                "a lone leg is still hedged",
                highlight=False,
                soft_wrap=True,
            )

        def risk_halt(reason: str) -> None:
            session.journal.set_state(HALT_KEY, reason)
            console.print(
                f"[bold red]HALTED[/] ({escape(reason)}): no new pair until a person clears it", highlight=False
            )

        engine.on_halt = risk_halt

        def book_funding(row: Any) -> None:
            # a perpetual's funding payment: its own line in the journal, beside the fills
            v, s = int(row["venue"]), int(row["symbol"])
            venue = config.venues[v]
            session.journal.record_funding(row, venue=venue.name, market=venue.market, symbol=config.symbol_names[s])
            console.print(
                f"funding {venue.name:<7} {config.symbol_names[s]} {float(row['payment']):+.8g} "
                f"(position {float(row['position']):+.8g} x {float(row['mark']):.8g} x rate {float(row['rate']):.6%})",
                highlight=False,
            )

        engine.on_funding = book_funding
        save_risk_memory = keep_risk_memory(session.journal, engine, console, clock())
        names = list(config.symbol_names)
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)
        feeds = [
            BinanceFeed(config.binance, names, queue=queue, clock=clock),
            BybitFeed(config.bybit, names, queue=queue, clock=clock),
        ]
        t0 = clock()
        last = [t0]
        counts = {"batches": 0}
        watch = Watch(config, "live", clock=clock, report_dir=str(config.live.state_dir / "reports"))
        for line in watch.start():
            console.print(line, highlight=False, soft_wrap=True)
        watch.attach(engine)
        watch.watch_feeds(feeds)
        watch.watch_journal(session.journal.journal.health)
        if kept:
            watch.halt(kept)
        if on_watch is not None:
            on_watch(watch)
        perf = time.perf_counter_ns

        async def consume() -> None:
            while True:
                batch: Any = await queue.get()
                now = batch.local_ts
                sent_before, t = engine.log.sent.n, perf()
                engine.on_batches(now, [batch])
                watch.after_batch(engine, t, now, sent_before, batch.recv_perf_ns, batch.venue)
                reporter.maybe(engine, now)
                last[0] = now
                counts["batches"] += 1

        async def answers() -> None:
            # an order done on a venue: the engine books it and decides again at once
            while True:
                await wake.wait()
                wake.clear()
                now = clock()
                engine.advance(now + 1)
                engine.settle(now)
                last[0] = max(last[0], now)
                watch.tick(now)

        async def ticker() -> None:
            # snapshots while the market is quiet (a batch publishes one when due)
            while True:
                await asyncio.sleep(config.ops.snapshot_ns / 1e9)
                watch.tick(clock())

        async def stopper() -> None:
            if duration_ns is None:
                await stop_event.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop_event.wait(), duration_ns / 1e9)
            raise _StopRequestError

        def on_kill() -> None:
            killed.set()
            stop_event.set()
            watch.halt("kill switch")

        async def stale_watch() -> None:
            # a symbol whose book went stale or out of sync on a venue gets its open orders there cancelled,
            # once per episode (a venue arb itself holds orders back from is not stale: its book is fine)
            from arb.strategy.types import VENUE_OK

            cancelled = {(s, v): False for s in symbols for v in session.executors}
            while True:
                await asyncio.sleep(0.5)
                for (s, v), done in list(cancelled.items()):
                    venue_executor = session.executors[v]
                    if engine.venue_status(v, clock(), s) == VENUE_OK:
                        cancelled[s, v] = False
                    elif not done:
                        cancelled[s, v] = True
                        what = f"{venue_executor.venue} {names[s]}" if len(names) > 1 else venue_executor.venue
                        try:
                            n = await venue_executor.cancel_open(names[s])
                        except Exception as error:  # noqa: BLE001 - logged; tried again next episode
                            log.error("%s went stale; cancelling its open orders failed: %s", what, error,
                                      extra={"venue": venue_executor.venue, "symbol": names[s]})  # fmt: skip
                            cancelled[s, v] = False
                            continue
                        log.warning("%s went stale: %d open order(s) cancelled", what, n,
                                    extra={"venue": venue_executor.venue, "symbol": names[s]})  # fmt: skip

        async def kill_watch() -> None:
            # the kill switch's file, for when a signal cannot reach this process (another user, a container)
            while not kill_file.exists():
                await asyncio.sleep(0.25)
            on_kill()

        interrupted = False
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGUSR1, on_kill)

        def pull_from_another_thread() -> None:  # a Telegram /kill confirm, in the alert thread
            loop.call_soon_threadsafe(on_kill)

        watch.kill_switch(pull_from_another_thread)

        def stop_signal() -> None:
            if on_stop_signal is not None:
                on_stop_signal()
            stop_event.set()

        with _stop_on_signals(stop_signal) as received:
            try:
                async with asyncio.TaskGroup() as tasks:
                    for venue_executor in session.executors.values():
                        venue_executor.run_background(tasks)
                        if window:
                            venue_executor.run_dead_man(tasks, window, armed=True)
                    for feed in feeds:
                        tasks.create_task(feed.run(), name=f"feed-{feed.name}")
                    tasks.create_task(consume(), name="engine")
                    tasks.create_task(answers(), name="answers")
                    tasks.create_task(stopper(), name="stop")
                    tasks.create_task(kill_watch(), name="kill-watch")
                    tasks.create_task(stale_watch(), name="stale-watch")
                    tasks.create_task(ticker(), name="ops-ticker")
                    tasks.create_task(watch.measure_lag(), name="loop-lag")
            except* _StopRequestError:
                interrupted = stop_event.is_set()
            except* ArbError as group:
                watch.stop()
                raise group.exceptions[0] from None
            finally:
                for feed in feeds:
                    feed.stop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGUSR1)
        # stop: cancel what is open, resolve what is in flight, book what came in
        async with asyncio.TaskGroup() as tasks:
            for venue_executor in session.executors.values():
                venue_executor.run_background(tasks)
            left = await executor.shutdown(config.live.shutdown_timeout_ns)
        engine.cancel_open_orders()
        kill_report = None
        if killed.is_set():
            from arb.execution.kill import kill

            kill_report = await kill(session, slippage_bps=config.risk.stop_loss_bps)
            for order in kill_report.orders:  # the flattening fills belong to this session's account
                engine.book_answer(order)
            for line in kill_report.describe():
                console.print(line if kill_report.flat else f"[bold red]{line}[/]", highlight=False)
            kill_file.unlink(missing_ok=True)
        now = max(last[0], clock())
        engine.finish(now)
        save_risk_memory()
        reporter.maybe(engine, now, force=True)
        watch.stop()
        for order in left:
            console.print(
                f"[bold red]order {order.client_id} ({order.symbol}) on {ASSET_NAMES[order.venue]} is still "
                f"{order.state.value}[/]: arb reconcile will find it out at the next start (never resend it)"
            )
        latencies = {e.venue: session.journal.journal.latencies(e.venue) for e in session.executors.values()}
        base = [[float(engine.init_base[s, v] + engine.position[s, v]) for v in (0, 1)] for s in symbols]
        quote = [float(engine.init_quote[v] + engine.cash[:, v].sum()) for v in (0, 1)]
        return LiveResult(
            engine,
            t0,
            last[0],
            counts["batches"],
            interrupted,
            time.perf_counter() - started,
            base,
            quote,
            left,
            latencies,
            session.rule_differences,
            kill=kill_report,
            stop_signal=received[0] if received else None,
            watch=watch,
        )


# ---------------------------------------------------------------------------------------------------
# the command


_CONFIRMATION = "trade real money"


def add_parser(subparsers: Any) -> Any:
    """``arb live``: the kernel on real orders (testnet by default)."""
    import argparse

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "live",
        help="trade the strategy with real orders: reconciled with the journal first, testnet unless --mainnet",
        description="Reconcile both venues with the journal, then trade the same kernel as the dry run through "
        "the live executors until --duration, Ctrl-C or SIGTERM. A venue on mainnet needs --mainnet and a typed "
        "confirmation (or --yes for unattended starts); keys come from the environment variables the venue "
        "files name.",
        epilog=exit_codes_help("an order is left in flight, or the kill switch left exposure"),
    )
    add_config_argument(parser)
    parser.add_argument(
        "--duration", type=duration, metavar="TIME", help="stop after this long: 90s, 10m, 2h (default: Ctrl-C)"
    )
    parser.add_argument("--mainnet", action="store_true", help="allow venues whose network is mainnet")
    parser.add_argument("--yes", action="store_true", help=f'skip typing "{_CONFIRMATION}" (unattended starts)')
    parser.add_argument(
        "--out",
        type=output_folder("a report folder"),
        metavar="DIR",
        help="report folder (default: a timestamped folder under results/)",
    )
    parser.set_defaults(run=_cmd_live)
    return parser


def _confirm_mainnet(config: AppConfig, allowed: bool, yes: bool, ask: Callable[[str], str] = input) -> None:
    from arb.errors import UsageError

    mainnet = [v.name for v in config.venues if v.network == "mainnet"]
    if not mainnet:
        return
    if not allowed:
        raise UsageError(
            f"{', '.join(mainnet)} on mainnet: real money; pass --mainnet to allow it (testnet is the default network)"
        )
    if yes:
        return
    answer = ask(f'{", ".join(mainnet)} on MAINNET with real money. Type "{_CONFIRMATION}" to go on: ')
    if answer.strip() != _CONFIRMATION:
        raise UsageError("mainnet not confirmed: nothing was sent")


def _cmd_live(args: Any) -> int:

    from arb.config import load_config
    from arb.ui import console

    config = load_config(args.config)
    out = report_folder(args.out, config.backtest.out, "live")
    _confirm_mainnet(config, args.mainnet, args.yes)
    for venue in config.venues:
        console.print(venue.describe_endpoints(private=True), highlight=False, soft_wrap=True)
    from arb.runtime.deadline import StopDeadline

    deadline = StopDeadline(config.live.stop_timeout_ns, "arb live")  # armed by SIGTERM / Ctrl-C
    try:
        return _live_and_report(config, args, out, deadline)
    finally:
        deadline.cancel()


def _live_and_report(config: AppConfig, args: Any, out: Path, deadline: StopDeadline) -> int:
    from arb.reports import InitialBalances, print_summary, run_summary, write_report
    from arb.runtime.trading import latency_lines
    from arb.ui import console

    result = asyncio.run(run_live(config, console=console, duration_ns=args.duration, on_stop_signal=deadline.arm))
    engine = result.engine
    meta = {
        "mode": "live",
        "config": config.to_dict(),
        "start_ns": result.start_ns,
        "end_ns": result.end_ns,
        "duration_s": (result.end_ns - result.start_ns) / 1e9,
        "batches": result.batches,
        "interrupted": result.interrupted,
        "executor": engine.executor.summary(),
        "order_latency_us": result.latencies,
        "left_in_flight": [o.client_id for o in result.left_in_flight],
        "rule_differences": result.rule_differences,
        "wall_s": round(result.wall_s, 3),
    }
    if len(engine.log.equity.view()):
        n = engine.n_symbols
        initial = InitialBalances.of_symbols(
            engine.init_base[:n], (float(engine.init_quote[0]), float(engine.init_quote[1]))
        )
        out_of_sync = [engine.log.out_of_sync(result.start_ns, result.end_ns, s) for s in range(n)]
        fills, equity = engine.log.fills.view(), engine.log.equity.view()
        paid = engine.log.funding.view()
        summary = run_summary(config, fills, equity, initial, meta, out_of_sync=out_of_sync, funding=paid,
                              day_marks=engine.day_marks)  # fmt: skip
        paths = write_report(out, summary, fills, equity, funding=paid)
        print_summary(summary, console)
        console.print(f"report: {paths[-1].parent}", highlight=False)
    for line in latency_lines(result.latencies):
        console.print(line, highlight=False)
    if result.left_in_flight or (result.kill is not None and not result.kill.flat):
        return 1  # an order still in flight, or exposure the kill switch could not close: a person looks now
    return exit_code_of(result.stop_signal)


def add_kill_parser(subparsers: Any) -> Any:
    """``arb kill``: the kill switch, with or without a running ``arb live``."""
    parser = subparsers.add_parser(
        "kill",
        help="kill switch: halt new pairs, cancel every open order, flatten the net position",
        description="Reach a running arb live (a signal, or a file in [live] state_dir) and let it halt, cancel "
        "and flatten before it stops; with none running, do it here. Halts persist until cleared.",
        epilog=exit_codes_help("exposure is left (EXPOSURE LEFT names it), or arb live did not stop in time"),
    )
    add_config_argument(parser)
    parser.add_argument(
        "--timeout",
        type=duration,
        metavar="TIME",
        default="60s",
        help="how long to wait for a running arb live to finish (default: 60s)",
    )
    parser.set_defaults(run=_cmd_kill)
    return parser


def _cmd_kill(args: Any) -> int:
    from arb.config import load_config
    from arb.execution.kill import kill
    from arb.runtime.trading import trading_session
    from arb.ui import console

    config = load_config(args.config)
    timeout_s = args.timeout / 1e9
    state_dir = config.live.state_dir
    pid = _running_pid(state_dir / PID_FILE)
    if pid is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / KILL_FILE).write_text("kill\n")
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGUSR1)
        console.print(f"kill switch sent to arb live (pid {pid}); waiting for it to flatten and stop", highlight=False)
        deadline = time.monotonic() + timeout_s
        while _running_pid(state_dir / PID_FILE) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if _running_pid(state_dir / PID_FILE) is not None:
            console.print(f"[bold red]arb live (pid {pid}) has not stopped after {timeout_s:.0f} s[/]", highlight=False)
            return 1

    async def run() -> Any:
        async with trading_session(config, (0, 1)) as session:
            return await kill(session, slippage_bps=config.risk.stop_loss_bps)

    report = asyncio.run(run())
    for line in report.describe():
        console.print(line if report.flat else f"[bold red]{line}[/]", highlight=False)
    return 0 if report.flat else 1


def add_halt_parser(subparsers: Any) -> Any:
    """``arb halt``: show, set or clear the account's halt (live journal and paper account)."""
    parser = subparsers.add_parser(
        "halt",
        help="show the halt that keeps arb live and the dry run from opening pairs; --clear lifts it",
        description="A risk limit, the kill switch or a failed hedge halts new pairs, and the halt is kept "
        "(arb live: in the journal; the dry run: in the paper account) until a person clears it here.",
    )
    add_config_argument(parser)
    parser.add_argument("--state-dir", type=output_folder("a paper account folder"), metavar="DIR",
                        help="the paper account's folder (default: [dry_run] state_dir)")  # fmt: skip
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--clear", action="store_true", help="lift the halt of both")
    what.add_argument("--set", type=reason, metavar="REASON", help="halt both by hand, with this reason")
    parser.set_defaults(run=_cmd_halt)
    return parser


def _cmd_halt(args: Any) -> int:
    from arb.config import load_config
    from arb.execution.journaling import open_execution_journal
    from arb.execution.kill import HALT_KEY
    from arb.execution.paper_account import DB_NAME, update_paper_halt
    from arb.execution.risk import RISK_MEMORY_KEY, clear_day, day_pause_text, make_limits

    config = load_config(args.config)
    limits = make_limits(config.risk)
    paper_dir = args.state_dir or config.dry_run.state_dir
    paper = paper_dir / DB_NAME
    journal = open_execution_journal(config.live)
    pauses: dict[str, str | None] = {}
    try:
        live_halt = journal.get_state(HALT_KEY) or ""
        memory = json.loads(journal.get_state(RISK_MEMORY_KEY) or "{}")
        pauses["arb live"] = day_pause_text(memory, limits, time.time_ns())
        if args.clear:
            journal.set_state(HALT_KEY, "")
            if memory:  # the daily loss pause too: the risk day starts again at the next run
                journal.set_state(RISK_MEMORY_KEY, json.dumps(clear_day(memory)))
        elif args.set:
            journal.set_state(HALT_KEY, args.set)
    finally:
        journal.close()
    paper_halt = ""
    new_halt = "" if args.clear else args.set  # None: shown, not changed
    found = update_paper_halt(paper_dir, config.strategy.symbol, halt=new_halt, clear=args.clear)
    if found is not None:
        paper, paper_halt, paper_memory = found
        pauses["paper account"] = day_pause_text(paper_memory, limits, time.time_ns())
    for name, halt in ((f"arb live ({config.live.account})", live_halt), (f"paper account ({paper})", paper_halt)):
        now = "" if args.clear else (args.set or halt)
        if args.clear and halt:
            sys.stdout.write(f"{name}: halt cleared (was: {halt})\n")
        else:
            sys.stdout.write(f"{name}: {'HALTED: ' + now if now else 'not halted'}\n")
        paused = pauses.get(name.split(" (")[0])
        if paused is not None:
            sys.stdout.write(f"{name}: {'pause lifted (was: ' + paused + ')' if args.clear else 'PAUSED: ' + paused}\n")
    return 0
