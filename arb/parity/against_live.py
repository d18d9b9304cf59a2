"""Live parity: one recording through the backtest and through ``arb live``'s order path against fake
venues replaying that recording, compared as :mod:`arb.parity.against_dry_run` compares the dry run.

The live side is the live engine with the live executors (ccxt, the journal, the user streams, the
same kernel and gate) trading against a fake venue per venue of the run (the one its simulator package
exports, ``arb/sim/<venue>/exchange.py``'s ``EXCHANGE``, e.g.
:class:`~arb.sim.binance.exchange.FakeBinanceExchange`), each replaying the venue's recorded
days of every symbol of ``[strategy] symbols`` on one clock, with an account holding the configured
balances (each symbol's base, the venue's quote), the configured fees (a spot fee in the quote, as
the backtest counts it, where a real spot venue takes a buy's fee in the coin bought) and each
symbol's rules.
Market data reaches the engine from the recording through the live normalizers (as in ``arb parity``;
``arb dry-run --live-data`` against the fake venues shows the WebSocket feeds deliver the same
batches), so both sides see each event at the backtest's time. The driver keeps the venues in step:

* the replay starts once every venue shows the executors' user streams subscribed, so every fill reaches
  the executors on a stream, as in an arb live that is trading;
* every frame whose exchange time is not after an event's time is released on its venue before the
  engine sees the event, so an order meets the book the backtest's exchange side holds then;
* while an order is on its way, no further event is released (zero order latency: the backtest
  answers it before the next event); the clock the executors read is the event's time.

* a leg the leg-fault model makes late (``[leg_faults] late``, drawn by order number as the backtest
  and the paper executor draw it) is held at its venue until ``late_ms`` after its entry latency;
  once ``[live] request_timeout_ms`` of the backtest's time has passed since it was sent, the driver
  waits until the executor has given the request up (ccxt's own timeout, in real time) before the
  engine sees the next event, so the order is *unknown* at the same decisions as in the backtest,
  and it is resolved by the executor's queries once the venue has it. Rejections and partial fills
  are not simulated on this side.

At zero latency (``--zero-latency``) the intents must be the same as the backtest's, symbol by symbol,
and the fills too (within the parity tolerance). The views are compared only with order latency: at
zero latency the live engine also decides at each answer as it comes, one leg's before the other's,
where the backtest has both at once (those decisions send nothing: the kernel waits for the other leg).
Fees in the coin bought would move a live position off the backtest's by the fee, enough for a kernel
at a band's edge (``rebalance_threshold``) to decide otherwise; the fake venues charge them in the quote.
"""

from __future__ import annotations

__all__ = ["fake_exchange", "live_engine", "run_live_parity"]

import asyncio
import contextlib
import datetime as dt
import functools
import importlib
import logging
import secrets
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from arb.backtest.run import run_backtest
from arb.config import AppConfig, Endpoints, Instrument, Secret, quote_currency
from arb.errors import RecordingError
from arb.execution.leg_faults import FAULT_LATE, draw_fault, make_leg_faults
from arb.live.engine import Engine
from arb.live.frame_time import exchange_ns
from arb.live.recorded_source import replay
from arb.parity.against_dry_run import ParityReport, compare
from arb.recording.loader import load_timeline

log = logging.getLogger(__name__)

_ACCOUNT = "parity"
_POLL_S = 0.002  # how often the driver looks whether the executor has given a request up
_GIVE_UP_GRACE_NS = 5_000_000_000  # real time past the request timeout before the driver stops waiting
_STREAMS_WAIT_S = 60.0  # real time the driver waits for the executors' user streams before it replays anyway


def _rules(i: Instrument, symbol: str) -> Any:
    # The fake venue's trading rules of ``symbol``: the configuration's
    from arb.sim.ledger import SymbolRules

    quote = quote_currency(symbol)
    base = symbol[: -len(quote)]

    def d(x: float) -> Decimal:
        return Decimal(repr(x))

    return SymbolRules(symbol, base, quote, tick_size=d(i.tick_size), step_size=d(i.lot_size), min_qty=d(i.min_qty),
                       max_qty=Decimal(10**9), min_notional=d(i.min_notional), min_price=d(i.tick_size),
                       max_price=Decimal(10**9))  # fmt: skip


