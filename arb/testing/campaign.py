"""The fault campaign: seeded scenarios of one venue misbehaving while the other fills, run against
``arb live`` (in this process) on the fake private venues, with the leg-risk invariants checked
against the venues' own ledgers and arb's journal.

A seed makes a :class:`Scenario` (:func:`scenario`): which venue is faulted, the fault (a reject, a
timeout with the order placed or not, a partial fill, the user stream dropped or silent, the public
feed stalled or its connection closed, or none), when it strikes (at the faulted venue's k-th order,
or a time after the opportunity appears) and the market (two books a few bps apart, then one venue's
bid rises above the other's ask and stays there; mid, edge, sizes and direction vary with the seed).

:func:`run_scenario` stands both fake venues up on loopback (port 0), writes the configuration,
runs :func:`arb.runtime.live_run.run_live` until the scenario has played out (flat and quiet,
halted, or the time cap), runs the kill switch if exposure is left, and checks:

(a) **position limit**: the net position (base gained on both venues, fees paid in base included),
    sampled after every trade either venue's ledger makes, never exceeds ``[risk] position_limit``;
(b) **flat or halted**: the run ends flat (below the smallest order either venue accepts), or halted
    (the kernel's ``HEDGE_FAILED``: the journal's halt) with the exposure named in the output
    (``HALTED``, ``NAKED LEG``); then the kill switch leaves both venues flat with no open order;
(c) **nothing twice**: no client id reached a venue twice, every venue order is an intent of the
    journal with the same executed quantity, every venue trade is in the journal exactly once, and
    no intent is left in flight.

What the runner knows of arb is its public surface: the configuration, ``run_live``, the kill switch
and the journal. Times are int64 ns (``time.monotonic_ns``); every wait is bounded, by time without
progress that this process could run (:class:`arb.testing.waiting.Patience`), so that a busy machine
makes a scenario slower, not a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from rich.console import Console

from arb.config import AppConfig, load_config
from arb.journal.journal import Journal
from arb.sim.ledger import ExecType, LedgerEvent
from arb.testing.campaign_checks import Outcome, check_journal
from arb.testing.pair_rig import account, key_environment, spot_pair, user_streams_up, write_pair_config
from arb.testing.scenarios import Book, Change, write_scenario
from arb.testing.waiting import Patience, patiently

__all__ = [
    "Fault",
    "Outcome",
    "Scenario",
    "run_campaign",
    "run_scenario",
    "scenario",
]

NS_PER_MS = 1_000_000
DAY = "2024-05-06"
VENUES = ("binance", "bybit")
DEPTH_STREAM = {"binance": "btcusdt@depth@100ms", "bybit": "orderbook.50.BTCUSDT"}
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
REQUEST_TIMEOUT_MS = 5_000
"""arb's REST timeout: a venue answer held past it is unknown to arb. Long enough that a busy machine
(the fakes run in this process, on arb's own event loop) does not make a slow answer a fault."""
RECORDING_MS = 90_000
"""The market's length: the venues play it in real time, longer than any scenario is let run."""


class Fault(Enum):
    """What the faulted venue does."""

    NONE = "none"
    REJECT = "reject"
    """Refuses the order (insufficient balance), for ``times`` orders in a row."""
    TIMEOUT_PLACED = "timeout-placed"
    """Places the order, then the answer is late (arb's request times out), the connection drops, or
    it is a 5xx: the outcome is unknown to arb, the order exists."""
    TIMEOUT_LOST = "timeout-lost"
    """The same without placing the order: the order never exists."""
    PARTIAL = "partial"
    """Fills only ``fraction`` of the order; the rest expires."""
    STREAM_DROP = "stream-drop"
    """Drops the user stream's TCP connection as the order is placed."""
    STREAM_SILENCE = "stream-silence"
    """Sends no user-stream event for ``outage_ms`` from the order on (the events are lost)."""
    FEED_STALL = "feed-stall"
    """Sends no market data for ``outage_ms`` (the sockets stay open): the venue goes stale."""
    FEED_CLOSE = "feed-close"
    """Drops the public feed's TCP connection: arb reconnects and resyncs."""


FAULTS = tuple(Fault)
ORDER_FAULTS = (Fault.REJECT, Fault.TIMEOUT_PLACED, Fault.TIMEOUT_LOST, Fault.PARTIAL)


@dataclass(frozen=True, slots=True)
class Scenario:
    """One seeded scenario (see the module docstring)."""

    seed: int
    venue: str
    """The faulted venue: ``"binance"`` or ``"bybit"``."""
    fault: Fault
    strike_order: int
    """The fault strikes at the faulted venue's order number ``strike_order`` (0-based; a scenario
    makes at least three orders per venue) ..."""
    strike_ms: int
    """... or, when >= 0, this long after the opportunity appears (stream and feed faults)."""
    times: int
    """REJECT: how many orders in a row are refused."""
    unknown: str
    """TIMEOUT_*: how the answer fails: ``"late"`` (held past arb's timeout), ``"drop"`` (the
    connection closes unanswered) or ``"5xx"`` (HTTP 503, the venue's "status unknown")."""
    fraction: Decimal
    """PARTIAL: the share of the order that fills."""
    outage_ms: int
    """STREAM_SILENCE, FEED_STALL: how long it lasts."""
    rich: str
    """The venue whose bid rises above the other's ask (arb sells there)."""
    mid: Decimal
    edge_bps: int
    order_size: Decimal
    level_qty: Decimal
    """What the rich bid shows (the pairs take at most this per book update)."""
    opportunity_ms: int
    stop_at_halt: bool
    """Halted with exposure: stop arb at once (the kill switch flattens), or let the paced attempts run."""

    @property
    def position_limit(self) -> Decimal:
        """``[risk] position_limit``: one and a half pairs (a lone leg fits, two do not)."""
        return self.order_size * 3 / 2

    def describe(self) -> str:
        when = f"at +{self.strike_ms} ms" if self.strike_ms >= 0 else f"at its order #{self.strike_order}"
        detail = {
            Fault.REJECT: f" x{self.times}",
            Fault.TIMEOUT_PLACED: f" ({self.unknown})",
            Fault.TIMEOUT_LOST: f" ({self.unknown})",
            Fault.PARTIAL: f" {self.fraction}",
            Fault.STREAM_SILENCE: f" {self.outage_ms} ms",
            Fault.FEED_STALL: f" {self.outage_ms} ms",
        }.get(self.fault, "")
        strike = "" if self.fault is Fault.NONE else f" {when}"
        return (
            f"seed {self.seed}: {self.venue} {self.fault.value}{detail}{strike}; sell on {self.rich} "
            f"+{self.edge_bps} bps, mid {self.mid}, pairs of {self.order_size}"
        )


def scenario(seed: int) -> Scenario:
    """The scenario of ``seed``: the fault kind and venue cycle with the seed (so any run of
    ``2 * len(Fault)`` consecutive seeds covers every kind on both venues); the rest is drawn."""
    rng = random.Random(seed)
    fault = FAULTS[seed % len(FAULTS)]
    venue = VENUES[(seed // len(FAULTS)) % 2]
    by_time = fault in (Fault.FEED_STALL, Fault.FEED_CLOSE, Fault.STREAM_DROP) and rng.random() < 0.4
    return Scenario(
        seed=seed,
        venue=venue,
        fault=fault,
        strike_order=rng.choice((0, 0, 1, 2)),
        strike_ms=rng.randrange(0, 1_500, 50) if by_time else -1,
        times=rng.choice((1, 1, 2, 8)),
        unknown=rng.choice(("late", "late", "drop", "5xx")),
        fraction=Decimal(rng.choice(("0", "0.25", "0.5", "0.9"))),
        outage_ms=rng.randrange(1_500, 3_500, 100),
        rich=rng.choice(VENUES),
        mid=Decimal(rng.randrange(550_000, 650_000)) / 10,
        edge_bps=rng.randrange(40, 90, 5),
        order_size=Decimal(rng.choice(("0.006", "0.008", "0.01"))),
        level_qty=Decimal(rng.choice(("0.004", "0.5", "2"))),
        opportunity_ms=rng.randrange(300, 900, 100),
        stop_at_halt=rng.random() < 0.5,
    )


# -- the market ------------------------------------------------------------------------------------


def _books(s: Scenario) -> tuple[Book, Book, list[Change]]:
    # Both books 1 bps either side of the mid, the other venue's ask far above; at opportunity_ms the
    # rich venue's bid jumps edge_bps above the cheap venue's ask and stays there.
    tick = Decimal("0.1")
    near = (s.mid * Decimal("0.0001")).quantize(tick)
    bid, ask = float(s.mid - near), float(s.mid + near)
    depth = 2.0
    cheap = Book(bids={bid: depth}, asks={ask: depth})
    rich = Book(bids={float(s.mid - 2 * near): depth}, asks={float(s.mid * Decimal("1.02")): depth})
    jump = (Decimal(ask) * (1 + Decimal(s.edge_bps) / 10_000)).quantize(tick)
    changes = [Change(s.opportunity_ms, s.rich, bids={float(jump): float(s.level_qty)})]
    binance, bybit = (rich, cheap) if s.rich == "binance" else (cheap, rich)
    return binance, bybit, changes


# -- the run ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _keys() -> Iterator[None]:
    # The fakes' keys, where the venue files look for them (restored after).
    saved = {name: os.environ.get(name) for name in key_environment()}
    os.environ.update(key_environment())
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Watch:
    """Follows both ledgers as they change: the net position after every trade, order counts, and
    the strike of the scenario's fault at the faulted venue's k-th order."""

    def __init__(
        self, venues: dict[str, Any], base: str, faulted: str, strike: Callable[[], None] | None, at: int
    ) -> None:
        self.base = base
        self.faulted = faulted
        self.net = Decimal(0)
        self.max_net = Decimal(0)
        self.orders = Counter[str]()
        self.last_event_ns = time.monotonic_ns()
        self._strike, self._at = strike, at
        self._unsubscribe = [
            fake.ledger.subscribe("arb", lambda event, name=name: self._on(name, event))
            for name, fake in venues.items()
        ]

    def _on(self, venue: str, event: LedgerEvent) -> None:
        self.last_event_ns = time.monotonic_ns()
        trade = event.trade
        if trade is not None:
            self.net += trade.qty * trade.side.sign - (trade.fee if trade.fee_asset == self.base else 0)
            self.max_net = max(self.max_net, abs(self.net))
        if event.exec_type is ExecType.NEW:
            self.orders[venue] += 1
            if venue == self.faulted and self.orders[venue] == self._at and self._strike is not None:
                strike, self._strike = self._strike, None
                strike()

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()


class _Injector:
    """Applies one scenario's fault to its venue; remembers when the fault is over."""

    def __init__(self, s: Scenario, fake: Any) -> None:
        self.s, self.fake = s, fake
        self.tasks: set[asyncio.Task[Any]] = set()
        self.struck = False
        self.over_ns = 0
        """``time.monotonic_ns()`` from which the fault is over (0: not struck yet, or never ends)."""

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _later(self, delay_ms: int, action: Callable[[], None]) -> None:
        asyncio.get_running_loop().call_later(delay_ms / 1000, action)

    def arm_order_fault(self) -> None:
        # An order fault applies to the venue's next order: armed before it (at the previous one's NEW).
        s, faults = self.s, self.fake.faults
        self.struck = True
        self.over_ns = time.monotonic_ns()
        if s.fault is Fault.REJECT:
            faults.order_error(400, -2010, "Account has insufficient balance for requested action.", times=s.times)
            if s.venue == "bybit":
                faults.clear_order_faults()
                faults.order_error(200, 170131, "Insufficient balance.", times=s.times)
        elif s.fault in (Fault.TIMEOUT_PLACED, Fault.TIMEOUT_LOST):
            placed = s.fault is Fault.TIMEOUT_PLACED
            if s.unknown == "late":
                faults.order_timeout(processed=placed)
            elif s.unknown == "drop":
                faults.order_drop(processed=placed)
            else:
                faults.order_error(503, processed=placed)
        elif s.fault is Fault.PARTIAL:
            faults.order_partial(s.fraction)

    def strike(self) -> None:
        # A stream or feed fault, now (from a ledger listener or a timer: no awaiting here).
        s, fake = self.s, self.fake
        self.struck = True
        now = time.monotonic_ns()
        if s.fault is Fault.STREAM_DROP:
            self._spawn(fake.drop_user_streams())
            self.over_ns = now
        elif s.fault is Fault.STREAM_SILENCE:
            fake.faults.silence_user_stream()
            self._later(s.outage_ms, fake.faults.resume_user_stream)
            self.over_ns = now + s.outage_ms * NS_PER_MS
        elif s.fault is Fault.FEED_STALL:
            fake.faults.stall()
            self._later(s.outage_ms, fake.faults.resume)
            self.over_ns = now + s.outage_ms * NS_PER_MS
        elif s.fault is Fault.FEED_CLOSE:
            stream = DEPTH_STREAM[s.venue]
            for conn in list(fake.connections):
                if stream in conn.subscriptions:
                    self._spawn(conn.close(abrupt=True))
            self.over_ns = now

    async def settle(self) -> None:
        """Finish what the fault started (dropped connections closed), stop what is scripted."""
        if self.tasks:
            async with patiently(Patience("the fault's dropped connections to close", quiet_s=60)):
                await asyncio.gather(*self.tasks, return_exceptions=True)
        self.fake.faults.clear_order_faults()
        self.fake.faults.resume_user_stream()
        self.fake.faults.resume()


def _config(folder: Path, binance: Any, bybit: Any, s: Scenario) -> AppConfig:
    path = write_pair_config(
        folder,
        binance,
        bybit,
        arbitrage={
            "strategy": {"max_order_size": float(s.order_size), "max_position_size": float(s.order_size * 3),
                         "cooldown_ms": 300},
            "risk": {"position_limit": float(s.position_limit), "stale_after_ms": 1_000, "max_open_orders": 4},
            "execution": {"max_hedge_attempts": 3, "hedge_retry_ms": 500},
        },
        live={"request_timeout_ms": REQUEST_TIMEOUT_MS, "shutdown_timeout_ms": 15_000},
    )  # fmt: skip
    return load_config(path)


async def _until(condition: Callable[[], bool], patience: Patience, live: asyncio.Task[Any],
                 progress: Callable[[], object]) -> bool:  # fmt: skip
    # Re-check every 10 ms while arb live runs; False when it ended or ``patience`` ran out first (time
    # this process could not run, a compile or a starved process, does not count; ``progress`` changing
    # restarts it).
    while not condition():
        if live.done() or patience.expired(progress()):
            return condition()
        await asyncio.sleep(0.01)
    return True


def _compile_first(config: AppConfig) -> None:
    # Compile (or load from Numba's cache) what arb live compiles, before the venues talk to it: the
    # fakes share this process's event loop, and a loop held by the compiler answers nothing.
    from arb.recording.venues import make_normalizer
    from arb.runtime.engine import Engine
    from arb.runtime.session import warm_up_kernel

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
    from arb.runtime.kill import HALT_KEY, kill
    from arb.runtime.live_run import run_live
    from arb.runtime.trading_session import trading_session

    started = time.monotonic_ns()
    outcome = Outcome(s)
    binance_file, bybit_file = _write_recordings(s, folder)
    text = io.StringIO()
    console = Console(file=text, width=240, color_system=None, soft_wrap=True)
    with _keys():
        async with spot_pair(binance_file, bybit_file) as (binance, bybit):
            venues: dict[str, Any] = {"binance": binance, "bybit": bybit}
            config = _config(folder, binance, bybit, s)
            injector = _Injector(s, venues[s.venue])
            order_fault = s.fault in ORDER_FAULTS
            by_order = s.fault is not Fault.NONE and s.strike_ms < 0
            arm = injector.arm_order_fault if order_fault else injector.strike
            if by_order and order_fault and s.strike_order == 0:
                arm()
            # an order fault is armed at the order before the one it hits; the others strike at the order
            at = s.strike_order if order_fault else 1 + s.strike_order
            watch = _Watch(venues, "BTC", s.venue, arm if by_order else None, at)
            stop = asyncio.Event()
            _compile_first(config)
            live = asyncio.create_task(run_live(config, console=console, stop_event=stop), name="arb-live")
            left: list[str] = []
            try:
                await _play_out(s, config, venues, watch, injector, live, stop, text)
                async with patiently(Patience("arb live to stop", quiet_s=STOP_QUIET_S)) as patience:
                    while not live.done():  # each line arb prints as it stops is progress
                        patience.note(len(text.getvalue()))
                        await asyncio.wait({live}, timeout=0.05)
                result = live.result()
                left = [o.client_id for o in result.left_in_flight]
            except Exception as error:  # noqa: BLE001 - arb live failing is what the campaign looks for
                outcome.violations.append(f"arb live raised {error!r}")
            finally:
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
                async with trading_session(config, (0, 1)) as session:
                    report = await kill(session, slippage_bps=config.risk.stop_loss_bps)
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
            if watch.max_net > s.position_limit:
                outcome.violations.append(f"net position {watch.max_net} exceeded position_limit {s.position_limit}")
            for name, fake in venues.items():
                if fake.ledger.open_orders(account(fake)):
                    outcome.violations.append(f"{name}: open orders left")
            check_journal(journal_path, venues, outcome)
            outcome.output = output
    outcome.wall_ns = time.monotonic_ns() - started
    return outcome


def _write_recordings(s: Scenario, folder: Path) -> tuple[Path, Path]:
    import datetime as dt

    binance, bybit, changes = _books(s)
    day = dt.date.fromisoformat(DAY)
    return write_scenario(folder / "recordings", day, binance, bybit, changes, duration_ms=RECORDING_MS,
                          heartbeat_ms=100)  # fmt: skip


async def _play_out(
    s: Scenario,
    config: AppConfig,
    venues: dict[str, Any],
    watch: _Watch,
    injector: _Injector,
    live: asyncio.Task[Any],
    stop: asyncio.Event,
    text: io.StringIO,
) -> None:
    # Start the market once arb listens, strike the fault, stop arb when the scenario has played out.
    binance, bybit = venues["binance"], venues["bybit"]

    def up() -> bool:
        return (
            binance.subscriber_count(DEPTH_STREAM["binance"]) >= 1
            and bybit.subscriber_count(DEPTH_STREAM["bybit"]) >= 1
            and user_streams_up(binance)
            and user_streams_up(bybit)
        )

    starting = Patience("arb live to start", quiet_s=START_QUIET_S)
    if not await _until(up, starting, live, lambda: len(text.getvalue())):
        stop.set()
        raise RuntimeError(f"arb live did not start (no progress for {START_QUIET_S:g} s): " + text.getvalue()[-2000:])
    binance.play(1.0)
    bybit.play(1.0)
    if s.fault is not Fault.NONE and s.strike_ms >= 0:
        asyncio.get_running_loop().call_later((s.opportunity_ms + s.strike_ms) / 1000, injector.strike)
    flat = _flat_qty(config, s.mid)
    halted_at = [0]

    def over() -> bool:
        now = time.monotonic_ns()
        is_flat = abs(watch.net) < flat
        if "HALTED" in text.getvalue():
            halted_at[0] = halted_at[0] or now
            return is_flat or s.stop_at_halt or now - halted_at[0] >= HALT_GRACE_NS
        fault_over = s.fault is Fault.NONE or (injector.struck and now >= injector.over_ns)
        traded = sum(watch.orders.values()) > 0
        return is_flat and traded and fault_over and now - max(watch.last_event_ns, injector.over_ns) >= QUIET_NS

    playing = Patience("the scenario to play out", quiet_s=CAP_QUIET_S + s.opportunity_ms / 1000)
    cap_ns = time.monotonic_ns() + int((CAP_S + s.opportunity_ms / 1000) * 1e9)
    await _until(lambda: over() or time.monotonic_ns() >= cap_ns, playing, live,
                 lambda: (watch.last_event_ns, injector.struck, halted_at[0]))  # fmt: skip
    stop.set()


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
