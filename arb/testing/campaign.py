"""The fault campaign: seeded scenarios of one venue misbehaving while another fills, run against
``arb live`` (in this process) on two of the fake private venues (each venue arb live trades whose test kit
puts it in the campaign: Binance, Bybit and OKX on spot, Hyperliquid on its perpetuals), with the
leg-risk invariants checked against the venues' own ledgers and arb's journal.

A seed makes a :class:`Scenario` (:func:`scenario`, :mod:`arb.testing.campaign_kinds`): the style (taker
pairs, or maker-taker quotes resting on the faulted venue and hedged on the other), which venue is
faulted and which other venue it trades against, the fault, when it strikes, and the market
(:mod:`arb.testing.campaign_market`).

:func:`run_scenario` stands both fake venues up on loopback (port 0), writes the configuration,
runs :func:`arb.live.trading.run_live` until the scenario has played out (flat and quiet,
halted, or the time cap), runs the kill switch if exposure is left, and checks:

(a) **position limit**: the net position (base gained on both venues, fees paid in base included),
    sampled after every change either venue's ledger makes, never exceeds ``[risk] position_limit``,
    nor does it whatever arb's resting quotes could still add (all of one side filling first: each
    venue's open post-only orders at their worst case);
(b) **flat or halted**: the run ends flat (below the smallest order either venue accepts), or halted
    (the kernel's ``HEDGE_FAILED``: the journal's halt) with the exposure named in the output
    (``HALTED``, ``NAKED LEG``); then the kill switch leaves both venues flat with no open order;
(c) **nothing twice**: no client id reached a venue twice, every venue order is an intent of the
    journal with the same executed quantity, every venue trade is in the journal exactly once (maker
    or taker as on the venue), no intent is left in flight or order resting, and no order is left
    incomplete with its fills on the venue (each booked to it, and it done);
(d) **maker** (:func:`arb.testing.campaign_checks.check_maker`): the hedges filled what the quotes'
    fills booked (by trade id) and never more, each post-only refusal is journaled with the venue's
    answer, and no refused quote was sent again on the same book;
(e) **no flatten larger than the position**: whenever the kill switch runs, what its orders filled (both
    venues together) is at most the net position it found, and the account does not end reversed
    (:func:`arb.testing.campaign_checks.check_flatten`);
(f) **rate limits**: after arb read a 429's ``Retry-After`` or a ban, nothing reached that venue inside
    the window but what the rule allows, one cancel per resting order (a ban: nothing at all), counted
    on the venue's request log (:func:`arb.testing.campaign_checks.check_rate_limit`).

What the runner knows of arb is its public surface: the configuration, ``run_live``, the kill switch,
the journal, and its rate guard's log line (when it read a limit). Times are int64 ns
(``time.monotonic_ns``); every wait is bounded, by time without progress that this process could run
(:class:`arb.testing.waiting.Patience`), so that a busy machine makes a scenario slower, not a failure.
No wait polls: what it awaits is asked again when the venues, the ledgers, arb's output or the injected
fault change, or at the moment a time rule could turn.
"""

from __future__ import annotations

__all__ = [
    "FAULTS",
    "KINDS",
    "VENUES",
    "Fault",
    "Outcome",
    "Scenario",
    "run_campaign",
    "run_scenario",
    "scenario",
]

