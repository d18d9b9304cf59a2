"""A venue's private side behind one small protocol: what the live executor needs of it, and nothing more.

The executor (``arb.execution``) keeps an order's life cycle: the intent journaled before the request,
the answer classified, an unknown order resolved by query, every fill booked once. Everything that
depends on the venue is asked of its adapter, a :class:`PrivateVenue` (``connectors/<venue>/private.py``,
found by name through :mod:`connectors.registry`):

============================  ==========================================================================
the client                    :meth:`~PrivateVenue.make_client`: a ccxt client for the market, on the
                              venue file's URLs, with no retry, no throttle and no surprise calls
orders                        :meth:`~PrivateVenue.create` (an :class:`OrderRequest`: immediate-or-cancel
                              today), :meth:`~PrivateVenue.cancel` and :meth:`~PrivateVenue.query` by
                              client id, :meth:`~PrivateVenue.open_orders`, :meth:`~PrivateVenue.cancel_all`
what the venue says           :meth:`~PrivateVenue.order_update` and :meth:`~PrivateVenue.fills`: a user
                              stream message or a REST body in, arb's normalized values out (pure);
                              :meth:`~PrivateVenue.order_trades`, :meth:`~PrivateVenue.trades_since`
                              (REST rows for a sweep); :meth:`~PrivateVenue.watch` (the user stream)
the account                   :meth:`~PrivateVenue.balances`, :meth:`~PrivateVenue.position_and_entry`,
                              :meth:`~PrivateVenue.funding_income`, :meth:`~PrivateVenue.account_fees`
                              (and :meth:`~PrivateVenue.coin_price` for a fee paid in a third coin)
the dead-man's switch         :attr:`~PrivateVenue.dead_man` (its scope), :meth:`~PrivateVenue.arm_dead_man`
                              once, :meth:`~PrivateVenue.keep_dead_man` while trading,
                              :meth:`~PrivateVenue.disarm_dead_man` at a clean stop
rate limits and answers       :meth:`~PrivateVenue.rate_use` (the limit headers),
                              :meth:`~PrivateVenue.rate_limits`, :attr:`~PrivateVenue.answers` (which
                              codes mean unknown, rate limit, bad credentials, bad clock)
a perpetual's settings        :meth:`~PrivateVenue.perpetual_account` once, then
                              :meth:`~PrivateVenue.perpetual_symbol` per traded symbol (linear only):
                              one-way positions, the leverage and margin mode asked
============================  ==========================================================================

Requests go through the executor's :class:`PrivateLink`: one call per venue request, whose failure is
one :class:`~arb.errors.VenueError` worded by the executor's rule (with the venue's code in
``error.code``, which an adapter reads where a code means something: Binance ``-2013`` "Order does not
exist." is an answer to a query, not a failure). An adapter keeps no state but its market: one instance
serves one venue-market for as long as the executor lives.

Adding a venue means adding a folder ``connectors/<venue>/`` with the same file set (``private.py``
exporting ``ADAPTER``, a :class:`PrivateVenue` class taking the market); nothing in ``arb.execution``
names a venue.
"""

from __future__ import annotations

__all__ = [
    "AccountFees",
    "AnswerRules",
    "ClientOptions",
    "DeadManScope",
    "FundingPayment",
    "MarginMode",
    "Market",
    "MarketAssets",
    "OrderRequest",
    "PerpetualSettingsError",
    "PrivateLink",
    "PrivateVenue",
    "RateCount",
    "RateUse",
    "Stream",
    "SymbolRef",
    "TimeInForce",
]

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, Protocol, TypedDict, TypeVar, Unpack, runtime_checkable

from arb.errors import ArbError
from connectors.common.order_entry import CreateSigner, OrderEntry
from connectors.common.orders import VenueFill, VenueOrderUpdate
from connectors.common.rest_lane import PreparedCreate, RestLane

T = TypeVar("T")

Market = Literal["spot", "linear"]
Stream = Literal["orders", "trades"]
MarginMode = Literal["cross", "isolated"]
"""A perpetual's margin mode as the venue file's ``[perpetual] margin_mode`` says it."""


