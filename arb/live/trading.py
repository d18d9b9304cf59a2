"""``arb live``: the compiled kernel and the risk gate of the dry run, on real orders, every symbol of
``[strategy] symbols`` in one process.

The loop is the dry run's (:class:`~arb.live.session_loop.SessionLoop`): every venue's feeds (one
connection each, every symbol subscribed) put batches on one bounded queue, the loop applies them to
the engine, which calls each symbol's kernel and the one gate. The executor is the live one
(:class:`~arb.execution.live_executor.LiveExecutor`): orders go through the journal and ccxt, their answers
wake the engine, fills come from the user streams (one private connection per venue, every symbol's).

Start, in order: quotes that would rest where no dead-man's switch cancels them refused unless
``[live] quotes_without_dead_man`` says so (before anything connects: every caller of :func:`run_live`
is held to it, not only the command), markets and trading rules loaded for every symbol (a tick or lot that differs from
the configuration's stops the start, as the kernel would size on one grid and the venue round to
another; other differences are printed), every venue reconciled with the journal symbol by symbol (anything
unexplained stops the start), a linear venue's account set one-way with the ``[perpetual]`` leverage
and margin mode for every symbol, the account's fees read from the venues (a difference from ``[fees]``
named in one line; the kernels' edge takes the account's), balances and positions read into the kernels'
views, the kernel compiled. The account's inception (the balances when this journal first traded) is kept in the
journal, so a symbol's position on a venue is what the account gained or lost since then: an
imbalance left by a crash is its kernel's to hedge after the restart. So is the strategy's memory: resumed
from the journal before the first decision, and kept there as it changes (:mod:`arb.live.strategy_memory`).

Stop (``--duration``, Ctrl-C, SIGTERM): no new decision, open orders cancelled on every venue,
orders in flight resolved (bounded by ``[live] shutdown_timeout_ms``; what is left is named); the
command (:mod:`arb.cli.live`) then writes the same report as a dry run plus each venue's order latency.
Its watchers (the ops watch) are handed down by the command.

With ``[rebalance] auto``, a task beside the loop moves money between the venues by itself within the daily
limit, through clients of its own, until the session stops or halts (:mod:`arb.live.auto_rebalance`);
without it, ``arb live`` never withdraws. Either way the engine follows the moves another process journals
(``arb rebalance --execute``), looking at the journal every ``[rebalance] poll_interval_ms``.
"""

from __future__ import annotations

__all__ = ["KILL_FILE", "PID_FILE", "LiveResult", "live_engine", "run_live", "start_up"]

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Console

from arb.config import AppConfig
from arb.errors import ConfigError, NeedsOperatorError
from arb.execution.halt_hints import clear_halt_command
from arb.live.account_fees import Rates, at_start, use_in_kernel
from arb.live.account_lines import AccountLines, equity_text
from arb.live.chores import Chores
from arb.live.guards import Guards, RiskMemory
from arb.live.listeners import Listeners
from arb.live.process import KILL_FILE, PID_FILE, announce
from arb.live.session_loop import SessionResult, SessionWatcher
from arb.live.switches import Switches

if TYPE_CHECKING:
    from pathlib import Path

    from arb.execution.live_executor import LiveExecutor
    from arb.execution.orders import LiveOrder
    from arb.live.auto_rebalance import Following
    from arb.live.engine import Engine, Executor
    from arb.live.kill import KillReport
    from arb.live.session_loop import SessionLoop, SessionStart
    from arb.live.strategy_memory import StrategyMemory
    from arb.live.trading_session import TradingSession
    from connectors.common.feed import MarketDataFeed

log = logging.getLogger(__name__)


@dataclass(slots=True, kw_only=True)
class LiveResult(SessionResult):
    """What an ``arb live`` session leaves behind, for the report: a session's result and the account's."""

    base: list[list[float]]
    """Base holdings at the end, per symbol per venue."""
    quote: list[float]
    """The quote balance at the end, per venue."""
    left_in_flight: list[LiveOrder] = field(default_factory=list)
    latencies: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    pair_latencies: dict[str, dict[str, float]] = field(default_factory=dict)
    """Tick to trade per pair (``Journal.pair_latencies``): to the first and the last leg, between the legs."""
    rule_differences: list[str] = field(default_factory=list)
    kill: KillReport | None = None
    """What the kill switch did, when it ended the session."""