import asyncio
import contextlib
import os
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from arb.config import AppConfig, load_config
from arb.journal.journal import Journal
from arb.sim.faults import FaultKind
from arb.sim.ledger import Side
from arb.sim.testkit import venue_testkit
from arb.testing.campaign_checks import Outcome, check_flatten, check_journal, check_maker, check_rate_limit
from arb.testing.campaign_faults import LATE_GRACE_MS, REQUEST_TIMEOUT_MS, Injector
from arb.testing.campaign_kinds import FAULTS, KINDS, ORDER_FAULTS, VENUES, Fault, Scenario, scenario
from arb.testing.campaign_market import (
    MIN_SPREAD_BPS,
    PLAY_OFFSET_MS,
    SLIPPAGE_BPS,
    alive,
    maker_end_ms,
    maker_market,
    taker_market,
)
from arb.testing.campaign_watch import Alarm, LedgerWatch, LimitRead, Output
from arb.testing.configs import venue_defaults
from arb.testing.pair_rig import (
    KEY,
    PASSPHRASE,
    SECRET,
    account,
    book_stream,
    key_environment,
    open_account,
    open_fake,
    symbol_rules,
    write_pair_config,
)
from arb.testing.scenarios import write_venues
from arb.testing.waiting import Patience, PatienceError, Watched, patiently, until
from arb.waiting import Conditions, cancel_and_wait

NS_PER_MS = 1_000_000
DAY = "2024-05-06"
START_QUIET_S = 60.0
"""Both feeds and both user streams up: the most time without progress (a line of arb's output) that
the start may take. The kernel is compiled (or loaded from Numba's cache) before, outside this bound."""
CAP_QUIET_S = 14.0
"""A scenario that is not over is stopped after this long without a venue event (an order, a fill)."""
CAP_S = 60.0
"""... and at the latest this long after the market starts moving."""
QUIET_NS = 1_000 * NS_PER_MS
"""Flat, no venue event for this long and the fault played out: the scenario is over."""
HALT_GRACE_NS = 1_500 * NS_PER_MS
"""Halted with exposure: the paced attempts run this long before arb is stopped."""
STOP_QUIET_S = 60.0
"""arb live's stop (orders in flight resolved, the journal closed): the most time without progress."""
KILL_DONE_S = 1.0
"""KILL_LATE: the kill switch's done timeout, well inside the flatten's held answer (``REQUEST_TIMEOUT_MS``)."""
RECORDING_MS = 90_000
"""The market's length: the venues play it in real time, longer than any scenario is let run."""


# -- the run ----------------------------------------------------------------------------------------


_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _key_environment() -> dict[str, str]:
    # Every venue's key variables, valued as its test kit takes the rig's keys (a venue whose keys are a wallet's
    # makes one of them: the variables the venue file names for each field get the kit's value of it)
    environment = key_environment()
    for name in VENUES:
        given = venue_testkit(name).credentials(KEY, SECRET, PASSPHRASE)
        for field, value in given.items():
            found = _REFERENCE.fullmatch(str(venue_defaults(name).get(field, "")))
            if found:
                environment[found.group(1)] = value
    return environment


@contextlib.contextmanager
def _keys() -> Iterator[None]:
    # The fakes' keys, where the venue files look for them (restored after).
    environment = _key_environment()
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _config(folder: Path, first: Any, second: Any, s: Scenario) -> AppConfig:
    strategy: dict[str, Any] = {"max_order_size": float(s.order_size), "max_position_size": float(s.order_size * 3),
                                "cooldown_ms": 300}  # fmt: skip
    execution: dict[str, Any] = {"max_hedge_attempts": 3, "hedge_retry_ms": 500}
    if s.maker:  # quotes rest on the faulted venue, priced as campaign_market expects
        strategy.update(style="maker_taker", maker_venues=[s.venue], min_spread_bps=MIN_SPREAD_BPS)
        execution.update(slippage_tolerance_bps=SLIPPAGE_BPS)
    path = write_pair_config(
        folder,
        first,
        second,
        arbitrage={
            "strategy": strategy,
            "risk": {"position_limit": float(s.position_limit), "stale_after_ms": 1_000, "max_open_orders": 4},
            "execution": execution,
        },
        live={"request_timeout_ms": REQUEST_TIMEOUT_MS, "shutdown_timeout_ms": 15_000,
              # quotes on Binance spot (no dead-man's switch) are the campaign's choice, made knowingly
              **({"quotes_without_dead_man": True} if s.maker else {}),
              **({"unknown_checks": 3, "unknown_grace_ms": LATE_GRACE_MS} if s.fault is Fault.LATE_FILL else {})},
    )  # fmt: skip
    return load_config(path)


