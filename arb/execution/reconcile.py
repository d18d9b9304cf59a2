"""Reconciliation at start: the journal against each venue, before anything is traded.

For each venue-market, in order:

1. every intent the journal holds in flight (pending, sent, accepted, partially filled, unknown: a
   crash can stop arb anywhere) is asked about by client id until the venue says what happened; a
   "no such order" answer counts only after ``unknown_checks`` of them over ``unknown_grace`` (a new
   order can be invisible to queries for a moment), and then the intent was never placed;
2. the venue's trades since the last fill the journal knows are booked (each trade id once), so fills
   made while arb was down are not lost;
3. the venue's open orders are compared with the journal: one arb does not know of is unexplained;
4. the venue's balances (spot) or position (linear) are compared with what the journal's fills say
   they should be, relative to a baseline: the venue's state when the journal first met it, or when a
   person last accepted the venue's state. A difference is unexplained (a deposit, a manual trade, a
   fill arb never saw).

Anything unexplained stops the start with a report of what differs; nothing is traded until a person
decides, by accepting the venue's state (``arb reconcile --accept-venue-state``: the baseline moves
to what the venue holds now) or by fixing the account.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from arb.execution.grid import wire
from arb.execution.live import VenueExecutor
from arb.execution.orders import LiveOrder, OrderState, VenueFill, VenueOrderUpdate

__all__ = ["ReconcileJournal", "VenueReconciliation", "expected_holdings", "reconcile_venue"]

log = logging.getLogger(__name__)

ZERO = Decimal(0)
_TOLERANCE = Decimal("1e-8")


class ReconcileJournal(Protocol):
    """What reconciliation reads from and writes to the journal (``arb.execution.journaling``)."""

    def in_flight_orders(self, venue: str, market: str) -> list[LiveOrder]: ...
    def trade_ids(self, venue: str, market: str) -> set[str]: ...
    def venue_fills(self, venue: str, market: str) -> list[VenueFill]: ...
    def last_fill_ms(self, venue: str, market: str) -> int: ...
    def get_state(self, key: str) -> str | None: ...
    def set_state(self, key: str, value: str) -> None: ...
    def flush(self) -> None: ...


@dataclass(slots=True)
class VenueReconciliation:
    """What reconciling one venue-market found."""

    venue: str
    market: str
    resolved: list[str] = field(default_factory=list)
    """``client id: state`` of every in-flight intent the venue settled."""
    still_in_flight: list[str] = field(default_factory=list)
    """Intents the venue has not settled within the time given (unexplained)."""
    fills_booked: int = 0
    """Fills found on the venue that the journal did not hold (made while arb was down)."""
    orphan_fills: list[VenueFill] = field(default_factory=list)
    """Fills of orders the journal does not know (unexplained)."""
    foreign_open_orders: list[VenueOrderUpdate] = field(default_factory=list)
    """Open orders on the venue the journal does not know (unexplained)."""
    differences: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    """Asset (or ``position``) -> (what the journal says, what the venue says), where they differ."""
    baseline: str = ""
    """What happened to the baseline: ``"kept"``, ``"set"`` (first meeting) or ``"accepted"``."""
    earlier_mismatch: str = ""
    """An earlier reconciliation's mismatch that no one has accepted yet (it outlives restarts)."""

    @property
    def ok(self) -> bool:
        """Nothing unexplained, now or left from before."""
        return not (self.still_in_flight or self.orphan_fills or self.foreign_open_orders or self.differences
                    or self.earlier_mismatch)  # fmt: skip

    def describe(self) -> list[str]:
        """A few lines for the console and the logs."""
        name = f"{self.venue} {self.market}"
        lines = [f"{name}: {'reconciled' if self.ok else 'MISMATCH'} (baseline {self.baseline})"]
        if self.resolved:
            lines.append(f"  resolved {len(self.resolved)} intent(s) left in flight: {', '.join(self.resolved)}")
        if self.fills_booked:
            lines.append(f"  booked {self.fills_booked} fill(s) made while arb was not watching")
        for client_id in self.still_in_flight:
            lines.append(f"  still unknown after reconciliation: {client_id}")
        for fill in self.orphan_fills:
            lines.append(
                f"  fill {fill.trade_id} of order {fill.venue_order_id} is not in the journal "
                f"({'buy' if fill.side > 0 else 'sell'} {fill.qty} @ {fill.price})"
            )
        for order in self.foreign_open_orders:
            lines.append(f"  open order {order.venue_order_id} ({order.client_id or 'no client id'}) is not arb's")
        for asset, (expected, actual) in self.differences.items():
            lines.append(f"  {asset}: journal says {wire(expected)}, venue says {wire(actual)}")
        if self.earlier_mismatch:
            lines.append(f"  an earlier mismatch awaits a decision ({self.earlier_mismatch}): check the account, "
                         "then arb reconcile --accept-venue-state")  # fmt: skip
        return lines


