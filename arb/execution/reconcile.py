"""Reconciliation at start: the journal against each venue, before anything is traded.

For each venue-market, in order, for every traded symbol:

1. every intent the journal holds in flight (pending, sent, accepted, partially filled, unknown: a
   crash can stop arb anywhere) is asked about by client id until the venue says what happened; a
   "no such order" answer counts only after ``unknown_checks`` of them over ``unknown_grace`` (a new
   order can be invisible to queries for a moment), and then the intent was never placed; a resting
   quote (the ``maker_taker`` style's post-only order) is cancelled first, journaled, as it would never
   settle by itself and the run that priced it is gone;
2. the venue's trades since the last fill the journal knows (per symbol) are booked (each trade id
   once), so fills made while arb was down are not lost;
3. the venue's open orders are compared with the journal: one arb does not know of is unexplained;
4. the venue's balances (spot: every symbol's base asset, the quote they share and any fee asset) or
   positions (linear: one per symbol) are compared with what the journal's fills say they should be,
   relative to a baseline: the venue's state when the journal first met it, or when a person last
   accepted the venue's state, plus (spot) what the account's own moves of money journaled since
   (``transfers``: ``arb rebalance --execute``, ``[rebalance] auto``) put into or took out of the wallet
   arb trades from (:func:`~arb.journal.transfers.moved_in_wallet`: a withdrawal leaves the sender when
   sent, arrives when the receiver credits it; in between it is in transit, neither venue's, and said
   so; a refused or failed one moved nothing). A difference is unexplained (a deposit, a manual trade,
   a fill arb never saw). A symbol the journal has never traded and whose holdings the baseline does
   not hold yet (one just added to ``[strategy] symbols``) is met for the first time: its holdings join
   the baseline as they are.

Anything unexplained stops the start with a report of what differs, symbol by symbol; nothing is
traded until a person decides, by accepting the venue's state (``arb reconcile --accept-venue-state``:
the baseline moves to what the venue holds now) or by fixing the account.
"""

from __future__ import annotations

__all__ = [
    "ReconcileJournal",
    "SymbolReconciliation",
    "VenueReconciliation",
    "expected_holdings",
    "reconcile_venue",
    "summarize",
    "taken_over",
]

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from arb.execution.orders import LiveOrder
from arb.execution.price_grid import wire
from arb.execution.venue_executor import VenueExecutor
from arb.execution.venue_quotes import QuotingVenueExecutor, is_quote
from arb.journal.transfers import TransferRow, in_transit, trading_wallet_moves
from connectors.common.orders import OrderState, VenueFill, VenueOrderUpdate

log = logging.getLogger(__name__)

ZERO = Decimal(0)
_TOLERANCE = Decimal("1e-8")
POSITION = "position"
"""The name of a linear symbol's position among its holdings."""


class ReconcileJournal(Protocol):
    """What reconciliation reads from and writes to the journal (``arb.execution.journaling``)."""

    def in_flight_orders(self, venue: str, market: str) -> list[LiveOrder]: ...
    def orphan_fills(self, venue: str, market: str) -> list[VenueFill]: ...
    def trade_keys(self, venue: str, market: str) -> set[tuple[str, str]]: ...
    def venue_fills(self, venue: str, market: str, symbol: str | None = None) -> list[VenueFill]: ...
    def last_fill_ms(self, venue: str, market: str, symbol: str | None = None) -> int: ...
    def get_state(self, key: str) -> str | None: ...
    def set_state(self, key: str, value: str) -> None: ...
    def flush(self) -> None: ...
    def transfers(self) -> list[TransferRow]: ...


def taken_over(order: LiveOrder, now: int) -> LiveOrder:
    """``order``, left in flight by a run that ended (the journal's), as the run taking it over must treat
    it: a request without a final answer is UNKNOWN from ``now`` (whatever that run knew died with it),
    so the resolver asks about it; returned for :meth:`~arb.execution.venue_executor.VenueExecutor.adopt`."""
    if order.state in (OrderState.PENDING, OrderState.SENT, OrderState.UNKNOWN):
        order.state = OrderState.UNKNOWN
        order.unknown_since_ns = now
    order.ack_ns = order.ack_ns or now
    return order


@dataclass(slots=True)
class SymbolReconciliation:
    """What reconciling one symbol of a venue-market found."""

    symbol: str
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
    """Its base asset (spot) or ``position`` (linear) -> (what the journal says, what the venue says)."""

    @property
    def ok(self) -> bool:
        return not (self.still_in_flight or self.orphan_fills or self.foreign_open_orders or self.differences)

    def describe(self, indent: str = "  ") -> list[str]:
        """What there is to say about the symbol (nothing when there is nothing)."""
        lines = []
        if self.resolved:
            lines.append(f"{indent}resolved {len(self.resolved)} intent(s) left in flight: {', '.join(self.resolved)}")
        if self.fills_booked:
            lines.append(f"{indent}booked {self.fills_booked} fill(s) made while arb was not watching")
        for client_id in self.still_in_flight:
            lines.append(f"{indent}still unknown after reconciliation: {client_id}")
        for fill in self.orphan_fills:
            lines.append(
                f"{indent}fill {fill.trade_id} of order {fill.venue_order_id} is not in the journal "
                f"({'buy' if fill.side > 0 else 'sell'} {fill.qty} @ {fill.price})"
            )
        for order in self.foreign_open_orders:
            lines.append(
                f"{indent}open order {order.venue_order_id} ({order.client_id or 'no client id'}) is not arb's"
            )
        for name, (expected, actual) in self.differences.items():
            lines.append(f"{indent}{name}: journal says {wire(expected)}, venue says {wire(actual)}")
        return lines


@dataclass(slots=True)
class VenueReconciliation:
    """What reconciling one venue-market found: per traded symbol (:attr:`symbols`) and for what the
    symbols share (:attr:`account_differences`: the quote asset and any other asset the fills moved)."""

    venue: str
    market: str
    symbols: list[SymbolReconciliation] = field(default_factory=list)
    account_differences: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    """Asset -> (what the journal says, what the venue says) for assets no single symbol owns (spot)."""
    baseline: str = ""
    """What happened to the baseline: ``"kept"``, ``"set"`` (first meeting), ``"accepted"`` or
    ``"extended"`` (a symbol met for the first time joined it)."""
    earlier_mismatch: str = ""
    """An earlier reconciliation's mismatch that no one has accepted yet (it outlives restarts)."""
    in_transit: list[str] = field(default_factory=list)
    """The account's withdrawals to or from the venue still under way (not a difference: neither venue's)."""

    def symbol(self, name: str) -> SymbolReconciliation:
        """The part of symbol ``name`` (made empty if the venue-market had nothing of it)."""
        for part in self.symbols:
            if part.symbol == name:
                return part
        part = SymbolReconciliation(name)
        self.symbols.append(part)
        return part

    @property
    def resolved(self) -> list[str]:
        return [x for s in self.symbols for x in s.resolved]

    @property
    def still_in_flight(self) -> list[str]:
        return [x for s in self.symbols for x in s.still_in_flight]

    @property
    def fills_booked(self) -> int:
        return sum(s.fills_booked for s in self.symbols)

    @property
    def orphan_fills(self) -> list[VenueFill]:
        return [x for s in self.symbols for x in s.orphan_fills]

    @property
    def foreign_open_orders(self) -> list[VenueOrderUpdate]:
        return [x for s in self.symbols for x in s.foreign_open_orders]

    @property
    def differences(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Every difference: an asset, ``position`` (one symbol) or ``position <SYMBOL>`` (several)."""
        several = len(self.symbols) > 1
        out = dict(self.account_differences)
        for part in self.symbols:
            for name, figures in part.differences.items():
                out[f"{name} {part.symbol}" if several and name == POSITION else name] = figures
        return out

    @property
    def ok(self) -> bool:
        """Nothing unexplained, now or left from before."""
        return all(s.ok for s in self.symbols) and not (self.account_differences or self.earlier_mismatch)

    def describe(self) -> list[str]:
        """A few lines for the console and the logs (with several symbols, what each one found under
        its name)."""
        name = f"{self.venue} {self.market}"
        lines = [f"{name}: {'reconciled' if self.ok else 'MISMATCH'} (baseline {self.baseline})"]
        if len(self.symbols) == 1:
            lines += self.symbols[0].describe()
        else:
            for part in self.symbols:
                said = part.describe("    ")
                if said:
                    lines.append(f"  {part.symbol}: {'reconciled' if part.ok else 'MISMATCH'}")
                    lines += said
        for asset, (expected, actual) in self.account_differences.items():
            lines.append(f"  {asset}: journal says {wire(expected)}, venue says {wire(actual)}")
        for move in self.in_transit:
            lines.append(f"  in transit: {move}")
        if self.earlier_mismatch:
            lines.append(f"  an earlier mismatch awaits a decision ({self.earlier_mismatch}): check the account, "
                         "then arb reconcile --accept-venue-state")  # fmt: skip
        return lines


def expected_holdings(fills: Iterable[VenueFill], base: str, quote: str, *, spot: bool) -> dict[str, Decimal]:
    """What the fills (of one symbol, whose base asset is ``base``) changed, per asset (spot) or in the
    position (linear, key ``"position"``)."""
    out: dict[str, Decimal] = {}
    for fill in fills:
        if spot:
            out[base] = out.get(base, ZERO) + fill.side * fill.qty
            out[quote] = out.get(quote, ZERO) - fill.side * fill.qty * fill.price
            if fill.fee and fill.fee_asset:
                out[fill.fee_asset] = out.get(fill.fee_asset, ZERO) - fill.fee
        else:
            out[POSITION] = out.get(POSITION, ZERO) + fill.side * fill.qty
    return out


def _baseline_key(venue: str, market: str) -> str:
    return f"baseline/{venue}/{market}"


def _transfers_key(venue: str, market: str) -> str:
    # what the account's moves had put into the trading wallet when the baseline was set (an asset's total)
    return f"baseline-transfers/{venue}/{market}"


def _position_key(symbol: str) -> str:
    # a linear symbol's position in the stored baseline
    return f"{POSITION}:{symbol}"


def _base_of(symbol: str, quote: str, executor: VenueExecutor) -> str:
    # The base asset of ``symbol``: the venue's for a traded one, else the symbol less its quote
    market = executor.market_of(symbol)
    if market is not None:
        return market.base_asset
    return symbol[: -len(quote)] if quote and symbol.endswith(quote) else symbol


async def reconcile_venue(
    executor: VenueExecutor,
    journal: ReconcileJournal,
    *,
    accept_venue_state: bool = False,
    timeout_ns: int,
) -> VenueReconciliation:
    """Reconcile one venue-market, every traded symbol (see the module docstring); the executor must be
    started."""
    venue, market = executor.venue, executor.market
    report = VenueReconciliation(venue, market, [SymbolReconciliation(s) for s in executor.symbols])
    now = executor.clock()
    # 1. in-flight intents, asked about until the venue settles them; one of a symbol no longer traded
    # cannot be (its market is not loaded): it stays unexplained until the symbol is traded again
    orders = []
    for order in journal.in_flight_orders(venue, market):
        if executor.market_of(order.symbol) is None:
            report.symbol(order.symbol).still_in_flight.append(
                f"{order.client_id} ({order.state.value}; {order.symbol} is not in [strategy] symbols: "
                "trade it again to find this order out)"
            )
            continue
        orders.append(taken_over(order, now))
    known_before = journal.trade_keys(venue, market)
    # a fill journaled as no order's becomes an order's once the order's venue id is known (step 1's answers)
    executor.adopt(orders, known_before, journal.orphan_fills(venue, market))
    if isinstance(executor, QuotingVenueExecutor):
        for order in orders:
            if is_quote(order):
                executor.cancel_left_quote(order, now)
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
        part = report.symbol(order.symbol)
        if order.answered:
            part.resolved.append(f"{order.client_id}: {order.state.value}")
        else:
            part.still_in_flight.append(f"{order.client_id} ({order.state.value})")
    # 2. trades made while arb was down: per symbol, from the last fill known or its oldest intent in flight
    for m in executor.markets:
        starts = [o.intent_ns // 1_000_000 for o in orders if o.symbol == m.symbol]
        if last := journal.last_fill_ms(venue, market, m.symbol):
            starts.append(last)
        m.last_fill_ms = min(starts) if starts else 0
    await executor.sweep()
    for symbol, _ in journal.trade_keys(venue, market) - known_before:
        report.symbol(symbol).fills_booked += 1
    for fill in executor.orphan_fills:
        report.symbol(executor.markets[0].symbol if not fill.symbol else fill.symbol).orphan_fills.append(fill)
    # 3. open orders arb does not know
    for m in executor.markets:
        for update in await executor.open_orders(m.symbol):
            if update.client_id not in executor.orders:
                report.symbol(m.symbol).foreign_open_orders.append(update)
    # 4. holdings against the journal's fills, relative to the baseline
    _compare_holdings(report, executor, journal, await _holdings(executor), accept_venue_state)
    # 5. a mismatch holds until a person accepts the venue's state, across restarts
    mismatch_key = f"mismatch/{venue}/{market}"
    if accept_venue_state:
        if journal.get_state(mismatch_key) is not None:
            journal.set_state(mismatch_key, "")
    elif not report.ok:
        said = [line.strip() for line in report.describe()[1:]
                if not line.strip().startswith(("resolved", "booked", "in transit"))]  # fmt: skip
        journal.set_state(mismatch_key, f"found at {executor.clock() // 1_000_000} ms: " + "; ".join(said[:4]))
    elif earlier := journal.get_state(mismatch_key):
        report.earlier_mismatch = earlier
    journal.flush()
    for line in report.describe():
        (log.info if report.ok else log.error)("%s", line)
    return report


async def _holdings(executor: VenueExecutor) -> dict[str, Decimal]:
    # What the venue holds: spot balances per asset, or each traded symbol's position (``position:<SYMBOL>``)
    if executor.market == "spot":
        return await executor.balances()
    return {_position_key(m.symbol): await executor.position(m.symbol) for m in executor.markets}


def _compare_holdings(
    report: VenueReconciliation,
    executor: VenueExecutor,
    journal: ReconcileJournal,
    actual: dict[str, Decimal],
    accept_venue_state: bool,
) -> None:
    # Step 4: the baseline plus what the journal's fills and (spot) the account's moves of money since it
    # moved, against the venue's holdings.
    venue, market, quote = executor.venue, executor.market, executor.quote_asset
    spot = market == "spot"
    rows = journal.transfers()
    report.in_transit = in_transit(rows, venue)
    transferred = _transferred_since(journal, venue, market, trading_wallet_moves(rows, venue, market) if spot else {},
                                     reset=accept_venue_state)  # fmt: skip
    moved: dict[str, Decimal] = {}
    by_symbol: dict[str, list[VenueFill]] = {}
    for fill in journal.venue_fills(venue, market):  # every symbol ever traded here, traded now or not
        by_symbol.setdefault(fill.symbol or executor.markets[0].symbol, []).append(fill)
    for symbol, fills in by_symbol.items():
        for name, amount in expected_holdings(fills, _base_of(symbol, quote, executor), quote, spot=spot).items():
            key = name if spot else _position_key(symbol)
            moved[key] = moved.get(key, ZERO) + amount
    own = {m.symbol: (m.base_asset if spot else _position_key(m.symbol)) for m in executor.markets}
    """Each traded symbol's holding: its base asset, or its position."""
    for name, amount in transferred.items():
        moved[name] = moved.get(name, ZERO) + amount
    names = sorted(set(moved) | set(own.values()) | ({quote} if spot else set()))
    key = _baseline_key(venue, market)
    stored = journal.get_state(key)
    if stored is None or accept_venue_state:
        baseline = {a: actual.get(a, ZERO) - moved.get(a, ZERO) for a in names}
        journal.set_state(key, json.dumps({a: str(v) for a, v in baseline.items()}))
        report.baseline = "accepted" if stored is not None else "set"
        if stored is None and moved:
            log.warning(
                "%s %s: the journal had fills but no baseline; taking the venue's state as it is", venue, market
            )
    else:
        baseline = {a: Decimal(v) for a, v in json.loads(stored).items()}
        legacy = baseline.pop(POSITION, None)  # one symbol's position, before arb traded several: the first's
        if legacy is not None:
            baseline.setdefault(_position_key(executor.markets[0].symbol), legacy)
        report.baseline = "kept"
        met = [s for s, name in own.items() if name not in baseline and name not in moved]
        if met:  # never traded, never in the baseline: met for the first time, as they are
            for symbol in met:
                baseline[own[symbol]] = actual.get(own[symbol], ZERO) - transferred.get(own[symbol], ZERO)
            journal.set_state(key, json.dumps({a: str(v) for a, v in baseline.items()}))
            report.baseline = f"extended: {', '.join(met)} met for the first time"
    owner = {name: symbol for symbol, name in own.items()}
    for name in sorted(set(names) | set(baseline)):
        expected = baseline.get(name, ZERO) + moved.get(name, ZERO)
        have = actual.get(name, ZERO)
        if abs(expected - have) <= _TOLERANCE:
            continue
        if name in owner:
            report.symbol(owner[name]).differences[name if spot else POSITION] = (expected, have)
        elif not spot and name.startswith(f"{POSITION}:"):  # a symbol no longer traded
            report.symbol(name.split(":", 1)[1]).differences[POSITION] = (expected, have)
        else:
            report.account_differences[name] = (expected, have)


def _transferred_since(journal: ReconcileJournal, venue: str, market: str, now: dict[str, Decimal], *,
                       reset: bool) -> dict[str, Decimal]:  # fmt: skip
    # What the account's moves put into the trading wallet since the baseline was set, per asset: ``now`` (all
    # of them so far) less what they had put there then (kept beside the baseline, set anew with it). A
    # baseline set before arb counted the moves has none kept: every move made until now is in it.
    key = _transfers_key(venue, market)
    stored = journal.get_state(key)
    if reset or not stored or journal.get_state(_baseline_key(venue, market)) is None:
        journal.set_state(key, json.dumps({a: str(v) for a, v in now.items()}))
        then = now
    else:
        then = {a: Decimal(v) for a, v in json.loads(stored).items()}
    since = {a: now.get(a, ZERO) - then.get(a, ZERO) for a in set(now) | set(then)}
    return {a: amount for a, amount in since.items() if amount}


def summarize(reports: Iterable[VenueReconciliation]) -> dict[str, Any]:
    """The reports as JSON-ready data (for ``arb reconcile --json`` and the journal's state): per
    venue-market its totals, and under ``symbols`` what each symbol found."""

    def found(r: SymbolReconciliation | VenueReconciliation) -> dict[str, Any]:
        # What a symbol found, or a venue-market over all its symbols: the same keys for both
        return {
            "resolved": r.resolved,
            "still_in_flight": r.still_in_flight,
            "fills_booked": r.fills_booked,
            "orphan_fills": [f.trade_id for f in r.orphan_fills],
            "foreign_open_orders": [o.venue_order_id for o in r.foreign_open_orders],
            "differences": {a: [str(e), str(h)] for a, (e, h) in r.differences.items()},
        }

    return {
        f"{r.venue}-{r.market}": {
            "ok": r.ok,
            "baseline": r.baseline,
            **found(r),
            "account_differences": {a: [str(e), str(h)] for a, (e, h) in r.account_differences.items()},
            "earlier_mismatch": r.earlier_mismatch,
            "in_transit": r.in_transit,
            "symbols": {p.symbol: {"ok": p.ok, **found(p)} for p in r.symbols},
        }
        for r in reports
    }