async def _until(condition: Callable[[], bool], patience: Patience, live: asyncio.Task[Any],
                 progress: Callable[[], object], *sources: Watched) -> bool:  # fmt: skip
    # Whether condition() holds, asked at each change of ``sources`` while arb live runs; False when it
    # ended or ``patience`` ran out first (time this process could not run, a compile or a starved
    # process, does not count; ``progress`` changing restarts it).
    with contextlib.suppress(PatienceError):
        await until(lambda: condition() or live.done(), patience, *sources, progress=progress)
    return condition()


def _compile_first(config: AppConfig) -> None:
    # Compile (or load from Numba's cache) what arb live compiles, before the venues talk to it: the
    # fakes share this process's event loop, and a loop held by the compiler answers nothing.
    from arb.live.engine import Engine
    from arb.live.session_loop import warm_up_kernel
    from arb.recording.venues import make_normalizer

    warm_up_kernel(config)
    Engine(config)
    for venue in config.venues:
        make_normalizer(venue.name, venue.market, config.strategy.symbol)


def _flat_qty(config: AppConfig, mid: Decimal) -> Decimal:
    # The smallest order either venue accepts at this price: an exposure below it cannot be traded.
    return min(
        max(Decimal(repr(v.instrument.min_qty)), Decimal(repr(v.instrument.min_notional)) / mid) for v in config.venues
    )


