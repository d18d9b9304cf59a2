"""The live driver: ``arb dry-run`` on the exchanges' live streams or on a replayed recording.

An asyncio program: both venues' feeds (``connectors.<venue>.feed``) put :class:`FeedBatch` objects
on one bounded queue; one consumer task applies them to the engine (``arb.runtime.engine``), which
calls the compiled kernel and hands its intents to the paper executor; a timer task wakes the engine
when a simulated order arrives or is answered; everything runs inside one ``asyncio.TaskGroup`` and
every task is awaited. The kernel is compiled before anything connects, so the first tick pays no
compile time.

Without ``--live-data`` the same engine is fed from recordings through the same normalizers
(``arb.runtime.replay``), paced at ``dry_run.replay_speed`` (or as fast as possible).

Ctrl-C or SIGTERM stops it cleanly: paper orders still on their way are cancelled, fills the venue
already made are kept, the paper account and the trade log are written, and the final report is
printed. The paper account (:mod:`arb.execution.paper_account`) lives in ``dry_run.state_dir``: its
journal ``paper.sqlite`` takes each fill and the account state that goes with it in one transaction,
so a restart, after a crash at any instant, resumes with every logged fill exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from arb.config import AppConfig
from arb.errors import ArbError
from arb.events import ASSET_NAMES
from arb.execution.paper_account import KIND_NAMES, PaperAccount, positions_text
from arb.execution.risk import restore_risk_memory, risk_figures, risk_memory
from arb.ops.watch import Watch
from arb.runtime.engine import Engine
from arb.runtime.pairs import pairs_text
from arb.strategy.kernel import decide, may_act
from arb.strategy.types import BUY, new_intents, new_state, new_view

__all__ = [
    "DryRunResult",
    "PaperAccount",
    "dry_run_live",
    "dry_run_replay",
    "positions_text",
    "warm_up_kernel",
    "write_dry_run_report",
]

log = logging.getLogger(__name__)


def warm_up_kernel(config: AppConfig) -> None:
    """Compile (or load from Numba's cache) the kernel before any market data arrives."""
    from arb.strategy.params import make_params

    view = new_view()
    may_act(view, make_params(config), 0)
    decide(view, make_params(config), new_state(), 0, new_intents())


def make_engine(config: AppConfig, account: PaperAccount, on_fill: Callable[[Any], None]) -> Engine:
    """An engine that continues ``account`` (positions, cash, ids and each symbol's last pair)."""
    engine = Engine(
        config,
        base=account.inception_base,
        quote=account.inception_quote,
        on_fill=on_fill,
        first_order_id=account.next_order_id,
        first_pair_id=account.next_pair_id,
    )
    engine.position[:] = account.position
    engine.cash[:] = account.cash
    engine.funding[:] = account.funding
    engine.on_funding = account.record_funding
    engine.executor.set_balances(*account.balances())
    st = engine.kstate
    st["last_buy_venue"] = account.last_buy_venue
    st["last_sell_venue"] = account.last_sell_venue
    st["last_pair_id"] = account.last_pair_id
    if account.halt:
        engine.hold()
    if account.risk:  # a restart keeps the risk day's loss and the last 24 hours' pairs
        restore_risk_memory(engine.rstate, engine.srisk, account.risk, engine.symbols)

    def halted(reason: str) -> None:
        account.halt = reason
        account.save()

    def breached(_event: Any) -> None:  # a crash right after a breach keeps the risk day's pause
        account.risk = risk_memory(engine.rstate, engine.srisk, engine.symbols)
        account.save()

    engine.on_risk_event = breached

    engine.on_halt = halted
    attempts = config.execution.max_hedge_attempts
    engine.on_hedge_failed = lambda: halted(f"hedge failed after {attempts} attempts")
    return engine


@dataclass(slots=True)
class DryRunResult:
    """What a dry run leaves behind, for the report."""

    engine: Engine
    account: PaperAccount
    start_ns: int
    end_ns: int
    batches: int
    interrupted: bool
    wall_s: float
    stop_signal: int | None = None
    """The signal that stopped the run (``signal.SIGINT`` for Ctrl-C), None when it ended otherwise."""
    silent: list[str] = field(default_factory=list)
    """Live data: why a venue delivered nothing (never connected, or sent no data); empty when both did."""
    watch: Watch | None = None
    """What the run published for its watchers (its hub keeps the last snapshots and events)."""


class _Reporter:
    # The periodic account line and one line per fill.
    def __init__(self, console: Console, interval_ns: int, account: PaperAccount) -> None:
        self.console = console
        self.interval = interval_ns
        self.account = account
        self.next_at = 0
        self.synced_once = False  # the first account line comes as soon as both books are synced

    def fill(self, row: Any) -> None:
        side = int(row["side"])
        qty = float(row["qty"])
        price = float(row["price"])
        self.console.print(
            f"fill {ASSET_NAMES[int(row['venue'])]:<7} {'buy ' if side == BUY else 'sell'} {qty:.8g} @ {price:.8g} "
            f"fee {float(row['fee']):.6g} (pair {int(row['pair_id'])}, {KIND_NAMES.get(int(row['kind']), '?')})",
            highlight=False,
            soft_wrap=True,
        )

    def maybe(self, engine: Engine, now: int, force: bool = False) -> None:
        if self.next_at == 0:
            self.next_at = (now // self.interval + 1) * self.interval
        if not self.synced_once and engine.both_synced():
            self.synced_once = force = True
        if not force and now < self.next_at:
            return
        self.next_at = (now // self.interval + 1) * self.interval
        base, quote = self.account.balances()
        mids = engine.last_mid
        equity = sum(quote) + sum(
            base[s][v] * (mids[s, v] if np.isfinite(mids[s, v]) else 0.0)
            for s in range(len(base)) for v in range(2)
        )  # fmt: skip
        when = time.strftime("%H:%M:%S", time.gmtime(now / 1e9))
        fills = engine.log.fills.view()
        pairs = pairs_text(fills, mids)
        self.console.print(
            f"[{when} UTC] cash {quote[0]:,.2f} | {quote[1]:,.2f} USDT  positions "
            f"{positions_text(engine.symbols, engine.position)}  equity {equity:,.2f}  trades {self.account.fills}  "
            f"{pairs}",
            highlight=False,
            soft_wrap=True,
        )
        from arb.runtime.live_trading import exposure_lines  # the line arb live prints, word for word

        for line in exposure_lines(engine):  # a leg the kernel gave up hedging: loud, with the exposure
            self.console.print(f"[bold red]{line}[/]", highlight=False, soft_wrap=True)


def _engine_for(
    config: AppConfig, account: PaperAccount, reporter: _Reporter, hook: Callable[[Any], None] | None
) -> Engine:
    engine: Engine | None = None

    def on_fill(row: Any) -> None:
        assert engine is not None
        _sync_counters(engine, account)  # so a crash right after this fill resumes with the right ids
        account.record(row)
        reporter.fill(row)
        if hook is not None:
            hook(row)

    engine = make_engine(config, account, on_fill)
    return engine


def _sync_counters(engine: Engine, account: PaperAccount) -> None:
    st = engine.kstate
    account.next_order_id = engine.executor.next_order_id
    account.next_pair_id = engine.next_pair_id
    account.last_buy_venue = [int(x) for x in st["last_buy_venue"]]
    account.last_sell_venue = [int(x) for x in st["last_sell_venue"]]
    account.last_pair_id = [int(x) for x in st["last_pair_id"]]
    account.risk = risk_memory(engine.rstate, engine.srisk, engine.symbols)


@contextlib.contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[list[int]]:
    # SIGINT and SIGTERM ask for a clean stop (the loop finishes what it is doing, then reports);
    # yields the signals received, first first, so the command can exit 130 after a Ctrl-C.
    loop = asyncio.get_running_loop()
    installed = []
    received: list[int] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(int(sig))
        stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal, sig)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals
            pass
    try:
        yield received
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


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
    on_watch: Callable[[Watch], None] | None = None,
) -> DryRunResult:
    """Replay recorded days through the live path (normalizers -> engine -> paper executor).

    ``speed``: 1.0 real time, 10 ten times faster, None as fast as possible. Stops at the end of the
    data, after ``duration_ns`` of data time, or when ``stop_event`` is set (Ctrl-C). ``days``: what
    :func:`~arb.runtime.loader.plan_days` settled (None: every day recorded for both venues).
    ``allow_damaged`` keeps what can be read of a damaged recording instead of refusing it.
    ``on_watch(watch)`` is called once the dashboard and metrics are up (``[ops]``), before the first batch.
    """
    from arb.runtime.loader import funding_of, load_session, plan_days
    from arb.runtime.replay import replay

    started = time.perf_counter()
    warm_up_kernel(config)
    days = days or plan_days(config, None, None)
    session = load_session(config, days, allow_damaged=allow_damaged)
    funding = funding_of(config, session)  # the settlements the backtest of these days books
    stop_event = stop_event or asyncio.Event()
    reporter = _Reporter(console, config.dry_run.report_interval_ns, account)
    engine = _engine_for(config, account, reporter, on_fill)
    for a, data in enumerate(session.assets):
        if data.initial is not None:
            engine.seed_book(a % 2, data.initial.rows, data.initial.synced, a // 2)
    account.sessions += 1
    first: int | None = None
    last = session.start_ns
    batches = 0
    wall0 = time.monotonic()
    interrupted = False
    clock = [session.start_ns]
    watch = _start_watch(config, console, engine, account, lambda: clock[0], on_watch)
    perf = time.perf_counter_ns
    lag = asyncio.create_task(watch.measure_lag(), name="loop-lag")
    try:
        with _stop_on_signals(stop_event.set) as received:
            for ts, group in replay(config, session, funding):
                if first is None:
                    first = ts
                if duration_ns is not None and ts - first > duration_ns:
                    break
                if speed is not None:
                    delay = (ts - first) / 1e9 / speed - (time.monotonic() - wall0)
                    if delay > 0:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop_event.wait(), delay)
                elif batches % 256 == 0:
                    await asyncio.sleep(0)  # let Ctrl-C and other tasks in
                if stop_event.is_set():
                    interrupted = True
                    break
                clock[0] = ts
                sent_before, t0 = engine.log.sent.n, perf()
                engine.on_batches(ts, group)
                watch.after_batch(engine, t0, ts, sent_before)
                reporter.maybe(engine, ts)
                last = ts
                batches += 1
        if first is not None:
            account.note_replayed(first, last)
        _finish(engine, account, last, interrupted)
        reporter.maybe(engine, last, force=True)
    finally:
        lag.cancel()
        watch.stop()
    return DryRunResult(engine, account, first or session.start_ns, last, batches, interrupted,
                        time.perf_counter() - started, received[0] if received else None, watch=watch)  # fmt: skip


def _start_watch(
    config: AppConfig,
    console: Console,
    engine: Engine,
    account: PaperAccount,
    clock: Callable[[], int],
    on_watch: Callable[[Watch], None] | None,
    feeds: list[Any] | None = None,
) -> Watch:
    # the dashboard, /metrics and the alerts of this run ([ops], [alerts]); a kept halt shows at once
    folder = account.path.parent  # the daily report reads this very account
    own = config.with_overrides({"dry_run.state_dir": folder}) if folder != config.dry_run.state_dir else config
    data = "live" if feeds else "replay"  # no live feed: a recording is being replayed
    watch = Watch(own, "dry-run", clock=clock, report_dir=str(folder / "reports"), data=data)
    for line in watch.start():
        console.print(line, highlight=False, soft_wrap=True)
    watch.attach(engine)
    if feeds:
        watch.watch_feeds(feeds)
    if account.halt:
        watch.halt(account.halt)
    if on_watch is not None:
        on_watch(watch)
    return watch


def _finish(engine: Engine, account: PaperAccount, now: int, interrupted: bool) -> None:
    cancelled = engine.cancel_open_orders()
    if cancelled:
        log.info("cancelled %d paper order(s) still on their way", cancelled)
    engine.finish(now)
    _sync_counters(engine, account)
    account.save()


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
    on_watch: Callable[[Watch], None] | None = None,
) -> DryRunResult:
    """Paper-trade on the venues' live streams (the endpoints ``config`` names) until stopped.

    Stops after ``duration_ns`` of wall time, or when ``stop_event`` is set (SIGINT and SIGTERM set
    it). ``on_fill(row)`` is called after each fill is recorded (tests, integrations); ``on_watch``
    once the dashboard and metrics are up.
    """
    from arb.runtime.feeds import market_data_feeds

    started = time.perf_counter()
    warm_up_kernel(config)
    stop_event = stop_event or asyncio.Event()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=queue_size)
    feeds = market_data_feeds(config, queue=queue, clock=clock)
    reporter = _Reporter(console, config.dry_run.report_interval_ns, account)
    engine = _engine_for(config, account, reporter, on_fill)
    account.sessions += 1
    t0 = clock()
    counts = {"batches": 0}
    last = [t0]
    watch = _start_watch(config, console, engine, account, clock, on_watch, feeds)
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

    async def timer() -> None:
        # Simulated order arrivals and answers between batches, on the wall clock.
        while True:
            due = engine.executor.next_event_ts()
            now = clock()
            if due is not None and due <= now:
                engine.advance(now + 1)
                last[0] = now
                continue
            wait = 0.05 if due is None else min(0.05, (due - now) / 1e9)
            await asyncio.sleep(wait)
            now = clock()
            reporter.maybe(engine, now)
            watch.tick(now)

    async def stopper() -> None:
        if duration_ns is None:
            await stop_event.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), duration_ns / 1e9)
        raise _StopRequestError

    interrupted = False
    with _stop_on_signals(stop_event.set) as received:
        try:
            async with asyncio.TaskGroup() as tasks:
                for feed in feeds:
                    tasks.create_task(feed.run(), name=f"feed-{feed.name}")
                tasks.create_task(consume(), name="engine")
                tasks.create_task(timer(), name="paper-timer")
                tasks.create_task(stopper(), name="stop")
                tasks.create_task(watch.measure_lag(), name="loop-lag")
        except* _StopRequestError:
            interrupted = stop_event.is_set()
        except* ArbError as group:  # a feed failed for good (refused subscription, ban): say which
            watch.stop()
            raise group.exceptions[0] from None
        finally:
            for feed in feeds:
                feed.stop()
    _finish(engine, account, max(last[0], clock()), interrupted)
    reporter.maybe(engine, last[0], force=True)
    watch.stop()
    silent = [why for why in (feed.silence() for feed in feeds) if why is not None]
    return DryRunResult(engine, account, t0, last[0], counts["batches"], interrupted,
                        time.perf_counter() - started, received[0] if received else None, silent, watch)  # fmt: skip


