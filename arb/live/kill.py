"""The kill switch: stop new pairs, cancel every open order, flatten every symbol's net position, report.

:func:`kill` works on an open :class:`~arb.live.trading_session.TradingSession` (``arb kill`` opens one;
a running ``arb live`` uses its own when ``arb kill`` reaches it), in this order:

1. **halt**: the journal's halt is set ("kill switch"), so no pair opens again, in this process or
   after a restart, until a person clears it. ``arb kill`` records it (:func:`record_halt`) before
   it connects to any venue, so the halt holds even when no venue can be reached;
2. **cancel** every open order of every traded symbol on every venue;
3. **flatten**, symbol by symbol, once every order still in flight (this session's, or one an
   earlier run left in the journal) has been asked about until the venue settles it: a symbol with
   one whose fate stays unknown is not flattened (it may still fill) and the report names it. The
   symbol's net position across the venues (what the account gained or lost since its inception: a
   lone leg, a failed hedge) is brought to zero with immediate-or-cancel orders priced
   ``slippage_bps`` through the best level, on a linear venue whose position it reduces
   (reduce-only) first, else on a spot venue that holds what it must sell; repeated up to
   ``attempts`` times while the book keeps taking less than asked. Each attempt's size is the net
   position after what is *known* to have filled: an order not done within ``done_timeout_s`` is
   resolved (the executor queries it) before anything else is sent for that symbol, up to
   ``resolve_timeout_s``; one whose fate is still unknown then ends the symbol's flattening (a
   second order could close the position twice and leave it reversed), and the report names it. A
   net position smaller than any venue accepts (its minimum quantity and notional, as the
   configuration states them for the symbol: what fees paid in the coin leave behind) is dust: no
   order is sent for it and it is not exposure. Each attempt uses a venue that can take the order
   now: one arb's rate guard blocks (a rate limit, a ban), whose balance or order book cannot be
   read, or whose last order took nothing, gives way to the others;
4. **report** what was cancelled, what was sent and what filled, what a venue failed (its name, what
   it answered, what to check), and any exposure left (venue, symbol, side, quantity, mark value),
   loudly. A venue whose account cannot be read leaves the net position unknown: that is exposure
   left too. ``arb kill`` (and an ``arb live`` that ran it) exits 1 whenever any exposure is left or
   any order's fate is unknown (:attr:`KillReport.flat`).

Every order goes through the journal and the live executor like any other.
"""

from __future__ import annotations

__all__ = ["HALT_KEY", "KILL_REASON", "KillReport", "kill", "record_halt"]

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from arb.errors import VenueError
from arb.execution.orders import LiveOrder, fees_of
from arb.execution.price_grid import grid_qty, wire
from arb.execution.reconcile import taken_over
from arb.live.trading_session import KIND_FLATTEN, TradingSession, venue_account
from arb.waiting import wait_set

if TYPE_CHECKING:
    from arb.config import AppConfig
    from arb.execution.venue_executor import VenueExecutor

log = logging.getLogger(__name__)

ZERO = Decimal(0)

HALT_KEY = "halt"
"""The journal's state key of the account's halt (its value: the reason; empty or absent: none)."""
KILL_REASON = "kill switch"
"""The halt's reason the kill switch records."""


def record_halt(config: AppConfig, reason: str = KILL_REASON) -> None:
    """Set the account's halt in its journal (``[live]``) and commit, without asking any venue: the kill
    switch's first step, taken before a connection that may fail (a network down, a venue refusing) so
    that the next ``arb live`` opens no pair whatever happens next (``arb halt --live --clear`` lifts it).
    Raises :class:`~arb.errors.JournalError` when another process holds the journal."""
    from arb.execution.journaling import open_execution_journal

    journal = open_execution_journal(config.live)
    try:
        journal.set_state(HALT_KEY, reason)
    finally:
        journal.close()