async def run_scenario(s: Scenario, folder: Path) -> Outcome:
    """Run ``s`` in ``folder`` (recordings, configuration, journal) and check the invariants."""
    from arb.live.kill import HALT_KEY, kill
    from arb.live.trading import run_live
    from arb.live.trading_session import trading_session

    started = time.monotonic_ns()
    outcome = Outcome(s)
    files = _write_recordings(s, folder)
    changes = Conditions()  # what the waits watch besides the venues: the ledgers, arb's output, the fault, the clock
    text = Output(changes)
    console = Console(file=text, width=240, color_system=None, soft_wrap=True)
    with _keys(), LimitRead(s.venue) as limit_read:
        async with _pair(files, s.pair) as (first, second):
            venues: dict[str, Any] = dict(zip(s.pair, (first, second), strict=True))
            config = _config(folder, first, second, s)
            injector = Injector(s, venues[s.venue], changes)
            order_fault = s.fault in ORDER_FAULTS and not s.maker
            by_order = s.fault is not Fault.NONE and s.strike_ms < 0 and not s.maker
            arm = injector.arm_order_fault if order_fault else injector.strike
            if by_order and order_fault and s.strike_order == 0:
                arm()
            # an order fault is armed at the order before the one it hits; the others strike at the order
            at = s.strike_order if order_fault else 1 + s.strike_order
            watch = LedgerWatch(venues, "BTC", s.venue, arm if by_order else None, at, changes)
            stop = asyncio.Event()
            _compile_first(config)
            live = asyncio.create_task(run_live(config, console=console, stop_event=stop), name="arb-live")
            live.add_done_callback(lambda _: changes.notify())
            alarm = Alarm(changes)
            left: list[str] = []
            try:
                await _play_out(s, config, venues, watch, injector, live, stop, text, changes, alarm)
                # each line arb prints as it stops is progress
                async with patiently(Patience("arb live to stop", quiet_s=STOP_QUIET_S), progress=text.tell):
                    await asyncio.wait({live})
                result = live.result()
                left = [o.client_id for o in result.left_in_flight]
            except Exception as error:  # noqa: BLE001 - arb live failing is what the campaign looks for
                outcome.violations.append(f"arb live raised {error!r}")
            finally:
                alarm.cancel()
                stop.set()
                if not live.done():
                    live.cancel()
                    with contextlib.suppress(BaseException):
                        await live
                await injector.settle()
            outcome.net_after_run = watch.net
            output = text.getvalue()
            flat = _flat_qty(config, s.mid)
            journal_path = config.live.state_dir / f"{config.live.account}.sqlite"
            journal = Journal.open(journal_path)
            try:
                halt = journal.get_state(f"{config.live.account}/{HALT_KEY}")
            finally:
                journal.close()
            outcome.halted = bool(halt)
            if left:
                outcome.violations.append(f"left in flight at the stop: {left}")
            if abs(watch.net) >= flat:
                if not outcome.halted:
                    outcome.violations.append(f"ended with net {watch.net:+} neither flat nor halted")
                elif "HALTED" not in output or "NAKED LEG" not in output:
                    outcome.violations.append("halted with exposure, but the exposure was not reported")
                at_kill = {name: len(account(fake).trades) for name, fake in venues.items()}

                def late() -> int:  # the creates whose answer a venue held (the kill's flattens, at the kill)
                    return sum(fake.faults.count(FaultKind.ORDER_TIMEOUT) for fake in venues.values())

                late_before = late()
                if s.fault is Fault.KILL_LATE:  # the flatten fills, its answer late and the streams silent
                    for fake in venues.values():
                        fake.faults.silence_user_stream()
                        fake.faults.order_timeout(processed=True)
                async with trading_session(config, (0, 1)) as session:
                    report = await kill(session, slippage_bps=config.risk.stop_loss_bps,
                                        done_timeout_s=KILL_DONE_S if s.fault is Fault.KILL_LATE else 10.0)  # fmt: skip
                for fake in venues.values():
                    fake.faults.clear_order_faults()
                    fake.faults.release_orders()
                    fake.faults.resume_user_stream()
                check_flatten(venues, at_kill, outcome, flat)
                outcome.late_flattens = late() - late_before
                output += "\n".join(report.describe()) + "\n"
                outcome.killed = abs(watch.net) < flat
                if not report.flat:
                    outcome.violations.append(f"the kill switch reported exposure left: {report.exposure}")
                refused = [o.client_id for o in report.orders if o.state.value == "rejected"]
                if refused:
                    outcome.violations.append(f"the kill switch sent orders the venues refused: {refused}")
            outcome.net_at_end = watch.net
            outcome.max_net = watch.max_net
            watch.close()
            if abs(watch.net) >= flat:
                outcome.violations.append(f"not flat at the end: net {watch.net:+}")
            outcome.max_worst = watch.max_worst
            if watch.max_net > s.position_limit:
                outcome.violations.append(f"net position {watch.max_net} exceeded position_limit {s.position_limit}")
            elif watch.max_worst > s.position_limit:
                outcome.violations.append(f"net position with the resting quotes at their worst {watch.max_worst} "
                                          f"exceeded position_limit {s.position_limit}")  # fmt: skip
            for name, fake in venues.items():
                if fake.ledger.open_orders(account(fake)):
                    outcome.violations.append(f"{name}: open orders left")
            check_journal(journal_path, venues, outcome)
            check_maker(journal_path, venues, outcome, flat)
            if s.fault is Fault.RATE_LIMIT:
                check_rate_limit(venues[s.venue], s, injector.limit_s, limit_read.at_s, outcome)
            outcome.output = output
    outcome.wall_ns = time.monotonic_ns() - started
    return outcome


def _market_of(venue: str) -> Literal["spot", "linear"]:
    # The market a scenario trades on ``venue``: its shipped venue file's (spot, or the perpetuals of a venue
    # whose file trades those alone)
    return "linear" if venue_defaults(venue)["market"] == "linear" else "spot"


_SPOT_HELD = {"USDT": "100000", "BTC": "1"}
"""arb's account on a spot venue (the quote and the base to sell); on a perpetual's, the quote alone."""


