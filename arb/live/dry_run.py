"""The dry run's set-up: the paper executor on the session loop, on the venues' live streams or a replay.

:func:`dry_run_live` connects every venue's feeds (``connectors.<venue>.feed``, one bounded queue);
:func:`dry_run_replay` feeds the same engine from recordings through the same normalizers
(``arb.live.recorded_source``), paced at ``speed``. Either way the engine (``arb.live.engine``) continues
the paper account (:mod:`arb.execution.paper_account`, in ``dry_run.state_dir``): positions, cash, order
and pair ids, each symbol's last pair, the risk gate's memory and a kept halt. Each fill is committed
to the account's journal with the state that goes with it, so a restart after a crash at any instant
resumes with every logged fill exactly once. The kernel is compiled before anything connects.

Both run :class:`~arb.live.session_loop.SessionLoop`, with the watchers the command hands down (the ops
watch, the terminal lines). Ctrl-C or SIGTERM stops it cleanly: paper orders still on their way are
cancelled, fills the venue already made are kept, and the account is saved; the command writes the
report from the :class:`DryRunResult`.
"""

from __future__ import annotations

__all__ = ["DryRunResult", "dry_run_live", "dry_run_replay", "paper_engine"]

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from arb.config import AppConfig
from arb.execution.paper import PaperExecutor
from arb.execution.paper_account import PaperAccount
from arb.execution.risk import restore_risk_memory, risk_memory
from arb.live.engine import Engine
from arb.live.listeners import Listeners
from arb.live.session_loop import (
    SessionLoop,
    SessionResult,
    SessionStart,
    SessionWatcher,
    paced,
    queued,
    warm_up_kernel,
)

log = logging.getLogger(__name__)


@dataclass(slots=True, kw_only=True)
class DryRunResult(SessionResult):
    """What a dry run leaves behind, for the report: a session's result and the paper account."""

    account: PaperAccount
    silent: list[str] = field(default_factory=list)
    """Live data: why a venue delivered nothing (never connected, or sent no data); empty when both did."""


def paper_engine(config: AppConfig, account: PaperAccount, on_fill: Callable[[Any], None] | None = None) -> Engine:
    """An engine that continues ``account`` (positions, cash, ids, each symbol's last pair, the gate's
    memory, a kept halt) and commits each fill to it, with the counters a restart needs, before
    ``on_fill(row)`` is called (tests, integrations)."""
    attempts = config.execution.max_hedge_attempts

    def booked(row: Any) -> None:
        _sync_counters(engine, account)  # so a crash right after this fill resumes with the right ids
        account.record(row)

    def halted(reason: str) -> None:
        account.halt = reason
        account.save()

    def breached(_event: Any) -> None:  # a crash right after a breach keeps the risk day's pause
        account.risk = risk_memory(engine.risk_state, engine.symbol_state, engine.symbols)
        account.save()

    listeners = Listeners(
        fill=[booked] if on_fill is None else [booked, on_fill],
        risk_event=[breached],
        halt=[halted],
        hedge_failed=[lambda: halted(f"hedge failed after {attempts} attempts")],
        funding=[account.record_funding],
    )
    engine = Engine(
        config,
        base=account.inception_base,
        quote=account.inception_quote,
        first_order_id=account.next_order_id,
        first_pair_id=account.next_pair_id,
        listeners=listeners,
    )
    engine.position[:] = account.position
    engine.cash[:] = account.cash
    engine.funding[:] = account.funding
    paper = engine.executor  # the engine's own, made above: a dry run's venue is the paper one
    if not isinstance(paper, PaperExecutor):
        raise TypeError(f"a dry run trades on the paper executor, not {type(paper).__name__}")
    paper.set_balances(*account.balances())
    st = engine.kernel_state
    st["last_buy_venue"] = account.last_buy_venue
    st["last_sell_venue"] = account.last_sell_venue
    st["last_pair_id"] = account.last_pair_id
    if account.halt:
        engine.hold()
    if account.risk:  # a restart keeps the risk day's loss and the last 24 hours' pairs
        restore_risk_memory(engine.risk_state, engine.symbol_state, account.risk, engine.symbols)
    return engine


def _sync_counters(engine: Engine, account: PaperAccount) -> None:
    st = engine.kernel_state
    account.next_order_id = engine.executor.next_order_id
    account.next_pair_id = engine.next_pair_id
    account.last_buy_venue = [int(x) for x in st["last_buy_venue"]]
    account.last_sell_venue = [int(x) for x in st["last_sell_venue"]]
    account.last_pair_id = [int(x) for x in st["last_pair_id"]]
    account.risk = risk_memory(engine.risk_state, engine.symbol_state, engine.symbols)


def _finish(engine: Engine, account: PaperAccount, now: int) -> None:
    # the stop: orders on their way cancelled, what is due booked, the account saved
    cancelled = engine.cancel_open_orders()
    if cancelled:
        log.info("cancelled %d paper order(s) still on their way", cancelled)
    engine.finish(now)
    _sync_counters(engine, account)
    account.save()


