"""A fake private Bybit v5 venue (spot or linear perpetual) on loopback, that ccxt trades against.

:class:`FakeBybitExchange` is the public :class:`~arb.sim.bybit.public.FakeBybitVenue` (the same
recorded WebSocket market data on the same port) plus Bybit's private side, served from its own
:class:`~arb.sim.ledger.Ledger`: orders match against the book the venue is replaying.

REST, as v5 documents it (bybit-exchange.github.io/docs/v5): business errors are HTTP 200 with
``{"retCode":..,"retMsg":..,"result":{},"retExtInfo":{},"time":..}``; signed requests carry
``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-RECV-WINDOW`` and ``X-BAPI-SIGN``
(:func:`~arb.sim.bybit.wire.rest_signature`); private answers carry ``X-Bapi-Limit``,
``X-Bapi-Limit-Status`` and ``X-Bapi-Limit-Reset-Timestamp``.

* public: ``GET /v5/market/time``, ``/v5/market/instruments-info``, ``/v5/market/orderbook``;
* account: ``GET /v5/user/query-api``, ``/v5/account/info``, ``/v5/asset/coin/query-info``,
  ``/v5/account/wallet-balance``, ``/v5/account/transaction-log`` (linear: TRADE and SETTLEMENT),
  ``/v5/position/list``;
* orders: ``POST /v5/order/create`` (ack only), ``/v5/order/cancel``, ``/v5/order/cancel-all``,
  ``/v5/order/disconnected-cancel-all`` (DCP), ``GET /v5/order/realtime``, ``/v5/order/history``,
  ``/v5/execution/list``;
* positions: ``POST /v5/position/set-leverage``, ``/v5/position/switch-mode``.

The private stream is ``/v5/private`` on the same port: ``{"op":"auth","args":[key, expires, sig]}``,
``subscribe`` to ``order``, ``execution``, ``execution.fast``, ``position``, ``wallet``, ``dcp``
(and their categorised forms), app-level ``{"op":"ping"}``. Ledger events go out in ledger order.

Linear funding: each funding time the ``tickers.<SYMBOL>`` stream shows passing (its
``nextFundingTime`` moves on; recorded frames and those of a ``funding=`` schedule alike) is settled on
the ledger at the rate and mark price the stream announced for it
(:class:`~arb.sim.funding.FundingAnnouncements`): the wallet moves, the position's
``cumRealisedPnl`` counts it, ``/v5/account/transaction-log`` lists a ``SETTLEMENT``, and the executions
(``/v5/execution/list``, the ``execution`` topic) a row of ``execType`` ``Funding``, as Bybit does.

Time is the venue's ``clock`` (seconds): request timestamps, rate-limit windows, bans and DCP are
read from it, so a test moves time by moving its clock and calling :meth:`FakeBybitExchange.tick`.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from aiohttp import web

from arb.sim.bybit.public import BybitMarket, FakeBybitVenue
from arb.sim.bybit.wire import (
    FIRST_ORDER_ID,
    FIRST_TRADE_ID,
    BybitCategory,
    OrderView,
    decimal_text,
    execution_entry,
    funding_exec_id,
    funding_execution_entry,
    instrument_entry,
    ledger_order_id,
    order_entry,
    order_status,
    position_entry,
    reject_code,
    rest_signature,
    timestamp_error,
    transaction_entry,
    wallet_coin_entry,
    wire_exec_id,
    wire_order_id,
    ws_signature,
)
from arb.sim.faults import AppliedFault, FaultKind, OrderFault, OrderOperation, RestFault
from arb.sim.funding import FundingAnnouncements
from arb.sim.ledger import (
    ExecType,
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
from arb.sim.venue import VenueConnection

__all__ = ["DEFAULT_RATE_LIMITS", "DcpTrigger", "FakeBybitExchange", "UserStreamMessage"]

logger = logging.getLogger(__name__)

_encode = msgspec.json.Encoder().encode
ZERO = Decimal(0)
_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
_CURSOR_OFFSET = re.compile(r"(\d+)$")
_SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000

DEFAULT_RATE_LIMITS: Mapping[str, Mapping[str, int]] = {
    "spot": {
        "/v5/order/create": 20,
        "/v5/order/cancel": 20,
        "/v5/order/cancel-all": 20,
    },
    "linear": {
        "/v5/order/create": 10,
        "/v5/order/cancel": 10,
        "/v5/order/cancel-all": 10,
        "/v5/position/list": 50,
        "/v5/position/set-leverage": 10,
        "/v5/position/switch-mode": 10,
    },
    "any": {
        "/v5/order/realtime": 50,
        "/v5/order/history": 50,
        "/v5/execution/list": 50,
        "/v5/order/disconnected-cancel-all": 5,
        "/v5/account/wallet-balance": 50,
        "/v5/account/transaction-log": 30,
        "/v5/account/info": 50,
        "/v5/user/query-api": 10,
        "/v5/asset/coin/query-info": 5,
        "/v5/position/list": 50,
        "/v5/position/set-leverage": 10,
        "/v5/position/switch-mode": 10,
    },
}
"""Requests per second per UID and endpoint (v5 "Rate Limit Rules", UTA 2.0 Pro, not upgraded)."""

_MSG_TOO_MANY = "Too many visits!"
_MSG_BAN = "access too frequent"
_MSG_SYSTEM = "Internal system error."
_HTTP_TEXT = {
    403: _MSG_BAN,
    429: "System level frequency protection. Please retry when encounter this",  # v5 "Error Codes", HTTP 429
}
_STABLE_COINS = frozenset({"USDT", "USDC"})
_CATEGORIES = ("spot", "linear", "inverse", "option")


@dataclass(frozen=True, slots=True)
class UserStreamMessage:
    """One private-stream message the venue wrote (or withheld while the stream was silenced)."""

    connection: int
    topic: str
    text: str
    sent: bool


@dataclass(frozen=True, slots=True)
class DcpTrigger:
    """One disconnection-protection cancel: ``account``'s orders cancelled at venue time ``at_s``."""

    account: str
    product: str
    at_s: float
    cancelled: tuple[int, ...]
    """Ledger ids of the orders cancelled."""


@dataclass(slots=True)
class _Session:
    """A private-stream connection's state."""

    conn: VenueConnection
    account: str | None = None
    auth_count: int = 0


@dataclass(slots=True)
class _OrderMeta:
    market_unit: str = ""
    last_price: str = ""
    cancel_type: str = ""


@dataclass(slots=True)
class _Call:
    """One authenticated (or public) REST call as the handlers see it."""

    params: dict[str, Any]
    account: LedgerAccount | None
    now_ms: int


@dataclass(slots=True)
class _Reply:
    """A handler's answer: HTTP 200 with ``retCode``/``retMsg``/``result`` unless ``raw`` is set."""

    ret_code: int = 0
    ret_msg: str = "OK"
    result: Any = field(default_factory=dict)
    raw: dict[str, Any] | None = None
    """A whole body as documented where it is not the usual envelope (DCP: ``{"retCode":0,"retMsg":"success"}``)."""


@dataclass(frozen=True, slots=True)
class _Endpoint:
    method: str
    handler: Callable[[_Call], _Reply]
    private: bool
    operation: OrderOperation | None


def _error(code: int, msg: str) -> _Reply:
    return _Reply(code, msg)


def _text(params: Mapping[str, Any], key: str) -> str | None:
    """A parameter as text (JSON bodies may carry numbers or booleans); ``None`` when absent or null."""
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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


def _flag(params: Mapping[str, Any], key: str) -> bool:
    return (_text(params, key) or "").lower() in ("true", "1")


def _page(items: list[Any], params: Mapping[str, Any], default: int, maximum: int) -> tuple[list[Any], str]:
    """One page of ``items`` by ``limit`` and ``cursor``; the cursor of the next page, ``""`` at the end."""
    try:
        limit = int(_text(params, "limit") or default)
    except ValueError:
        limit = default
    limit = max(1, min(limit, maximum))
    offset = 0
    cursor = _text(params, "cursor")
    if cursor:
        match = _CURSOR_OFFSET.search(cursor)
        offset = int(match.group(1)) if match else 0
    page = items[offset : offset + limit]
    following = offset + limit
    return page, (f"page%3D{following}" if following < len(items) else "")


class _Ticker(msgspec.Struct, frozen=True):
    """The fields of a linear ``tickers`` item the funding follows (a delta carries only what changed):
    ``{"symbol":"BTCUSDT","markPrice":"60300.0","fundingRate":"0.0003","nextFundingTime":"1714982400000",...}``."""

    symbol: str
    mark_price: str | None = msgspec.field(name="markPrice", default=None)
    funding_rate: str | None = msgspec.field(name="fundingRate", default=None)
    next_funding_ms: str | None = msgspec.field(name="nextFundingTime", default=None)


class _TickerMessage(msgspec.Struct, frozen=True):
    """``{"topic":"tickers.BTCUSDT","type":"snapshot"|"delta","data":{...},"cs":...,"ts":...}``."""

    data: _Ticker


_decode_ticker = msgspec.json.Decoder(_TickerMessage)