class _Reporter(AccountLines):
    # A line per fill and a periodic account line, as the dry run prints them: a watcher of the session
    # (arb.live.session_loop.SessionWatcher) whose account line comes after batches only.
    def __init__(
        self, console: Console, interval_ns: int, symbols: tuple[str, ...] = (), venues: tuple[str, ...] = ()
    ) -> None:
        super().__init__(console, interval_ns)
        self.symbols = symbols  # named on each fill line when there are several
        self.venues = venues  # the run's, by venue number
        self._width = max(map(len, venues), default=0)  # the venues' names in one column
        self._hedge_failed = False

    def fill(self, row: Any) -> None:
        side = "buy " if int(row["side"]) > 0 else "sell"
        symbol = f"{self.symbols[int(row['symbol'])]} " if len(self.symbols) > 1 else ""
        self.console.print(
            f"fill {self.venues[int(row['venue'])]:<{self._width}} {symbol}{side} {float(row['qty']):.8g} @ "
            f"{float(row['price']):.8g} fee {float(row['fee']):.6g} (pair {int(row['pair_id'])})",
            highlight=False,
            soft_wrap=True,
        )

    def begin(self, start: SessionStart) -> list[str]:
        self.engine = start.engine
        self.later = start.later  # the account line when the loop is idle
        return []

    def halt(self, reason: str) -> None:
        pass  # the session prints its halts itself

    def tick(self, now: int) -> None:
        pass  # the account line follows the market: after batches

    def forced(self, engine: Engine) -> bool:
        # The kernel gave up hedging (the guards halted at once): the account line at once, once.
        if self._hedge_failed or not engine.hedge_failed:
            return False
        self._hedge_failed = True
        return True

    def account_line(self, engine: Engine, when: str) -> None:
        base = engine.init_base + engine.position
        quote = engine.init_quote + engine.cash.sum(axis=0)
        from arb.execution.paper_account import holdings_text, positions_text

        self.console.print(
            f"[{when} UTC] cash {' | '.join(f'{q:,.2f}' for q in quote)}  "
            f"holdings {holdings_text(engine.symbols, base)}  "
            f"positions {positions_text(engine.symbols, engine.position)}  "
            f"{equity_text(quote, base, engine.last_mid)}  "
            f"fills {engine.log.fills.n}  open orders {engine.executor.open_counts.ravel().tolist()}  "
            f"{self.inventory_text(engine)}",
            highlight=False,
            soft_wrap=True,
        )