class _StopRequestError(Exception):
    """Raised by the stop task to end the TaskGroup (and cancel the other tasks) on purpose."""


def write_dry_run_report(
    result: DryRunResult,
    config: AppConfig,
    session_base: list[list[float]],
    session_quote: list[float],
    out: Path,
    *,
    source: str,
    console: Console | None = None,
) -> list[Path] | None:
    """The same summary, trades.csv, equity.npz, equity.png and summary.json as a backtest (its marks
    at each UTC midnight the session crossed: the engine's, ``Engine.day_marks``); None without data."""
    from arb.execution.risk import symbol_risk_figures
    from arb.reports import InitialBalances, print_summary, run_summary, write_report

    engine = result.engine
    if len(engine.log.equity.view()) == 0:
        return None
    meta = {
        "mode": "dry-run",
        "config": config.to_dict(),
        "source": source,
        "start_ns": result.start_ns,
        "end_ns": result.end_ns,
        "duration_s": (result.end_ns - result.start_ns) / 1e9,
        "batches": result.batches,
        "interrupted": result.interrupted,
        "paper": engine.executor.summary(),
        "kernel_state": {name: int(engine.kstate[0][name]) for name in engine.kstate.dtype.names or ()},
        "risk_state": risk_figures(engine.rstate[0]),
        "account": str(result.account.path),
        "wall_s": round(result.wall_s, 3),
    }
    n = engine.n_symbols
    if n > 1:  # each symbol's kernel and gate (kernel_state above is the first symbol's)
        names = engine.kstate.dtype.names or ()
        meta["kernel_states"] = [{name: int(engine.kstate[s][name]) for name in names} for s in range(n)]
        meta["symbol_risk"] = [symbol_risk_figures(engine.srisk[s]) for s in range(n)]
    base = np.asarray(session_base, float).reshape(-1, 2)  # per symbol (a flat pair: one symbol's)
    quote = (session_quote[0], session_quote[1])
    if n > 1:
        initial = InitialBalances.of_symbols(base[:n], quote)
    else:
        initial = InitialBalances((float(base[0, 0]), float(base[0, 1])), quote)
    fills = engine.log.fills.view()
    equity = engine.log.equity.view()
    summary = run_summary(
        config,
        fills,
        equity,
        initial,
        meta,
        out_of_sync=[engine.log.out_of_sync(result.start_ns, result.end_ns, s) for s in range(n)],
        sent=engine.log.sent.view(),
        kernel_flags=[int(engine.kstate[s]["flags"]) for s in range(n)],
        funding=engine.log.funding.view(),
        day_marks=engine.day_marks,
    )
    paths = write_report(out, summary, fills, equity, funding=engine.log.funding.view())
    print_summary(summary, console)
    return paths