@dataclass(slots=True)
class KillReport:
    """What the kill switch did (per symbol where it is per symbol, in ``[strategy] symbols`` order)."""

    venues: tuple[str, ...] = ()
    """The run's venues by number (``[strategy] venues``): how the lines name an order's venue."""
    cancelled: dict[str, int] = field(default_factory=dict)
    """Open orders cancelled per venue (every symbol's)."""
    orders: list[LiveOrder] = field(default_factory=list)
    nets_before: dict[str, float] = field(default_factory=dict)
    """Each symbol's net position (summed over every venue) before, base units."""
    nets_after: dict[str, float] = field(default_factory=dict)
    positions: dict[str, float] = field(default_factory=dict)
    """Each venue's position after, base units (keyed ``venue``, or ``venue SYMBOL`` with several)."""
    exposure: list[str] = field(default_factory=list)
    """The net exposure left, if any: venue, side, quantity, mark value."""
    dust: list[str] = field(default_factory=list)
    """The symbols left with a net position no venue would take an order for (not exposure)."""
    unknown: list[str] = field(default_factory=list)
    """The flatten orders whose fate is still unknown (venue, client id, what was asked): they may have
    filled, so nothing more was sent for their symbol."""
    problems: list[str] = field(default_factory=list)
    """What the venues failed meanwhile (a refused or unanswered request, a venue refusing orders),
    once each: each names the venue, what it answered and what to check."""

    def problem(self, error: VenueError) -> None:
        """Keep a venue's failure for the report (once)."""
        self.note(str(error))

    def note(self, line: str) -> None:
        """Keep a line about a venue for the report (once)."""
        if line not in self.problems:
            log.warning("kill switch: %s", line)
            self.problems.append(line)

    @property
    def flat(self) -> bool:
        """Nothing left for a person: no exposure and no order of unknown fate."""
        return not self.exposure and not self.unknown

    @property
    def net_before(self) -> float:
        """The first symbol's net position before (see :attr:`nets_before` for every symbol's)."""
        return next(iter(self.nets_before.values()), 0.0)

    @property
    def net_after(self) -> float:
        """The first symbol's net position after (see :attr:`nets_after`)."""
        return next(iter(self.nets_after.values()), 0.0)

    def describe(self) -> list[str]:
        several = len(self.nets_before) > 1
        lines = ["kill switch: new pairs halted"]
        lines += [f"  {venue}: {n} open order(s) cancelled" for venue, n in self.cancelled.items()]
        for order in self.orders:
            filled = f"filled {wire(order.filled)}" if order.fills else order.state.value
            venue = self.venues[order.venue] if order.venue < len(self.venues) else f"venue {order.venue}"
            where = f"{venue} {order.symbol}" if several else venue
            lines.append(
                f"  {where}: {'buy' if order.side > 0 else 'sell'} {order.qty_text} "
                f"@ {order.price_text} IOC{' reduce-only' if order.reduce_only else ''}: {filled}"
            )
        for symbol, before in self.nets_before.items():
            name = f"{symbol} net position" if several else "net position"
            lines.append(f"  {name} {before:+.8g} -> {self.nets_after.get(symbol, before):+.8g}")
        if self.dust:
            what = f" of {', '.join(self.dust)}" if several else ""
            lines.append(f"  the rest{what} is dust: below the smallest order any venue accepts")
        lines += [f"  {line}" for line in self.problems]
        lines += [f"  ORDER UNKNOWN: {line}" for line in self.unknown]
        lines += [f"  EXPOSURE LEFT: {line}" for line in self.exposure]
        return lines


def _accepts(session: TradingSession, v: int, s: int, qty: Decimal, price: Decimal, *, closes: bool = False) -> bool:
    # Would venue v take this order of symbol s: its minimum quantity and notional (the configuration's,
    # as the kernel's)? ``closes``: a reduce-only order of its own position, which a venue such as Binance
    # USD-M takes below the notional
    instrument = session.config.symbols[s].instruments[v]
    if qty <= 0 or qty < Decimal(repr(instrument.min_qty)):
        return False
    return (closes and session.executors[v].adapter.reduce_only_any_notional) or qty * price >= Decimal(
        repr(instrument.min_notional)
    )