async def run_live(
    config: AppConfig,
    *,
    console: Console,
    duration_ns: int | None = None,
    stop_event: asyncio.Event | None = None,
    clock: Callable[[], int] = time.time_ns,
    queue_size: int = 10_000,
    watchers: Sequence[SessionWatcher] = (),
    on_watch: Callable[[Any], None] | None = None,
    on_stop_signal: Callable[[], None] | None = None,
) -> LiveResult:
    """Trade the kernel on the run's venues with real orders until stopped (see the module docstring).
    ``on_watch(watch)`` is called once the dashboard and metrics are up (``[ops]``); ``on_stop_signal()``
    when SIGTERM or SIGINT asks for the clean stop (``arb live`` arms its stop deadline there)."""
    from arb.live.feeds import market_data_feeds
    from arb.live.session_loop import queued, warm_up_kernel
    from arb.live.strategy_memory import StrategyMemory
    from arb.live.trading_session import trading_session

    started = time.perf_counter()
    config = config.as_traded()  # the market data of the network the orders go to, never data_network
    _refuse_untradable(config)
    warm_up_kernel(config)
    stop_event = stop_event or asyncio.Event()
    kill_file = config.live.state_dir / KILL_FILE
    kill_file.unlink(missing_ok=True)
    async with (
        trading_session(config, clock=clock) as session,
        announce(config.live.state_dir / PID_FILE),
        Switches(session, console) as switches,  # a failed start disarms what it armed
    ):
        window, rates = await start_up(config, session, console, switches)
        wake = asyncio.Event()
        executor = session.live_executor(on_ready=wake.set)
        reporter = _Reporter(console, config.dry_run.report_interval_ns, config.symbol_names, config.venue_names)
        guards = Guards(config, session, console, stop_event, clock)
        memory = RiskMemory(session.journal, clear_halt_command(config))
        engine = await live_engine(config, session, executor, guards, listeners=Listeners(
            fill=[reporter.fill], fill_kept=[memory.queue], risk_event=[memory.save], halt=[guards.risk_halt],
            hedge_failed=[guards.hedge_failed], funding=[guards.book_funding],
        ))  # fmt: skip
        use_in_kernel(engine.rules, rates)  # the account's fees, as the venues charge them
        following = _following(config, session, engine)  # counted from here: the start counted what came before
        memory.restore(engine, console, clock())
        strategy_memory = StrategyMemory(session.journal)  # the strategy's own, resumed and kept at each flush
        strategy_memory.restore(engine, console)
        kept = guards.keep_halt()
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)
        feeds = market_data_feeds(config, config.symbol_names, queue=queue, clock=clock)  # as dry-run builds them
        session_loop, t0 = _begin_session_loop(
            session, engine, guards, (queue, feeds), (*watchers, reporter), clock, console, (kept, on_watch)
        )

        def start_tasks(tasks: asyncio.TaskGroup) -> None:
            _start_tasks(tasks, config, session, feeds, guards, (window, kill_file), strategy_memory, following)

        def stop_signal(_sig: signal.Signals) -> None:
            if on_stop_signal is not None:
                on_stop_signal()

        def run() -> Coroutine[Any, Any, None]:
            return session_loop.run(queued(queue), stop_event, duration_ns=duration_ns, wake=wake,
                                    start_tasks=start_tasks, on_signal=stop_signal)  # fmt: skip

        await _trade(run, session_loop, feeds, guards, switches)
        left, kill = await _stop(config, session, executor, guards, switches, session_loop, memory, kill_file, clock)
        for order in left:
            console.print(
                f"[bold red]order {order.client_id} ({order.symbol}) on {config.venue_names[order.venue]} is still "
                f"{order.state.value}[/]: arb reconcile will find it out at the next start (never resend it)"
            )
        return _live_result(config, session, session_loop, (t0, time.perf_counter() - started), left, kill)


def _begin_session_loop(
    session: TradingSession,
    engine: Engine,
    guards: Guards,
    feeds: tuple[asyncio.Queue[Any], list[MarketDataFeed]],
    watchers: Sequence[SessionWatcher],
    clock: Callable[[], int],
    console: Console,
    begin: tuple[str, Callable[[Any], None] | None],
) -> tuple[SessionLoop, int]:
    # The session's loop, begun from now: on the feeds' queue and its market data (``feeds``), the
    # watchers told (``begin``: the halt kept, and on_watch), the venues' answers and the chores through it
    from arb.live.session_loop import SessionLoop, SessionStart, taking

    queue, market_data = feeds
    kept, on_watch = begin
    config = engine.config
    executor = engine.executor
    t0 = clock()
    loop = asyncio.get_running_loop()

    def pull_from_another_thread() -> None:  # a Telegram /kill confirm, in the alert thread
        loop.call_soon_threadsafe(guards.kill)

    # market data first: what reports on an answer or a fill waits for an idle loop (arb.live.chores)
    chores = Chores(lambda: bool(queue.qsize()) or executor.next_event_ts() is not None)
    engine.later = chores.add
    session_loop = SessionLoop(engine, watchers, clock=clock, start_ns=t0,
                               gc_interval_ns=config.live.gc_interval_ns, chores=chores,
                               backlog=queue.qsize, take=taking(queue))  # fmt: skip
    for venue_executor in session.executors.values():
        # an order's end decided at once by the task that read it; what its message brought committed after
        venue_executor.answered_now, venue_executor.later = session_loop.answer_now, chores.add
    start = SessionStart(clock, "live", engine, tuple(market_data), session.journal.journal.health,
                         pull_from_another_thread, later=chores.add)  # fmt: skip
    session_loop.begin(start, console, halt=kept, on_watch=on_watch)
    guards.session_loop = session_loop
    return session_loop, t0