@contextlib.asynccontextmanager
async def _pair(files: tuple[Path, Path], names: tuple[str, str]) -> AsyncIterator[tuple[Any, Any]]:
    # The scenario's two fakes (the run's order), each on its market (:func:`_market_of`) with its rules there,
    # arb's account opened on each (the rig's keys)
    async with contextlib.AsyncExitStack() as stack:
        fakes = []
        for name, file in zip(names, files, strict=True):
            market = _market_of(name)
            fake = await stack.enter_async_context(open_fake(name, file, market=market,
                                                             rules=[symbol_rules(name, market)]))  # fmt: skip
            fakes.append(fake)
        for fake in fakes:
            open_account(fake, _SPOT_HELD if fake.market == "spot" else {"USDT": _SPOT_HELD["USDT"]})
        yield fakes[0], fakes[1]


def _write_recordings(s: Scenario, folder: Path) -> tuple[Path, Path]:
    # both venues' recordings, in the run's order, each of its market
    import datetime as dt

    books, changes = maker_market(s) if s.maker else taker_market(s)
    changes = alive(s, books, changes, RECORDING_MS)
    day = dt.date.fromisoformat(DAY)
    venues = [(name, _market_of(name), books[name]) for name in s.pair]
    files = write_venues(folder / "recordings", day, venues, changes, duration_ms=RECORDING_MS, heartbeat_ms=100)
    return files[s.pair[0]], files[s.pair[1]]


async def _play_out(
    s: Scenario,
    config: AppConfig,
    venues: dict[str, Any],
    watch: LedgerWatch,
    injector: Injector,
    live: asyncio.Task[Any],
    stop: asyncio.Event,
    text: Output,
    changes: Conditions,
    alarm: Alarm,
) -> None:
    # Start the market once arb listens, strike the fault, stop arb when the scenario has played out.
    fakes = list(venues.values())
    holding: asyncio.Task[None] | None = None

    def up() -> bool:
        return all(fake.subscriber_count(book_stream(fake)) >= 1 and fake.user_streams_up() for fake in fakes)

    starting = Patience("arb live to start", quiet_s=START_QUIET_S)
    if not await _until(up, starting, live, text.tell, *fakes, changes):
        stop.set()
        if live.done() and not live.cancelled() and (error := live.exception()) is not None:
            raise error  # arb live stopped before it traded: what it raised is the violation
        raise RuntimeError(f"arb live did not start (no progress for {START_QUIET_S:g} s): " + text.getvalue()[-2000:])
    if s.maker:
        started, gates = await _quotes_first(s, venues, live, text, changes)
        if s.fault is Fault.SWEPT_FIRST:
            # the market trades through the re-priced quote, so it waits for that quote to rest
            holding = asyncio.get_running_loop().create_task(_hold_for_reprice(s, venues, gates), name="hold")
            holding.add_done_callback(lambda _: changes.notify())
    else:
        for fake in fakes:
            fake.play(1.0)
        started = time.monotonic_ns()
    market_over_ns = started + (PLAY_OFFSET_MS + s.opportunity_ms + maker_end_ms(s)) * NS_PER_MS if s.maker else 0
    if s.maker and s.fault is not Fault.NONE:  # maker faults: 50 ms before the market first moves
        injector.strike()
    elif s.fault is not Fault.NONE and s.strike_ms >= 0:
        asyncio.get_running_loop().call_later((s.opportunity_ms + s.strike_ms) / 1000, injector.strike)
    flat = _flat_qty(config, s.mid)
    halted_at = [0]

    def over() -> bool:
        is_flat = abs(watch.net) < flat
        if "HALTED" in text.getvalue():
            halted_at[0] = halted_at[0] or time.monotonic_ns()
            return is_flat or s.stop_at_halt or alarm.reached(halted_at[0] + HALT_GRACE_NS)
        fault_over = s.fault is Fault.NONE or (injector.struck and alarm.reached(injector.over_ns))
        traded = sum(watch.orders.values()) > 0
        quiet_since = max(watch.last_event_ns, injector.over_ns, market_over_ns)
        return is_flat and traded and fault_over and alarm.reached(quiet_since + QUIET_NS)

    playing = Patience("the scenario to play out", quiet_s=CAP_QUIET_S + s.opportunity_ms / 1000)
    cap_ns = time.monotonic_ns() + int((CAP_S + s.opportunity_ms / 1000) * 1e9)
    try:
        await _until(lambda: over() or alarm.reached(cap_ns), playing, live,
                     lambda: (watch.last_event_ns, injector.struck, halted_at[0]), changes)  # fmt: skip
    finally:
        await cancel_and_wait(holding)  # arb never re-priced: the market is let go
    stop.set()