async def kill(
    session: TradingSession,
    *,
    slippage_bps: float,
    attempts: int = 5,
    reason: str = KILL_REASON,
    done_timeout_s: float = 10.0,
    resolve_timeout_s: float | None = None,
    retry_s: float = 0.5,
    cancelled: Mapping[str, int] | None = None,
) -> KillReport:
    """Halt, cancel, flatten and report (see the module docstring); the executors must be started.

    A venue that fails a request (its order book, its balances, a cancel: :class:`~arb.errors.VenueError`)
    is named in the report and another venue is used; an attempt on which every venue failed is tried
    again ``retry_s`` later (doubling). A venue whose account cannot be read: nothing is flattened.

    A flatten order not done within ``done_timeout_s`` is waited for (the executor's resolver queries
    it) up to ``resolve_timeout_s`` more: by default the time ``[live]`` gives an order's request and
    its queries, tripled (:func:`_resolve_bound`).

    ``cancelled``: by venue name, the open orders a running ``arb live`` cancelled at its stop already, before
    this ran (the report counts them with those cancelled here).
    """
    report = KillReport(session.config.venue_names)
    resolve_s = _resolve_bound(session.config) if resolve_timeout_s is None else resolve_timeout_s
    session.journal.set_state(HALT_KEY, reason)
    for executor in session.executors.values():
        try:
            report.cancelled[executor.venue] = (cancelled or {}).get(executor.venue, 0) + await executor.cancel_open()
        except VenueError as error:
            report.problem(error)
    unsettled = await _settle_in_flight(session, resolve_s, report)
    accounts = {}
    for v, executor in session.executors.items():
        try:
            accounts[v] = await venue_account(session, v)
        except VenueError as error:
            report.problem(error)
            report.exposure.append(f"{executor.name}: its account could not be read; the net position is unknown")
    if report.exposure:
        for line in report.describe():
            log.error("%s", line)
        return report
    names = session.config.symbol_names
    positions = {s: {v: a.position[s] for v, a in accounts.items()} for s in range(len(names))}
    for s, name in enumerate(names):
        report.nets_before[name] = sum(positions[s].values())
    async with asyncio.TaskGroup() as tasks:
        for executor in session.executors.values():
            executor.run_background(tasks)
        for s in (s for s, name in enumerate(names) if name not in unsettled):
            report.orders += await _flatten(session, s, positions[s], slippage_bps, attempts,
                                            (done_timeout_s, resolve_s, retry_s), report)  # fmt: skip
        for executor in session.executors.values():
            executor.stop()
    for s, name in enumerate(names):
        report.nets_after[name] = sum(positions[s].values())
        for v, position in positions[s].items():
            venue = session.executors[v].venue
            report.positions[f"{venue} {name}" if len(names) > 1 else venue] = position
        await _left(session, s, positions[s], report)
    for line in report.describe():
        (log.warning if report.flat else log.error)("%s", line)
    return report


async def _settle_in_flight(session: TradingSession, resolve_s: float, report: KillReport) -> set[str]:
    # Before anything is sent: every order still in flight (this session's, or one an earlier run left
    # in the journal: a flatten of an arb kill that gave up on it) is asked about until the venue
    # settles it, within resolve_s, as reconciliation does; the position read next includes what they
    # filled. Returns the symbols with one still unknown (named in the report): an order could still
    # fill there, so the kill switch sends nothing for them.
    now = session.executors[min(session.executors)].clock() if session.executors else 0
    for executor in session.executors.values():
        journal, venue, market = session.journal, executor.venue, executor.market
        earlier = [
            taken_over(order, now)
            for order in journal.in_flight_orders(venue, market)
            if order.client_id not in executor.orders and executor.market_of(order.symbol) is not None
        ]
        if earlier:  # as reconciliation takes them over: a fill journaled as no order's may be one of theirs
            executor.adopt(earlier, journal.trade_keys(venue, market), journal.orphan_fills(venue, market))
    unsettled: set[str] = set()
    for executor in session.executors.values():
        if executor.in_flight:
            await executor.drain(int(resolve_s * 1e9))  # a query that fails is asked again
        for order in executor.in_flight:
            unsettled.add(order.symbol)
            report.unknown.append(
                f"{executor.name} {order.symbol} {'buy' if order.side > 0 else 'sell'} {order.qty_text} "
                f"({order.client_id}, sent before this kill switch) is still {order.state.value}; nothing was "
                "sent for the symbol (it may still fill): arb reconcile finds it out"
            )
            log.error("kill switch: %s", report.unknown[-1])
    return unsettled


