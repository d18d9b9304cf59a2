"""A fake private Binance venue (spot or USD-M) on loopback, that ccxt trades against.

:class:`FakeBinanceExchange` is the public :class:`~arb.sim.binance.public.FakeBinanceVenue` (the
same recorded market data, depth snapshots and ``exchangeInfo`` on the same port) plus Binance's
private side, served from its own :class:`~arb.sim.ledger.Ledger`: orders match against the
book the venue is replaying.

REST, as Binance documents it: form-encoded parameters in the query (GET, DELETE) or the body (POST,
PUT); errors are ``{"code":-2010,"msg":"..."}`` with a real HTTP status (400 business errors, 401 bad
keys, 429 rate limit, 418 ban, 5xx unknown). Signed requests carry ``X-MBX-APIKEY`` and the
parameters ``timestamp``, ``recvWindow`` and ``signature`` (hex HMAC-SHA256 of the query string and
body without the signature, :func:`~arb.sim.binance.wire.signature`). Every answer carries
``x-mbx-used-weight`` and ``x-mbx-used-weight-1m``; order requests ``x-mbx-order-count-*``.

* spot: ``POST/GET/DELETE /api/v3/order``, ``GET/DELETE /api/v3/openOrders``, ``GET /api/v3/allOrders``,
  ``/api/v3/account``, ``/api/v3/myTrades``; the user stream on the WebSocket API ``/ws-api/v3``
  (``userDataStream.subscribe.signature``; events arrive as ``{"subscriptionId":N,"event":{...}}``:
  ``executionReport``, ``outboundAccountPosition``).
* USD-M: ``POST/GET/DELETE /fapi/v1/order``, ``GET /fapi/v1/openOrders``, ``DELETE /fapi/v1/allOpenOrders``,
  ``GET /fapi/v1/allOrders``, ``/fapi/v1/userTrades``, ``/fapi/v2|v3/balance``, ``/fapi/v2|v3/account``,
  ``/fapi/v2|v3/positionRisk``, ``GET /fapi/v1/income`` (commissions, realised PnL and funding fees),
  ``POST /fapi/v1/countdownCancelAll`` (dead-man's switch), ``/fapi/v1/leverage``,
  ``/fapi/v1/marginType``, ``GET/POST /fapi/v1/positionSide/dual``, and the listen key
  (``POST/PUT/DELETE /fapi/v1/listenKey``, key only) whose stream is ``/private/ws?listenKey=...``
  (``ORDER_TRADE_UPDATE``, ``ACCOUNT_UPDATE``, ``listenKeyExpired``).

USD-M funding: each funding time the ``<symbol>@markPrice`` stream shows passing (its ``T`` moves on;
recorded frames and those of a ``funding=`` schedule alike) is settled on the ledger at the rate and
mark price the stream announced for it (:class:`~arb.sim.funding.FundingAnnouncements`): the
wallet moves, ``/fapi/v1/income`` lists a ``FUNDING_FEE``, and the user stream sends an
``ACCOUNT_UPDATE`` with reason ``FUNDING_FEE`` and the balance alone, as Binance does for a cross position.

Time is the venue's ``clock`` (seconds): request timestamps, the weight window, bans, listen-key
expiry and countdown cancels are read from it; a test moves time by moving its clock and calling
:meth:`FakeBinanceExchange.tick`. Faults are the venue's :class:`~arb.sim.faults.FaultPlan`.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import logging
import re
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import parse_qs, parse_qsl, urlsplit

import msgspec
from aiohttp import web

from arb.sim.binance.public import BinanceMarket, FakeBinanceVenue, SymbolSpec
from arb.sim.binance.wire import (
    account_update_event,
    execution_report,
    fixed,
    funding_income,
    futures_order,
    futures_order_event,
    futures_trade,
    income_entry,
    plain,
    position_risk,
    reject_error,
    signature,
    spot_order,
    spot_trade,
)
from arb.sim.faults import AppliedFault, FaultKind, OrderFault, OrderOperation
from arb.sim.funding import FundingAnnouncements
from arb.sim.ledger import (
    FundingPayment,
    Ledger,
    LedgerAccount,
    LedgerEvent,
    LedgerOrder,
    LedgerTrade,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    SymbolRules,
    TimeInForce,
    VenueRejectError,
)
from arb.sim.options import VenueOptions
from arb.sim.replay import ReplayFrame, SessionSpec
from arb.sim.venue import OutFrame, VenueConnection

__all__ = ["CountdownTrigger", "FakeBinanceExchange", "UserStreamMessage"]

logger = logging.getLogger(__name__)

_encode = msgspec.json.Encoder().encode
ZERO = Decimal(0)
_SPOT_CLIENT_ID = re.compile(r"^[a-zA-Z0-9\-_]{1,36}$")
_FUTURES_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_DAY_MS = 24 * 3600 * 1000

_MSG_KEY_FORMAT = "API-key format invalid."
_MSG_KEY_INVALID = "Invalid API-key, IP, or permissions for action."
_MSG_SIGNATURE = "Signature for this request is not valid."
_MSG_RECV_WINDOW = "Timestamp for this request is outside of the recvWindow."
_MSG_AHEAD = "Timestamp for this request was 1000ms ahead of the server's time."
_MSG_NO_ORDER = "Order does not exist."
_MSG_UNKNOWN_ORDER = "Unknown order sent."
_MSG_1007 = "Timeout waiting for response from backend server. Send status unknown; execution status unknown."
_MSG_1008 = "Server is currently overloaded with other requests. Please try again in a few minutes."
"""-1008 SERVER_BUSY (spot ``errors.md``): the request was refused, not executed."""
_MSG_NO_LISTEN_KEY = "This listenKey does not exist."

_ORDER_PARAMS = frozenset({
    "symbol", "side", "type", "timeInForce", "quantity", "price", "newClientOrderId", "newOrderRespType",
    "timestamp", "recvWindow", "signature", "selfTradePreventionMode", "positionSide", "reduceOnly",
})  # fmt: skip
"""Parameters an order create may carry; others Binance reads (stops, icebergs, ...) are not modelled."""
_INCOME_TYPES = frozenset({
    "TRANSFER", "WELCOME_BONUS", "REALIZED_PNL", "FUNDING_FEE", "COMMISSION", "INSURANCE_CLEAR", "REFERRAL_KICKBACK",
    "COMMISSION_REBATE", "API_REBATE", "CONTEST_REWARD", "CROSS_COLLATERAL_TRANSFER", "OPTIONS_PREMIUM_FEE",
    "OPTIONS_SETTLE_PROFIT", "INTERNAL_TRANSFER", "AUTO_EXCHANGE", "DELIVERED_SETTELMENT", "COIN_SWAP_DEPOSIT",
    "COIN_SWAP_WITHDRAW", "POSITION_LIMIT_INCREASE_FEE", "STRATEGY_UMFUTURES_TRANSFER", "FEE_RETURN", "BFUSD_REWARD",
})  # fmt: skip
"""``incomeType`` values USD-M's "Get Income History" documents; the fake books COMMISSION, REALIZED_PNL and
FUNDING_FEE (another type answers an empty list)."""
_FIRST_TRADE_TRAN_ID = 9_689_000_001
"""The ``tranId`` of an account's first trade's COMMISSION (and REALIZED_PNL) income; one more per trade."""
_UNMODELLED = ("stopPrice", "icebergQty", "quoteOrderQty", "trailingDelta", "closePosition", "activationPrice",
               "callbackRate", "priceMatch", "goodTillDate", "workingType", "priceProtect")  # fmt: skip


@dataclass(frozen=True, slots=True)
class UserStreamMessage:
    """One user-stream event message the venue wrote (or withheld while the stream was silenced)."""

    connection: int
    event: str
    text: str
    sent: bool


@dataclass(frozen=True, slots=True)
class CountdownTrigger:
    """One USD-M countdown cancel: ``account``'s open orders on ``symbol`` cancelled at venue time ``at_s``."""

    account: str
    symbol: str
    at_s: float
    cancelled: tuple[int, ...]


@dataclass(slots=True)
class _Reply:
    status: int = 200
    body: Any = field(default_factory=dict)


@dataclass(slots=True)
class _Call:
    params: dict[str, str]
    account: LedgerAccount | None
    now_ms: int


@dataclass(frozen=True, slots=True)
class _Endpoint:
    handler: Callable[[_Call], _Reply]
    weight: int
    auth: Literal["signed", "key"]
    operation: OrderOperation | None = None
    order_count: bool = False