def expected_holdings(fills: Iterable[VenueFill], base: str, quote: str, *, spot: bool) -> dict[str, Decimal]:
    """What the fills changed, per asset (spot) or in the position (linear, key ``"position"``)."""
    out: dict[str, Decimal] = {}
    for fill in fills:
        if spot:
            out[base] = out.get(base, ZERO) + fill.side * fill.qty
            out[quote] = out.get(quote, ZERO) - fill.side * fill.qty * fill.price
            if fill.fee and fill.fee_asset:
                out[fill.fee_asset] = out.get(fill.fee_asset, ZERO) - fill.fee
        else:
            out["position"] = out.get("position", ZERO) + fill.side * fill.qty
    return out


def _baseline_key(venue: str, market: str) -> str:
    return f"baseline/{venue}/{market}"


async def reconcile_venue(
    executor: VenueExecutor,
    journal: ReconcileJournal,
    *,
    accept_venue_state: bool = False,
    timeout_ns: int,
) -> VenueReconciliation:
    """Reconcile one venue-market (see the module docstring); the executor must be started."""
    venue, market = executor.venue, executor.market
    report = VenueReconciliation(venue, market)
    now = executor.clock()
    # 1. in-flight intents, asked about until the venue settles them
    orders = journal.in_flight_orders(venue, market)
    for order in orders:
        if order.state in (OrderState.PENDING, OrderState.SENT, OrderState.UNKNOWN):
            order.state = OrderState.UNKNOWN  # whatever arb knew died with it: ask
            order.unknown_since_ns = now
        order.ack_ns = order.ack_ns or now
    fills_before = executor.counters["fills"]
    executor.adopt(orders, journal.trade_ids(venue, market))
    deadline = now + timeout_ns
    while True:
        pending = [o for o in orders if not o.answered]
        if not pending or executor.clock() >= deadline:
            break
        for order in pending:
            await executor.resolve(order)
        if any(not o.answered for o in orders):
            await asyncio.sleep(executor.settings.unknown_check_interval_ns / 1e9)
    for order in orders:
        if order.answered:
            report.resolved.append(f"{order.client_id}: {order.state.value}")
        else:
            report.still_in_flight.append(f"{order.client_id} ({order.state.value})")
    # 2. trades made while arb was down: from the last fill known, or the oldest intent in flight
    starts = [o.intent_ns // 1_000_000 for o in orders]
    if last := journal.last_fill_ms(venue, market):
        starts.append(last)
    executor.last_fill_ms = min(starts) if starts else 0
    await executor.sweep()
    report.fills_booked = executor.counters["fills"] + len(executor.orphan_fills) - fills_before
    report.orphan_fills = list(executor.orphan_fills)
    # 3. open orders arb does not know
    for update in await executor.open_orders():
        if update.client_id not in executor.orders:
            report.foreign_open_orders.append(update)
    # 4. holdings against the journal's fills, relative to the baseline
    spot = market == "spot"
    actual: dict[str, Decimal] = await executor.balances() if spot else {"position": await executor.position()}
    moved = expected_holdings(journal.venue_fills(venue, market), executor.base_asset, executor.quote_asset, spot=spot)
    assets = sorted(set(moved) | ({executor.base_asset, executor.quote_asset} if spot else {"position"}))
    key = _baseline_key(venue, market)
    stored = journal.get_state(key)
    if stored is None or accept_venue_state:
        baseline = {a: actual.get(a, ZERO) - moved.get(a, ZERO) for a in assets}
        journal.set_state(key, json.dumps({a: str(v) for a, v in baseline.items()}))
        report.baseline = "accepted" if stored is not None else "set"
        if stored is None and moved:
            log.warning(
                "%s %s: the journal had fills but no baseline; taking the venue's state as it is", venue, market
            )
    else:
        baseline = {a: Decimal(v) for a, v in json.loads(stored).items()}
        report.baseline = "kept"
    for asset in sorted(set(assets) | set(baseline)):
        expected = baseline.get(asset, ZERO) + moved.get(asset, ZERO)
        have = actual.get(asset, ZERO)
        if abs(expected - have) > _TOLERANCE:
            report.differences[asset] = (expected, have)
    # 5. a mismatch holds until a person accepts the venue's state, across restarts
    mismatch_key = f"mismatch/{venue}/{market}"
    if accept_venue_state:
        if journal.get_state(mismatch_key) is not None:
            journal.set_state(mismatch_key, "")
    elif not report.ok:
        journal.set_state(
            mismatch_key, f"found at {executor.clock() // 1_000_000} ms: " + "; ".join(report.describe()[1:3])
        )
    elif earlier := journal.get_state(mismatch_key):
        report.earlier_mismatch = earlier
    journal.flush()
    for line in report.describe():
        (log.info if report.ok else log.error)("%s", line)
    return report


def summarize(reports: Iterable[VenueReconciliation]) -> dict[str, Any]:
    """The reports as JSON-ready data (for ``arb reconcile --json`` and the journal's state)."""
    return {
        f"{r.venue}-{r.market}": {
            "ok": r.ok,
            "baseline": r.baseline,
            "resolved": r.resolved,
            "still_in_flight": r.still_in_flight,
            "fills_booked": r.fills_booked,
            "orphan_fills": [f.trade_id for f in r.orphan_fills],
            "foreign_open_orders": [o.venue_order_id for o in r.foreign_open_orders],
            "differences": {a: [str(e), str(h)] for a, (e, h) in r.differences.items()},
        }
        for r in reports
    }