async def _trade(
    run: Callable[[], Coroutine[Any, Any, None]],
    session_loop: SessionLoop,
    feeds: Sequence[MarketDataFeed],
    guards: Guards,
    switches: Switches,
) -> None:
    # The trading: ``run``, the session loop's run, awaited with the kill signal (SIGUSR1) handled and the
    # switches left armed on an error (its orders may rest); the feeds stopped after it, however it ends
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGUSR1, guards.kill)
    switches.trading = True  # from here an error leaves the switches armed: its orders may rest
    try:
        try:
            await run()
        finally:
            for feed in feeds:
                feed.stop()
    except BaseException:
        session_loop.end(None)
        raise
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.remove_signal_handler(signal.SIGUSR1)


def _refuse_untradable(config: AppConfig) -> None:
    # Before anything connects: a venue with no private side (nothing is traded there), quotes nothing
    # would cancel
    from arb.live.preflight import unguarded_quotes_refusal, untraded_venues_refusal

    untraded = untraded_venues_refusal(config)
    if untraded is not None:
        raise ConfigError(str(config.path), "strategy.venues", untraded)
    refusal = unguarded_quotes_refusal(config)
    if refusal is not None:
        raise NeedsOperatorError(refusal)


def _start_tasks(
    tasks: asyncio.TaskGroup,
    config: AppConfig,
    session: TradingSession,
    feeds: Sequence[MarketDataFeed],
    guards: Guards,
    switch: tuple[int, Path],
    strategy_memory: StrategyMemory,
    following: Following,
) -> None:
    # The session's tasks beside the loop: the venues' background work and dead-man's switches (``switch``:
    # its window, 0 for none, and the kill file), the feeds, the watches, the moves of money
    window, kill_file = switch
    for venue_executor in session.executors.values():
        venue_executor.run_background(tasks)
        if window:
            venue_executor.dead_man.run(tasks, window, armed=True)
    for feed in feeds:
        tasks.create_task(feed.run(), name=f"feed-{feed.name}")
    tasks.create_task(guards.kill_watch(kill_file), name="kill-watch")
    tasks.create_task(guards.stale_watch(), name="stale-watch")
    tasks.create_task(strategy_memory.watch(), name="strategy-memory")
    from arb.live.auto_rebalance import auto_rebalance, follow_journal

    # the moves another process journals (arb rebalance --execute), off the order path
    tasks.create_task(follow_journal(following, config.rebalance.poll_interval_ns / 1e9), name="follow-moves")
    if config.rebalance.auto:  # off the order path, with clients of its own (docs/rebalance.md)
        tasks.create_task(auto_rebalance(config, guards.halted, following=following), name="auto-rebalance")


async def _stop(
    config: AppConfig,
    session: TradingSession,
    executor: LiveExecutor,
    guards: Guards,
    switches: Switches,
    session_loop: SessionLoop,
    memory: RiskMemory,
    kill_file: Path,
    clock: Callable[[], int],
) -> tuple[list[LiveOrder], KillReport | None]:
    # The stop: cancel what is open, resolve what is in flight, book what came in; returns the orders
    # still in flight and what the kill switch did
    engine = session_loop.engine
    async with asyncio.TaskGroup() as tasks:
        for venue_executor in session.executors.values():
            venue_executor.later = venue_executor.answered_now = None  # the session is over: commit at once
            venue_executor.run_background(tasks)
        left = await executor.shutdown(config.live.shutdown_timeout_ns)
    engine.cancel_open_orders()
    kill_report = await guards.flatten_if_killed(kill_file, executor.cancelled_at_stop)
    await switches.disarm(keep={order.venue for order in left})  # a venue's order in flight keeps its switch
    now = max(session_loop.last_ns, clock())
    engine.finish(now)
    memory.save()
    session_loop.end(now)
    return left, kill_report