class PerpetualSettingsError(ArbError):
    """A linear venue's account could not be set as the configuration asks: nothing was traded."""


class ClientOptions(TypedDict, total=False):
    """How a venue's client is made, beside its REST base."""

    ws_private: str | None
    """The private stream's URL (the venue file's ``endpoints.ws_private``)."""
    api_key: str | None
    api_secret: str | None
    """The credentials (read from the environment by the caller; they go nowhere else)."""
    api_password: str | None
    """The key's passphrase, for a venue whose keys have one (the venue file's ``api_passphrase``; OKX's
    ``OK-ACCESS-PASSPHRASE``); read from the environment as the key is."""
    network: str
    """The venue file's ``network`` (``"mainnet"``, ``"testnet"``...): a venue whose test network is the
    production hosts with a marker (OKX's demo trading, ``x-simulated-trading: 1``) reads it."""
    timeout_ms: int
    """The client's request timeout (default 10 s)."""
    recv_window_ms: int
    """How long after its timestamp a signed request stays valid (default 5 s)."""
    session: Any
    """An ``aiohttp.ClientSession`` to send through (arb passes one with trace hooks); the client's own
    otherwise."""
    pro: bool
    """With the user streams (ccxt pro)."""


class TimeInForce(Enum):
    """How long an order may rest: immediate-or-cancel (pairs, hedges) or post-only (quotes)."""

    IOC = "IOC"
    """Immediate or cancel: what the book takes at once fills, the rest expires."""
    POST_ONLY = "PO"
    """Post-only, resting until filled or cancelled (the ``maker_taker`` style's quotes): refused if it
    would take. ccxt's generic ``PO`` becomes each venue's own word: Binance spot ``LIMIT_MAKER``, USD-M
    ``timeInForce=GTX``, Bybit ``timeInForce=PostOnly``."""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order to create, on the venue's grid already (prices and quantities as exact wire strings)."""

    symbol: str
    """The venue's id (``"BTCUSDT"``)."""
    ccxt_symbol: str
    """ccxt's (``"BTC/USDT"``, ``"BTC/USDT:USDT"``)."""
    side: int
    """> 0 buy, < 0 sell."""
    qty: str
    price: str
    client_id: str
    """arb's client order id, unique forever (Binance ``newClientOrderId``, Bybit ``orderLinkId``)."""
    reduce_only: bool = False
    time_in_force: TimeInForce = TimeInForce.IOC


@dataclass(frozen=True, slots=True)
class MarketAssets:
    """What a fill's fee asset defaults to when the venue's message does not say (see Bybit)."""

    base: str
    quote: str


@dataclass(frozen=True, slots=True)
class AccountFees:
    """One symbol's trading fees for the account, as the venue states them (fractions of the traded value).

    ``maker``/``taker``: what a fill is charged, every part the venue adds counted (Binance spot: standard
    plus tax plus special, the side's buyer/seller part the larger of the two, the standard part times the
    discount when it applies). ``coin``: the asset the discount has fees paid in (Binance's ``"BNB"``), empty
    when fees are paid in the traded assets. ``detail``: the venue's own figures, for the log and the journal.
    """

    symbol: str
    maker: Decimal
    taker: Decimal
    coin: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One perpetual funding payment as the venue's account history lists it (signed: > 0 received)."""

    symbol: str
    payment: Decimal
    """In ``asset``; negative when the account paid."""
    asset: str
    ts_ms: int
    """The venue's time of the payment, ms."""
    venue_id: str = ""
    """The venue's id of the entry (its transaction or income id), when it gives one."""


@dataclass(frozen=True, slots=True)
class RateCount:
    """One of the venue's request counts as an answer stated it."""

    name: str
    """Which count: ``"weight-1m"``, ``"orders-10s"`` (Binance), ``"endpoint"`` (Bybit's per endpoint)."""
    used: int
    """How much of it is used in the current window."""
    limit: int | None
    """The window's limit (None: not known)."""
    reset_ns: int
    """Local time the window ends (the count starts again from 0)."""
    orders_only: bool = False
    """The count limits new orders alone (Binance's order counts), not other requests."""
    per_endpoint: bool = False
    """The venue keeps the count per endpoint (Bybit): it is kept per request."""