def _resolve_bound(config: AppConfig) -> float:
    # How long, past its done timeout, the kill switch waits to learn a flatten order's fate: its request's
    # timeout, the grace and the queries an unknown order gets before a "not found" verdict, three times
    # over (a busy venue answers slowly; a second flatten sent too early could reverse the position).
    live = config.live
    per_order = (
        live.request_timeout_ns + live.unknown_grace_ns + (live.unknown_checks + 1) * live.unknown_check_interval_ns
    )
    return 3 * per_order / 1e9


def _venue_order(session: TradingSession, took_nothing: int | None) -> list[int]:
    # The venues in the order to try: linear ones first (a reduce-only order closes the position there),
    # and the one whose last order took nothing last (the next attempt tries the others first)
    return sorted(session.executors, key=lambda v: (v == took_nothing, session.executors[v].market != "linear"))


async def _flatten(
    session: TradingSession,
    s: int,
    positions: dict[int, float],
    slippage_bps: float,
    attempts: int,
    timeouts: tuple[float, float, float],
    report: KillReport,
) -> list[LiveOrder]:
    # Step 3 for symbol s: IOCs until its net position is flat or dust (``positions`` per venue is
    # updated with what is known to have filled); returns the orders sent. Each attempt uses the first
    # venue that can take the order now: not blocked by its rate guard, its balance and order book
    # readable, the order above its minimums; a venue whose order took nothing goes last at the next
    # attempt. ``timeouts``: how long an order may take to be done, how long more it is resolved, and
    # the first wait after an attempt on which every venue failed.
    done_timeout_s, resolve_s, retry_s = timeouts
    sent: list[LiveOrder] = []
    slip = Decimal(repr(slippage_bps)) / Decimal(10_000)
    smallest = min(float(e.markets[s].step) for e in session.executors.values())
    took_nothing: int | None = None
    delay = retry_s
    for _ in range(attempts):
        net = sum(positions.values())
        side = -1 if net > 0 else 1  # sell a long net, buy back a short one
        order = None
        failed = False  # a request to a venue failed this attempt (it may answer the next one)
        for v in _venue_order(session, took_nothing):
            executor = session.executors[v]
            market = executor.markets[s]
            blocked = executor.guard.blocked(reduce_only=executor.market == "linear")  # a flatten's kind
            if blocked is not None:  # a wait of its own: not tried again sooner than it ends
                report.note(f"{executor.name}: arb sends it no order for now ({blocked}); another venue is used")
                continue
            qty = grid_qty(abs(net), market.step)
            linear = executor.market == "linear"
            try:
                if linear:
                    qty = min(qty, grid_qty(abs(positions[v]), market.step)) if positions[v] * side < 0 else ZERO
                elif side < 0:
                    base = (await executor.balances()).get(market.base_asset, ZERO)
                    qty = min(qty, grid_qty(base, market.step))
                if qty <= 0:
                    continue
                bid, ask = await executor.best_prices(s)
            except VenueError as error:
                report.problem(error)
                failed = True
                continue
            price = ask * (1 + slip) if side > 0 else bid * (1 - slip)
            if not _accepts(session, v, s, qty, price, closes=linear):
                continue  # the venue would refuse it: dust here
            done = asyncio.Event()
            executor.on_done = lambda _order, done=done: done.set()
            order = executor.submit(
                side, float(price), float(qty), KIND_FLATTEN, 0, executor.clock(), reduce_only=linear, symbol=s
            )
            sent.append(order)
            await wait_set(done, done_timeout_s)
            if not order.done:
                await _resolve(executor, order, done_timeout_s, resolve_s)
            positions[v] += _known_move(executor, order)
            if not order.done:  # it may still fill: nothing more is sent for this symbol
                report.unknown.append(
                    f"{executor.name} {market.symbol} {'buy' if side > 0 else 'sell'} {order.qty_text} "
                    f"({order.client_id}) is still {order.state.value} after "
                    f"{done_timeout_s + resolve_s:.1f} s; filled so far {wire(order.filled)}; nothing more was "
                    "sent for the symbol (a second order could close it twice): arb reconcile finds it out"
                )
                log.error("kill switch: %s", report.unknown[-1])
                return sent
            took_nothing = None if order.fills else v
            break
        if abs(sum(positions.values())) < smallest:
            break
        if order is None:
            if not failed:
                break  # no venue would take an order for it: dust, or nothing any venue can sell
            await asyncio.sleep(delay)  # every venue failed this time: once more, a little later
            delay *= 2
    return sent


