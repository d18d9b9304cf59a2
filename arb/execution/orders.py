"""Live orders: the states an order goes through, and what venues tell arb about it.

Every order arb sends is a :class:`LiveOrder` driven by named transitions between the states of
:class:`~connectors.common.orders.OrderState` (pending, sent, accepted or rejected or unknown, then the
venue's own). Its fate is never guessed: an unknown order is found out by querying the venue. Terminal
states are sticky and executed quantities only grow, so an answer that arrives late (a REST reply after
the stream already said "filled") never moves an order back.

An order is **done** for the strategy when its state is terminal *and* every fill the venue reported
(its executed quantity) has been seen with its trade id: only then does the engine learn of it, with
one average price and quantity, exactly as the paper executor answers. Fills are kept one by one,
keyed by the venue's trade id, so each is booked once whichever way it arrives (user stream, REST
reply, REST sweep, reconciliation).

Venue messages are turned into :class:`~connectors.common.orders.VenueOrderUpdate` and
:class:`~connectors.common.orders.VenueFill` by the venue adapters (``connectors.<venue>``), exact
decimals kept as the venue wrote them; those types and :class:`~connectors.common.orders.OrderState`
live in ``connectors.common.orders`` (below the executor) and are re-exported here.
"""

from __future__ import annotations

__all__ = ["LiveOrder", "OrderState", "VenueFill", "VenueOrderUpdate", "fees_of", "new_order", "unvalued_fees"]

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from arb.execution.leg_faults import FAULT_NONE
from arb.execution.paper import EngineOrder, OrderStatus, Rejection
from arb.execution.price_grid import grid_price, grid_qty, wire
from connectors.common.orders import OrderState, VenueFill, VenueOrderUpdate

ZERO = Decimal(0)


@dataclass(slots=True, kw_only=True)
class LiveOrder(EngineOrder):
    """One order sent to a venue: the engine's fields (as :class:`PaperOrder`) plus its live life.

    Engine-facing: ``order_id`` (arb's sequence number), ``venue``, ``side``, ``price``, ``qty``,
    ``kind``, ``pair_id``, ``sent_ts`` (decision time), ``arrive_ts`` (the venue's time of its last
    fill or answer), ``respond_ts`` (local time it was done), ``status`` ("filled" when anything
    filled, else "expired", "canceled" or "rejected"), ``fill_price`` (average), ``fill_qty``,
    ``fee`` (quote currency), ``rejection``.
    """

    client_id: str
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
    # a resting quote's (the maker_taker style): what the engine was told while it rested
    told_live: bool = False
    """The engine was told the quote rests."""
    told_fills: set[str] = field(default_factory=set)
    """The trade ids of the fills the engine was handed one by one (each once)."""
    cancel_ns: int = 0
    """When a cancel was last sent (0: none)."""
    checked_ns: int = 0
    """When the venue was last asked about it."""
    # engine-facing aggregates, set when done
    status: OrderStatus = OrderStatus.SENT
    fill_price: float = 0.0
    fill_qty: float = 0.0
    fee: float = 0.0
    """The whole fee's value in the quote currency (fees in the base coin valued at the fill price)."""
    base_fee: float = 0.0
    """The part of the fee paid in the base coin, base units: the position moved by that much less."""
    fault = FAULT_NONE  # a class constant: the paper order's leg fault, which a real venue never draws

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

    def settle(
        self, now_ns: int, quote_asset: str, base_asset: str, told: Collection[str] = (),
        prices: Mapping[str, Decimal] | None = None,
    ) -> None:  # fmt: skip
        """Fill in the engine-facing aggregates once done (average price, quantity, fee in quote), over the
        fills whose trade ids are not in ``told`` (those the engine booked already: a reopened order's);
        ``prices``: a third coin's price in quote, for fees paid in it (:func:`fees_of`)."""
        fills = [f for trade_id, f in self.fills.items() if trade_id not in told]
        qty = sum((f.qty for f in fills), ZERO)
        self.respond_ts = now_ns
        if self.state is OrderState.REJECTED:
            self.status = OrderStatus.REJECTED
            return
        if qty <= 0:
            self.status = OrderStatus.CANCELED if self.state is OrderState.CANCELED else OrderStatus.EXPIRED
            return
        cost = sum((f.price * f.qty for f in fills), ZERO)
        fee, base_fee = fees_of(fills, quote_asset, base_asset, prices)
        self.status = OrderStatus.FILLED
        self.fill_qty = float(qty)
        self.fill_price = float(cost / qty)
        self.fee = float(fee)
        self.base_fee = float(base_fee)
        self.arrive_ts = max(f.exch_ts_ms for f in fills) * 1_000_000


def fees_of(
    fills: Iterable[VenueFill], quote_asset: str, base_asset: str, prices: Mapping[str, Decimal] | None = None
) -> tuple[Decimal, Decimal]:
    """The fills' fees: the whole fee's value in quote (a fee in the base coin at its fill's price, one in a
    third coin such as Binance's BNB at its price in ``prices``), and the part paid in the base coin (base
    units). A fee in a third coin without a price is not in it: :func:`unvalued_fees` names those."""
    fee = ZERO
    base_fee = ZERO
    for f in fills:
        if f.fee_asset == quote_asset or not f.fee_asset:
            fee += f.fee
        elif f.fee_asset == base_asset:
            fee += f.fee * f.price
            base_fee += f.fee
        elif prices and f.fee_asset in prices:
            fee += f.fee * prices[f.fee_asset]
    return fee, base_fee


def unvalued_fees(
    fills: Iterable[VenueFill], quote_asset: str, base_asset: str, prices: Mapping[str, Decimal] | None = None
) -> list[VenueFill]:
    """The fills whose fee is in neither the quote nor the base asset nor a coin of ``prices`` (Binance's
    BNB when the account pays fees in it and its price is not known): :func:`fees_of` could not value them."""
    known = (quote_asset, base_asset, *(prices or ()))
    return [f for f in fills if f.fee and f.fee_asset and f.fee_asset not in known]


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


class Grids(Protocol):
    """A symbol's market as an order is put on it (:class:`~arb.execution.live_parts.VenueMarket`)."""

    @property
    def symbol(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def tick(self) -> Decimal: ...
    @property
    def step(self) -> Decimal: ...


def new_order(order_id: int, client_id: str, venue: int, market: Grids, side: int, price: float, qty: float,
              kind: int, pair_id: int, now: int, intent_ns: int, *,
              reduce_only: bool) -> tuple[LiveOrder, Decimal]:  # fmt: skip
    """An order the engine asks for, put on ``market``'s grids (the price away from the book's side of it,
    the quantity down to a lot), and its quantity as sent (0: less than one lot)."""
    price_d, qty_d = grid_price(price, market.tick, side), grid_qty(qty, market.step)
    order = LiveOrder(
        order_id=order_id, client_id=client_id, venue=venue, side=side, price=float(price_d), qty=float(qty_d),
        kind=kind, pair_id=pair_id, sent_ts=now, price_text=wire(price_d), qty_text=wire(qty_d),
        symbol=market.symbol, symbol_index=market.index, reduce_only=reduce_only, intent_ns=intent_ns,
    )  # fmt: skip
    return order, qty_d