@functools.cache
def fake_exchange(venue: str) -> type[Any]:
    """Venue ``venue``'s fake exchange class: what its simulator package exports as ``EXCHANGE``
    (``arb/sim/<venue>/exchange.py``), taking the recorded sessions, ``market``, ``rules`` and ``options``."""
    found: type[Any] = importlib.import_module(f"arb.sim.{venue}.exchange").EXCHANGE
    return found


def _pointed_at(config: AppConfig, fakes: list[Any], state: Path, key: str, secret: str) -> AppConfig:
    """``config`` with each venue on the fake's loopback URLs (network "local"), keys and a fresh journal."""
    overrides: dict[str, Any] = {"live.state_dir": state, "live.account": _ACCOUNT, "live.journal_url": ""}
    for venue, fake in zip(config.venues, fakes, strict=True):
        endpoints = Endpoints(ws=tuple(fake.ws_urls), rest=fake.rest_url, ws_private=fake.private_ws_url)
        networks = {**venue.all_endpoints.get(venue.market, {}), "local": endpoints}
        overrides[venue.name] = msgspec.structs.replace(
            venue,
            all_endpoints={**venue.all_endpoints, venue.market: networks},
            network="local",
            data_network="local",
            api_key=Secret(literal=key, key="api_key"),
            api_secret=Secret(literal=secret, key="api_secret"),
        )
    return config.with_overrides(overrides)


