"""What a simulated venue's ledger keeps: orders, trades, accounts, positions, funding, and the events.

Plain records and enums (:class:`SymbolRules`, :class:`LedgerOrder`, :class:`LedgerTrade`,
:class:`LedgerAccount`, :class:`FundingPayment`, :class:`LedgerEvent`...) that
:class:`arb.sim.ledger.venue_ledger.Ledger` fills in and the venues' wire formats render. Money is
:class:`decimal.Decimal` throughout.
"""

from __future__ import annotations

__all__ = [
    "FEE_COIN_DISCOUNT",
    "FUNDING_QUANTUM",
    "ZERO",
    "Balance",
    "BookLevels",
    "ClientIdScope",
    "ExecType",
    "FundingPayment",
    "LedgerAccount",
    "LedgerEvent",
    "LedgerOrder",
    "LedgerTrade",
    "Listener",
    "OrderStatus",
    "OrderType",
    "Position",
    "PostOnlyRefusal",
    "RejectReason",
    "Side",
    "SymbolRules",
    "TimeInForce",
    "VenueRejectError",
]

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Literal

ZERO = Decimal(0)
FUNDING_QUANTUM = Decimal("0.00000001")
"""Funding payments are rounded (half up) to 8 decimals of the settle asset, as the venues show them."""
FEE_COIN_DISCOUNT = Decimal("0.75")
"""What a fee paid in the fee coin costs of the rate (Binance's 25 % off with BNB, its ``discount``)."""

BookLevels = Sequence[tuple[str, str]]
"""Price levels as the public fake spells them: ``(price, qty)`` strings, best first."""