@dataclass(frozen=True, slots=True)
class RateUse:
    """What one response's headers say of the request budget."""

    counts: tuple[RateCount, ...] = ()
    """Every count the answer stated."""
    block_until_ns: int = 0
    """Local time until which nothing but the most urgent should go out (0: none)."""
    reason: str = ""
    """Why, for the person reading the log."""

    @property
    def used_weight(self) -> int | None:
        """The request weight used this minute, when the answer says (Binance)."""
        return next((c.used for c in self.counts if c.name == "weight-1m"), None)


class DeadManScope(Enum):
    """What the venue-market's dead-man's switch covers."""

    NONE = "none"
    """No switch (Binance spot): a resting quote outlives arb there until someone cancels it."""
    SYMBOL = "symbol"
    """One timer per symbol, renewed by a request (Binance USD-M ``countdownCancelAll``)."""
    PRODUCT = "product"
    """One window for the product, kept by the private connection being up (Bybit DCP)."""
    ACCOUNT = "account"
    """One countdown for every instrument of the account, renewed by a request (OKX ``cancel-all-after``)."""


@dataclass(frozen=True, slots=True)
class AnswerRules:
    """The venue's facts arb's outcome rule needs: where its answers carry their code and text, and which
    codes mean what (the rule itself is ``arb.execution.outcome.classify``)."""

    code_field: str
    """The body's code (Binance ``code``, Bybit ``retCode``)."""
    message_field: str
    """The body's text (Binance ``msg``, Bybit ``retMsg``)."""
    ok_code: str
    """The code of an accepted request (``""``: the body has none, as Binance's)."""
    ban_status: int
    """The HTTP status of a ban (Binance 418, Bybit 403)."""
    unknown_codes: frozenset[str]
    """Codes documented as "the request may or may not have been executed"."""
    rate_codes: frozenset[str]
    """Codes that are rate limits (a refusal: try after the wait)."""
    credential_codes: frozenset[str]
    """Codes that refuse the key, its signature, its permissions or its IP."""
    clock_codes: frozenset[str]
    """Codes that refuse the request's timestamp."""
    ban_until: re.Pattern[str] | None = None
    """Reads a ban's end (epoch ms, group 1) from the answer's text, when the venue words it so."""
    endpoint_rate_codes: frozenset[str] = frozenset()
    """The rate-limit codes that concern the request's endpoint alone (Bybit ``10006`` "Too many visits",
    counted per endpoint), not the venue, the IP or the system."""
    ban_s: float = 120.0
    """How long a ban that names no end (no ``Retry-After``, no end in its text) holds the venue, in
    seconds: Binance's shortest ban by default; Bybit asks a banned client to wait at least 10 minutes."""
    post_only: re.Pattern[str] | None = None
    """Matches ``"<code> <text>"`` of a refusal of a post-only order that would have taken liquidity
    (Binance ``-2010 Order would immediately match and take.``, USD-M ``-5022``), when the venue refuses
    it so rather than expiring it."""
    post_only_expiry: str = ""
    """The reason a venue that accepts such an order and cancels it at once gives (Bybit
    ``EC_PostOnlyWillTakeLiquidity``): the code a quote that ended so is journaled with."""
    items_field: str = ""
    """Where a venue that answers each order of a request apart keeps the items (OKX ``data``), empty when
    the body's code is the answer: the first item's own code (:attr:`item_code_field`, OKX ``sCode``) and
    text (:attr:`item_message_field`, ``sMsg``), when it is not :attr:`ok_code`, are the answer's (an HTTP
    200 whose envelope says ``"1"`` "All operations failed" is the item's refusal, ``51008``)."""
    item_code_field: str = ""
    item_message_field: str = ""
    reader: Callable[[Mapping[str, Any]], tuple[str, str]] | None = None
    """Reads an answer body's code and text, for a venue whose answers carry no code in one field: a
    refusal worded only in text, or nested per order inside an accepted envelope. The codes it gives are
    the ones the sets above name (:attr:`ok_code` for an accepted answer); None: the fields above say."""