@dataclass(slots=True)
class _Session:
    """A spot WS-API connection and its user-data subscriptions."""

    conn: VenueConnection
    account: str | None = None
    subscriptions: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _ListenKey:
    account: str
    expires_s: float


def _error(code: int, msg: str, status: int = 400) -> _Reply:
    return _Reply(status, {"code": code, "msg": msg})


def _mandatory(name: str) -> _Reply:
    return _error(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def _decimal(text: str | None) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


def _int(params: Mapping[str, str], key: str) -> int | None:
    text = params.get(key)
    if text is None or text == "":
        return None
    if not text.lstrip("-").isdigit():
        raise ValueError(key)
    return int(text)


class FakeBinanceExchange(FakeBinanceVenue):
    """Fake Binance with trading: spot (``market="spot"``) or USD-M perpetuals (``"linear"``).

    ``rules``: each tradable symbol's filters (tick, step, min/max qty, min notional, min/max price),
    reported by ``exchangeInfo`` and enforced on orders. ``options``
    (:class:`~arb.sim.options.VenueOptions`): how it serves, and its trading terms: fees default to
    Binance's base rates (spot 0.1 %/0.1 %, USD-M 0.05 % taker / 0.02 % maker), a spot fee is paid in
    the asset received (a buy's in the base coin, as without BNB) unless ``spot_fee_asset="quote"``,
    leverage up to 125, maintenance rate 0.4 %. ``weight_limit`` is the per-minute request weight;
    a client that keeps sending after ``bans_after_429`` answers of 429 in one window is banned for
    ``ban_s`` (HTTP 418), as Binance bans IPs that do not back off. ``listen_key_ttl_s`` is how long a
    USD-M listen key lives without a keep-alive (Binance: 60 minutes). The options' ``clock``
    (seconds) is the venue's time.
    """

    def __init__(
        self,
        recordings: SessionSpec | Sequence[SessionSpec],
        *,
        market: BinanceMarket = "spot",
        rules: Sequence[SymbolRules],
        options: VenueOptions | None = None,
        weight_limit: int | None = None,
        bans_after_429: int = 3,
        ban_s: float = 120.0,
        listen_key_ttl_s: float = 3600.0,
        ws_api_path: str = "/ws-api/v3",
    ) -> None:
        options = options if options is not None else VenueOptions()
        specs = {
            r.symbol: SymbolSpec(plain(r.tick_size), plain(r.step_size), plain(r.min_notional), r.base, r.quote)
            for r in rules
        }
        super().__init__(recordings, market=market, options=options, specs=specs, weight_limit=weight_limit)
        self.market: BinanceMarket = market
        spot = market == "spot"
        self.ledger = Ledger(
            market=market,
            rules=rules,
            book=self._levels,
            book_version=lambda: self.position,
            clock_ms=self._now_ms,
            taker_fee=options.fee("taker", "0.001" if spot else "0.0005"),
            maker_fee=options.fee("maker", "0.001" if spot else "0.0002"),
            client_id_scope="open",
            fok_unfilled="expire",
            spot_fee_asset=options.spot_fee_asset,
            first_order_id=28_000_000_001 if spot else 4_087_000_001,
            first_trade_id=309_520_001 if spot else 272_536_001,
            ids_per_symbol=True,  # Binance numbers orders and trades per symbol
        )
        """The venue's own records: accounts, orders, trades, balances, positions."""
        self.ws_api_path = ws_api_path
        self.max_leverage = options.max_leverage if options.max_leverage is not None else 125
        self.maintenance_rate = Decimal(options.maintenance_rate if options.maintenance_rate is not None else "0.004")
        self._bans_after_429 = bans_after_429
        self._ban_s = ban_s
        self._ban_until: float | None = None
        self._refused_in_window = 0
        self._listen_key_ttl_s = listen_key_ttl_s
        self._listen_keys: dict[str, _ListenKey] = {}
        self._countdowns: dict[tuple[str, str], tuple[int, float]] = {}
        self.countdown_triggers: list[CountdownTrigger] = []
        self._dual: dict[str, bool] = {}
        self._margin_type: dict[tuple[str, str], str] = {}
        self._order_counts: deque[float] = deque()
        self._cancel_ids = itertools.count(1)
        self._cancel_client_ids: dict[tuple[str, int], str] = {}
        """The client id Binance gives each cancel (spot ``executionReport`` ``c``; the order's is in ``C``)."""
        self._subscription_ids = itertools.count(0)
        self._announced = FundingAnnouncements()
        self._outbox: deque[LedgerEvent | FundingPayment] = deque()
        self._flush_lock = asyncio.Lock()
        self._sessions: dict[int, _Session] = {}
        self.user_stream_log: list[UserStreamMessage] = []
        """Every user-stream event message, in order (request answers not included)."""
        self.auth_log: list[tuple[int, int, bool]] = []
        """``(connection, error code or 0, success)`` of every WS-API user-stream subscription request."""
        p = "/api/v3" if spot else "/fapi/v1"
        endpoints_: dict[tuple[str, str], _Endpoint] = {
            ("POST", f"{p}/order"): _Endpoint(self._order_create, 1, "signed", "create", order_count=True),
            ("GET", f"{p}/order"): _Endpoint(self._order_query, 4 if spot else 1, "signed", "query"),
            ("DELETE", f"{p}/order"): _Endpoint(self._order_cancel, 1, "signed", "cancel"),
            ("GET", f"{p}/openOrders"): _Endpoint(self._open_orders, 6 if spot else 1, "signed", "query"),
            ("GET", f"{p}/allOrders"): _Endpoint(self._all_orders, 20 if spot else 5, "signed", "query"),
        }
        if spot:
            endpoints_.update({
                ("DELETE", "/api/v3/openOrders"): _Endpoint(self._cancel_all, 1, "signed", "cancel"),
                ("GET", "/api/v3/account"): _Endpoint(self._spot_account, 20, "signed", "query"),
                ("GET", "/api/v3/myTrades"): _Endpoint(self._my_trades, 20, "signed", "query"),
            })  # fmt: skip
        else:
            endpoints_.update({
                ("DELETE", "/fapi/v1/allOpenOrders"): _Endpoint(self._cancel_all, 1, "signed", "cancel"),
                ("GET", "/fapi/v1/userTrades"): _Endpoint(self._my_trades, 5, "signed", "query"),
                ("GET", "/fapi/v2/balance"): _Endpoint(self._futures_balance, 5, "signed", "query"),
                ("GET", "/fapi/v3/balance"): _Endpoint(self._futures_balance, 5, "signed", "query"),
                ("GET", "/fapi/v2/account"): _Endpoint(self._futures_account_v2, 5, "signed", "query"),
                ("GET", "/fapi/v3/account"): _Endpoint(self._futures_account_v3, 5, "signed", "query"),
                ("GET", "/fapi/v2/positionRisk"): _Endpoint(self._position_risk_v2, 5, "signed", "query"),
                ("GET", "/fapi/v3/positionRisk"): _Endpoint(self._position_risk_v3, 5, "signed", "query"),
                ("GET", "/fapi/v1/income"): _Endpoint(self._income, 30, "signed", "query"),
                ("POST", "/fapi/v1/countdownCancelAll"): _Endpoint(self._countdown, 10, "signed"),
                ("POST", "/fapi/v1/leverage"): _Endpoint(self._set_leverage, 1, "signed"),
                ("GET", "/fapi/v1/leverageBracket"): _Endpoint(self._leverage_brackets, 1, "signed"),
                ("POST", "/fapi/v1/marginType"): _Endpoint(self._set_margin_type, 1, "signed"),
                ("GET", "/fapi/v1/positionSide/dual"): _Endpoint(self._get_dual, 30, "signed"),
                ("POST", "/fapi/v1/positionSide/dual"): _Endpoint(self._set_dual, 1, "signed"),
                ("POST", "/fapi/v1/listenKey"): _Endpoint(self._listen_key_new, 1, "key"),
                ("PUT", "/fapi/v1/listenKey"): _Endpoint(self._listen_key_keep, 1, "key"),
                ("DELETE", "/fapi/v1/listenKey"): _Endpoint(self._listen_key_close, 1, "key"),
            })  # fmt: skip
        self._private = endpoints_

    # -- set-up ------------------------------------------------------------------------------------

    def add_account(
        self,
        name: str,
        *,
        api_key: str,
        api_secret: str,
        balances: Mapping[str, str | Decimal] | None = None,
        can_trade: bool = True,
    ) -> LedgerAccount:
        """Open an account with these starting balances (USD-M: the wallet in USDT) and HMAC credentials."""
        account = self.ledger.add_account(
            name, api_key=api_key, api_secret=api_secret, balances=dict(balances or {}), can_trade=can_trade
        )
        self.ledger.subscribe(name, self._outbox.append)
        return account

    @property
    def private_ws_url(self) -> str:
        """The URL to configure as ``ws_private``: spot's WS-API (``ws://host:port/ws-api/v3``), or USD-M's
        user-stream base ``ws://host:port/ws`` (ccxt turns it into ``/private/ws?listenKey=...``)."""
        path = self.ws_api_path if self.market == "spot" else "/ws"
        return f"ws://{self.host}:{self.ports[0]}{path}"

    def order_id(self, order: LedgerOrder) -> str:
        """The ``orderId`` the venue sends for ``order``, as text (numbered per symbol, as Binance does:
        another symbol's order can have the same)."""
        return str(order.order_id)

    def exec_id(self, trade: LedgerTrade) -> str:
        """The trade ``id`` the venue sends for ``trade``, as text (numbered per symbol, as Binance does)."""
        return str(trade.trade_id)

    def margin_type(self, account: str, symbol: str) -> str:
        """USD-M: ``"cross"`` or ``"isolated"``, the account's margin type of ``symbol``."""
        return "isolated" if self._margin_type.get((account, symbol)) == "ISOLATED" else "cross"

    def position_mode(self, account: str) -> str:
        """USD-M: ``"one-way"`` or ``"hedge"`` (``positionSide/dual``)."""
        return "hedge" if self._dual.get(account, False) else "one-way"

    def ban(self, seconds: float) -> None:
        """Ban the IP for ``seconds`` of venue time: every REST request gets HTTP 418 until then."""
        self._ban_until = self._clock() + seconds
        self._record(AppliedFault(FaultKind.BAN, detail=f"until {self._ban_until:.3f}"))

    @property
    def banned(self) -> bool:
        return self._ban_until is not None and self._clock() < self._ban_until

    async def tick(self) -> None:
        """Apply what is due at the venue's current time (countdown cancels, listen-key expiry), then
        send the events that caused."""
        self._check_countdowns()
        await self._expire_listen_keys()
        await self._flush_user_events()

    async def drop_user_streams(self) -> int:
        """Drop the TCP connection of every user-stream client (they see 1006); returns how many."""
        dropped = 0
        for conn in self.connections:
            if conn.id in self._sessions or self._is_private_path(conn.path):
                await conn.close(abrupt=True)
                self._record(AppliedFault(FaultKind.USER_STREAM_DROP, connection=conn.id))
                dropped += 1
        return dropped

    def user_stream_count(self) -> int:
        """Open user-stream connections that would receive this venue's events."""
        return sum(len(self._streams_of(name)) for name in self.ledger.accounts)

    # -- time and book -----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _levels(self, symbol: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        view = self.book(symbol)
        return view.bids, view.asks

    def _mark_price(self, symbol: str) -> Decimal | None:
        view = self.book(symbol, 1)
        bid = Decimal(view.bids[0][0]) if view.bids else None
        ask = Decimal(view.asks[0][0]) if view.asks else None
        if bid is not None and ask is not None:
            return (bid + ask) / 2
        return bid if bid is not None else ask

    def _on_release(self, frame: ReplayFrame) -> list[OutFrame]:
        outs = super()._on_release(frame)
        if frame.symbol in self.ledger.rules and "@depth" in frame.stream:
            self.ledger.on_book_change(frame.symbol)
        if self.market == "linear":
            for out in outs:
                if "@markPrice" in out.stream:
                    self._take_mark_price(out.raw_text or out.text)
        return outs

    def _take_mark_price(self, payload: str) -> None:
        # A markPriceUpdate the venue sent: a funding time it shows passing is settled on the ledger.
        try:
            mark = _decode_mark.decode(payload)
            settled = self._announced.announce(
                mark.symbol,
                mark_price=Decimal(mark.mark_price) if mark.mark_price else None,
                rate=Decimal(mark.funding_rate) if mark.funding_rate else None,
                next_funding_ms=mark.next_funding_ms or None,
            )
        except (msgspec.DecodeError, InvalidOperation) as error:
            logger.warning("markPriceUpdate not understood (%s): %.200r", error, payload)
            return
        if settled is not None:
            self.ledger.settle_funding(settled.symbol, settled.funding_ms, settled.rate, settled.mark_price)

    async def _release_next(self) -> bool:
        released = await super()._release_next()
        if self._outbox:
            await self._flush_user_events()
        return released

    # -- exchangeInfo with the ledger's rules -----------------------------------------------------------

    def _spot_symbol(self, symbol: str) -> dict[str, Any]:
        entry = super()._spot_symbol(symbol)
        rules = self.ledger.rules.get(symbol)
        if rules is not None:
            for f in entry["filters"]:
                if f["filterType"] == "PRICE_FILTER":
                    f.update(minPrice=fixed(rules.min_price), maxPrice=fixed(rules.max_price))
                elif f["filterType"] == "LOT_SIZE":
                    f.update(minQty=fixed(rules.min_qty), maxQty=fixed(rules.max_qty))
        return entry

    def _futures_symbol(self, symbol: str) -> dict[str, Any]:
        entry = super()._futures_symbol(symbol)
        rules = self.ledger.rules.get(symbol)
        if rules is not None:
            for f in entry["filters"]:
                if f["filterType"] == "PRICE_FILTER":
                    f.update(minPrice=plain(rules.min_price), maxPrice=plain(rules.max_price))
                elif f["filterType"] == "LOT_SIZE":
                    f.update(minQty=plain(rules.min_qty), maxQty=plain(rules.max_qty))
        return entry

    # -- routes ------------------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        super()._add_routes(app)
        for method, path in self._private:
            app.router.add_route(method, path, self._serve_private)
        if self.market == "spot":
            app.router.add_get(self.ws_api_path, self._handle_ws_api)
        else:
            app.router.add_get("/private/ws", self._handle_listen_key_stream)

    def _is_private_path(self, path: str) -> bool:
        return path.startswith(self.ws_api_path) or path.startswith("/private/ws")

    async def _serve_private(self, request: web.Request) -> web.StreamResponse:
        """Serve one private call: hold, ban, scripted faults, weight, auth, order faults, handler."""
        endpoint = self._private[(request.method, request.path)]
        await self._begin_rest(request)
        self._check_countdowns()
        await self._expire_listen_keys()
        await self._flush_user_events()
        now = self._clock()
        if self.banned:
            assert self._ban_until is not None
            retry = max(1, int(self._ban_until - now + 0.999))
            refused = self._error_body(418, None, None, retry)
            return self._send(request, 418, refused, {"Retry-After": str(retry)}, endpoint.weight)
        if (fault := self.faults.take_rest_fault(request.path)) is not None:
            headers: dict[str, str] = {}
            status, raw, content_type = self._faulted(fault, lambda: (200, b"[]"), headers)
            self._log_rest(request, status, endpoint.weight)
            return web.Response(status=status, body=raw, headers=headers, content_type=content_type)
        window = self._weight_window
        used = self._charge(endpoint.weight)
        if self._weight_window != window:
            self._refused_in_window = 0
        headers = {"x-mbx-used-weight": str(used), "x-mbx-used-weight-1m": str(used)}
        if used > self._weight_limit:
            self._refused_in_window += 1
            retry = self._seconds_to_window_end()
            if self._refused_in_window > self._bans_after_429:
                self._ban_until = now + self._ban_s
                self._record(AppliedFault(FaultKind.BAN, detail=f"kept sending after 429: until {self._ban_until}"))
                return self._send(request, 418, self._error_body(418, None, None, int(self._ban_s)),
                                  {**headers, "Retry-After": str(int(self._ban_s))}, endpoint.weight)  # fmt: skip
            headers["Retry-After"] = str(retry)
            return self._send(request, 429, self._error_body(429, None, None, retry), headers, endpoint.weight)
        body = await request.text() if request.method != "GET" else ""
        account, refusal = self._authenticate(request, body, endpoint, now)
        if refusal is not None:
            return self._reply(request, refusal, headers, endpoint.weight)
        try:
            params = self._params(request, body)
        except ValueError:
            return self._reply(request, _error(-1100, "Illegal characters found in a parameter."), headers,
                               endpoint.weight)  # fmt: skip
        if endpoint.order_count:
            self._count_order(now, headers)
        call = _Call(params, account, int(now * 1000))
        order_fault = self.faults.take_order_fault(endpoint.operation) if endpoint.operation else None
        if order_fault is None:
            reply = self._run(endpoint, call)
            await self._flush_user_events()
            return self._reply(request, reply, headers, endpoint.weight)
        return await self._faulted_order(request, endpoint, call, order_fault, headers)

    def _run(self, endpoint: _Endpoint, call: _Call) -> _Reply:
        try:
            return endpoint.handler(call)
        except ValueError as error:
            return _error(-1100, f"Illegal characters found in parameter '{error}'.")

    async def _faulted_order(
        self, request: web.Request, endpoint: _Endpoint, call: _Call, fault: OrderFault, headers: dict[str, str]
    ) -> web.StreamResponse:
        """Answer under an order fault: the request is acted on before (``processed``) or not at all."""
        self._record(AppliedFault(fault.kind, detail=f"{request.method} {request.path} processed={fault.processed}"))
        reply: _Reply | None = None
        if fault.processed:
            reply = self._run(endpoint, call)
            await self._flush_user_events()
        if fault.kind is FaultKind.ORDER_TIMEOUT:
            await fault.wait_released()
            if reply is None:
                call.now_ms = self._now_ms()
                reply = self._run(endpoint, call)
                await self._flush_user_events()
            return self._reply(request, reply, headers, endpoint.weight)
        if fault.kind is FaultKind.ORDER_DROP:
            if request.transport is not None:
                request.transport.abort()
            self._log_rest(request, 0, endpoint.weight)
            return web.Response(status=503)
        status = fault.status or 503
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.code is not None or status == 503:
            code = fault.code if fault.code is not None else -1007
            msg = fault.msg if fault.msg is not None else {-1007: _MSG_1007, -1008: _MSG_1008}.get(code, "")
            return self._reply(request, _error(code, msg, status), headers, endpoint.weight)
        text = fault.msg or ("Bad Gateway" if status == 502 else "Internal Server Error")
        self._log_rest(request, status, endpoint.weight)
        return web.Response(status=status, text=text, headers=headers, content_type="text/html")

    def _send(
        self, request: web.Request, status: int, body: bytes, headers: dict[str, str], weight: int
    ) -> web.Response:
        self._log_rest(request, status, weight)
        return web.Response(status=status, body=body, headers=headers, content_type="application/json")

    def _reply(self, request: web.Request, reply: _Reply, headers: dict[str, str], weight: int) -> web.Response:
        return self._send(request, reply.status, _encode(reply.body), headers, weight)

    def _count_order(self, now: float, headers: dict[str, str]) -> None:
        counts = self._order_counts
        counts.append(now)
        while counts and counts[0] <= now - 86_400:
            counts.popleft()
        recent = sum(1 for t in counts if t > now - 10)
        headers["x-mbx-order-count-10s"] = str(recent)
        if self.market == "spot":
            headers["x-mbx-order-count-1d"] = str(len(counts))
        else:
            headers["x-mbx-order-count-1m"] = str(sum(1 for t in counts if t > now - 60))

    def _authenticate(
        self, request: web.Request, body: str, endpoint: _Endpoint, now: float
    ) -> tuple[LedgerAccount | None, _Reply | None]:
        """The account behind a request, or Binance's refusal: 401 ``-2014``/``-2015`` for the key, 400
        ``-1021`` for the time, ``-1022`` for the signature."""
        api_key = request.headers.get("X-MBX-APIKEY", "")
        if not api_key:
            return None, _error(-2014, _MSG_KEY_FORMAT, 401)
        account = self.ledger.account_for_key(api_key)
        if account is None:
            return None, _error(-2015, _MSG_KEY_INVALID, 401)
        if endpoint.auth == "key":
            return account, None
        query = request.rel_url.raw_query_string
        total, sent = _unsigned(query, body)
        if sent is None:
            return None, _mandatory("signature")
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        timestamp, window = params.get("timestamp", ""), params.get("recvWindow", "5000")
        if not timestamp.isdigit():
            return None, _mandatory("timestamp")
        if not window.isdigit() or int(window) > 60_000:
            return None, _error(-1131, "recvWindow must be less than 60000")
        server_ms = int(now * 1000)
        if int(timestamp) >= server_ms + 1000:
            return None, _error(-1021, _MSG_AHEAD)
        if server_ms - int(timestamp) > int(window):
            return None, _error(-1021, _MSG_RECV_WINDOW)
        if not hmac.compare_digest(sent, signature(account.api_secret, total)):
            return None, _error(-1022, _MSG_SIGNATURE)
        if endpoint.operation in ("create", "cancel") and not account.can_trade:
            return None, _error(-2015, _MSG_KEY_INVALID, 401)
        return account, None

    def _params(self, request: web.Request, body: str) -> dict[str, str]:
        params = dict(parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True, strict_parsing=False))
        if body.strip():
            params.update(parse_qsl(body, keep_blank_values=True, strict_parsing=False))
        return params

    # -- helpers shared by handlers ----------------------------------------------------------------

    def _rules_of(self, params: Mapping[str, str]) -> SymbolRules | _Reply:
        symbol = params.get("symbol")
        if not symbol:
            return _mandatory("symbol")
        rules = self.ledger.rules.get(symbol)
        if rules is None:
            return _error(-1121, "Invalid symbol.")
        return rules

    def _order_json(self, order: LedgerOrder, *, query: bool = True) -> dict[str, Any]:
        if self.market == "spot":
            return spot_order(order, kind="QUERY" if query else "RESULT")
        return futures_order(order, self.ledger.rules[order.symbol], query=query)

    def _find(self, call: _Call, rules: SymbolRules, *, count_query: bool) -> LedgerOrder | _Reply | None:
        order_id = _int(call.params, "orderId")
        client_id = call.params.get("origClientOrderId") or None
        if order_id is None and client_id is None:
            name = "orderId" if self.market == "spot" else "orderId' or 'origClientOrderId"
            return _error(-1102, f"Param '{name}' or 'origClientOrderId' must be sent, but both were empty/null!")
        assert call.account is not None
        return self.ledger.find(call.account, rules.symbol, order_id=order_id, client_id=client_id,
                                count_query=count_query)  # fmt: skip

    # -- order handlers ----------------------------------------------------------------------------

    def _order_create(self, call: _Call) -> _Reply:
        """``POST /api/v3/order`` (ACK/RESULT/FULL; FULL by default) or ``/fapi/v1/order`` (ACK/RESULT)."""
        account = call.account
        assert account is not None
        params = call.params
        spot = self.market == "spot"
        unknown = [k for k in params if k not in _ORDER_PARAMS]
        if unknown:
            what = "not modelled by the fake" if any(k in _UNMODELLED for k in unknown) else "not read"
            return _error(-1104, f"Not all sent parameters were read; {', '.join(sorted(unknown))} {what}.")
        rules = self._rules_of(params)
        if isinstance(rules, _Reply):
            return rules
        side_text = params.get("side")
        if side_text not in ("BUY", "SELL"):
            return _mandatory("side") if not side_text else _error(-1117, "Invalid side.")
        type_text = params.get("type")
        types = ("LIMIT", "MARKET", "LIMIT_MAKER") if spot else ("LIMIT", "MARKET")
        if type_text not in types:
            return _mandatory("type") if not type_text else _error(-1116, "Invalid orderType.")
        order_type = OrderType.MARKET if type_text == "MARKET" else OrderType.LIMIT
        tif_text = params.get("timeInForce")
        tifs = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}
        if not spot:
            tifs["GTX"] = TimeInForce.POST_ONLY
        if type_text == "LIMIT":
            if tif_text is None:
                return _mandatory("timeInForce")
            if tif_text not in tifs:
                return _error(-1115, "Invalid timeInForce.")
            time_in_force = tifs[tif_text]
        elif type_text == "LIMIT_MAKER":
            time_in_force = TimeInForce.POST_ONLY
        else:
            if tif_text is not None:
                return _error(-1106, "Parameter 'timeInForce' sent when not required.")
            time_in_force = TimeInForce.IOC
        try:
            qty = _decimal(params.get("quantity"))
            price = _decimal(params.get("price"))
        except ValueError as error:
            return _error(-1100, f"Illegal characters found in parameter '{error}'.")
        if qty is None:
            return _mandatory("quantity")
        if qty <= 0:
            return _error(-4003, "Quantity less than or equal to zero.") if not spot else _error(
                -1013, "Filter failure: LOT_SIZE")  # fmt: skip
        if order_type is OrderType.MARKET:
            if price is not None:
                return _error(-1106, "Parameter 'price' sent when not required.")
        elif price is None:
            return _error(*reject_error(self.market, RejectReason.PRICE_REQUIRED))
        respond = params.get("newOrderRespType") or ("FULL" if spot and type_text != "LIMIT_MAKER" else "ACK")
        if respond not in (("ACK", "RESULT", "FULL") if spot else ("ACK", "RESULT")):
            return _error(-1100, "Illegal characters found in parameter 'newOrderRespType'.")
        reduce_only = (params.get("reduceOnly") or "false").lower() == "true"
        if spot and "reduceOnly" in params:
            return _error(*reject_error("spot", RejectReason.REDUCE_ONLY))
        if not spot:
            side_param = params.get("positionSide", "BOTH")
            dual = self._dual.get(account.name, False)
            if side_param not in ("BOTH", "LONG", "SHORT") or (side_param == "BOTH") == dual:
                return _error(-4061, "Order's position side does not match user's setting.")
            if dual:
                return _error(-1104, "Not all sent parameters were read; hedge-mode positions are not modelled "
                                     "by the fake.")  # fmt: skip
        client_id = params.get("newClientOrderId")
        pattern = _SPOT_CLIENT_ID if spot else _FUTURES_CLIENT_ID
        if client_id is not None and not pattern.match(client_id):
            return _error(*reject_error(self.market, RejectReason.INVALID_CLIENT_ID))
        if not client_id:
            prefix = "web_" if spot else "autoclose-"
            client_id = prefix + secrets.token_hex(11)
        try:
            order = self.ledger.place(
                account,
                symbol=rules.symbol,
                side=Side.BUY if side_text == "BUY" else Side.SELL,
                type=order_type,
                qty=qty,
                price=price,
                time_in_force=time_in_force,
                client_id=client_id,
                reduce_only=reduce_only,
                hidden_queries=self.faults.take_hidden_queries(),
                fill_fraction=self.faults.take_partial_fill(),
            )
        except VenueRejectError as error:
            return _error(*reject_error(self.market, error.reason, rules, price))
        if spot:
            return _Reply(body=spot_order(order, kind=respond))  # type: ignore[arg-type]
        if respond == "ACK":
            first = order.trades[0].time_ms if order.trades else order.created_ms
            return _Reply(body=futures_order(order, rules, status=OrderStatus.NEW, executed=ZERO, quote=ZERO)
                          | {"updateTime": first})  # fmt: skip
        return _Reply(body=futures_order(order, rules))

    def _order_query(self, call: _Call) -> _Reply:
        """``GET /api/v3/order`` / ``/fapi/v1/order`` by ``orderId`` or ``origClientOrderId``; ``-2013``
        when there is no such order (or it is not visible yet)."""
        rules = self._rules_of(call.params)
        if isinstance(rules, _Reply):
            return rules
        found = self._find(call, rules, count_query=True)
        if isinstance(found, _Reply):
            return found
        if found is None:
            return _error(-2013, _MSG_NO_ORDER)
        return _Reply(body=self._order_json(found))

    def _order_cancel(self, call: _Call) -> _Reply:
        """``DELETE /api/v3/order`` / ``/fapi/v1/order``: ``-2011`` unless the order is open."""
        rules = self._rules_of(call.params)
        if isinstance(rules, _Reply):
            return rules
        found = self._find(call, rules, count_query=False)
        if isinstance(found, _Reply):
            return found
        assert call.account is not None
        if found is None or not found.status.is_open:
            return _error(-2011, _MSG_UNKNOWN_ORDER)
        cancel_id = call.params.get("newClientOrderId") or f"web_cancel{next(self._cancel_ids):06d}"
        self._cancel_client_ids[found.symbol, found.order_id] = cancel_id
        self.ledger.cancel(call.account, rules.symbol, order_id=found.order_id)
        if self.market == "spot":
            return _Reply(body=spot_order(found, kind="CANCEL", cancel_client_id=cancel_id))
        return _Reply(body=futures_order(found, rules))

    def _cancel_all(self, call: _Call) -> _Reply:
        """Spot ``DELETE /api/v3/openOrders`` (``-2011`` with none open) or USD-M ``DELETE
        /fapi/v1/allOpenOrders`` (``{"code":200,"msg":"The operation of cancel all open order is done."}``)."""
        rules = self._rules_of(call.params)
        if isinstance(rules, _Reply):
            return rules
        assert call.account is not None
        open_orders = self.ledger.open_orders(call.account, rules.symbol)
        for order in open_orders:
            self._cancel_client_ids[order.symbol, order.order_id] = f"web_cancel{next(self._cancel_ids):06d}"
            self.ledger.cancel(call.account, rules.symbol, order_id=order.order_id)
        if self.market != "spot":
            return _Reply(body={"code": 200, "msg": "The operation of cancel all open order is done."})
        if not open_orders:
            return _error(-2011, _MSG_UNKNOWN_ORDER)
        return _Reply(body=[spot_order(o, kind="CANCEL", cancel_client_id=self._cancel_client_ids[o.symbol, o.order_id])
                            for o in open_orders])  # fmt: skip

    def _open_orders(self, call: _Call) -> _Reply:
        """``GET /api/v3/openOrders`` / ``/fapi/v1/openOrders`` (``symbol`` optional)."""
        assert call.account is not None
        symbol = call.params.get("symbol")
        if symbol is not None and symbol not in self.ledger.rules:
            return _error(-1121, "Invalid symbol.")
        orders = [o for o in self.ledger.open_orders(call.account, symbol) if o.hidden_queries <= 0]
        return _Reply(body=[self._order_json(o) for o in orders])

    def _all_orders(self, call: _Call) -> _Reply:
        """``GET /api/v3/allOrders`` / ``/fapi/v1/allOrders``: oldest first from ``orderId`` or a time span."""
        rules = self._rules_of(call.params)
        if isinstance(rules, _Reply):
            return rules
        assert call.account is not None
        from_id = _int(call.params, "orderId")
        start, end = _int(call.params, "startTime"), _int(call.params, "endTime")
        limit = max(1, min(_int(call.params, "limit") or 500, 1000))
        orders = [
            o for o in call.account.orders
            if o.symbol == rules.symbol and o.hidden_queries <= 0
            and (from_id is None or o.order_id >= from_id)
            and (start is None or o.created_ms >= start) and (end is None or o.created_ms <= end)
        ]  # fmt: skip
        chosen = orders[:limit] if from_id is not None or start is not None else orders[-limit:]
        return _Reply(body=[self._order_json(o) for o in chosen])

    def _my_trades(self, call: _Call) -> _Reply:
        """Spot ``GET /api/v3/myTrades`` (a span of at most 24 h) or USD-M ``GET /fapi/v1/userTrades`` (at
        most 7 days; the last 7 days by default), oldest first."""
        rules = self._rules_of(call.params)
        if isinstance(rules, _Reply):
            return rules
        assert call.account is not None
        spot = self.market == "spot"
        order_id = _int(call.params, "orderId")
        from_id = _int(call.params, "fromId")
        start, end = _int(call.params, "startTime"), _int(call.params, "endTime")
        limit = max(1, min(_int(call.params, "limit") or 500, 1000))
        span = _DAY_MS if spot else 7 * _DAY_MS
        if start is not None and end is not None and end - start > span:
            return _error(-1127, "More than 24 hours between startTime and endTime." if spot
                          else "The time between startTime and endTime cannot be longer than 7 days.")  # fmt: skip
        if not spot and order_id is None and from_id is None and start is None and end is None:
            start = call.now_ms - span
        if start is not None and end is None and order_id is None:
            end = start + span
        trades = self.ledger.trades(call.account, rules.symbol, start_ms=start, end_ms=end, from_id=from_id,
                                    order_id=order_id, limit=limit)  # fmt: skip
        if spot:
            return _Reply(body=[spot_trade(t) for t in trades])
        return _Reply(body=[futures_trade(t, rules) for t in trades])

    # -- account handlers --------------------------------------------------------------------------

    def _spot_account(self, call: _Call) -> _Reply:
        """``GET /api/v3/account`` (``omitZeroBalances=true`` leaves out empty assets)."""
        account = call.account
        assert account is not None
        omit = (call.params.get("omitZeroBalances") or "false").lower() == "true"
        maker = int(self.ledger.maker_fee * 10_000)
        taker = int(self.ledger.taker_fee * 10_000)
        balances = [
            {"asset": asset, "free": fixed(b.free), "locked": fixed(b.locked)}
            for asset, b in sorted(account.balances.items())
            if not (omit and b.total == 0)
        ]
        return _Reply(body={
            "makerCommission": maker, "takerCommission": taker, "buyerCommission": 0, "sellerCommission": 0,
            "commissionRates": {"maker": fixed(self.ledger.maker_fee), "taker": fixed(self.ledger.taker_fee),
                                "buyer": "0.00000000", "seller": "0.00000000"},
            "canTrade": account.can_trade, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False, "updateTime": call.now_ms,
            "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 354937868,
        })  # fmt: skip

    def _margins(self, account: LedgerAccount) -> dict[str, Decimal]:
        settle = self.ledger.settle_asset
        wallet = account.balance(settle)
        upl = position_im = mm = ZERO
        for position in account.positions.values():
            if not position.qty:
                continue
            mark = self._mark_price(position.symbol) or position.entry_price
            upl += (mark - position.entry_price) * position.qty
            position_im += abs(position.qty) * mark / position.leverage
            mm += abs(position.qty) * mark * self.maintenance_rate
        total = wallet.total
        available = total + upl - position_im - wallet.locked
        return {"wallet": total, "upl": upl, "position_im": position_im, "order_im": wallet.locked, "mm": mm,
                "available": available}  # fmt: skip

    def _futures_balance(self, call: _Call) -> _Reply:
        """``GET /fapi/v2/balance`` (and v3): one row per asset of the wallet."""
        account = call.account
        assert account is not None
        m = self._margins(account)
        settle = self.ledger.settle_asset
        rows = [
            {
                "accountAlias": "SgsR",
                "asset": asset,
                "balance": fixed(m["wallet"] if asset == settle else b.total),
                "crossWalletBalance": fixed(m["wallet"] if asset == settle else b.total),
                "crossUnPnl": fixed(m["upl"] if asset == settle else ZERO),
                "availableBalance": fixed(m["available"] if asset == settle else b.free),
                "maxWithdrawAmount": fixed(m["available"] if asset == settle else b.free),
                "marginAvailable": True,
                "updateTime": call.now_ms,
            }
            for asset, b in sorted(account.balances.items())
        ]
        return _Reply(body=rows)

    def _futures_account(self, call: _Call, *, v2: bool) -> _Reply:
        account = call.account
        assert account is not None
        m = self._margins(account)
        settle = self.ledger.settle_asset
        totals = {
            "totalInitialMargin": fixed(m["position_im"] + m["order_im"]),
            "totalMaintMargin": fixed(m["mm"]),
            "totalWalletBalance": fixed(m["wallet"]),
            "totalUnrealizedProfit": fixed(m["upl"]),
            "totalMarginBalance": fixed(m["wallet"] + m["upl"]),
            "totalPositionInitialMargin": fixed(m["position_im"]),
            "totalOpenOrderInitialMargin": fixed(m["order_im"]),
            "totalCrossWalletBalance": fixed(m["wallet"]),
            "totalCrossUnPnl": fixed(m["upl"]),
            "availableBalance": fixed(m["available"]),
            "maxWithdrawAmount": fixed(m["available"]),
        }
        asset = {
            "asset": settle, "walletBalance": totals["totalWalletBalance"],
            "unrealizedProfit": totals["totalUnrealizedProfit"], "marginBalance": totals["totalMarginBalance"],
            "maintMargin": totals["totalMaintMargin"], "initialMargin": totals["totalInitialMargin"],
            "positionInitialMargin": totals["totalPositionInitialMargin"],
            "openOrderInitialMargin": totals["totalOpenOrderInitialMargin"],
            "crossWalletBalance": totals["totalCrossWalletBalance"], "crossUnPnl": totals["totalCrossUnPnl"],
            "availableBalance": totals["availableBalance"], "maxWithdrawAmount": totals["maxWithdrawAmount"],
            "marginAvailable": True, "updateTime": call.now_ms,
        }  # fmt: skip
        positions = self._position_rows(account, None, v2=v2, all_symbols=v2)
        body: dict[str, Any] = {"feeTier": 0, "canTrade": account.can_trade, "canDeposit": True, "canWithdraw": True,
                                "updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1, **totals,
                                "assets": [asset], "positions": positions}  # fmt: skip
        return _Reply(body=body)

    def _futures_account_v2(self, call: _Call) -> _Reply:
        return self._futures_account(call, v2=True)

    def _futures_account_v3(self, call: _Call) -> _Reply:
        return self._futures_account(call, v2=False)

    def _position_rows(
        self, account: LedgerAccount, symbol: str | None, *, v2: bool, all_symbols: bool
    ) -> list[dict[str, Any]]:
        rows = []
        for name, rules in sorted(self.ledger.rules.items()):
            if symbol is not None and name != symbol:
                continue
            position = account.position(name)
            if not all_symbols and position.qty == 0 and not self.ledger.open_orders(account, name):
                continue
            trades = [t for t in account.trades if t.symbol == name]
            rows.append(position_risk(position, rules, mark=self._mark_price(name),
                                      maintenance_rate=self.maintenance_rate,
                                      updated_ms=trades[-1].time_ms if trades else 0, v2=v2,
                                      margin_type=self.margin_type(account.name, name)))  # fmt: skip
        return rows

    def _position_risk(self, call: _Call, *, v2: bool) -> _Reply:
        """``GET /fapi/v2/positionRisk`` (every symbol, or ``symbol``) or v3 (only symbols with a position
        or open orders)."""
        assert call.account is not None
        symbol = call.params.get("symbol")
        if symbol is not None and symbol not in self.ledger.rules:
            return _error(-1121, "Invalid symbol.")
        return _Reply(body=self._position_rows(call.account, symbol, v2=v2, all_symbols=v2))

    def _position_risk_v2(self, call: _Call) -> _Reply:
        return self._position_risk(call, v2=True)

    def _position_risk_v3(self, call: _Call) -> _Reply:
        return self._position_risk(call, v2=False)

    def _income(self, call: _Call) -> _Reply:
        """``GET /fapi/v1/income`` (``symbol``, ``incomeType``, ``startTime``, ``endTime`` inclusive, ``page``,
        ``limit`` default 100, at most 1000): the account's COMMISSION and REALIZED_PNL per trade and
        FUNDING_FEE per funding payment, oldest first; the last 7 days when neither time is sent."""
        account = call.account
        assert account is not None
        params = call.params
        symbol = params.get("symbol")
        if symbol is not None and symbol not in self.ledger.rules:
            return _error(-1121, "Invalid symbol.")
        kind = params.get("incomeType")
        if kind is not None and kind not in _INCOME_TYPES:
            return _error(-1130, "Data sent for parameter 'incomeType' is not valid.")
        start, end = _int(params, "startTime"), _int(params, "endTime")
        if start is None and end is None:
            start, end = call.now_ms - 7 * _DAY_MS, call.now_ms
        limit = max(1, min(_int(params, "limit") or 100, 1000))
        page = max(1, _int(params, "page") or 1)
        settle = self.ledger.settle_asset
        rows: list[dict[str, Any]] = []
        for k, trade in enumerate(account.trades):
            tran_id, trade_id = _FIRST_TRADE_TRAN_ID + k, str(trade.trade_id)
            if trade.realized_pnl:
                rows.append(income_entry("REALIZED_PNL", trade.symbol, trade.realized_pnl, settle, trade.time_ms,
                                         tran_id, trade_id))  # fmt: skip
            rows.append(income_entry("COMMISSION", trade.symbol, -trade.fee, trade.fee_asset, trade.time_ms, tran_id,
                                     trade_id))  # fmt: skip
        rows += [funding_income(payment, settle) for payment in account.fundings]
        rows = [
            r for r in rows
            if (symbol is None or r["symbol"] == symbol) and (kind is None or r["incomeType"] == kind)
            and (start is None or r["time"] >= start) and (end is None or r["time"] <= end)
        ]  # fmt: skip
        rows.sort(key=lambda r: (r["time"], r["tranId"]))
        return _Reply(body=rows[(page - 1) * limit : page * limit])

    # -- USD-M settings and the dead-man's switch ---------------------------------------------------

    def _countdown(self, call: _Call) -> _Reply:
        """``POST /fapi/v1/countdownCancelAll`` ``symbol``, ``countdownTime`` (ms, 0 stops it): unless
        renewed within the countdown, the symbol's open orders are cancelled."""
        rules = self._rules_of(call.params)
        if isinstance(rules, _Reply):
            return rules
        assert call.account is not None
        countdown = _int(call.params, "countdownTime")
        if countdown is None:
            return _mandatory("countdownTime")
        key = (call.account.name, rules.symbol)
        if countdown <= 0:
            self._countdowns.pop(key, None)
        else:
            self._countdowns[key] = (countdown, self._clock() + countdown / 1000)
        return _Reply(body={"symbol": rules.symbol, "countdownTime": str(countdown)})

    def _check_countdowns(self) -> None:
        now = self._clock()
        for key, (_, deadline) in list(self._countdowns.items()):
            if now < deadline:
                continue
            del self._countdowns[key]
            name, symbol = key
            account = self.ledger.accounts[name]
            cancelled = [o.order_id for o in self.ledger.cancel_all(account, symbol)]
            self.countdown_triggers.append(CountdownTrigger(name, symbol, now, tuple(cancelled)))
            logger.info("countdown cancel: %s %s: cancelled %d orders", name, symbol, len(cancelled))

    def _set_leverage(self, call: _Call) -> _Reply:
        """``POST /fapi/v1/leverage`` ``symbol``, ``leverage`` (1 to the symbol's maximum)."""
        rules = self._rules_of(call.params)
        if isinstance(rules, _Reply):
            return rules
        assert call.account is not None
        leverage = _int(call.params, "leverage")
        if leverage is None:
            return _mandatory("leverage")
        if not 1 <= leverage <= self.max_leverage:
            return _error(-4028, f"Leverage {leverage} is not valid")
        call.account.position(rules.symbol).leverage = Decimal(leverage)
        return _Reply(body={"leverage": leverage, "maxNotionalValue": "1000000", "symbol": rules.symbol})

    def _leverage_brackets(self, call: _Call) -> _Reply:
        """``GET /fapi/v1/leverageBracket``: one bracket per symbol (the fake's maximum leverage and
        maintenance rate apply to any notional); ccxt reads it before a positions snapshot."""
        symbol = call.params.get("symbol")
        if symbol is not None and symbol not in self.ledger.rules:
            return _error(-1121, "Invalid symbol.")
        rows = [
            {"symbol": name, "notionalCoef": 1.0, "brackets": [
                {"bracket": 1, "initialLeverage": self.max_leverage, "notionalCap": 1_000_000_000, "notionalFloor": 0,
                 "maintMarginRatio": float(self.maintenance_rate), "cum": 0.0}]}
            for name in sorted(self.ledger.rules) if symbol is None or name == symbol
        ]  # fmt: skip
        return _Reply(body=rows)

    def _set_margin_type(self, call: _Call) -> _Reply:
        """``POST /fapi/v1/marginType`` ``ISOLATED``/``CROSSED`` (``-4046`` when unchanged). The fake keeps
        the setting and reports it; its margin arithmetic is cross-margin either way."""
        rules = self._rules_of(call.params)
        if isinstance(rules, _Reply):
            return rules
        assert call.account is not None
        wanted = call.params.get("marginType")
        if wanted not in ("ISOLATED", "CROSSED"):
            return _mandatory("marginType")
        key = (call.account.name, rules.symbol)
        if self._margin_type.get(key, "CROSSED") == wanted:
            return _error(-4046, "No need to change margin type.")
        if call.account.position(rules.symbol).qty or self.ledger.open_orders(call.account, rules.symbol):
            return _error(-4048, "Margin type cannot be changed if there exists position.")
        self._margin_type[key] = wanted
        return _Reply(body={"code": 200, "msg": "success"})

    def _get_dual(self, call: _Call) -> _Reply:
        assert call.account is not None
        return _Reply(body={"dualSidePosition": self._dual.get(call.account.name, False)})

    def _set_dual(self, call: _Call) -> _Reply:
        """``POST /fapi/v1/positionSide/dual`` ``dualSidePosition`` ``true`` (hedge) or ``false`` (one-way)."""
        account = call.account
        assert account is not None
        wanted = (call.params.get("dualSidePosition") or "").lower()
        if wanted not in ("true", "false"):
            return _mandatory("dualSidePosition")
        dual = wanted == "true"
        if self._dual.get(account.name, False) == dual:
            return _error(-4059, "No need to change position side.")
        if any(p.qty for p in account.positions.values()) or self.ledger.open_orders(account):
            return _error(-4068, "The position side cannot be changed if there exists position.")
        self._dual[account.name] = dual
        return _Reply(body={"code": 200, "msg": "success"})

    # -- USD-M listen keys and their stream -----------------------------------------------------------

    def _listen_key_new(self, call: _Call) -> _Reply:
        """``POST /fapi/v1/listenKey``: the account's active key (its life extended) or a new one."""
        assert call.account is not None
        now = self._clock()
        for key, entry in self._listen_keys.items():
            if entry.account == call.account.name and entry.expires_s > now:
                entry.expires_s = now + self._listen_key_ttl_s
                return _Reply(body={"listenKey": key})
        key = secrets.token_urlsafe(48)[:64]
        self._listen_keys[key] = _ListenKey(call.account.name, now + self._listen_key_ttl_s)
        return _Reply(body={"listenKey": key})

    def _listen_key_keep(self, call: _Call) -> _Reply:
        """``PUT /fapi/v1/listenKey``: extend the account's key by the key's lifetime."""
        assert call.account is not None
        now = self._clock()
        for key, entry in self._listen_keys.items():
            if entry.account == call.account.name and entry.expires_s > now:
                entry.expires_s = now + self._listen_key_ttl_s
                return _Reply(body={"listenKey": key})
        return _error(-1125, _MSG_NO_LISTEN_KEY)

    def _listen_key_close(self, call: _Call) -> _Reply:
        """``DELETE /fapi/v1/listenKey``: the account's key ends (its streams are closed)."""
        assert call.account is not None
        for entry in self._listen_keys.values():
            if entry.account == call.account.name:
                entry.expires_s = 0.0
        return _Reply(body={})

    async def _expire_listen_keys(self) -> None:
        now = self._clock()
        for key, entry in list(self._listen_keys.items()):
            if entry.expires_s > now:
                continue
            del self._listen_keys[key]
            for conn in self.connections:
                if conn.path.startswith("/private/ws") and _listen_key_of(conn) == key:
                    event = {"e": "listenKeyExpired", "E": self._now_ms(), "listenKey": key}
                    await self._write_event(conn, "listenKeyExpired", _encode(event).decode())
                    await conn.close(1000, "listenKey expired")

    async def _handle_listen_key_stream(self, request: web.Request) -> web.StreamResponse:
        """``/private/ws?listenKey=...``: the account's events, raw (``{"e":"ORDER_TRADE_UPDATE",...}``)."""
        key = request.query.get("listenKey", "")
        entry = self._listen_keys.get(key)
        if entry is None or entry.expires_s <= self._clock():
            return web.Response(status=400, body=_encode({"code": -1125, "msg": _MSG_NO_LISTEN_KEY}),
                                content_type="application/json")  # fmt: skip
        return await self._serve_ws(request, streams=(), combined=False)

    # -- spot WS-API -----------------------------------------------------------------------------

    async def _handle_ws_api(self, request: web.Request) -> web.StreamResponse:
        """``/ws-api/v3``: requests ``{"id","method","params"}`` answered ``{"id","status","result"}``."""
        try:
            return await self._serve_ws(request, streams=(), combined=True)
        finally:
            self._sweep_sessions()

    def _sweep_sessions(self) -> None:
        for conn_id, session in list(self._sessions.items()):
            if not session.conn.open:
                del self._sessions[conn_id]
        self._notify()

    def _session(self, conn: VenueConnection) -> _Session:
        session = self._sessions.get(conn.id)
        if session is None:
            session = self._sessions[conn.id] = _Session(conn)
        return session

    async def _on_text(self, conn: VenueConnection, text: str) -> None:
        if not self._is_private_path(conn.path):
            await super()._on_text(conn, text)
            return
        if conn.path.startswith("/private/ws"):
            self.stats.ignored_messages += 1  # the listen-key stream takes no requests
            return
        session = self._session(conn)
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            request = None
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            self.stats.ignored_messages += 1
            logger.warning("WS-API connection %d: not a request: %.200r", conn.id, text)
            await self._ws_api_answer(conn, None, 400, error=(-1000, "Malformed request."))
            return
        request_id = request.get("id")
        method: str = request["method"]
        raw_params = request.get("params")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        if method == "userDataStream.subscribe.signature":
            await self._subscribe_signature(session, request_id, params)
        elif method == "userDataStream.unsubscribe":
            wanted = params.get("subscriptionId")
            dropped = [s for s in session.subscriptions if wanted is None or s == wanted]
            session.subscriptions = [s for s in session.subscriptions if s not in dropped]
            await self._ws_api_answer(conn, request_id, 200, result={})
        elif method == "session.subscriptions":
            await self._ws_api_answer(conn, request_id, 200, result=[{"subscriptionId": s}
                                                                     for s in session.subscriptions])  # fmt: skip
        elif method == "ping":
            await self._ws_api_answer(conn, request_id, 200, result={})
        elif method == "time":
            await self._ws_api_answer(conn, request_id, 200, result={"serverTime": self._now_ms()})
        else:
            await self._ws_api_answer(conn, request_id, 400, error=(-1000, f"Unknown method '{method}'."))
        self._notify()

    async def _ws_api_answer(
        self, conn: VenueConnection, request_id: Any, status: int, *, result: Any = None,
        error: tuple[int, str] | None = None,
    ) -> None:  # fmt: skip
        answer: dict[str, Any] = {"id": request_id, "status": status}
        if error is not None:
            answer["error"] = {"code": error[0], "msg": error[1]}
        else:
            answer["result"] = result
        answer["rateLimits"] = [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                                 "limit": self._weight_limit, "count": self._used_weight}]  # fmt: skip
        await conn.send_control(_encode(answer).decode())

    async def _subscribe_signature(self, session: _Session, request_id: Any, params: Mapping[str, Any]) -> None:
        """``userDataStream.subscribe.signature`` with ``apiKey``, ``timestamp``, ``recvWindow``,
        ``signature`` (over the other params sorted by name): ``{"result":{"subscriptionId":N}}``."""
        conn = session.conn
        refusal: tuple[int, int, str] | None = None
        api_key = str(params.get("apiKey", ""))
        account = self.ledger.account_for_key(api_key) if api_key else None
        sent = str(params.get("signature", ""))
        timestamp = str(params.get("timestamp", ""))
        window = str(params.get("recvWindow", "5000"))
        now_ms = self._now_ms()
        if account is None:
            refusal = (401, -2015, _MSG_KEY_INVALID)
        elif not timestamp.isdigit() or not window.isdigit():
            refusal = (400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
        elif int(timestamp) >= now_ms + 1000:
            refusal = (400, -1021, _MSG_AHEAD)
        elif now_ms - int(timestamp) > int(window):
            refusal = (400, -1021, _MSG_RECV_WINDOW)
        else:
            payload = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
            if not hmac.compare_digest(sent, signature(account.api_secret, payload)):
                refusal = (400, -1022, _MSG_SIGNATURE)
        if refusal is not None:
            self.auth_log.append((conn.id, refusal[1], False))
            await self._ws_api_answer(conn, request_id, refusal[0], error=(refusal[1], refusal[2]))
            return
        assert account is not None
        if session.account not in (None, account.name):
            await self._ws_api_answer(conn, request_id, 400, error=(-1000, "Another account is subscribed."))
            return
        session.account = account.name
        subscription = next(self._subscription_ids)
        session.subscriptions.append(subscription)
        self.auth_log.append((conn.id, 0, True))
        await self._ws_api_answer(conn, request_id, 200, result={"subscriptionId": subscription})

    # -- events ------------------------------------------------------------------------------------

    async def _flush_user_events(self) -> None:
        """Send every queued ledger event to the user streams, in ledger order, then the account state."""
        async with self._flush_lock:
            while self._outbox:
                touched: dict[str, set[str]] = {}
                while self._outbox:
                    event = self._outbox.popleft()
                    if isinstance(event, FundingPayment):
                        await self._send_funding(event)
                        continue
                    await self._send_event(event)
                    if event.trade is not None or self.market == "spot":
                        touched.setdefault(event.account, set()).add(event.order.symbol)
                for name, symbols in touched.items():
                    await self._send_account_state(name, symbols)

    def _streams_of(self, name: str) -> list[tuple[VenueConnection, list[int] | None]]:
        """Where ``name``'s events go: WS-API connections with their subscription ids (spot), or the
        listen-key streams of the account's key (USD-M, ``None``: raw events)."""
        if self.market == "spot":
            return [(s.conn, list(s.subscriptions)) for s in self._sessions.values()
                    if s.account == name and s.conn.open and s.subscriptions]  # fmt: skip
        targets: list[tuple[VenueConnection, list[int] | None]] = []
        for conn in self.connections:
            if conn.path.startswith("/private/ws"):
                entry = self._listen_keys.get(_listen_key_of(conn))
                if entry is not None and entry.account == name:
                    targets.append((conn, None))
        return targets

    async def _send_event(self, event: LedgerEvent) -> None:
        sessions = self._streams_of(event.account)
        if not sessions:
            return
        exec_type = event.exec_type.value
        if self.market == "spot":
            cancel_id = self._cancel_client_ids.get((event.order.symbol, event.order.order_id), "")
            body = execution_report(
                event.order, exec_type, event.status, event.executed_qty, event.cum_quote, event.trade,
                event.time_ms, cancel_client_id=cancel_id,
            )  # fmt: skip
        else:
            rules = self.ledger.rules[event.order.symbol]
            body = futures_order_event(event.order, rules, exec_type, event.status, event.executed_qty,
                                       event.cum_quote, event.trade, event.time_ms)  # fmt: skip
        for conn, subscriptions in sessions:
            await self._deliver(conn, subscriptions, body)

    async def _send_funding(self, payment: FundingPayment) -> None:
        """``ACCOUNT_UPDATE`` with reason ``FUNDING_FEE``: the wallet alone (a cross position's funding
        carries no ``P``), ``bc`` the payment."""
        sessions = self._streams_of(payment.account)
        if not sessions:
            return
        settle = self.ledger.settle_asset
        body = account_update_event("FUNDING_FEE", payment.balance, settle, [], payment.time_ms, self.ledger.rules,
                                    balance_change=payment.payment)  # fmt: skip
        for conn, subscriptions in sessions:
            await self._deliver(conn, subscriptions, body)

    async def _send_account_state(self, name: str, symbols: Iterable[str]) -> None:
        sessions = self._streams_of(name)
        if not sessions:
            return
        account = self.ledger.accounts[name]
        now = self._now_ms()
        if self.market == "spot":
            assets = sorted({a for s in symbols for a in (self.ledger.rules[s].base, self.ledger.rules[s].quote)})
            body: dict[str, Any] = {
                "e": "outboundAccountPosition", "E": now, "u": now,
                "B": [{"a": a, "f": fixed(account.balance(a).free), "l": fixed(account.balance(a).locked)}
                      for a in assets],
            }  # fmt: skip
        else:
            positions = []
            for symbol in sorted(symbols):
                position = account.position(symbol)
                mark = self._mark_price(symbol) or position.entry_price
                positions.append((position, (mark - position.entry_price) * position.qty if position.qty else ZERO))
            wallet = account.balance(self.ledger.settle_asset).total
            body = account_update_event("ORDER", wallet, self.ledger.settle_asset, positions, now, self.ledger.rules)
        for conn, subscriptions in sessions:
            await self._deliver(conn, subscriptions, body)

    async def _deliver(self, conn: VenueConnection, subscriptions: list[int] | None, body: dict[str, Any]) -> None:
        if subscriptions is None:
            await self._write_event(conn, str(body["e"]), _encode(body).decode())
            return
        for subscription in subscriptions:
            text = _encode({"subscriptionId": subscription, "event": body}).decode()
            await self._write_event(conn, str(body["e"]), text)

    async def _write_event(self, conn: VenueConnection, event: str, text: str) -> None:
        if self.faults.user_stream_silent:
            self._record(AppliedFault(FaultKind.USER_STREAM_SILENT, event, connection=conn.id, detail="withheld"))
            self.user_stream_log.append(UserStreamMessage(conn.id, event, text, sent=False))
            return
        await conn.send_control(text)
        self.user_stream_log.append(UserStreamMessage(conn.id, event, text, sent=True))
        self._notify()


class _MarkPrice(msgspec.Struct, frozen=True):
    """USD-M ``markPriceUpdate``: ``{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000",
    "i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}``."""

    symbol: str = msgspec.field(name="s")
    mark_price: str = msgspec.field(name="p", default="")
    funding_rate: str = msgspec.field(name="r", default="")
    next_funding_ms: int = msgspec.field(name="T", default=0)


_decode_mark = msgspec.json.Decoder(_MarkPrice)


def _listen_key_of(conn: VenueConnection) -> str:
    return parse_qs(urlsplit(conn.path).query).get("listenKey", [""])[0]


def _unsigned(query: str, body: str) -> tuple[str, str | None]:
    """The request's ``totalParams`` (query string then body) without ``signature``, and the signature sent."""
    sent: str | None = None
    parts: list[str] = []
    for source in (query, body):
        kept = []
        for item in source.split("&") if source else []:
            if item.startswith("signature="):
                sent = item[len("signature=") :]
            else:
                kept.append(item)
        parts.append("&".join(kept))
    total = parts[0] + parts[1] if parts[0] and parts[1] else parts[0] or parts[1]
    return total, sent