async def live_engine(config: AppConfig, days: list[dt.date]) -> Engine:
    """The live side of live parity over ``days``: the engine after the run (its log, gate and kernel)."""
    from arb.live.trading_session import trading_session, venue_account
    from arb.sim.options import VenueOptions

    data = load_timeline(config, days)
    imported = [
        f"{a.venue.name} {d.day:%Y-%m-%d} ({d.source})" for a in data.assets for d in a.days if d.source != "recording"
    ]
    if imported:
        raise RecordingError(
            f"--live replays the venues' own frames through fake venues; days fetched from Tardis or a venue's "
            f"own archive have none ({', '.join(imported[:4])}): run arb parity without --live for them"
        )
    key, secret = f"parity{secrets.token_hex(8)}", secrets.token_hex(16)
    # each venue replays every symbol's days, one session per symbol (asset n * s + v)
    n, venues = len(config.venues), range(len(config.venues))
    files = [[[d.recording for d in data.assets[n * s + v].days] for s in range(len(config.symbols))] for v in venues]
    rules = [[_rules(sym.instruments[v], sym.name) for sym in config.symbols] for v in venues]
    # spot fees in the quote, as the backtest counts them: a fee in the coin bought would move the live
    # positions off the backtest's by a fee, and a kernel at a band's edge (rebalance_threshold) decide
    # otherwise on that alone; no pings (the replay's clock is the backtest's)
    fakes: list[Any] = [
        fake_exchange(venue.name)(files[v], market=venue.market, rules=rules[v],
                                  options=VenueOptions(ping_interval=None, taker_fee=Decimal(repr(venue.fees.taker)),
                                                       maker_fee=Decimal(repr(venue.fees.maker)),
                                                       spot_fee_asset="quote"))
        for v, venue in enumerate(config.venues)
    ]  # fmt: skip
    # The executors' clock: the event's time plus the real time since it was set, so their own timers
    # (fill checks, unknown-order queries) run; answers are dated at the event's time (restamp).
    now = [data.start_ns, time.perf_counter_ns()]

    def clock() -> int:
        return now[0] + time.perf_counter_ns() - now[1]

    with tempfile.TemporaryDirectory(prefix="arb-live-parity-") as state:
        async with contextlib.AsyncExitStack() as started:
            running = tuple([await started.enter_async_context(fake) for fake in fakes])
            for v, (venue, fake) in enumerate(zip(config.venues, running, strict=True)):
                held = {rules[v][0].quote: str(venue.account.quote)}
                if venue.market == "spot":
                    for s, sym in enumerate(config.symbols):
                        held[rules[v][s].base] = str(sym.base[v])
                fake.add_account(_ACCOUNT, api_key=key, api_secret=secret, balances=held)
            live = _pointed_at(config, list(running), Path(state), key, secret)
            async with trading_session(live, clock=clock) as session:
                reports = await session.reconcile()
                if not all(r.ok for r in reports):
                    raise RuntimeError("; ".join(line for r in reports for line in r.describe()))
                accounts = [await venue_account(session, v) for v in venues]
                wake = asyncio.Event()
                executor = session.live_executor(on_ready=wake.set)
                engine = Engine(live, base=[[a.inception_base[s] for a in accounts] for s in range(len(live.symbols))],
                                quote=tuple(a.inception_quote for a in accounts), executor=executor)  # fmt: skip
                for a, asset_data in enumerate(data.assets):
                    if asset_data.initial is not None:
                        engine.seed_book(a % n, asset_data.initial.rows, asset_data.initial.synced, a // n)
                async with asyncio.TaskGroup() as tasks:
                    for venue_executor in session.executors.values():
                        venue_executor.run_background(tasks)
                    await _user_streams_subscribed(running)
                    frames = [
                        _VenueFrames(fake, v.name, v.market) for fake, v in zip(running, config.venues, strict=True)
                    ]
                    step = _Stepper(live, engine, executor, running, frames, wake, now)
                    last = data.start_ns
                    for ts, batches in replay(live, data):
                        await step.deliver_due(ts)
                        now[0], now[1] = ts, time.perf_counter_ns()
                        for venue_frames in frames:
                            await venue_frames.release_until(ts)
                        step.hold()
                        engine.on_batches(ts, batches)
                        await step.sent(ts)
                        last = ts
                    await step.deliver_due(None)
                    engine.finish(max(last, now[0]))
                    await step.deliver_due(None)
                    for venue_executor in session.executors.values():
                        venue_executor.stop()
    return engine


class _Stepper:
    """Orders reach the fake venues at the backtest's times: sent at the decision, arriving
    ``order_entry`` later (``late_ms`` more for a leg the leg-fault model makes late; held at the venue
    until then, while the engine sees the events in between), answered ``order_response`` after
    arrival. A request still unanswered ``request_timeout_ms`` after it was sent is given up by the
    executor (unknown) before the engine sees a later event. With no latency and no late legs each
    order is answered before the next event."""

    def __init__(self, config: AppConfig, engine: Engine, executor: Any, fakes: Sequence[Any],
                 frames: Sequence[_VenueFrames], wake: asyncio.Event, now: list[int]) -> None:  # fmt: skip
        self.config = config
        self.engine = engine
        self.executor = executor
        self.fakes = fakes
        self.frames = frames
        self.wake = wake
        self.now = now
        self.entry = [v.latency.order_entry_ns for v in config.venues]
        self.response = [v.latency.order_response_ns for v in config.venues]
        self.faults = make_leg_faults(config.leg_faults, config.venue_names)
        f = self.faults[0]
        self.late = bool(f["enabled"]) and bool((f["late"] > 0.0).any())
        self.latency = any(self.entry) or any(self.response) or self.late
        self.held = [False] * len(fakes)
        self.timeout = config.live.request_timeout_ns
        self.lots = [v.instrument.lot_size for v in config.venues]
        self._delays: dict[str, int] = {}  # client id -> how late the leg-fault model makes it, ns
        self._drawn = 0  # the engine's sent rows whose faults are drawn
        self._per_venue = [0] * len(fakes)  # of those, how many on each venue
        self._armed: set[str] = set()  # late legs whose venue keeps their create unplaced until arrival
        self._armed_per_venue = [0] * len(fakes)

    def _delay(self, order: Any) -> int:
        # How late the order reaches its venue (the leg-fault model's draw for its order number: the
        # engine's sent rows are numbered as the backtest and the paper executor number orders).
        if not self.late:
            return 0
        sent = self.engine.log.sent.view()
        if self._drawn < len(sent):
            orders = [list(venue.orders.values()) for venue in self.executor.venues]
            for k in range(self._drawn, len(sent)):
                row = sent[k]
                v = int(row["venue"])
                live = orders[v][self._per_venue[v]]
                self._per_venue[v] += 1
                fault, _, delay = draw_fault(self.faults, v, int(row["kind"]), k + 1, float(row["qty"]), self.lots[v])
                if fault == FAULT_LATE:
                    self._delays[live.client_id] = int(delay)
            self._drawn = len(sent)
        return self._delays.get(order.client_id, 0)

    async def _given_up_by(self, ts: int) -> None:
        # Every order still in flight ``timeout`` after it was sent, by ``ts``, has timed out in the
        # executor (unknown) before the engine sees ``ts``; its ccxt request times out in real time.
        from arb.execution.orders import OrderState

        for venue in self.executor.venues:
            for order in venue.in_flight:
                if order.sent_ts + self.timeout > ts:
                    continue
                deadline = time.perf_counter_ns() + self.timeout + _GIVE_UP_GRACE_NS
                while not order.answered and order.state is not OrderState.UNKNOWN:
                    if time.perf_counter_ns() > deadline:
                        raise RuntimeError(f"order {order.client_id} held at the venue was never given up")
                    await asyncio.sleep(_POLL_S)

    def hold(self) -> None:
        # Requests sent from here on wait at the venue until delivered (only when there is latency).
        if self.latency:
            for v, fake in enumerate(self.fakes):
                if not self.held[v]:
                    fake.faults.rest_hold()
                    self.held[v] = True

    async def sent(self, ts: int) -> None:
        if not self.latency:
            while self.executor.open_counts.any():  # answered before the next event, at its time
                await self._answers()
                self.executor.restamp(ts)
                self.engine.settle(ts)
            return
        await self._let_late_in()
        for v, fake in enumerate(self.fakes):  # nothing sent on a venue: its requests need not wait
            if self.held[v] and not self.executor.venues[v].in_flight:
                fake.faults.rest_release()
                self.held[v] = False

    async def _let_late_in(self) -> None:
        # A late leg's create request is read by its venue, then kept there unplaced (an order fault)
        # until its arrival; its client times out meanwhile, as the leg-fault model's late leg would
        # make arb live's. (Held by the REST gate instead, the request could lose its body when the
        # client gives up.) Each armed fault is taken by the venue's next create: the late order's.
        from arb.sim.faults import FaultKind

        for v, venue in enumerate(self.executor.venues):
            late = [o for o in venue.in_flight if o.client_id not in self._armed and self._delay(o) > 0]
            if late and any(self._delay(o) == 0 for o in venue.in_flight):
                raise RuntimeError(
                    f"live parity cannot hold a late leg on {self.config.venues[v].name} while another order "
                    "is in flight there"
                )
            if not late:
                continue
            faults = self.fakes[v].faults
            for order in late:
                faults.order_timeout(processed=False)
                self._armed.add(order.client_id)
            self._armed_per_venue[v] += len(late)
            faults.rest_release()  # its request may wait at the REST gate
            self.held[v] = False
            deadline = time.perf_counter_ns() + _GIVE_UP_GRACE_NS
            while faults.count(FaultKind.ORDER_TIMEOUT) < self._armed_per_venue[v]:  # the venue has it
                if time.perf_counter_ns() > deadline:
                    raise RuntimeError(f"a late leg's request never reached {self.config.venues[v].name}")
                await asyncio.sleep(_POLL_S)

    async def deliver_due(self, ts: int | None) -> None:
        """Everything that happens before the event at ``ts`` (to the end when None): orders reach their
        venue at their arrival time, answers reach the engine at theirs, and what the engine sends on an
        answer does the same, in time order, as the backtest's exchange and local sides do."""
        if not self.latency:
            return
        limit = ts if ts is not None else 2**62
        while True:
            await self._let_late_in()
            due = [
                (order.sent_ts + self.entry[v] + self._delay(order), v)
                for v, venue in enumerate(self.executor.venues)
                for order in venue.in_flight
                if order.sent_ts + self.entry[v] + self._delay(order) <= limit
            ]
            if due:
                arrival, v = min(due)
                later = [o for o in self.executor.venues[v].in_flight
                         if o.sent_ts + self.entry[v] + self._delay(o) > arrival]  # fmt: skip
                if later:  # the fake venue holds all of its requests or none
                    raise RuntimeError(
                        f"live parity cannot let an order reach {self.config.venues[v].name} while its order "
                        f"{later[0].client_id} is held late there (one late leg of several on one venue)"
                    )
                await self.frames[v].release_until(arrival)
                self.fakes[v].faults.rest_release()
                self.fakes[v].faults.release_orders()  # a late leg is placed now
                self.held[v] = False
                while self.executor.venues[v].in_flight:
                    await self._answers()
                self.executor.restamp(arrival + self.response[v], v)
                self.hold()
                continue
            answer = self.executor.next_event_ts()
            if answer is None or answer >= limit:
                await self._given_up_by(limit)
                return
            self.now[0], self.now[1] = answer, time.perf_counter_ns()
            self.engine.advance(answer + 1)  # the answer, and a decision at its time (maybe new orders)

    async def _answers(self) -> None:
        await self.wake.wait()
        self.wake.clear()


async def _user_streams_subscribed(fakes: Sequence[Any]) -> None:
    # The executors' user streams subscribed on every venue before the first event, as a running arb live
    # has them by the time it trades: every fill then comes on a stream. (The first pair's fills would
    # otherwise race the subscriptions, and a fill the stream missed waits for the resolver's REST check,
    # ``fill_check_after_ms`` later in real time.) Without them after _STREAMS_WAIT_S, the run goes on.
    try:
        async with asyncio.timeout(_STREAMS_WAIT_S):
            for fake in fakes:
                await fake.wait_until(fake.user_streams_up)
    except TimeoutError:
        log.warning("live parity: the user streams are not all subscribed; fills they miss come by REST")


class _VenueFrames:
    """One fake venue's recording, released by exchange time.

    A frame's exchange time is read by :func:`exchange_ns`, which decodes the whole frame; the frame
    that stops one release is the first looked at by the next, so its time is kept with it rather
    than read again (once per event and venue otherwise).
    """

    def __init__(self, fake: Any, venue: str, market: str) -> None:
        self.fake = fake
        self.venue = venue
        self.market = market
        self._stamped: tuple[Any, int | None] = (None, None)
        """The frame whose exchange time was read last, and that time."""

    def _due(self, ts: int) -> bool:
        # Whether the next frame goes out by exchange time ts: it has none, or not a later one (False at
        # the end of the recording).
        frame = self.fake.peek()
        if frame is None:
            return False
        if self._stamped[0] is not frame:
            self._stamped = (frame, exchange_ns(frame.raw, self.venue, self.market))
        exch = self._stamped[1]
        return exch is None or exch <= ts

    async def release_until(self, ts: int) -> None:
        """Release the venue's frames up to exchange time ``ts`` (frames without one go when they come up),
        in one advance of its clock."""
        if self._due(ts):
            await self.fake.advance_until(lambda _: not self._due(ts))


def run_live_parity(
    config: AppConfig, start: dt.date | None = None, end: dt.date | None = None, *, exact: bool = False
) -> ParityReport:
    """Run the backtest and the live order path over [start, end] and compare intents and fills."""
    result = run_backtest(config, start, end)
    quiet = logging.getLogger("arb.sim")  # the fake venues' own chatter is not this command's output
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        live = asyncio.run(live_engine(config, result.days)).log
    finally:
        quiet.setLevel(level)
    latency = any(v.latency.order_entry_ns or v.latency.order_response_ns for v in config.venues)
    return compare(config, result, live, exact=exact, views=latency)
