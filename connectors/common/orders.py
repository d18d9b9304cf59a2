"""What a venue says about an order, in arb's words: its state, its executed quantity, its fills.

The venue adapters (``connectors.<venue>.orders``) turn the venues' order and execution messages (user
stream events and REST bodies) into these plain, frozen values, exact decimals kept as the venue wrote
them; the live executor (``arb.execution``) drives its orders with them. They live here, below the
executor, so a connector never imports the strategy side.

An order's states, as arb names them (every venue's statuses map onto these)::

    pending --request written--> sent --venue answered--> accepted | rejected
          \\                           \\--no answer / 5xx--> unknown --venue queried--> (its real state)
           \\--refused locally (ban, grid, journal)--> rejected

and, from accepted (or straight from sent or unknown when the user stream speaks first), the venue's
own: partially filled, then filled, expired (an immediate-or-cancel order's unfilled rest) or
canceled. Filled, expired, canceled and rejected are terminal.
"""

from __future__ import annotations

__all__ = ["Answer", "OrderState", "RefusalAnswers", "VenueFill", "VenueOrderUpdate"]

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

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


Answer = tuple[int | str, str]
"""A venue's answer to a request it refuses: its code (Binance's ``code``, Bybit's ``retCode`` or reject
reason) and its text."""


@dataclass(frozen=True, slots=True)
class RefusalAnswers:
    """What one venue-market answers, in its own codes and words, to an order it refuses before it trades,
    to a post-only order that would take, and to a cancel of an order no longer open: the paper venue
    (``arb.execution.paper``) answers so in its place, so a dry run's refusals read as the venue's."""

    price: Answer
    """A price off the tick grid."""
    lot: Answer
    """A quantity off the lot grid."""
    notional: Answer
    """A value below the minimum notional."""
    balance: Answer
    """Not enough balance (spot) or margin (linear)."""
    post_only: Answer
    """A post-only order that would have taken liquidity."""
    cancel_miss: Answer
    """A cancel of an order that is not open any more."""
    min_qty: Answer | None = None
    """A quantity below the minimum, where the venue words it apart from ``lot``."""
