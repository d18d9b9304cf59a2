"""The kill switch: stop new pairs, cancel every open order, flatten the net position, report.

:func:`kill` works on an open :class:`~arb.runtime.trading.TradingSession` (``arb kill`` opens one;
a running ``arb live`` uses its own when ``arb kill`` reaches it), in this order:

1. **halt**: the journal's halt is set ("kill switch"), so no pair opens again, in this process or
   after a restart, until a person clears it;
2. **cancel** every open order of the symbol on every venue;
3. **flatten**: the net position across the venues (what the account gained or lost since its
   inception: a lone leg, a failed hedge) is brought to zero with immediate-or-cancel orders priced
   ``slippage_bps`` through the best level, on a linear venue whose position it reduces
   (reduce-only) first, else on a spot venue that holds what it must sell; repeated up to
   ``attempts`` times while the book keeps taking less than asked; a net position smaller than
   any venue accepts (its minimum quantity and notional, as the venue files state them: what fees
   paid in the coin leave behind) is dust: no order is sent for it and it is not exposure;
4. **report** what was cancelled, what was sent and what filled, and any exposure left (venue,
   side, quantity, mark value), loudly.

Every order goes through the journal and the live executor like any other.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from arb.events import ASSET_NAMES
from arb.execution.grid import grid_qty, wire
from arb.execution.orders import LiveOrder

if TYPE_CHECKING:
    from arb.runtime.trading import TradingSession

__all__ = ["HALT_KEY", "KillReport", "kill"]

log = logging.getLogger(__name__)

HALT_KEY = "halt"
"""The journal's state key of the account's halt (its value: the reason; empty or absent: none)."""


@dataclass(slots=True)
class KillReport:
    """What the kill switch did."""

    cancelled: dict[str, int] = field(default_factory=dict)
    orders: list[LiveOrder] = field(default_factory=list)
    net_before: float = 0.0
    net_after: float = 0.0
    positions: dict[str, float] = field(default_factory=dict)
    """Each venue's position after, base units."""
    exposure: list[str] = field(default_factory=list)
    """The net exposure left, if any: venue, side, quantity, mark value."""
    dust: bool = False
    """A net position is left that no venue would take an order for (not exposure)."""

    @property
    def flat(self) -> bool:
        return not self.exposure

    def describe(self) -> list[str]:
        lines = ["kill switch: new pairs halted"]
        lines += [f"  {venue}: {n} open order(s) cancelled" for venue, n in self.cancelled.items()]
        for order in self.orders:
            filled = f"filled {wire(order.filled)}" if order.fills else order.state.value
            lines.append(
                f"  {ASSET_NAMES[order.venue]}: {'buy' if order.side > 0 else 'sell'} {order.qty_text} "
                f"@ {order.price_text} IOC{' reduce-only' if order.reduce_only else ''}: {filled}"
            )
        lines.append(f"  net position {self.net_before:+.8g} -> {self.net_after:+.8g}")
        if self.dust:
            lines.append("  the rest is dust: below the smallest order either venue accepts")
        lines += [f"  EXPOSURE LEFT: {line}" for line in self.exposure]
        return lines


async def _best(session: TradingSession, v: int) -> tuple[Decimal, Decimal]:
    executor = session.executors[v]
    book = await executor.exchange.fetch_order_book(executor._ccxt_symbol, 5)
    return Decimal(str(book["bids"][0][0])), Decimal(str(book["asks"][0][0]))


def _accepts(session: TradingSession, v: int, qty: Decimal, price: Decimal) -> bool:
    # Would venue v take this order: its minimum quantity and notional (the venue file's, as the kernel's)?
    instrument = session.config.venues[v].instrument
    return (
        qty > 0 and qty >= Decimal(repr(instrument.min_qty)) and qty * price >= Decimal(repr(instrument.min_notional))
    )


async def kill(
    session: TradingSession,
    *,
    slippage_bps: float,
    attempts: int = 5,
    reason: str = "kill switch",
    done_timeout_s: float = 10.0,
) -> KillReport:
    """Halt, cancel, flatten and report (see the module docstring); the executors must be started."""
    from arb.runtime.trading import KIND_FLATTEN, account_since_inception

    report = KillReport()
    session.journal.set_state(HALT_KEY, reason)
    for v, executor in session.executors.items():
        report.cancelled[ASSET_NAMES[v]] = await executor.cancel_open()
    positions = {v: (await account_since_inception(session, v))[2] for v in session.executors}
    report.net_before = sum(positions.values())
    slip = Decimal(repr(slippage_bps)) / Decimal(10_000)
    async with asyncio.TaskGroup() as tasks:
        for executor in session.executors.values():
            executor.run_background(tasks)
        for _ in range(attempts):
            net = sum(positions.values())
            side = -1 if net > 0 else 1  # sell a long net, buy back a short one
            order = None
            for v in sorted(session.executors, key=lambda v: session.executors[v].market != "linear"):
                executor = session.executors[v]
                qty = grid_qty(abs(net), executor.step)
                linear = executor.market == "linear"
                if linear:
                    qty = (
                        min(qty, grid_qty(abs(positions[v]), executor.step)) if positions[v] * side < 0 else Decimal(0)
                    )
                elif side < 0:
                    base = (await executor.balances()).get(executor.base_asset, Decimal(0))
                    qty = min(qty, grid_qty(base, executor.step))
                if qty <= 0:
                    continue
                bid, ask = await _best(session, v)
                price = ask * (1 + slip) if side > 0 else bid * (1 - slip)
                if not _accepts(session, v, qty, price):
                    continue  # the venue would refuse it: dust here
                done = asyncio.Event()
                executor.on_done = lambda _order, done=done: done.set()
                order = executor.submit(
                    side, float(price), float(qty), KIND_FLATTEN, 0, executor.clock(), reduce_only=linear
                )
                report.orders.append(order)
                try:
                    await asyncio.wait_for(done.wait(), done_timeout_s)
                except TimeoutError:
                    log.error(
                        "kill switch: %s still %s after %.0f s", order.client_id, order.state.value, done_timeout_s
                    )
                if order.fills:
                    positions[v] += side * float(order.filled) - order.base_fee
                break
            if order is None or abs(sum(positions.values())) < min(float(e.step) for e in session.executors.values()):
                break
        for executor in session.executors.values():
            executor.stop()
    report.net_after = sum(positions.values())
    report.positions = {ASSET_NAMES[v]: p for v, p in positions.items()}
    left = Decimal(repr(abs(report.net_after)))
    tradeable = False
    if left >= min(e.step for e in session.executors.values()):
        for v, executor in session.executors.items():
            bid, ask = await _best(session, v)
            tradeable = tradeable or _accepts(session, v, grid_qty(left, executor.step), (bid + ask) / 2)
        report.dust = not tradeable
    if tradeable:
        for v, executor in session.executors.items():
            if positions[v]:
                bid, ask = await _best(session, v)
                mark = float((bid + ask) / 2) * abs(positions[v])
                report.exposure.append(
                    f"{ASSET_NAMES[v]} {executor.market} {'long' if positions[v] > 0 else 'short'} "
                    f"{abs(positions[v]):.8g} {executor.base_asset} (mark value {mark:,.2f} "
                    f"{executor.quote_asset})"
                )
    for line in report.describe():
        (log.warning if report.flat else log.error)("%s", line)
    return report