def _live_result(
    config: AppConfig,
    session: TradingSession,
    session_loop: SessionLoop,
    times: tuple[int, float],
    left: list[LiveOrder],
    kill: KillReport | None,
) -> LiveResult:
    # What the session leaves (``times``: its start, ns, and its wall time, s): the loop's figures, the
    # account at the end, the venues' latencies
    t0, wall_s = times
    engine = session_loop.engine
    symbols, venues = range(len(config.symbols)), range(len(config.venues))
    return LiveResult(
        engine=engine,
        start_ns=t0,
        end_ns=session_loop.last_ns,
        batches=session_loop.batches,
        interrupted=session_loop.interrupted,
        wall_s=wall_s,
        base=[[float(engine.init_base[s, v] + engine.position[s, v]) for v in venues] for s in symbols],
        quote=[float(engine.init_quote[v] + engine.cash[:, v].sum()) for v in venues],
        left_in_flight=left,
        latencies={e.venue: session.journal.journal.latencies(e.venue) for e in session.executors.values()},
        pair_latencies=session.journal.journal.pair_latencies(),
        rule_differences=session.rule_differences,
        kill=kill,
        stop_signal=session_loop.stop_signal,
        watchers=session_loop.watchers,
    )


async def start_up(
    config: AppConfig, session: TradingSession, console: Console, switches: Switches
) -> tuple[int, Rates]:
    """What must hold before anything is traded, in order (see the module docstring): the venues' grids
    as configured, every venue reconciled with the journal, a linear venue's account settings, the
    account's fees read (:func:`arb.live.account_fees.at_start`), the dead-man's switches armed
    (``switches``); the quotes a crash would leave are named. Returns the dead-man's window (s, 0: none)
    and the fees read."""
    if session.grid_differences:  # the kernel would size on one grid and the venue take another
        raise NeedsOperatorError(
            f"the venue's tick or lot differs from the configuration's: {'; '.join(session.grid_differences)}; "
            "the kernel sizes and prices on the configuration's and the venue would round its orders (a leg "
            "cut short, left alone): nothing was traded; set the configuration to the venue's rules (then "
            "backtest it again)"
        )
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
    from arb.live.preflight import resting_quotes

    for v, venue_executor in session.executors.items():
        venue = config.venues[v]
        for line in await apply_perpetual_settings(venue_executor, venue.perpetual, str(venue.path)):
            console.print(line, highlight=False)
    rates = await at_start(config, session.executors, session.journal)
    await switches.arm()  # before anything is traded: a venue that refuses it stops the start here
    for quotes in resting_quotes(config):  # the maker_taker style: what a crash would leave on the book
        console.print(quotes.text(), highlight=False, soft_wrap=True)
    return switches.window_s, rates


async def live_engine(
    config: AppConfig, session: TradingSession, executor: Executor, guards: Guards, listeners: Listeners
) -> Engine:
    """The engine on the live executor, continuing the accounts from their inception (balances and
    positions as the venues and the journal say), the guards' engine."""
    from arb.live.engine import Engine
    from arb.live.trading_session import venue_account

    venues = range(len(config.venues))
    accounts = [await venue_account(session, v) for v in venues]
    symbols = range(len(config.symbols))
    engine = Engine(
        config,
        base=[[accounts[v].inception_base[s] for v in venues] for s in symbols],
        quote=tuple(account.inception_quote for account in accounts),
        executor=executor,
        listeners=listeners,
    )
    for s in symbols:
        for v in venues:
            engine.position[s, v], engine.cash[s, v] = accounts[v].position[s], accounts[v].cash[s]
    guards.engine = engine
    return engine


def _following(config: AppConfig, session: TradingSession, engine: Engine) -> Following:
    """What follows the account's moves of money into ``engine`` while the session runs: those of
    ``[rebalance] auto`` as it journals them, those another process journals at the next look of
    :func:`~arb.live.auto_rebalance.follow_journal` (``[rebalance] poll_interval_ms``)."""
    from arb.journal.transfers import TransferJournal
    from arb.live.auto_rebalance import Following

    def moved(venue: int, asset: str, amount: Decimal) -> None:  # the engine's balances follow
        engine.transferred(venue, asset, float(amount))

    def paid(venue: int, asset: str, fee: Decimal) -> None:  # and its net PnL takes the fee
        engine.paid_transfer_fee(venue, asset, float(fee))

    journal = session.journal.journal
    return Following(config, TransferJournal(journal.engine, journal.url, time.time_ns), moved, paid)