async def dry_run_replay(
    config: AppConfig,
    *,
    account: PaperAccount,
    console: Console,
    speed: float | None,
    duration_ns: int | None = None,
    stop_event: asyncio.Event | None = None,
    days: list[Any] | None = None,
    on_fill: Callable[[Any], None] | None = None,
    allow_damaged: bool = False,
    watchers: Sequence[SessionWatcher] = (),
    on_watch: Callable[[Any], None] | None = None,
) -> DryRunResult:
    """Replay recorded days through the live path (normalizers -> engine -> paper executor).

    ``speed``: 1.0 real time, 10 ten times faster, None as fast as possible. Stops at the end of the
    data, after ``duration_ns`` of data time, or when ``stop_event`` is set (Ctrl-C). ``days``: what
    :func:`~arb.recording.loader.plan_days` settled (None: every day recorded for every venue).
    ``allow_damaged`` keeps what can be read of a damaged recording instead of refusing it.
    ``watchers`` see the run (their clock is data time); ``on_watch(watcher)`` is called for each once
    they have begun, before the first batch. ``console`` takes their banner lines.
    """
    from arb.live.recorded_source import replay
    from arb.recording.loader import load_timeline, plan_days
    from arb.recording.replayed_funding import funding_of

    started = time.perf_counter()
    warm_up_kernel(config)
    days = days or plan_days(config, None, None)
    session = load_timeline(config, days, allow_damaged=allow_damaged)
    funding = funding_of(config, session)  # the settlements the backtest of these days books
    stop_event = stop_event or asyncio.Event()
    engine = paper_engine(config, account, on_fill)
    n = len(config.venues)  # asset a is venue a % n of symbol a // n
    for a, data in enumerate(session.assets):
        if data.initial is not None:
            engine.seed_book(a % n, data.initial.rows, data.initial.synced, a // n)
    account.sessions += 1
    loop = SessionLoop(engine, watchers, start_ns=session.start_ns)
    loop.begin(SessionStart(loop.now, "replay", engine), console, halt=account.halt, on_watch=on_watch)
    try:
        arrivals = paced(replay(config, session, funding), speed, stop_event, duration_ns=duration_ns)
        await loop.run(arrivals, stop_event)
        if loop.first_ns is not None:
            account.note_replayed(loop.first_ns, loop.last_ns)
        _finish(engine, account, loop.last_ns)
    except BaseException:
        loop.end(None)
        raise
    loop.end(loop.last_ns)
    first = loop.first_ns if loop.first_ns is not None else session.start_ns
    return DryRunResult(engine=engine, account=account, start_ns=first, end_ns=loop.last_ns, batches=loop.batches,
                        interrupted=loop.interrupted, wall_s=time.perf_counter() - started,
                        stop_signal=loop.stop_signal, watchers=loop.watchers)  # fmt: skip


async def dry_run_live(
    config: AppConfig,
    *,
    account: PaperAccount,
    console: Console,
    duration_ns: int | None = None,
    stop_event: asyncio.Event | None = None,
    queue_size: int = 10_000,
    clock: Callable[[], int] = time.time_ns,
    on_fill: Callable[[Any], None] | None = None,
    watchers: Sequence[SessionWatcher] = (),
    on_watch: Callable[[Any], None] | None = None,
) -> DryRunResult:
    """Paper-trade on the venues' live streams (the endpoints ``config`` names) until stopped.

    Stops after ``duration_ns`` of wall time, or when ``stop_event`` is set (SIGINT and SIGTERM set
    it). ``on_fill(row)`` is called after each fill is recorded (tests, integrations); ``watchers``
    see the run and ``on_watch(watcher)`` is called for each once they have begun.
    """
    from arb.live.feeds import market_data_feeds

    started = time.perf_counter()
    warm_up_kernel(config)
    stop_event = stop_event or asyncio.Event()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)
    feeds = market_data_feeds(config, queue=queue, clock=clock)
    engine = paper_engine(config, account, on_fill)
    account.sessions += 1
    t0 = clock()
    loop = SessionLoop(engine, watchers, clock=clock, start_ns=t0)
    loop.begin(SessionStart(clock, "live", engine, tuple(feeds)), console, halt=account.halt, on_watch=on_watch)

    def start_feeds(group: asyncio.TaskGroup) -> None:
        for feed in feeds:
            group.create_task(feed.run(), name=f"feed-{feed.name}")

    try:
        try:
            await loop.run(queued(queue), stop_event, duration_ns=duration_ns, start_tasks=start_feeds)
        finally:
            for feed in feeds:
                feed.stop()
        _finish(engine, account, max(loop.last_ns, clock()))
    except BaseException:
        loop.end(None)
        raise
    loop.end(loop.last_ns)
    silent = [why for why in (feed.silence() for feed in feeds) if why is not None]
    return DryRunResult(engine=engine, account=account, start_ns=t0, end_ns=loop.last_ns, batches=loop.batches,
                        interrupted=loop.interrupted, wall_s=time.perf_counter() - started,
                        stop_signal=loop.stop_signal, silent=silent, watchers=loop.watchers)  # fmt: skip