async def _resolve(executor: VenueExecutor, order: LiveOrder, done_timeout_s: float, resolve_s: float) -> None:
    # A flatten order not done in time: its fate is found out (the executor's resolver queries an unknown
    # order, and one answered without all its fills) before anything else is sent, within resolve_s.
    log.warning(
        "kill switch: %s still %s after %.1f s; finding out what it did before sending anything else",
        order.client_id, order.state.value, done_timeout_s,
    )  # fmt: skip
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(resolve_s):
            await executor.wait_until(lambda: order.done)


def _known_move(executor: VenueExecutor, order: LiveOrder) -> float:
    # What an order is known to have moved its venue's position by: its fills seen so far (all of them
    # once it is done), less the fees paid in the base coin
    market = executor.markets[order.symbol_index]
    _, base_fee = fees_of(order.fills.values(), market.quote_asset, market.base_asset)
    return order.side * float(order.filled) - float(base_fee)


async def _left(session: TradingSession, s: int, positions: dict[int, float], report: KillReport) -> None:
    # Step 4 for symbol s: dust, or exposure named per venue with its mark value. A venue's mid values
    # the rest; a venue whose book cannot be read is named, and any readable book prices the dust check.
    name = session.config.symbol_names[s]
    left = Decimal(repr(abs(sum(positions.values()))))
    if left < min(e.markets[s].step for e in session.executors.values()):
        return
    mids: dict[int, Decimal] = {}
    for v, executor in session.executors.items():
        try:
            bid, ask = await executor.best_prices(s)
        except VenueError as error:
            report.problem(error)
            continue
        mids[v] = (bid + ask) / 2
    price = next(iter(mids.values()), None)
    if price is not None:
        net = sum(positions.values())  # a linear venue holding part of it closes that part reduce-only
        closing = {v: e.market == "linear" and positions.get(v, 0.0) * net > 0 for v, e in session.executors.items()}
        tradeable = any(
            _accepts(session, v, s, grid_qty(left, e.markets[s].step), mids.get(v, price), closes=closing[v])
            for v, e in session.executors.items()
        )
    else:  # no price at all: dust only if below every venue's minimum quantity
        tradeable = any(
            grid_qty(left, e.markets[s].step) >= Decimal(repr(session.config.symbols[s].instruments[v].min_qty))
            for v, e in session.executors.items()
        )
    if not tradeable:
        report.dust.append(name)
        return
    several = len(session.config.symbols) > 1
    for v, executor in session.executors.items():
        if positions[v]:
            market = executor.markets[s]
            mid = mids.get(v, price)
            value = f"{float(mid) * abs(positions[v]):,.2f} {market.quote_asset}" if mid is not None else "unknown"
            where = f"{executor.venue} {executor.market}" + (f" {name}" if several else "")
            report.exposure.append(
                f"{where} {'long' if positions[v] > 0 else 'short'} {abs(positions[v]):.8g} {market.base_asset} "
                f"(mark value {value})"
            )