class FakeBybitExchange(FakeBybitVenue):
    """Fake Bybit v5 with trading, for ``market="spot"`` or ``"linear"`` (USDT perpetuals).

    ``rules``: each tradable symbol's instrument rules (tick, qty step = spot ``basePrecision``,
    min/max qty, min order value = spot ``minOrderAmt`` / linear ``minNotionalValue``, min/max price),
    reported by ``instruments-info`` and enforced on orders. ``options``
    (:class:`~arb.sim.options.VenueOptions`): how it serves, and its trading terms: fees default to
    Bybit's base rates (spot 0.1 %/0.1 %, linear 0.055 %/0.02 %), a spot fee is paid in the asset
    received (a buy's in the base coin) unless ``spot_fee_asset="quote"``, leverage up to 100,
    maintenance rate 0.5 %. ``rate_limits`` overrides the per-second, per-UID request limit of any
    path (:data:`DEFAULT_RATE_LIMITS`). ``ip_limit`` ``(requests, seconds)`` is the REST IP limit
    (Bybit: 600 per 5 s); past it the venue bans the IP for ``ip_ban_s`` (Bybit: 10 minutes) and
    answers HTTP 403. The options' ``clock`` (seconds) is the venue's time. ``symbols`` and ``seed``
    are :class:`~arb.sim.bybit.public.FakeBybitVenue`'s.
    """

    def __init__(
        self,
        recordings: SessionSpec | Sequence[SessionSpec],
        *,
        market: BybitMarket = "linear",
        rules: Sequence[SymbolRules],
        options: VenueOptions | None = None,
        symbols: Sequence[str] = (),
        seed: int = 0,
        rate_limits: Mapping[str, int] | None = None,
        ip_limit: tuple[int, float] | None = (600, 5.0),
        ip_ban_s: float = 600.0,
        private_path: str = "/v5/private",
    ) -> None:
        options = options if options is not None else VenueOptions()
        super().__init__(
            recordings, market=market, options=options, symbols=[*symbols, *(r.symbol for r in rules)], seed=seed
        )
        self.category: BybitCategory = market
        spot = market == "spot"
        self.ledger = Ledger(
            market=market,
            rules=rules,
            book=self._levels,
            book_version=lambda: self.position,
            clock_ms=self._now_ms,
            taker_fee=options.fee("taker", "0.001" if spot else "0.00055"),
            maker_fee=options.fee("maker", "0.001" if spot else "0.0002"),
            client_id_scope="all",
            fok_unfilled="expire",
            spot_fee_asset=options.spot_fee_asset,
            first_order_id=FIRST_ORDER_ID[market],
            first_trade_id=FIRST_TRADE_ID[market],
        )
        """The venue's own records: accounts, orders, trades, balances, positions."""
        self.private_path = private_path
        self.max_leverage = Decimal(options.max_leverage if options.max_leverage is not None else 100)
        self.maintenance_rate = Decimal(options.maintenance_rate if options.maintenance_rate is not None else "0.005")
        limits = dict(DEFAULT_RATE_LIMITS["any"])
        limits.update(DEFAULT_RATE_LIMITS[market])
        limits.update(rate_limits or {})
        self._rate_limits = limits
        self._ip_limit = ip_limit
        self._ip_ban_s = ip_ban_s
        self._ip_hits: deque[float] = deque()
        self._ban_until: float | None = None
        self._uid_hits: dict[tuple[int, str], deque[float]] = {}
        self._uids: dict[str, int] = {}
        self._next_uid = itertools.count(100_000_001)
        self._auto_link = itertools.count(1)
        self._order_meta: dict[int, _OrderMeta] = {}
        self._hedge_mode: dict[tuple[str, str], bool] = {}
        self._seq: dict[int, int] = {}
        self._next_seq = itertools.count(1_000_000_001)
        self._message_ids = itertools.count(1)
        self._announced = FundingAnnouncements()
        self._outbox: deque[LedgerEvent | FundingPayment] = deque()
        self._flush_lock = asyncio.Lock()
        self._sessions: dict[int, _Session] = {}
        self._dcp_windows: dict[str, dict[str, int]] = {}
        self._dcp_lost: dict[str, float] = {}
        self.dcp_product = "SPOT" if spot else "DERIVATIVES"
        """The DCP ``product`` this venue's orders belong to."""
        self.dcp_triggers: list[DcpTrigger] = []
        self.user_stream_log: list[UserStreamMessage] = []
        """Every private-stream event message, in order (acks and pongs not included)."""
        self.auth_log: list[tuple[int, str, bool]] = []
        """``(connection, ret_msg, success)`` of every private-stream auth request."""
        self._endpoints: dict[str, _Endpoint] = {
            "/v5/market/time": _Endpoint("GET", self._market_time, False, None),
            "/v5/market/instruments-info": _Endpoint("GET", self._instruments, False, None),
            "/v5/market/orderbook": _Endpoint("GET", self._orderbook, False, None),
            "/v5/user/query-api": _Endpoint("GET", self._query_api, True, None),
            "/v5/account/info": _Endpoint("GET", self._account_info, True, None),
            "/v5/asset/coin/query-info": _Endpoint("GET", self._coin_info, True, None),
            "/v5/account/wallet-balance": _Endpoint("GET", self._wallet_balance, True, "query"),
            "/v5/account/transaction-log": _Endpoint("GET", self._transaction_log, True, "query"),
            "/v5/position/list": _Endpoint("GET", self._position_list, True, "query"),
            "/v5/order/realtime": _Endpoint("GET", self._order_realtime, True, "query"),
            "/v5/order/history": _Endpoint("GET", self._order_history, True, "query"),
            "/v5/execution/list": _Endpoint("GET", self._execution_list, True, "query"),
            "/v5/order/create": _Endpoint("POST", self._order_create, True, "create"),
            "/v5/order/cancel": _Endpoint("POST", self._order_cancel, True, "cancel"),
            "/v5/order/cancel-all": _Endpoint("POST", self._order_cancel_all, True, "cancel"),
            "/v5/order/disconnected-cancel-all": _Endpoint("POST", self._set_dcp, True, None),
            "/v5/position/set-leverage": _Endpoint("POST", self._set_leverage, True, None),
            "/v5/position/switch-mode": _Endpoint("POST", self._switch_mode, True, None),
        }

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
        """Open a unified trading account (UTA) with these starting balances and HMAC credentials."""
        account = self.ledger.add_account(
            name, api_key=api_key, api_secret=api_secret, balances=dict(balances or {}), can_trade=can_trade
        )
        self._uids[name] = next(self._next_uid)
        self.ledger.subscribe(name, self._outbox.append)
        return account

    def uid(self, account: str) -> int:
        """The Bybit user id of ``account``."""
        return self._uids[account]

    @property
    def private_ws_url(self) -> str:
        """``ws://host:port/v5/private`` of endpoint 0: the private stream."""
        return f"ws://{self.host}:{self.ports[0]}{self.private_path}"

    def position_mode(self, symbol: str) -> str:
        """Linear: ``"one-way"`` or ``"hedge"`` for ``symbol`` (``/v5/position/switch-mode``)."""
        return "hedge" if self._hedge_mode.get(("*", symbol), False) else "one-way"

    def order_id(self, order: LedgerOrder) -> str:
        """The ``orderId`` the venue sends for ``order``."""
        return wire_order_id(self.category, order.order_id)

    def exec_id(self, trade: LedgerTrade) -> str:
        """The ``execId`` the venue sends for ``trade``."""
        return wire_exec_id(self.category, trade.trade_id)

    def ban(self, seconds: float) -> None:
        """Ban the IP for ``seconds`` of venue time: every REST request gets HTTP 403 until then."""
        self._ban_until = self._clock() + seconds
        self._record(AppliedFault(FaultKind.BAN, detail=f"until {self._ban_until:.3f}"))

    @property
    def banned(self) -> bool:
        """True while the IP ban lasts."""
        return self._ban_until is not None and self._clock() < self._ban_until

    async def tick(self) -> None:
        """Apply what is due at the venue's current time (disconnection protection), then send events."""
        self._check_dcp()
        await self._flush_user_events()

    async def drop_user_streams(self) -> int:
        """Drop the TCP connection of every private-stream client (they see 1006); returns how many."""
        dropped = 0
        for conn in self.connections:
            if conn.path.startswith(self.private_path):
                await conn.close(abrupt=True)
                self._record(AppliedFault(FaultKind.USER_STREAM_DROP, connection=conn.id))
                dropped += 1
        return dropped

    # -- time and book -----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _levels(self, symbol: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        view = self.book(symbol)
        return view.bids, view.asks

    def _mark_price(self, symbol: str) -> Decimal | None:
        """The book's mid (the fake's mark price), or its one side, or ``None`` for an empty book."""
        view = self.book(symbol, 1)
        bid = Decimal(view.bids[0][0]) if view.bids else None
        ask = Decimal(view.asks[0][0]) if view.asks else None
        if bid is not None and ask is not None:
            return (bid + ask) / 2
        return bid if bid is not None else ask

    def _on_release(self, frame: ReplayFrame) -> list[Any]:
        outs = super()._on_release(frame)
        if frame.stream.startswith("orderbook.") and frame.symbol in self.ledger.rules:
            self.ledger.on_book_change(frame.symbol)  # resting orders the book now crosses fill
        if self.category == "linear":
            for out in outs:
                if out.stream.startswith("tickers."):
                    self._take_ticker(out.text)
        return outs

    def _take_ticker(self, text: str) -> None:
        # A tickers message the venue sent: a funding time it shows passing is settled on the ledger.
        try:
            ticker = _decode_ticker.decode(text).data
            settled = self._announced.announce(
                ticker.symbol,
                mark_price=Decimal(ticker.mark_price) if ticker.mark_price else None,
                rate=Decimal(ticker.funding_rate) if ticker.funding_rate else None,
                next_funding_ms=int(ticker.next_funding_ms) if ticker.next_funding_ms else None,
            )
        except (msgspec.DecodeError, InvalidOperation, ValueError) as error:
            logger.warning("tickers message not understood (%s): %.200r", error, text)
            return
        if settled is not None:
            self.ledger.settle_funding(settled.symbol, settled.funding_ms, settled.rate, settled.mark_price)

    async def _release_next(self) -> bool:
        released = await super()._release_next()
        if self._outbox:
            await self._flush_user_events()
        return released

    # -- routes ------------------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        super()._add_routes(app)
        app.router.add_get(self.private_path, self._handle_private_ws)
        for path, endpoint in self._endpoints.items():
            app.router.add_route(endpoint.method, path, self._serve_rest)

    async def _serve_rest(self, request: web.Request) -> web.StreamResponse:
        """Serve one REST call: hold, ban, scripted faults, auth, rate limit, order faults, handler."""
        endpoint = self._endpoints[request.path]
        await self._begin_rest(request)
        self._check_dcp()
        await self._flush_user_events()
        now = self._clock()
        if (refused := self._ip_refusal(now)) is not None:
            self._log_rest(request, refused.status, 0)
            return refused
        body = await request.text() if request.method == "POST" else ""
        if (fault := self.faults.take_rest_fault(request.path)) is not None:
            return self._rest_fault(request, fault)
        headers = {"Timenow": str(int(now * 1000))}
        account: LedgerAccount | None = None
        if endpoint.private:
            account, refusal = self._authenticate(request, body, now)
            if refusal is not None:
                return self._respond(request, refusal, headers)
            assert account is not None
            over = self._charge(account, request.path, now, headers)
            if over:
                return self._respond(request, _error(10006, _MSG_TOO_MANY), headers)
        try:
            params = self._params(request, body)
        except ValueError:
            return self._respond(request, _error(10001, "Request parameter error."), headers)
        call = _Call(params, account, int(now * 1000))
        order_fault = None
        if endpoint.private:
            order_fault = self.faults.take_order_fault(endpoint.operation or "any")
        if order_fault is None:
            reply = self._run(endpoint, call)
            await self._flush_user_events()
            return self._respond(request, reply, headers)
        return await self._faulted(request, endpoint, call, order_fault, headers)

    def _run(self, endpoint: _Endpoint, call: _Call) -> _Reply:
        return endpoint.handler(call)

    async def _faulted(
        self, request: web.Request, endpoint: _Endpoint, call: _Call, fault: OrderFault, headers: dict[str, str]
    ) -> web.StreamResponse:
        """Answer under an order fault: the request is acted on before (``processed``) or not at all."""
        detail = f"{request.method} {request.path} processed={fault.processed}"
        self._record(AppliedFault(fault.kind, detail=detail))
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
            return self._respond(request, reply, headers)
        if fault.kind is FaultKind.ORDER_DROP:
            if request.transport is not None:
                request.transport.abort()
            self._log_rest(request, 0, 0)
            return web.Response(status=503)
        status = fault.status or 200
        if status == 200 or fault.code is not None:
            code = fault.code if fault.code is not None else 10016
            return self._respond(request, _error(code, fault.msg or _MSG_SYSTEM), headers, status=status)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        self._log_rest(request, status, 0)
        text = fault.msg or ("Service Unavailable" if status == 503 else "Internal Server Error")
        return web.Response(status=status, text=text, headers=headers)

    def _ip_refusal(self, now: float) -> web.Response | None:
        """HTTP 403 while the IP is banned; past the IP limit the ban starts (v5 "Rate Limit Rules")."""
        if self._ip_limit is not None:
            count, window = self._ip_limit
            while self._ip_hits and self._ip_hits[0] <= now - window:
                self._ip_hits.popleft()
            self._ip_hits.append(now)
            if len(self._ip_hits) > count and not self.banned:
                self._ban_until = now + self._ip_ban_s
                self._record(AppliedFault(FaultKind.BAN, detail=f"IP limit {count}/{window}s: until {self._ban_until}"))
        if self._ban_until is None or now >= self._ban_until:
            return None
        return web.Response(status=403, text=_MSG_BAN, content_type="text/plain")

    def _rest_fault(self, request: web.Request, fault: RestFault) -> web.Response:
        if fault.kind is FaultKind.REST_MALFORMED:
            body = _encode(self._envelope(_Reply(result={"list": []}), self._now_ms()))
            body = body[: max(1, len(body) // 2)]
            self._record(AppliedFault(FaultKind.REST_MALFORMED, detail=request.path))
            self._log_rest(request, 200, 0)
            return web.Response(status=200, body=body, content_type="application/json")
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.body is not None:
            body = fault.body
        elif fault.code is not None:
            body = _encode(self._envelope(_error(fault.code, fault.msg or ""), self._now_ms()))
        else:
            body = (fault.msg or _HTTP_TEXT.get(fault.status, "Service Unavailable")).encode()
        content_type = "application/json" if body.lstrip().startswith(b"{") else "text/plain"
        self._record(AppliedFault(FaultKind.REST_ERROR, detail=f"{fault.status} {body[:80]!r}"))
        self._log_rest(request, fault.status, 0)
        return web.Response(status=fault.status, body=body, headers=headers, content_type=content_type)

    def _authenticate(self, request: web.Request, body: str, now: float) -> tuple[LedgerAccount | None, _Reply | None]:
        """The account behind a signed request, or Bybit's refusal (10003, 10002, 10004)."""
        headers = request.headers
        api_key = headers.get("X-BAPI-API-KEY", "")
        account = self.ledger.account_for_key(api_key) if api_key else None
        if account is None:
            return None, _error(10003, "API key is invalid.")
        timestamp = headers.get("X-BAPI-TIMESTAMP", "")
        recv_window = headers.get("X-BAPI-RECV-WINDOW", "5000")
        server_ms = int(now * 1000)
        try:
            ts_ms, window_ms = int(timestamp), int(recv_window)
        except ValueError:
            return None, _error(10002, timestamp_error(timestamp, server_ms, recv_window))
        if not server_ms - window_ms <= ts_ms < server_ms + 1000:
            return None, _error(10002, timestamp_error(timestamp, server_ms, recv_window))
        payload = body if request.method == "POST" else request.rel_url.raw_query_string
        expected = rest_signature(account.api_secret, timestamp, api_key, recv_window, payload)
        if not hmac.compare_digest(headers.get("X-BAPI-SIGN", ""), expected):
            return None, _error(10004, f"error sign! origin_string[{timestamp}{api_key}{recv_window}{payload}]")
        return account, None

    def _charge(self, account: LedgerAccount, path: str, now: float, headers: dict[str, str]) -> bool:
        """Count one request against the UID's per-second limit of ``path``; True when over it."""
        limit = self._rate_limits.get(path, 50)
        hits = self._uid_hits.setdefault((self._uids[account.name], path), deque())
        while hits and hits[0] <= now - 1.0:
            hits.popleft()
        over = len(hits) >= limit
        if not over:
            hits.append(now)
        headers["X-Bapi-Limit"] = str(limit)
        headers["X-Bapi-Limit-Status"] = str(max(0, limit - len(hits)))
        reset = (hits[0] + 1.0) if over else now
        headers["X-Bapi-Limit-Reset-Timestamp"] = str(int(reset * 1000))
        return over

    def _params(self, request: web.Request, body: str) -> dict[str, Any]:
        if request.method != "POST":
            return dict(request.query)
        if not body.strip():
            return {}
        parsed = json.loads(body)  # a JSONDecodeError is a ValueError
        if not isinstance(parsed, dict):
            raise ValueError("the body is not a JSON object")
        return parsed

    def _envelope(self, reply: _Reply, now_ms: int) -> dict[str, Any]:
        if reply.raw is not None:
            return reply.raw
        return {"retCode": reply.ret_code, "retMsg": reply.ret_msg, "result": reply.result, "retExtInfo": {},
                "time": now_ms}  # fmt: skip

    def _respond(
        self, request: web.Request, reply: _Reply, headers: dict[str, str], *, status: int = 200
    ) -> web.Response:
        body = _encode(self._envelope(reply, self._now_ms()))
        self._log_rest(request, status, 0)
        return web.Response(status=status, body=body, headers=headers, content_type="application/json")

    # -- parameters shared by handlers --------------------------------------------------------------

    def _category(
        self, params: Mapping[str, Any], *, other: _Reply, allowed: tuple[str, ...] = _CATEGORIES
    ) -> _Reply | None:
        """``None`` when ``category`` is this venue's market; ``other`` for another market (which this venue
        holds nothing of: an empty list, or an unknown symbol); Bybit's refusal for a bad value."""
        category = _text(params, "category")
        if category not in allowed:
            return _error(10001, "Illegal category")
        return None if category == self.category else other

    @staticmethod
    def _empty(params: Mapping[str, Any]) -> _Reply:
        return _Reply(result={"list": [], "nextPageCursor": "", "category": _text(params, "category")})

    @staticmethod
    def _foreign_symbol(params: Mapping[str, Any]) -> _Reply:
        category: BybitCategory = "spot" if _text(params, "category") == "spot" else "linear"
        return _error(*reject_code(category, RejectReason.UNKNOWN_SYMBOL))

    def _rules(self, symbol: str | None) -> SymbolRules | None:
        return self.ledger.rules.get(symbol) if symbol else None

    def _unknown_symbol(self) -> _Reply:
        return _error(*reject_code(self.category, RejectReason.UNKNOWN_SYMBOL))

    def _order_view(self, order: LedgerOrder) -> OrderView:
        meta = self._order_meta.get(order.order_id)
        cancel_type = "UNKNOWN"
        if order.status is OrderStatus.CANCELED:
            cancel_type = (meta.cancel_type if meta is not None else "") or "CancelByUser"
        return OrderView(order, cancel_type=cancel_type)

    def _order_dict(self, view: OrderView, *, stream: bool = False) -> dict[str, Any]:
        order = view.order
        rules = self.ledger.rules[order.symbol]
        meta = self._order_meta.get(order.order_id) or _OrderMeta()
        fee_asset = order.trades[0].fee_asset if order.trades else self.ledger.settle_asset
        return order_entry(
            self.category,
            view,
            rules,
            fee_asset=fee_asset,
            market_unit=meta.market_unit,
            last_price=meta.last_price,
            stream=stream,
        )

    def _trade_seq(self, trade: LedgerTrade) -> int:
        seq = self._seq.get(trade.trade_id)
        if seq is None:
            seq = self._seq[trade.trade_id] = next(self._next_seq)
        return seq

    def _exec_dict(self, trade: LedgerTrade, order: LedgerOrder, *, stream: bool = False, fast: bool = False) -> Any:
        rules = self.ledger.rules[trade.symbol]
        rate = self.ledger.maker_fee if trade.is_maker else self.ledger.taker_fee
        mark = ""
        if self.category == "linear" and (price := self._mark_price(trade.symbol)) is not None:
            mark = decimal_text(price, rules.tick_size)
        return execution_entry(
            self.category, trade, order, rules, fee_rate=rate, mark_price=mark, seq=self._trade_seq(trade),
            stream=stream, fast=fast,
        )  # fmt: skip

    def _funding_order_id(self, payment: FundingPayment) -> str:
        # the orderId Bybit gives a settlement (the documented sample's shape: funding time in s, uid)
        return f"{payment.funding_ms // 1000}-8-{self._uids[payment.account]}-1-2"

    def _funding_exec_dict(self, payment: FundingPayment, *, stream: bool = False) -> dict[str, Any]:
        seq = self._seq.get(-payment.payment_id)
        if seq is None:
            seq = self._seq[-payment.payment_id] = next(self._next_seq)
        rules = self.ledger.rules[payment.symbol]
        return funding_execution_entry(payment, rules, order_id=self._funding_order_id(payment), seq=seq,
                                       stream=stream)  # fmt: skip

    # -- public handlers ---------------------------------------------------------------------------

    def _market_time(self, call: _Call) -> _Reply:
        """``GET /v5/market/time`` -> ``{"timeSecond":"1688639403","timeNano":"1688639403423213947"}``."""
        now = self._clock()
        return _Reply(result={"timeSecond": str(int(now)), "timeNano": str(int(now * 1_000_000_000))})

    def _instruments(self, call: _Call) -> _Reply:
        """``GET /v5/market/instruments-info?category=linear&limit=1000``: the venue's instruments.

        Only ``status=Trading`` ones exist (``PreLaunch`` answers an empty list). Linear pages by
        ``limit`` (default 500, max 1000) and ``cursor``/``nextPageCursor``; spot answers all at once.
        """
        category = _text(call.params, "category")
        if category not in ("spot", "linear", "inverse", "option"):
            return _error(10001, "Illegal category")
        items: list[SymbolRules] = []
        status = _text(call.params, "status") or "Trading"
        if category == self.category and status == "Trading":
            symbol = _text(call.params, "symbol")
            items = [r for s, r in sorted(self.ledger.rules.items()) if symbol is None or s == symbol]
        entries = [instrument_entry(self.category, r, max_leverage=self.max_leverage) for r in items]
        if category == "spot":
            return _Reply(result={"category": category, "list": entries})
        page, cursor = _page(entries, call.params, 500, 1000)
        return _Reply(result={"category": category, "list": page, "nextPageCursor": cursor})

    def _orderbook(self, call: _Call) -> _Reply:
        """``GET /v5/market/orderbook?category=spot&symbol=BTCUSDT&limit=50``: the venue's book,
        ``{"s","b","a","ts","u","seq","cts"}``; default depth 1 (spot) or 25 (linear), at most 1000."""
        if (refusal := self._category(call.params, other=self._foreign_symbol(call.params))) is not None:
            return refusal
        symbol = _text(call.params, "symbol") or ""
        if symbol not in self.symbols:
            return _error(10001, "params error: symbol invalid")
        default = 1 if self.category == "spot" else 25
        try:
            limit = max(1, min(int(_text(call.params, "limit") or default), 1000))
        except ValueError:
            return _error(10001, "params error: limit invalid")
        view = self.book(symbol, limit)
        state = self._books.get(symbol)
        result: dict[str, Any] = {
            "s": symbol,
            "b": [list(level) for level in view.bids],
            "a": [list(level) for level in view.asks],
            "ts": state.ts_ms if state is not None else call.now_ms,
            "u": state.update_id if state is not None else 0,
            "seq": state.cross_seq if state is not None else 0,
            "cts": (state.cts_ms or state.ts_ms) if state is not None else call.now_ms,
        }
        return _Reply(result=result)

    # -- account handlers --------------------------------------------------------------------------

    def _query_api(self, call: _Call) -> _Reply:
        """``GET /v5/user/query-api``: the key's details; ``uta: 1`` (a unified trading account)."""
        assert call.account is not None
        account = call.account
        trade = ["Order", "Position"] if account.can_trade else []
        result: dict[str, Any] = {
            "id": str(self._uids[account.name] * 10),
            "note": account.name,
            "apiKey": account.api_key,
            "readOnly": 0 if account.can_trade else 1,
            "secret": "",
            "permissions": {
                "ContractTrade": trade,
                "Spot": ["SpotTrade"] if account.can_trade else [],
                "Wallet": ["AccountTransfer", "SubMemberTransfer"],
                "Options": [],
                "Derivatives": ["DerivativesTrade"] if account.can_trade else [],
                "CopyTrading": [],
                "BlockTrade": [],
                "Exchange": [],
                "NFT": [],
                "Affiliate": [],
                "Earn": [],
            },
            "ips": [],
            "type": 1,
            "deadlineDay": 90,
            "expiredAt": "2099-01-01T00:00:00Z",
            "createdAt": "2024-01-01T00:00:00Z",
            "unified": 0,
            "uta": 1,
            "userID": self._uids[account.name],
            "inviterID": 0,
            "vipLevel": "No VIP",
            "mktMakerLevel": "0",
            "affiliateID": 0,
            "rsaPublicKey": "",
            "isMaster": True,
            "parentUid": "0",
            "kycLevel": "LEVEL_1",
            "kycRegion": "",
        }
        return _Reply(ret_msg="", result=result)

    def _account_info(self, call: _Call) -> _Reply:
        """``GET /v5/account/info``: ``unifiedMarginStatus`` 6 (UTA 2.0 Pro), regular margin."""
        return _Reply(
            result={
                "marginMode": "REGULAR_MARGIN",
                "updatedTime": str(call.now_ms),
                "unifiedMarginStatus": 6,
                "dcpStatus": "OFF",
                "timeWindow": 0,
                "smpGroup": 0,
                "isMasterTrader": False,
                "spotHedgingStatus": "OFF",
            }
        )

    def _coin_info(self, call: _Call) -> _Reply:
        """``GET /v5/asset/coin/query-info``: each coin of the venue's instruments, one chain each."""
        wanted = _text(call.params, "coin")
        coins = sorted({c for r in self.ledger.rules.values() for c in (r.base, r.quote)})
        rows = [
            {
                "name": coin,
                "coin": coin,
                "remainAmount": "1000000",
                "chains": [
                    {
                        "chainType": coin,
                        "confirmation": "12",
                        "withdrawFee": "0",
                        "depositMin": "0",
                        "withdrawMin": "0",
                        "chain": coin,
                        "chainDeposit": "1",
                        "chainWithdraw": "1",
                        "minAccuracy": "8",
                        "withdrawPercentageFee": "0",
                        "contractAddress": "",
                        "safeConfirmNumber": "12",
                        "withdrawMax": "1000000",
                    }
                ],
            }
            for coin in coins
            if wanted is None or coin == wanted
        ]
        return _Reply(ret_msg="success", result={"rows": rows})

    def _wallet_balance(self, call: _Call) -> _Reply:
        """``GET /v5/account/wallet-balance?accountType=UNIFIED``: the account's coins from the ledger."""
        assert call.account is not None
        if _text(call.params, "accountType") != "UNIFIED":
            return _error(10001, "accountType only support UNIFIED.")
        coins = _text(call.params, "coin")
        wanted = set(coins.split(",")) if coins else None
        return _Reply(result={"list": [self._wallet(call.account, wanted)]})

    def _transaction_log(self, call: _Call) -> _Reply:
        """``GET /v5/account/transaction-log`` (``accountType`` UNIFIED, ``category``, ``currency``,
        ``baseCoin``, ``type``, ``startTime``/``endTime`` at most 7 days apart, the last 7 days by default,
        ``limit`` 1-50 default 20, ``cursor``): a linear account's ``TRADE`` per trade and ``SETTLEMENT``
        per funding payment, newest first, each with the wallet balance after it (``cashBalance``)."""
        account = call.account
        assert account is not None
        params = call.params
        if _text(params, "accountType") not in (None, "UNIFIED"):
            return _error(10001, "accountType only support UNIFIED.")
        category = _text(params, "category")
        if category is not None and category not in _CATEGORIES:
            return _error(10001, "Illegal category")
        try:
            start = int(_text(params, "startTime") or 0) or None
            end = int(_text(params, "endTime") or 0) or None
        except ValueError:
            return _error(10001, "params error: startTime or endTime invalid")
        if start is not None and end is not None and end - start > _SEVEN_DAYS_MS:
            return _error(10001, "params error: The time range between startTime and endTime cannot exceed 7 days")
        if start is None and end is None:
            start, end = call.now_ms - _SEVEN_DAYS_MS, call.now_ms
        elif start is None:
            assert end is not None
            start = end - _SEVEN_DAYS_MS
        elif end is None:
            end = start + _SEVEN_DAYS_MS
        entries = self._transactions(account) if self.category == "linear" and category in (None, "linear") else []
        kind, currency, base = _text(params, "type"), _text(params, "currency"), _text(params, "baseCoin")
        chosen = [
            e for e in entries
            if (kind is None or e["type"] == kind) and (currency is None or e["currency"] == currency)
            and (base is None or self.ledger.rules[e["symbol"]].base == base)
            and start <= int(e["transactionTime"]) <= end
        ]  # fmt: skip
        page, cursor = _page(chosen, params, 20, 50)
        return _Reply(result={"nextPageCursor": cursor, "list": page})

    def _transactions(self, account: LedgerAccount) -> list[dict[str, Any]]:
        """Every wallet change of a linear account, newest first: trades (realised PnL less the fee) and
        funding payments, the wallet after each counted back from the wallet now."""
        settle = self.ledger.settle_asset
        orders = {o.order_id: o for o in account.orders}
        moves: list[tuple[int, int, Decimal, LedgerTrade | FundingPayment]] = [
            (t.time_ms, k, t.realized_pnl - t.fee, t) for k, t in enumerate(account.trades)
        ]
        moves += [(f.funding_ms, len(account.trades) + k, f.payment, f) for k, f in enumerate(account.fundings)]
        moves.sort(key=lambda move: (move[0], move[1]))
        balance = account.balance(settle).total - sum((change for _, _, change, _ in moves), ZERO)
        sizes: dict[str, Decimal] = {}
        uid = self._uids[account.name]
        out = []
        for _, k, change, item in moves:
            balance += change
            rules = self.ledger.rules[item.symbol]
            if isinstance(item, FundingPayment):
                out.append(transaction_entry(
                    entry_id=f"{uid}_{item.symbol}_{item.payment_id}", kind="SETTLEMENT", symbol=item.symbol,
                    side="Buy" if item.position > 0 else "Sell", time_ms=item.funding_ms,
                    qty=decimal_text(abs(item.position), rules.step_size),
                    size=decimal_text(item.position, rules.step_size), currency=settle,
                    trade_price=decimal_text(item.mark_price, rules.tick_size), funding=item.payment, fee=ZERO,
                    cash_flow=ZERO, cash_balance=balance, fee_rate=item.rate if item.position > 0 else -item.rate,
                    trade_id=funding_exec_id(item.payment_id), order_id=self._funding_order_id(item),
                    order_link_id="",
                ))  # fmt: skip
                continue
            size = sizes[item.symbol] = sizes.get(item.symbol, ZERO) + item.qty * item.side.sign
            order = orders[item.order_id]
            out.append(transaction_entry(
                entry_id=f"{uid}_{item.symbol}_{k + 1}", kind="TRADE", symbol=item.symbol,
                side="Buy" if item.side is Side.BUY else "Sell", time_ms=item.time_ms,
                qty=decimal_text(item.qty, rules.step_size), size=decimal_text(size, rules.step_size),
                currency=settle, trade_price=decimal_text(item.price, rules.tick_size), funding=None, fee=item.fee,
                cash_flow=item.realized_pnl, cash_balance=balance,
                fee_rate=self.ledger.maker_fee if item.is_maker else self.ledger.taker_fee,
                trade_id=self.exec_id(item), order_id=self.order_id(order),
                order_link_id=order.client_id if not order.client_id.startswith("~") else "",
            ))  # fmt: skip
        out.reverse()
        return out

    def _usd_price(self, coin: str) -> Decimal | None:
        if coin in _STABLE_COINS:
            return Decimal(1)
        for rules in self.ledger.rules.values():
            if rules.base == coin and rules.quote in _STABLE_COINS:
                return self._mark_price(rules.symbol)
        return None

    def _wallet(self, account: LedgerAccount, wanted: set[str] | None = None) -> dict[str, Any]:
        """The UNIFIED wallet of ``account``: per-coin entries and the USD totals."""
        coins: list[dict[str, Any]] = []
        totals = dict.fromkeys(("equity", "wallet", "upl", "im", "mm"), ZERO)
        linear = self.category == "linear"
        settle = self.ledger.settle_asset
        for coin in sorted(account.balances):
            if wanted is not None and coin not in wanted:
                continue
            balance = account.balances[coin]
            order_im = position_im = position_mm = upl = cum = ZERO
            locked = balance.locked
            if linear and coin == settle:
                locked, order_im = ZERO, balance.locked
                for position in account.positions.values():
                    position_im += position.initial_margin
                    position_mm += abs(position.qty) * position.entry_price * self.maintenance_rate
                    mark = self._mark_price(position.symbol)
                    if mark is not None and position.qty:
                        upl += (mark - position.entry_price) * position.qty
                    cum += self._cum_realised(account, position.symbol)
            wallet = balance.total
            price = self._usd_price(coin)
            coins.append(
                wallet_coin_entry(coin, wallet=wallet, locked=locked, order_im=order_im, position_im=position_im,
                                  position_mm=position_mm, upl=upl, cum_realised=cum, usd_price=price)
            )  # fmt: skip
            if price is not None:
                totals["equity"] += (wallet + upl) * price
                totals["wallet"] += wallet * price
                totals["upl"] += upl * price
                totals["im"] += (order_im + position_im) * price
                totals["mm"] += position_mm * price
        margin = totals["wallet"] + totals["upl"]
        return {
            "totalEquity": decimal_text(totals["equity"]),
            "accountIMRate": decimal_text(totals["im"] / margin if margin else ZERO),
            "accountIMRateByMp": decimal_text(totals["im"] / margin if margin else ZERO),
            "totalMarginBalance": decimal_text(margin),
            "totalInitialMargin": decimal_text(totals["im"]),
            "totalInitialMarginByMp": decimal_text(totals["im"]),
            "accountType": "UNIFIED",
            "totalAvailableBalance": decimal_text(margin - totals["im"]),
            "accountMMRate": decimal_text(totals["mm"] / margin if margin else ZERO),
            "accountMMRateByMp": decimal_text(totals["mm"] / margin if margin else ZERO),
            "totalPerpUPL": decimal_text(totals["upl"]),
            "totalWalletBalance": decimal_text(totals["wallet"]),
            "accountLTV": "0",
            "totalMaintenanceMargin": decimal_text(totals["mm"]),
            "totalMaintenanceMarginByMp": decimal_text(totals["mm"]),
            "coin": coins,
        }

    def _cum_realised(self, account: LedgerAccount, symbol: str) -> Decimal:
        """Bybit's ``cumRealisedPnl``: closed PnL net of every fee paid on ``symbol``, plus its funding."""
        position = account.positions.get(symbol)
        realised = position.realized_pnl + position.funding if position is not None else ZERO
        return realised - sum((t.fee for t in account.trades if t.symbol == symbol), ZERO)

    def _position_dict(self, account: LedgerAccount, symbol: str, *, stream: bool = False) -> dict[str, Any]:
        position = account.position(symbol)
        trades = [t for t in account.trades if t.symbol == symbol]
        now = self._now_ms()
        return position_entry(
            position,
            self.ledger.rules[symbol],
            mark_price=self._mark_price(symbol),
            cum_realised=self._cum_realised(account, symbol),
            maintenance_rate=self.maintenance_rate,
            created_ms=trades[0].time_ms if trades else now,
            updated_ms=trades[-1].time_ms if trades else now,
            seq=self._trade_seq(trades[-1]) if trades else -1,
            stream=stream,
        )

    def _position_list(self, call: _Call) -> _Reply:
        """``GET /v5/position/list?category=linear&symbol=XRPUSDT`` (or ``settleCoin=USDT``: the open ones)."""
        assert call.account is not None
        if (
            refusal := self._category(call.params, other=self._empty(call.params), allowed=_CATEGORIES[1:])
        ) is not None:
            return refusal
        symbol = _text(call.params, "symbol")
        settle = _text(call.params, "settleCoin")
        base = _text(call.params, "baseCoin")
        if symbol is not None:
            if self._rules(symbol) is None:
                return self._unknown_symbol()
            symbols = [symbol]
        elif settle is not None or base is not None:
            symbols = [
                s for s, r in sorted(self.ledger.rules.items())
                if (settle is None or r.quote == settle) and (base is None or r.base == base)
                and call.account.position(s).qty != 0
            ]  # fmt: skip
        else:
            return _error(10001, "Missing some parameters that must be filled in, symbol or settleCoin or baseCoin")
        entries = [self._position_dict(call.account, s) for s in symbols]
        page, cursor = _page(entries, call.params, 20, 200)
        return _Reply(result={"list": page, "nextPageCursor": cursor, "category": self.category})

    # -- order handlers ----------------------------------------------------------------------------

    def _order_create(self, call: _Call) -> _Reply:
        """``POST /v5/order/create`` -> ``{"orderId","orderLinkId"}`` (an ack: fills come on the stream)."""
        account = call.account
        assert account is not None
        params = call.params
        spot = self.category == "spot"
        if (refusal := self._category(params, other=self._foreign_symbol(params))) is not None:
            return refusal
        if not account.can_trade:
            return _error(10005, "Permission denied, please check your API key permissions.")
        rules = self._rules(_text(params, "symbol"))
        if rules is None:
            return self._unknown_symbol()
        side_text = _text(params, "side")
        if side_text not in ("Buy", "Sell"):
            return _error(170117, "Invalid side.") if spot else _error(10001, "params error: side invalid")
        type_text = _text(params, "orderType")
        if type_text not in ("Limit", "Market"):
            return _error(170116, "Invalid orderType.") if spot else _error(10001, "params error: orderType invalid")
        order_type = OrderType.LIMIT if type_text == "Limit" else OrderType.MARKET
        tif_text = _text(params, "timeInForce") or ("GTC" if order_type is OrderType.LIMIT else "IOC")
        tifs = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK,
                "PostOnly": TimeInForce.POST_ONLY}  # fmt: skip
        if tif_text not in tifs:
            invalid = "Invalid timeInForce."
            return _error(170115, invalid) if spot else _error(10001, "params error: timeInForce invalid")
        time_in_force = TimeInForce.IOC if order_type is OrderType.MARKET else tifs[tif_text]
        try:
            qty = _decimal(_text(params, "qty"))
            price = _decimal(_text(params, "price")) if order_type is OrderType.LIMIT else None
        except ValueError:
            return _error(10001, "params error: qty or price is not a number")
        if qty is None:
            return _error(10001, "Missing some parameters that must be filled in, qty")
        unsupported = self._unsupported(params, order_type, side_text)
        if unsupported is not None:
            return unsupported
        market_unit = ""
        if spot and order_type is OrderType.MARKET:
            market_unit = _text(params, "marketUnit") or "baseCoin"
        link_id = _text(params, "orderLinkId") or ""
        if link_id and not _LINK_ID.match(link_id):
            return _error(*reject_code(self.category, RejectReason.INVALID_CLIENT_ID))
        if not link_id:
            link_id = f"{next(self._auto_link) + 1_700_000_000_000_000_000}" if spot else f"~{next(self._auto_link)}"
        reduce_only = _flag(params, "reduceOnly") and not spot
        try:
            order = self.ledger.place(
                account,
                symbol=rules.symbol,
                side=Side.BUY if side_text == "Buy" else Side.SELL,
                type=order_type,
                qty=qty,
                price=price,
                time_in_force=time_in_force,
                client_id=link_id,
                reduce_only=reduce_only,
                hidden_queries=self.faults.take_hidden_queries(),
                fill_fraction=self.faults.take_partial_fill(),
            )
        except VenueRejectError as error:
            return _error(*reject_code(self.category, error.reason, rules, price))
        mark = self._mark_price(rules.symbol)
        last = decimal_text(mark, rules.tick_size) if mark is not None else ""
        self._order_meta[order.order_id] = _OrderMeta(market_unit=market_unit, last_price=last)
        link = "" if link_id.startswith("~") else link_id
        return _Reply(result={"orderId": self.order_id(order), "orderLinkId": link})

    def _unsupported(self, params: Mapping[str, Any], order_type: OrderType, side: str) -> _Reply | None:
        """Order features the fake does not model get a 10001 that says so (never a silent ignore)."""
        spot = self.category == "spot"
        for key in ("triggerPrice", "takeProfit", "stopLoss", "tpslMode", "trailingStop"):
            if _text(params, key) not in (None, "", "0"):
                return _error(10001, f"params error: {key} (conditional/TP/SL orders) is not modelled by the fake")
        if spot:
            if _text(params, "isLeverage") not in (None, "0"):
                return _error(10001, "params error: spot margin (isLeverage=1) is not modelled by the fake")
            if _text(params, "orderFilter") not in (None, "Order"):
                return _error(10001, "params error: only orderFilter=Order is modelled by the fake")
            unit = _text(params, "marketUnit")
            if order_type is OrderType.MARKET and (unit == "quoteCoin" or (unit is None and side == "Buy")):
                return _error(10001, "params error: spot market orders by value (marketUnit=quoteCoin) are not "
                                     "modelled by the fake; send marketUnit=baseCoin")  # fmt: skip
            return None
        symbol = _text(params, "symbol") or ""
        hedge = self._hedge_mode.get(("*", symbol), False)
        index = _text(params, "positionIdx") or "0"
        if index not in ("0", "1", "2") or (index == "0") == hedge:
            return _error(10001, "position idx not match position mode")
        if hedge:
            return _error(10001, "params error: hedge-mode positions are not modelled by the fake")
        return None

    def _order_cancel(self, call: _Call) -> _Reply:
        """``POST /v5/order/cancel`` by ``orderId`` (first) or ``orderLinkId`` -> ``{"orderId","orderLinkId"}``."""
        account = call.account
        assert account is not None
        if (refusal := self._category(call.params, other=self._foreign_symbol(call.params))) is not None:
            return refusal
        rules = self._rules(_text(call.params, "symbol"))
        if rules is None:
            return self._unknown_symbol()
        wire_id = _text(call.params, "orderId")
        link_id = _text(call.params, "orderLinkId")
        if not wire_id and not link_id:
            return _error(10001, "params error: orderId or orderLinkId is required")
        order_id = ledger_order_id(self.category, wire_id) if wire_id else None
        if wire_id and order_id is None:
            return self._no_order()
        order = self.ledger.find(account, rules.symbol, order_id=order_id, client_id=link_id, count_query=False)
        if order is None or not order.status.is_open:
            return self._no_order()
        self._meta(order).cancel_type = "CancelByUser"
        self.ledger.cancel(account, rules.symbol, order_id=order.order_id)
        return _Reply(result={"orderId": self.order_id(order), "orderLinkId": self._link(order)})

    def _no_order(self) -> _Reply:
        return (
            _error(170213, "Order does not exist.")
            if self.category == "spot"
            else _error(110001, "Order does not exist.")
        )

    def _meta(self, order: LedgerOrder) -> _OrderMeta:
        meta = self._order_meta.get(order.order_id)
        if meta is None:
            meta = self._order_meta[order.order_id] = _OrderMeta()
        return meta

    @staticmethod
    def _link(order: LedgerOrder) -> str:
        return "" if order.client_id.startswith("~") else order.client_id

    def _order_cancel_all(self, call: _Call) -> _Reply:
        """``POST /v5/order/cancel-all``: spot by ``symbol`` or everything; linear by ``symbol``,
        ``baseCoin`` or ``settleCoin`` (one is required) -> ``{"list":[{orderId,orderLinkId}],"success":"1"}``."""
        account = call.account
        assert account is not None
        if (refusal := self._category(call.params, other=_Reply(result={"list": [], "success": "1"}))) is not None:
            return refusal
        symbol = _text(call.params, "symbol")
        base = _text(call.params, "baseCoin")
        settle = _text(call.params, "settleCoin")
        if symbol is not None and self._rules(symbol) is None:
            return self._unknown_symbol()
        if self.category == "linear" and symbol is None and base is None and settle is None:
            return _error(10001, "Missing some parameters that must be filled in, symbol or settleCoin or baseCoin")
        cancelled: list[LedgerOrder] = []
        for order in self.ledger.open_orders(account):
            rules = self.ledger.rules[order.symbol]
            if symbol is not None and order.symbol != symbol:
                continue
            if symbol is None and base is not None and rules.base != base:
                continue
            if symbol is None and base is None and settle is not None and rules.quote != settle:
                continue
            self._meta(order).cancel_type = "CancelByUser"
            self.ledger.cancel(account, order.symbol, order_id=order.order_id)
            cancelled.append(order)
        listed = [{"orderId": self.order_id(o), "orderLinkId": self._link(o)} for o in cancelled]
        return _Reply(result={"list": listed, "success": "1"})

    def _selected_orders(self, call: _Call, *, history: bool) -> list[LedgerOrder] | _Reply:
        """The orders a realtime/history query names, newest first (``hide_orders`` applies)."""
        account = call.account
        assert account is not None
        params = call.params
        if (refusal := self._category(params, other=self._empty(params))) is not None:
            return refusal
        symbol = _text(params, "symbol")
        if symbol is not None and self._rules(symbol) is None:
            return self._unknown_symbol()
        wire_id = _text(params, "orderId")
        link_id = _text(params, "orderLinkId")
        if wire_id or link_id:
            order_id = ledger_order_id(self.category, wire_id) if wire_id else None
            if wire_id and order_id is None:
                return []
            found = self.ledger.find(account, symbol, order_id=order_id, client_id=link_id or None)
            if found is None or (history and found.status.is_open):
                return []
            return [found]
        base = _text(params, "baseCoin")
        settle = _text(params, "settleCoin")
        if self.category == "linear" and symbol is None and base is None and settle is None:
            return _error(10001, "Missing some parameters that must be filled in, symbol or settleCoin or baseCoin")
        open_only = (_text(params, "openOnly") or "0") == "0"
        status = _text(params, "orderStatus")
        selected: list[LedgerOrder] = []
        for order in reversed(account.orders):
            rules = self.ledger.rules[order.symbol]
            if order.hidden_queries > 0:
                continue
            if symbol is not None and order.symbol != symbol:
                continue
            if base is not None and rules.base != base:
                continue
            if settle is not None and rules.quote != settle:
                continue
            if history or not open_only:
                if order.status.is_open:
                    continue
            elif not order.status.is_open:
                continue
            if status is not None and order_status(self.category, order.status, order.executed_qty) != status:
                continue
            selected.append(order)
        if not history and not open_only:
            return selected[:500]  # "a maximum of recent 500 closed status records"
        return selected

    def _order_realtime(self, call: _Call) -> _Reply:
        """``GET /v5/order/realtime``: open orders (``openOnly=0``), the recent closed ones (``1``), or
        one order by ``orderId``/``orderLinkId`` whatever its state ("openOnly param will be ignored")."""
        selected = self._selected_orders(call, history=False)
        if isinstance(selected, _Reply):
            return selected
        entries = [self._order_dict(self._order_view(o)) for o in selected]
        page, cursor = _page(entries, call.params, 20, 50)
        return _Reply(result={"list": page, "nextPageCursor": cursor, "category": self.category})

    def _order_history(self, call: _Call) -> _Reply:
        """``GET /v5/order/history``: closed orders (filled, cancelled, expired), newest first."""
        selected = self._selected_orders(call, history=True)
        if isinstance(selected, _Reply):
            return selected
        entries = [self._order_dict(self._order_view(o)) for o in selected]
        page, cursor = _page(entries, call.params, 20, 50)
        return _Reply(result={"list": page, "nextPageCursor": cursor, "category": self.category})

    def _execution_list(self, call: _Call) -> _Reply:
        """``GET /v5/execution/list``: the account's executions, newest first, 7 days by default: its
        trades (``execType`` ``Trade``) and, on linear, its funding settlements (``Funding``, at the funding
        time); ``execType`` chooses one kind."""
        account = call.account
        assert account is not None
        params = call.params
        if (refusal := self._category(params, other=self._empty(params))) is not None:
            return refusal
        symbol = _text(params, "symbol")
        if symbol is not None and self._rules(symbol) is None:
            return self._unknown_symbol()
        exec_type = _text(params, "execType")
        if exec_type is not None and exec_type not in ("Trade", "Funding"):
            return _Reply(result={"list": [], "nextPageCursor": "", "category": self.category})
        try:
            start = int(_text(params, "startTime") or 0) or None
            end = int(_text(params, "endTime") or 0) or None
        except ValueError:
            return _error(10001, "params error: startTime or endTime invalid")
        if start is None and end is None:
            start, end = call.now_ms - _SEVEN_DAYS_MS, call.now_ms
        elif start is None:
            assert end is not None
            start = end - _SEVEN_DAYS_MS
        elif end is None:
            end = start + _SEVEN_DAYS_MS
        wire_id = _text(params, "orderId")
        link_id = _text(params, "orderLinkId")
        orders = {o.order_id: o for o in account.orders}
        rows: list[tuple[int, int, dict[str, Any]]] = []  # (time, order of booking, entry)
        for k, trade in enumerate(account.trades):
            order = orders[trade.order_id]
            if exec_type == "Funding":
                break
            if wire_id is not None and self.order_id(order) != wire_id:
                continue
            if wire_id is None and link_id is not None and order.client_id != link_id:
                continue
            if symbol is not None and trade.symbol != symbol:
                continue
            if not start <= trade.time_ms <= end:
                continue
            rows.append((trade.time_ms, k, self._exec_dict(trade, order)))
        if exec_type != "Trade" and wire_id is None and link_id is None:  # funding belongs to no order of arb's
            for k, payment in enumerate(account.fundings):
                if (symbol is None or payment.symbol == symbol) and start <= payment.funding_ms <= end:
                    rows.append((payment.funding_ms, len(account.trades) + k, self._funding_exec_dict(payment)))
        rows.sort(key=lambda row: (row[0], row[1]), reverse=True)
        entries = [entry for _, _, entry in rows]
        page, cursor = _page(entries, params, 50, 100)
        return _Reply(result={"nextPageCursor": cursor, "category": self.category, "list": page})

    # -- position and DCP handlers -----------------------------------------------------------------

    def _set_leverage(self, call: _Call) -> _Reply:
        """``POST /v5/position/set-leverage``: one leverage for both sides (one-way mode)."""
        account = call.account
        assert account is not None
        if (
            refusal := self._category(
                call.params, other=self._foreign_symbol(call.params), allowed=("linear", "inverse")
            )
        ) is not None:
            return refusal
        rules = self._rules(_text(call.params, "symbol"))
        if rules is None:
            return self._unknown_symbol()
        try:
            buy = _decimal(_text(call.params, "buyLeverage"))
            sell = _decimal(_text(call.params, "sellLeverage"))
        except ValueError:
            return _error(10001, "params error: leverage invalid")
        if buy is None or sell is None or buy != sell:
            return _error(10001, "params error: buyLeverage must equal sellLeverage in one-way mode")
        if not Decimal(1) <= buy <= self.max_leverage:
            return _error(10001, f"params error: leverage must be within [1, {self.max_leverage}]")
        position = account.position(rules.symbol)
        if position.leverage == buy:
            return _error(110043, "Set leverage not modified")
        position.leverage = buy
        return _Reply()

    def _switch_mode(self, call: _Call) -> _Reply:
        """``POST /v5/position/switch-mode`` (``mode`` 0 one-way, 3 hedge) for a symbol or a coin."""
        account = call.account
        assert account is not None
        if (
            refusal := self._category(
                call.params, other=self._foreign_symbol(call.params), allowed=("linear", "inverse")
            )
        ) is not None:
            return refusal
        mode = _text(call.params, "mode")
        if mode not in ("0", "3"):
            return _error(10001, "params error: mode invalid")
        symbol = _text(call.params, "symbol")
        coin = _text(call.params, "coin")
        if symbol is not None:
            if self._rules(symbol) is None:
                return self._unknown_symbol()
            symbols = [symbol]
        elif coin is not None:
            symbols = [s for s, r in self.ledger.rules.items() if r.quote == coin]
        else:
            return _error(10001, "Missing some parameters that must be filled in, symbol or coin")
        hedge = mode == "3"
        if all(self._hedge_mode.get(("*", s), False) == hedge for s in symbols):
            return _error(110025, "Position mode is not modified")
        for s in symbols:
            if account.position(s).qty != 0 or self.ledger.open_orders(account, s):
                return _error(110024, "You have an existing position, so the position mode cannot be switched.")
        for s in symbols:
            self._hedge_mode[("*", s)] = hedge
        return _Reply()

    def _set_dcp(self, call: _Call) -> _Reply:
        """``POST /v5/order/disconnected-cancel-all`` ``{"product":"SPOT","timeWindow":10}`` ->
        ``{"retCode":0,"retMsg":"success"}`` (the whole body, as documented)."""
        account = call.account
        assert account is not None
        product = _text(call.params, "product") or "OPTIONS"
        if product not in ("OPTIONS", "DERIVATIVES", "SPOT"):
            return _error(10001, "params error: product invalid")
        try:
            window = int(_text(call.params, "timeWindow") or "")
        except ValueError:
            return _error(10001, "params error: timeWindow invalid")
        if not 3 <= window <= 300:
            return _error(10001, "params error: timeWindow must be within [3, 300]")
        self._dcp_windows.setdefault(account.name, {})[product] = window
        return _Reply(raw={"retCode": 0, "retMsg": "success"})

    def _check_dcp(self) -> None:
        """Cancel the orders of each account whose dcp-subscribed streams stayed down past its window."""
        now = self._clock()
        for name, lost_at in list(self._dcp_lost.items()):
            window = self._dcp_windows.get(name, {}).get(self.dcp_product)
            if window is None or now - lost_at <= window:
                continue
            del self._dcp_lost[name]
            account = self.ledger.accounts[name]
            cancelled = []
            for order in self.ledger.open_orders(account):
                self._meta(order).cancel_type = "CancelByDCP"
                self.ledger.cancel(account, order.symbol, order_id=order.order_id)
                cancelled.append(order.order_id)
            self.dcp_triggers.append(DcpTrigger(name, self.dcp_product, now, tuple(cancelled)))
            logger.info("DCP: %s's streams down %.1fs > %ss: cancelled %d orders", name, now - lost_at, window,
                        len(cancelled))  # fmt: skip

    # -- private stream ----------------------------------------------------------------------------

    async def _handle_private_ws(self, request: web.Request) -> web.StreamResponse:
        """``/v5/private``: ``{"op":"auth","args":[key, expires, sig]}``, then ``subscribe``; events like
        ``{"id":"...","topic":"order","creationTime":1672364262474,"data":[{...,"orderStatus":"Filled"}]}``."""
        try:
            return await self._serve_ws(request, streams=(), combined=True)
        finally:
            self._sweep_sessions()

    def _sweep_sessions(self) -> None:
        """Forget closed private connections; an account whose last dcp stream closed starts its DCP timer."""
        for conn_id, session in list(self._sessions.items()):
            if session.conn.open:
                continue
            del self._sessions[conn_id]
            name = session.account
            if name is None or not self._dcp_topics(session.conn):
                continue
            if not any(s.account == name and s.conn.open and self._dcp_topics(s.conn) for s in self._sessions.values()):
                self._dcp_lost[name] = self._clock()
        self._notify()

    def _dcp_topics(self, conn: VenueConnection) -> bool:
        own = "dcp.spot" if self.category == "spot" else "dcp.future"
        return "dcp" in conn.subscriptions or own in conn.subscriptions

    async def _on_text(self, conn: VenueConnection, text: str) -> None:
        if not conn.path.startswith(self.private_path):
            await super()._on_text(conn, text)
            return
        session = self._sessions.get(conn.id)
        if session is None:
            session = self._sessions[conn.id] = _Session(conn)
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            request = None
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            self.stats.ignored_messages += 1
            logger.warning("private connection %d: not a v5 request: %.200r", conn.id, text)
            return
        op: str = request["op"]
        req_id = request.get("req_id")
        if op == "auth":
            await self._auth(session, request.get("args"), req_id)
        elif op == "ping":
            pong: dict[str, Any] = {} if req_id is None else {"req_id": req_id}
            pong.update({"op": "pong", "args": [str(self._now_ms())], "conn_id": conn.conn_id})
            await conn.send_control(_encode(pong).decode())
        elif op in ("subscribe", "unsubscribe"):
            args = request.get("args")
            topics = [a for a in args if isinstance(a, str)] if isinstance(args, list) else []
            await self._private_subscribe(session, op, topics, req_id)
        else:
            await conn.send_control(self._private_ack(conn, op, False, "error:invalid op", req_id))
        self._notify()

    def _private_ack(self, conn: VenueConnection, op: str, success: bool, ret_msg: str, req_id: Any) -> str:
        """``{"success":true,"ret_msg":"","op":"subscribe","conn_id":"..."}`` (``req_id`` echoed when sent)."""
        reply: dict[str, Any] = {"success": success, "ret_msg": ret_msg, "op": op, "conn_id": conn.conn_id}
        if req_id is not None:
            reply["req_id"] = req_id
        return _encode(reply).decode()

    async def _auth(self, session: _Session, args: Any, req_id: Any) -> None:
        """Check ``[api_key, expires, signature]``: an expired ``expires`` or a malformed request gets
        ``Params Error`` (as Bybit answers a client clock that is behind), a bad key or signature
        ``Request not authorized``."""
        conn = session.conn
        ret_msg = ""
        account: LedgerAccount | None = None
        if not isinstance(args, list) or len(args) != 3 or not all(isinstance(a, str | int) for a in args):
            ret_msg = "Params Error"
        else:
            api_key, expires, signature = (str(a) for a in args)
            if not expires.isdigit() or int(expires) <= self._now_ms():
                ret_msg = "Params Error"
            else:
                account = self.ledger.account_for_key(api_key)
                if account is None or not hmac.compare_digest(signature, ws_signature(account.api_secret, expires)):
                    account, ret_msg = None, "Request not authorized"
        success = account is not None
        if account is not None:
            session.account = account.name
            session.auth_count += 1
        self.auth_log.append((conn.id, ret_msg, success))
        await conn.send_control(self._private_ack(conn, "auth", success, ret_msg, req_id))

    def _private_topic_ok(self, topic: str) -> bool:
        families = ("order", "execution", "execution.fast", "position", "wallet", "greeks", "dcp")
        if topic in families:
            return True
        family, _, suffix = topic.rpartition(".")
        if family == "dcp":
            return suffix in ("spot", "future", "option")
        return family in families[:4] and suffix in ("spot", "linear", "inverse", "option")

    async def _private_subscribe(self, session: _Session, op: str, topics: list[str], req_id: Any) -> None:
        conn = session.conn
        if session.account is None:
            self._log_subscription(conn, op, topics, ok=False)
            await conn.send_control(self._private_ack(conn, op, False, "Request not authorized", req_id))
            return
        if op == "unsubscribe":
            await conn.change_subscriptions(remove=topics, reply=self._private_ack(conn, op, True, "", req_id))
            self._log_subscription(conn, op, topics, ok=True)
            return
        bad = next((t for t in topics if not self._private_topic_ok(t)), None)
        if bad is not None or not topics:
            self._log_subscription(conn, op, topics, ok=False)
            reply = self._private_ack(conn, op, False, f"error:handler not found,topic:{bad or ''}", req_id)
            await conn.send_control(reply)
            return
        await conn.change_subscriptions(add=topics, reply=self._private_ack(conn, op, True, "", req_id))
        self._log_subscription(conn, op, topics, ok=True)
        if self._dcp_topics(conn):
            self._dcp_lost.pop(session.account, None)

    def _subscribed(self, conn: VenueConnection, family: str) -> list[str]:
        """The topics of ``conn`` that carry ``family`` events of this venue's category."""
        wanted = (family, f"{family}.{self.category}")
        return [t for t in wanted if t in conn.subscriptions]

    async def _flush_user_events(self) -> None:
        """Send every queued ledger event to the private streams, in ledger order."""
        async with self._flush_lock:
            while self._outbox:
                touched: dict[str, set[str]] = {}
                while self._outbox:
                    event = self._outbox.popleft()
                    symbols = touched.setdefault(event.account, set())
                    if isinstance(event, FundingPayment):
                        await self._send_funding(event)
                        symbols.add(event.symbol)
                        continue
                    await self._send_event(event)
                    if event.trade is not None:
                        symbols.add(event.trade.symbol)
                for name, symbols in touched.items():
                    await self._send_account_state(name, symbols)

    def _event_view(self, event: LedgerEvent) -> OrderView:
        meta = self._order_meta.get(event.order.order_id)
        cancel_type = "UNKNOWN"
        if event.exec_type is ExecType.CANCELED:
            cancel_type = (meta.cancel_type if meta is not None else "") or "CancelByUser"
        return OrderView(
            event.order,
            status=event.status,
            executed=event.executed_qty,
            quote=event.cum_quote,
            updated_ms=event.time_ms,
            cancel_type=cancel_type,
        )

    async def _send_event(self, event: LedgerEvent) -> None:
        sessions = [s for s in self._sessions.values() if s.account == event.account and s.conn.open]
        if not sessions:
            return
        payloads: list[tuple[str, list[Any]]] = []
        if event.trade is not None:
            payloads.append(("execution", [self._exec_dict(event.trade, event.order, stream=True)]))
            payloads.append(("execution.fast", [self._exec_dict(event.trade, event.order, fast=True)]))
        payloads.append(("order", [self._order_dict(self._event_view(event), stream=True)]))
        for session in sessions:
            for family, data in payloads:
                for topic in self._subscribed(session.conn, family):
                    await self._send_private(session, topic, data, event.time_ms)

    async def _send_funding(self, payment: FundingPayment) -> None:
        """A funding settlement on the ``execution`` topic (``execType`` ``Funding``, not on
        ``execution.fast``, which carries trades); the wallet and position follow with the batch."""
        sessions = [s for s in self._sessions.values() if s.account == payment.account and s.conn.open]
        data = [self._funding_exec_dict(payment, stream=True)]
        for session in sessions:
            for topic in self._subscribed(session.conn, "execution"):
                await self._send_private(session, topic, data, payment.time_ms)

    async def _send_account_state(self, name: str, symbols: Iterable[str]) -> None:
        sessions = [s for s in self._sessions.values() if s.account == name and s.conn.open]
        if not sessions:
            return
        account = self.ledger.accounts[name]
        now = self._now_ms()
        positions = []
        if self.category == "linear":
            positions = [self._position_dict(account, s, stream=True) for s in sorted(symbols)]
        wallet = self._wallet(account)
        for session in sessions:
            if positions:
                for topic in self._subscribed(session.conn, "position"):
                    await self._send_private(session, topic, positions, now)
            if "wallet" in session.conn.subscriptions:
                await self._send_private(session, "wallet", [wallet], now)

    async def _send_private(self, session: _Session, topic: str, data: list[Any], time_ms: int) -> None:
        """One event message ``{"id","topic","creationTime","data"}``; withheld while the stream is silenced."""
        assert session.account is not None
        message_id = f"{self._uids[session.account]}{next(self._message_ids):012d}"
        text = _encode({"id": message_id, "topic": topic, "creationTime": time_ms, "data": data}).decode()
        conn = session.conn
        if self.faults.user_stream_silent:
            self._record(AppliedFault(FaultKind.USER_STREAM_SILENT, topic, connection=conn.id, detail="withheld"))
            self.user_stream_log.append(UserStreamMessage(conn.id, topic, text, sent=False))
            return
        await conn.send_control(text)
        self.user_stream_log.append(UserStreamMessage(conn.id, topic, text, sent=True))
        self._notify()