class SymbolRef(Protocol):
    """A traded symbol's names."""

    @property
    def symbol(self) -> str:
        """The venue's id (``"BTCUSDT"``)."""
        ...

    @property
    def ccxt_symbol(self) -> str:
        """ccxt's (``"BTC/USDT:USDT"``)."""
        ...


class PrivateLink(Protocol):
    """What an adapter may use of the executor that drives it."""

    @property
    def name(self) -> str:
        """``"<venue> linear"``: how messages name the venue-market."""
        ...

    @property
    def exchange(self) -> Any:
        """The ccxt client (from :meth:`PrivateVenue.make_client`)."""
        ...

    @property
    def stopping(self) -> bool:
        """The executor is stopping: background loops end."""
        ...

    @property
    def known_client_ids(self) -> Iterable[str]:
        """The client id of every order the executor holds: sent by this run, or left in flight by an earlier one
        and taken over from the journal at the start. An adapter whose venue spells an order's client id its own
        way (a digest of it) maps a spelling it has not seen from these."""
        ...

    async def request(self, method: str, params: Mapping[str, Any], *, hint: str = "") -> Any:
        """Send one private request: the ccxt client's implicit method ``method`` (``"privateGetV5OrderRealtime"``)
        with ``params``; returns the venue's parsed JSON body. Raises :class:`~arb.errors.VenueError`
        (``hint``: what to check when the venue refuses for a reason of the request's own)."""
        ...

    async def call(self, request: Callable[[], Awaitable[T]], *, hint: str = "") -> T:
        """Await one request of the adapter's own (``request()``) as :meth:`request` awaits a ccxt call: a
        failure raises :class:`~arb.errors.VenueError`, worded from what :meth:`wire_written` and
        :meth:`wire_answered` recorded."""
        ...

    @property
    def order_entry(self) -> OrderEntry | None:
        """The venue's order WebSocket when the venue file's ``order_entry`` is ``"websocket"`` (None: REST)."""
        ...

    @property
    def rest_lane(self) -> RestLane | None:
        """The venue's keep-alive REST connections for order creates (None: ccxt's client sends them)."""
        ...

    @property
    def create_signer(self) -> CreateSigner | None:
        """The venue's own signing of a create, checked against ccxt's for this client (None: ccxt signs)."""
        ...

    def wire_written(self, request: str, url: str, written_ns: int) -> None:
        """Record, for the current task's request, that its bytes went to ``url`` at ``written_ns`` over a
        transport other than the client's HTTP session (the order WebSocket): the executor decides the
        outcome from this record as from an HTTP request's."""
        ...

    def wire_answered(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        """Record the answer to that request: the HTTP status and body REST would have answered."""
        ...


@runtime_checkable
class PrivateVenue(Protocol):
    """One venue-market's private side (see the module docstring). ``market``: ``"spot"`` or ``"linear"``."""

    venue: str
    """The venue's name (its folder's), as ``[strategy] venues`` spells it."""
    market: Market
    answers: AnswerRules
    dead_man: DeadManScope
    reduce_only_any_notional: bool
    """A reduce-only order is taken below the market's minimum notional (Binance USD-M: "-4164 Order's
    notional must be no smaller than 5 (unless you choose reduce only)"): a position that small can be
    closed."""
    reduce_only_past_throttle: bool
    """A reduce-only order is exempt from the venue's system throttle (Binance USD-M ``-1008`` "Request
    throttled by system-level protection. Reduce-only/close-position orders are exempt")."""

    # -- the client --------------------------------------------------------------------------------

    def make_client(self, *, rest: str, **options: Unpack[ClientOptions]) -> Any:
        """A ccxt async client for the market on the REST base ``rest`` (see :class:`ClientOptions`);
        the caller closes it."""
        ...

    def rate_limits(self, exchange: Any) -> dict[str, int]:
        """The limits the venue published at market load, by :class:`RateCount` name (empty: none)."""
        ...

    def rate_use(self, headers: Mapping[str, str], now_ns: int, limits: Mapping[str, int]) -> RateUse:
        """What one response's headers (names in lower case; an order WebSocket answer's limits as the
        same headers) say of the request budget, with ``limits`` from :meth:`rate_limits`."""
        ...

    def order_entry(
        self, url: str, *, api_key: str, api_secret: str, request_timeout_ms: int, api_password: str | None = None
    ) -> OrderEntry:
        """The market's order WebSocket at ``url`` (not started: the caller starts and closes it);
        ``api_password``: the key's passphrase, where the venue's keys have one."""
        ...

    def market_id(self, symbol: str) -> str:
        """The venue's id of arb's ``symbol`` in this market (ccxt's market ``id``): ``"BTCUSDT"`` on Binance and
        Bybit, ``"BTC-USDT-SWAP"`` for OKX's linear ``BTCUSDT``."""
        ...

    def markets_loaded(self, exchange: Any) -> None:
        """The client's markets are loaded (``exchange.markets``): the adapter reads what its requests and
        messages need of them (OKX: each instrument's ``instIdCode`` and a swap's contract value). Called once
        by the executor's start, before any order."""
        ...

    def create_signer(self, exchange: Any) -> CreateSigner | None:
        """The venue's own signing of a create for ``exchange`` (a client of :meth:`make_client`), checked now
        to give what ccxt's ``sign`` gives; None: ccxt signs every create."""
        ...

    # -- orders --------------------------------------------------------------------------------------

    def prepare_create(self, link: PrivateLink, order: OrderRequest) -> PreparedCreate | None:
        """The create of ``order``, built and signed now: for ``link.order_entry`` while it is up (the
        caller writes it when the decision's orders leave together), else for the REST endpoint (sent by
        :meth:`create`); None: :meth:`create` builds it."""
        ...

    async def create(
        self, link: PrivateLink, order: OrderRequest, outgoing: PreparedCreate | None = None
    ) -> dict[str, Any] | None:
        """Send one create request, over ``link.order_entry`` while it is up (else, or when nothing could
        be sent over it, by REST with the same client id); returns the venue's reply body (None when ccxt
        kept none). Raises whatever the client raised: the executor decides the outcome from what the
        wire showed. ``outgoing``: the request :meth:`prepare_create` made (written, or written now; a
        signed REST request is sent as it is)."""
        ...

    async def cancel(self, link: PrivateLink, symbol: str, client_id: str) -> bool:
        """Ask the venue to cancel one order by client id (over ``link.order_entry`` as :meth:`create`);
        True when it took the request (the order's
        state then comes from the stream or a query), False when it says the order is not open (filled,
        expired, or never taken: a query tells which)."""
        ...

    async def query(self, link: PrivateLink, symbol: str, client_id: str) -> VenueOrderUpdate | None:
        """The order with this client id as the venue knows it; None when the venue says it has none."""
        ...

    async def query_venue_id(self, link: PrivateLink, symbol: str, venue_order_id: str) -> VenueOrderUpdate | None:
        """The order with this venue id as the venue knows it (its client id among the rest); None when the
        venue says it has none. What names a trade row's order when the row names no client id."""
        ...

    async def open_orders(self, link: PrivateLink, symbol: str) -> list[VenueOrderUpdate]:
        """The venue's open orders in ``symbol`` (every state the venue lists; the caller filters)."""
        ...

    async def cancel_all(self, link: PrivateLink, symbol: str) -> int:
        """Cancel every open order in ``symbol``; returns how many were cancelled."""
        ...

    # -- what the venue says ----------------------------------------------------------------------------

    def order_update(self, raw: Mapping[str, Any]) -> VenueOrderUpdate | None:
        """The order state in one stream message or REST body; None when it carries none."""
        ...

    def fills(self, raw: Mapping[str, Any], assets: MarketAssets) -> list[VenueFill]:
        """The fills in one stream message or REST body (``assets``: the market's, for a fee asset the
        message does not name)."""
        ...

    async def order_trades(self, link: PrivateLink, symbol: str, venue_order_id: str) -> list[dict[str, Any]]:
        """The trade history rows of one order (REST), for :meth:`fills`."""
        ...

    async def trades_since(self, link: PrivateLink, symbol: str, since_ms: int) -> list[dict[str, Any]]:
        """The trade history rows of ``symbol`` since ``since_ms`` (REST), for :meth:`fills`."""
        ...

    async def watch(self, link: PrivateLink, what: Stream) -> list[dict[str, Any]]:
        """The next messages of the user stream (``"orders"`` or ``"trades"``), every symbol's, as the
        venue's raw JSON; raises when the stream fails (the caller reconnects and sweeps)."""
        ...

    # -- the account ----------------------------------------------------------------------------------

    async def balances(self, link: PrivateLink) -> dict[str, Decimal]:
        """The balance per asset (spot: free + locked; linear: the wallet)."""
        ...

    async def position_and_entry(self, link: PrivateLink, symbol: str) -> tuple[Decimal, Decimal]:
        """The signed one-way position in ``symbol`` and its average entry price (0 when flat); ``(0, 0)``
        on spot."""
        ...

    async def funding_income(self, link: PrivateLink, symbol: str, since_ms: int) -> list[FundingPayment]:
        """The funding payments of ``symbol`` since ``since_ms`` (linear; spot has none)."""
        ...

    async def account_fees(self, link: PrivateLink, symbol: str) -> AccountFees:
        """The account's fee rates on ``symbol`` (one signed request; raises VenueError)."""
        ...

    async def coin_price(self, link: PrivateLink, coin: str, quote: str) -> Decimal:
        """The last traded price of ``coin`` in ``quote`` (one public request), which fees paid in
        :attr:`AccountFees.coin` are valued at; raises VenueError (a market the venue does not list too)."""
        ...

    # -- the dead-man's switch --------------------------------------------------------------------------

    async def arm_dead_man(self, link: PrivateLink, markets: Sequence[SymbolRef], window_s: int) -> None:
        """Arm the switch once for the traded ``markets`` with a ``window_s`` window (raises VenueError)."""
        ...

    async def keep_dead_man(
        self, link: PrivateLink, markets: Sequence[SymbolRef], window_s: int, *, armed: bool
    ) -> None:
        """Keep the switch armed until ``link.stopping`` (``armed``: :meth:`arm_dead_man` ran already)."""
        ...

    async def disarm_dead_man(self, link: PrivateLink, markets: Sequence[SymbolRef]) -> bool:
        """Turn the switch off for the traded ``markets`` as the venue documents it, at a clean stop once the
        orders are cancelled (the keeper has ended), and check the venue's answer: True when the venue says
        it is off, False when this process left nothing armed to turn off. Raises
        :class:`~arb.errors.VenueError` when the venue refuses, answers something else or cannot be asked:
        the switch then stays armed and fires as after a crash."""
        ...

    # -- a perpetual's settings (linear) ----------------------------------------------------------------

    async def perpetual_account(self, link: PrivateLink, margin_mode: MarginMode, source: str) -> list[str]:
        """Make the account-wide settings one-way positions need, and check those arb does not change
        against ``margin_mode`` (``source``: the venue file, for messages); returns what was changed.
        Raises :class:`PerpetualSettingsError` when the account cannot be made so, or
        :class:`~arb.errors.VenueError`."""
        ...

    async def perpetual_symbol(
        self, link: PrivateLink, symbol: str, leverage: int, margin_mode: MarginMode
    ) -> list[str]:
        """Set ``symbol``'s leverage (and its margin mode and position mode where the venue keeps them per
        symbol); returns what was changed (an answer that the setting already held changes nothing).
        Raises :class:`PerpetualSettingsError` or :class:`~arb.errors.VenueError`."""
        ...