async def _quotes_first(
    s: Scenario, venues: dict[str, Any], live: asyncio.Task[Any], text: Output, changes: Conditions
) -> tuple[int, dict[str, int]]:
    # A maker scenario's market holds 50 ms before it first moves until both of arb's quotes rest on the
    # maker venue (a busy machine's arb live may take longer than opportunity_ms to place them: the fault
    # would strike their first creates, not the race it is written for), then plays on at its pace from
    # there. Returns the monotonic time (ns) the market would have started at to be where it is now, and
    # each venue's receive time at the hold.
    lead_ns = (PLAY_OFFSET_MS + s.opportunity_ms - 50) * NS_PER_MS
    gates, played = {}, time.monotonic_ns()
    for name, fake in venues.items():  # each venue's recording from its first frame, the two played together
        first = fake.peek()
        assert first is not None
        gates[name] = first.local_ts + lead_ns
        fake.play(1.0, gate_ns=gates[name])
    maker = venues[s.venue]

    def quoted() -> bool:
        return {o.side for o in maker.ledger.open_orders(account(maker))} == {Side.BUY, Side.SELL}

    quoting = Patience("arb's quotes to rest before the market moves", quiet_s=START_QUIET_S)
    if not await _until(quoted, quoting, live, text.tell, *venues.values(), changes):
        raise RuntimeError(f"arb live placed no quotes on {s.venue} (no progress for {START_QUIET_S:g} s): "
                           + text.getvalue()[-2000:])  # fmt: skip
    if (early_ns := played + lead_ns - time.monotonic_ns()) > 0:
        await asyncio.sleep(early_ns / 1e9)  # quoted in time: the market's own pace to the gate
    for name, fake in venues.items():
        await fake.skip_to(gates[name])  # the pace restarts here, now
        fake.gate(None)
    return time.monotonic_ns() - lead_ns, gates


async def _hold_for_reprice(s: Scenario, venues: dict[str, Any], gates: dict[str, int]) -> None:
    # SWEPT_FIRST: a busy machine's arb live may re-price later than the 300 ms the market gives it (the
    # trade-through would miss the new quote, the race never run): the market stops at t + 250 ms until
    # the faulted create rests on the venue (its answer held), then plays on from there.
    maker = venues[s.venue]
    hold = {name: gate + 300 * NS_PER_MS for name, gate in gates.items()}  # the gates were at t - 50 ms
    for name, fake in venues.items():
        fake.gate(hold[name])

    def rests() -> bool:
        return maker.faults.count(FaultKind.ORDER_TIMEOUT) >= 1 and bool(maker.ledger.open_orders(account(maker)))

    await maker.wait_until(rests)
    for name, fake in venues.items():
        await fake.skip_to(hold[name])
        fake.gate(None)


async def run_campaign(
    seeds: list[int], *, on_outcome: Callable[[Outcome], None] | None = None, keep: Path | None = None
) -> list[Outcome]:
    """Run the scenarios of ``seeds`` one after another, each in its own folder (under ``keep`` if
    given, else a temporary one removed after); ``on_outcome`` sees each as it ends."""
    outcomes = []
    for seed in seeds:
        s = scenario(seed)
        if keep is not None:
            folder = keep / f"seed-{seed}"
            folder.mkdir(parents=True, exist_ok=True)
            outcome = await run_scenario(s, folder)
        else:
            with tempfile.TemporaryDirectory(prefix=f"arb-campaign-{seed}-") as tmp:
                outcome = await run_scenario(s, Path(tmp))
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes
