"""Live orders: the states an order goes through, and what venues tell arb about it.

Every order arb sends is a :class:`LiveOrder` driven by named transitions. Its fate is never guessed:

    pending --request written--> sent --venue answered--> accepted | rejected
          \\                           \\--no answer / 5xx--> unknown --venue queried--> (its real state)
           \\--refused locally (ban, grid, journal)--> rejected

and, from accepted (or straight from sent or unknown when the user stream speaks first), the venue's
own states: partially filled, then filled, expired (an immediate-or-cancel order's unfilled rest) or
canceled. Terminal states are sticky and executed quantities only grow, so an answer that arrives
late (a REST reply after the stream already said "filled") never moves an order back.

An order is **done** for the strategy when its state is terminal *and* every fill the venue reported
(its executed quantity) has been seen with its trade id: only then does the engine learn of it, with
one average price and quantity, exactly as the paper executor answers. Fills are kept one by one,
keyed by the venue's trade id, so each is booked once whichever way it arrives (user stream, REST
reply, REST sweep, reconciliation).

Venue messages are turned into :class:`VenueOrderUpdate` and :class:`VenueFill` by the connectors
(``connectors.<venue>.orders``), exact decimals kept as the venue wrote them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from arb.execution.paper import Rejection

__all__ = ["LiveOrder", "OrderState", "VenueFill", "VenueOrderUpdate"]

ZERO = Decimal(0)


class OrderState(Enum):
    PENDING = "pending"
    """Committed to the journal; the request is not written yet."""
    SENT = "sent"
    """The request's bytes were written; no answer yet."""
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    EXPIRED = "expired"
    CANCELED = "canceled"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    """The request may or may not have reached the book; only a query to the venue says."""

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def in_flight(self) -> bool:
        return not self.terminal


_TERMINAL = frozenset({OrderState.FILLED, OrderState.EXPIRED, OrderState.CANCELED, OrderState.REJECTED})


@dataclass(frozen=True, slots=True)
class VenueOrderUpdate:
    """An order's state as the venue reports it (REST reply, query, or user stream)."""

    client_id: str
    venue_order_id: str
    state: OrderState
    executed_qty: Decimal
    """Cumulative executed quantity."""
    cum_quote: Decimal | None = None
    """Cumulative traded value, when the venue says (to derive the average price)."""
    exch_ts_ms: int = 0
    symbol: str = ""


@dataclass(frozen=True, slots=True)
class VenueFill:
    """One execution, exactly as the venue reported it."""

    trade_id: str
    client_id: str
    """Empty when the venue's message does not carry it (REST trade history): matched by order id."""
    venue_order_id: str
    side: int
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_asset: str
    exch_ts_ms: int
    is_maker: bool = False
    symbol: str = ""


@dataclass(slots=True)
class LiveOrder:
    """One order sent to a venue: the engine's fields (as :class:`PaperOrder`) plus its live life.

    Engine-facing: ``order_id`` (arb's sequence number), ``venue``, ``side``, ``price``, ``qty``,
    ``kind``, ``pair_id``, ``sent_ts`` (decision time), ``arrive_ts`` (the venue's time of its last
    fill or answer), ``respond_ts`` (local time it was done), ``status`` ("filled" when anything
    filled, else "expired", "canceled" or "rejected"), ``fill_price`` (average), ``fill_qty``,
    ``fee`` (quote currency), ``rejection``.
    """

    order_id: int
    client_id: str
    venue: int
    side: int
    price: float
    qty: float
    kind: int
    pair_id: int
    sent_ts: int
    price_text: str
    qty_text: str
    symbol: str
    symbol_index: int = 0
    """The symbol's number in ``[strategy] symbols`` (the engine's per-symbol arrays)."""
    reduce_only: bool = False
    state: OrderState = OrderState.PENDING
    venue_order_id: str = ""
    executed_qty: Decimal = ZERO
    """What the venue says was executed (may run ahead of the fills seen so far)."""
    fills: dict[str, VenueFill] = field(default_factory=dict)
    rejection: Rejection | None = None
    # timings, local ns: intent (decision), request written, answer, first fill, done
    intent_ns: int = 0
    written_ns: int = 0
    ack_ns: int = 0
    first_fill_ns: int = 0
    respond_ts: int = 0
    arrive_ts: int = 0
    unknown_since_ns: int = 0
    not_found: int = 0
    """Consecutive queries that did not find the order (for an unknown one)."""
    answered: bool = False
    """The engine has been told (done)."""
    # engine-facing aggregates, set when done
    status: str = "sent"
    fill_price: float = 0.0
    fill_qty: float = 0.0
    fee: float = 0.0
    """The whole fee's value in the quote currency (fees in the base coin valued at the fill price)."""
    base_fee: float = 0.0
    """The part of the fee paid in the base coin, base units: the position moved by that much less."""

    @property
    def filled(self) -> Decimal:
        """Sum of the fills seen (each trade id once)."""
        return sum((f.qty for f in self.fills.values()), ZERO)

    @property
    def done(self) -> bool:
        """Terminal, and every execution the venue reported has been seen as a fill."""
        return self.state.terminal and self.filled >= self.executed_qty

    def apply(self, update: VenueOrderUpdate) -> bool:
        """Take a venue report; returns True if it moved the order. Never moves a terminal order back."""
        moved = False
        if update.venue_order_id and not self.venue_order_id:
            self.venue_order_id = update.venue_order_id
            moved = True
        if update.executed_qty > self.executed_qty:
            self.executed_qty = update.executed_qty
            moved = True
        if not self.state.terminal and update.state is not self.state and _rank(update.state) >= _rank(self.state):
            self.state = update.state
            moved = True
        return moved

    def add_fill(self, fill: VenueFill, now_ns: int) -> bool:
        """Book one fill (once per trade id); returns False for a fill already booked."""
        if fill.trade_id in self.fills:
            return False
        self.fills[fill.trade_id] = fill
        if not self.first_fill_ns:
            self.first_fill_ns = now_ns
        if self.filled > self.executed_qty:
            self.executed_qty = self.filled
        if not self.state.terminal:
            self.state = OrderState.FILLED if self.filled >= Decimal(self.qty_text) else OrderState.PARTIALLY_FILLED
        return True

    def settle(self, now_ns: int, quote_asset: str, base_asset: str) -> None:
        """Fill in the engine-facing aggregates once done (average price, quantity, fee in quote)."""
        qty = self.filled
        self.respond_ts = now_ns
        if self.state is OrderState.REJECTED:
            self.status = "rejected"
            return
        if qty <= 0:
            self.status = "canceled" if self.state is OrderState.CANCELED else "expired"
            return
        cost = sum((f.price * f.qty for f in self.fills.values()), ZERO)
        fee = ZERO
        base_fee = ZERO
        for f in self.fills.values():
            if f.fee_asset == quote_asset or not f.fee_asset:
                fee += f.fee
            elif f.fee_asset == base_asset:
                fee += f.fee * f.price
                base_fee += f.fee
        self.status = "filled"
        self.fill_qty = float(qty)
        self.fill_price = float(cost / qty)
        self.fee = float(fee)
        self.base_fee = float(base_fee)
        self.arrive_ts = max(f.exch_ts_ms for f in self.fills.values()) * 1_000_000


_RANK = {
    OrderState.PENDING: 0,
    OrderState.SENT: 1,
    OrderState.UNKNOWN: 2,
    OrderState.ACCEPTED: 3,
    OrderState.PARTIALLY_FILLED: 4,
    OrderState.FILLED: 5,
    OrderState.EXPIRED: 5,
    OrderState.CANCELED: 5,
    OrderState.REJECTED: 5,
}


def _rank(state: OrderState) -> int:
    return _RANK[state]