class Side(Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(Enum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(Enum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    POST_ONLY = "post_only"
    """Binance ``GTX``/``LIMIT_MAKER``, Bybit ``PostOnly``: never takes liquidity. One that would is refused
    (Binance) or accepted and expired at once (Bybit), as the ledger's ``post_only_taking`` says."""


class OrderStatus(Enum):
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class ExecType(Enum):
    """Why a :class:`LedgerEvent` was sent (Binance's ``x``; Bybit's order/execution topics)."""

    NEW = "new"
    TRADE = "trade"
    CANCELED = "canceled"
    EXPIRED = "expired"


class RejectReason(Enum):
    """Why the venue refused an order; each venue maps these to its own code and message."""

    UNKNOWN_SYMBOL = "unknown_symbol"
    PRICE_TICK = "price_tick"
    """Price not a multiple of the tick (Binance spot PRICE_FILTER, USD-M -4014, Bybit 170134)."""
    PRICE_RANGE = "price_range"
    """Price below minPrice or above maxPrice."""
    QTY_STEP = "qty_step"
    """Quantity not a multiple of the step (LOT_SIZE, -4023/-1111, 170137)."""
    QTY_MIN = "qty_min"
    QTY_MAX = "qty_max"
    NOTIONAL_MIN = "notional_min"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    DUPLICATE_CLIENT_ID = "duplicate_client_id"
    INVALID_CLIENT_ID = "invalid_client_id"
    REDUCE_ONLY = "reduce_only"
    """A reduce-only order that would not reduce the position."""
    PRICE_REQUIRED = "price_required"
    FOK_UNFILLED = "fok_unfilled"
    POST_ONLY_TAKES = "post_only_takes"
    """A post-only order that would take liquidity (Binance spot ``-2010 Order would immediately match and
    take.``, USD-M ``-5022``); only a ledger with ``post_only_taking="reject"`` refuses it."""


class VenueRejectError(Exception):
    """The venue refused an order before it reached the book."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


ClientIdScope = Literal["open", "all"]
"""Binance refuses a client id only while an order with it is open (``"open"``: an IOC's id can be
used again once it is done, which is why resending after a timeout can double an order); Bybit keeps
``orderLinkId`` unique for good (``"all"``)."""


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """One symbol's trading rules, as the venue publishes them."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal = Decimal(9_000)
    min_notional: Decimal = ZERO
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal(4_000_000)

    @classmethod
    def of(
        cls,
        symbol: str,
        *,
        tick_size: str,
        step_size: str,
        min_qty: str | None = None,
        min_notional: str = "0",
        base: str | None = None,
        quote: str | None = None,
    ) -> SymbolRules:
        """Rules from decimal strings; base/quote default to splitting off USDT/USDC/BTC/..."""
        if base is None or quote is None:
            quote = next((q for q in ("USDT", "USDC", "FDUSD", "BTC", "ETH") if symbol.endswith(q)), "USDT")
            base = symbol[: -len(quote)]
        tick = Decimal(tick_size)
        return cls(
            symbol=symbol,
            base=base,
            quote=quote,
            tick_size=tick,
            step_size=Decimal(step_size),
            min_qty=Decimal(min_qty if min_qty is not None else step_size),
            min_notional=Decimal(min_notional),
            min_price=tick,
        )


@dataclass(slots=True)
class Balance:
    free: Decimal = ZERO
    locked: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(slots=True)
class Position:
    """A one-way linear position: signed quantity, average entry price, realised PnL."""

    symbol: str
    qty: Decimal = ZERO
    entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    leverage: Decimal = Decimal(10)
    funding: Decimal = ZERO
    """Funding received minus paid on the symbol (Bybit's ``cumRealisedPnl`` counts it)."""

    @property
    def initial_margin(self) -> Decimal:
        return abs(self.qty) * self.entry_price / self.leverage


@dataclass(slots=True)
class LedgerTrade:
    """One execution: an order against one price level."""

    trade_id: int
    order_id: int
    client_id: str
    account: str
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_asset: str
    time_ms: int
    is_maker: bool = False
    realized_pnl: Decimal = ZERO

    @property
    def quote_qty(self) -> Decimal:
        return self.price * self.qty


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One funding settlement of one account's position, as the venue records it."""

    payment_id: int
    """The venue's id of the record (Binance ``tranId``; the base of Bybit's ids)."""
    account: str
    symbol: str
    funding_ms: int
    """The funding time it settles, venue ms."""
    time_ms: int
    """When the venue booked it, venue ms."""
    rate: Decimal
    """The funding rate the venue announced for that time (positive: longs pay shorts)."""
    mark_price: Decimal
    """The mark price the venue announced last before it."""
    position: Decimal
    """The position held at the funding time, signed base units."""
    payment: Decimal
    """Settle asset into the wallet: ``-position x mark_price x rate`` (> 0 received, < 0 paid), rounded
    to :data:`FUNDING_QUANTUM`."""
    balance: Decimal
    """The wallet (settle asset, free + locked) after it."""

    @property
    def value(self) -> Decimal:
        """The position's value the rate applied to: ``|position| x mark_price``."""
        return abs(self.position) * self.mark_price


@dataclass(slots=True)
class LedgerOrder:
    """One order as the venue keeps it."""

    order_id: int
    client_id: str
    account: str
    symbol: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    price: Decimal | None
    qty: Decimal
    reduce_only: bool
    created_ms: int
    updated_ms: int
    status: OrderStatus = OrderStatus.NEW
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    fee: Decimal = ZERO
    trades: list[LedgerTrade] = field(default_factory=list)
    locked: Decimal = ZERO
    """What the order holds locked (spot: quote for a buy, base for a sell; linear: margin)."""
    hidden_queries: int = 0
    """Queries that must still answer "not found" (the fault "visible to queries only later")."""

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.executed_qty


@dataclass(slots=True)
class LedgerAccount:
    """One account: credentials, assets (spot) or wallet and positions (linear), orders and trades."""

    name: str
    api_key: str
    api_secret: str
    balances: dict[str, Balance] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    orders: list[LedgerOrder] = field(default_factory=list)
    trades: list[LedgerTrade] = field(default_factory=list)
    fundings: list[FundingPayment] = field(default_factory=list)
    """Funding payments booked on the account's positions, oldest first (linear)."""
    can_trade: bool = True

    def balance(self, asset: str) -> Balance:
        found = self.balances.get(asset)
        if found is None:
            found = self.balances[asset] = Balance()
        return found

    def position(self, symbol: str) -> Position:
        found = self.positions.get(symbol)
        if found is None:
            found = self.positions[symbol] = Position(symbol)
        return found


@dataclass(frozen=True, slots=True)
class PostOnlyRefusal:
    """A post-only order that would have taken when it arrived: refused (Binance) or expired at once (Bybit)."""

    account: str
    client_id: str
    side: Side
    price: Decimal | None
    book_version: int
    """The venue's book version it met (:class:`~arb.sim.ledger.Ledger`'s ``book_version()``)."""
    time_ms: int
    refused: bool
    """True: refused, never recorded; False: recorded and expired."""


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """A change the user stream announces: an order's new state, with the trade that caused it."""

    account: str
    order: LedgerOrder
    exec_type: ExecType
    trade: LedgerTrade | None
    time_ms: int
    status: OrderStatus
    """The order's status at this event (the order object itself moves on)."""
    executed_qty: Decimal
    cum_quote: Decimal


Listener = Callable[[LedgerEvent | FundingPayment], None]
"""What an account's listener is called with: an order's change, or a funding payment on a position."""
