"""Bybit v5's private side (spot and linear, unified account) behind
:class:`~connectors.common.private.PrivateVenue`.

The requests, as ccxt 4.5's implicit methods name them (``category`` is ``spot`` or ``linear``):

==================  ==========================================================================================
create (IOC)        ``POST /v5/order/create``: an acknowledgement only (``{"orderId","orderLinkId"}``); the
                    order's state and fills come from the ``order`` and ``execution`` topics
cancel              ``POST /v5/order/cancel`` ``orderLinkId`` (``110001``/``170213``: not open any more)
query by client id  ``GET /v5/order/realtime`` ``orderLinkId``, then ``/v5/order/history``. Never ccxt's
                    ``fetch_order(None, ...)``: it sends the literal ``orderId=None``
query by venue id   the same, by ``orderId``
open orders         ``GET /v5/order/realtime`` ``openOnly=0``
cancel all          ``POST /v5/order/cancel-all`` (the reply lists what was cancelled)
trade history       ``GET /v5/execution/list``
balances            ``GET /v5/account/wallet-balance`` ``accountType=UNIFIED``
position, entry     ``GET /v5/position/list`` (linear)
funding income      ``GET /v5/account/transaction-log`` ``type=SETTLEMENT`` (linear)
dead-man's switch   ``POST /v5/order/disconnected-cancel-all`` (DCP, per product, turned on per account by
                    Bybit), and the ``dcp`` topic subscribed on every private connection: if it stays down
                    past the window, Bybit cancels the product's orders
==================  ==========================================================================================

Business answers come with HTTP 200 and ``{"retCode": 0, "retMsg": "OK", "result": ...}``; a ban is HTTP
403. Every answer (REST headers, ``/v5/trade``'s ``header``) carries ``X-Bapi-Limit`` (the endpoint's limit),
``X-Bapi-Limit-Status`` (requests left in its window) and ``X-Bapi-Limit-Reset-Timestamp``: read by
:meth:`rate_use`, weighed by :mod:`arb.execution.rate_guard`.
"""

from __future__ import annotations

__all__ = ["ADAPTER", "ANSWERS", "BybitPrivate"]

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import ccxt

from arb.errors import VenueError
from connectors.bybit import orders
from connectors.bybit.trade_socket import CANCEL, CREATE, BybitTradeFraming
from connectors.common.ccxt_venue import CcxtVenue, cursor_pages, result_list
from connectors.common.order_entry import SignedRest
from connectors.common.orders import VenueFill, VenueOrderUpdate
from connectors.common.private import (
    AccountFees,
    AnswerRules,
    DeadManScope,
    FundingPayment,
    MarginMode,
    MarketAssets,
    OrderRequest,
    PerpetualSettingsError,
    PrivateLink,
    RateCount,
    RateUse,
    SymbolRef,
)

log = logging.getLogger(__name__)

EXECUTION_PAGE = 100
"""Rows asked of ``/v5/execution/list`` per page (its most; it answers 50 unless asked)."""

ANSWERS = AnswerRules(
    code_field="retCode",
    message_field="retMsg",
    ok_code="0",
    ban_status=403,
    # system error, server timeout, backend timeouts: the order may or may not exist
    unknown_codes=frozenset({"10016", "10000", "170007", "170146"}),
    # too many visits, IP limit, too many requests; order entry over /v5/trade: system level frequency
    # protection, the IP's limit
    rate_codes=frozenset({"10006", "10018", "170005", "10429", "10403"}),
    # key, sign, permission, IP, expired
    credential_codes=frozenset({"10003", "10004", "10005", "10007", "10009", "10010", "33004"}),
    clock_codes=frozenset({"10002"}),  # the timestamp is outside recv_window
    endpoint_rate_codes=frozenset({"10006"}),  # "Too many visits": the endpoint's per-UID limit; 10018 (the
    # IP's), 170005 (spot's new orders), 10429 (system protection) and 10403 (the IP's, /v5/trade) are wider
    ban_s=600.0,  # "403, access too frequent": "wait for at least 10 minutes" (its rate-limit page)
    post_only_expiry=orders.POST_ONLY_REFUSED,  # a PostOnly that would take: accepted, then cancelled
)
"""What Bybit's answers mean (its v5 error codes)."""

NOT_OPEN = frozenset({"110001", "170213"})
"""A cancel of an order that is not open any more (linear ``110001`` "order not exists or too late to
cancel", spot ``170213``)."""
_MARGIN_MODES = {"cross": ("REGULAR_MARGIN", "PORTFOLIO_MARGIN"), "isolated": ("ISOLATED_MARGIN",)}
"""The unified account's ``marginMode`` values that count as each ``[perpetual] margin_mode``."""
_DCP_HINT = "that the account has disconnect-cancel-all (DCP) turned on: Bybit turns it on per account (ask Bybit)"
_DCP_REQUEST = "arb-dcp"
"""The ``req_id`` of the DCP subscription: ccxt files a refusal of it under this key."""
_DCP_OFF = "arb-dcp-off"
"""The ``req_id`` of its unsubscription at a clean stop (ccxt answers it under ``unsubscribe:<topic>``)."""
_NS_PER_MS = 1_000_000
_NS_PER_S = 1_000_000_000


class BybitPrivate(CcxtVenue):
    """Bybit v5 spot or linear through ccxt (one ``bybit`` client, unified account)."""

    venue = "bybit"
    answers = ANSWERS
    unchanged_codes = frozenset({"110025", "110043"})  # position mode, leverage: "not modified"
    rest_create = "privatePostV5OrderCreate"
    rest_paths = False  # the families are bare hosts: each becomes the REST base

    def own_create_signer(self, exchange: Any, reference: SignedRest) -> _CreateSigning | None:
        """An HMAC key's creates signed here (an RSA key's by ccxt)."""
        key, secret = exchange.apiKey, exchange.secret
        if not (isinstance(key, str) and isinstance(secret, str) and key and secret) or "-----BEGIN" in secret:
            return None
        return _CreateSigning(reference.url, reference.headers or {}, key, secret, exchange.json)

    _dcp_client: Any = None
    """The ccxt private-stream client :meth:`keep_dead_man` subscribed the DCP topic on (None: none yet)."""

    @property
    def dead_man(self) -> DeadManScope:
        """Disconnect-cancel-all covers the product (every symbol's orders)."""
        return DeadManScope.PRODUCT

    @property
    def dcp_topic(self) -> str:
        """The product's DCP topic: ``dcp.spot`` or ``dcp.future``."""
        return "dcp.spot" if self.spot else "dcp.future"

    @property
    def category(self) -> str:
        """The market's ``category`` in every request."""
        return "spot" if self.spot else "linear"

    # -- the client --------------------------------------------------------------------------------

    def ccxt_class(self) -> str:
        return "bybit"

    def ccxt_options(self) -> dict[str, Any]:
        """One market type, and the unified-account probe answered in advance (ccxt would ask
        ``/v5/user/query-api`` and ``/v5/account/info`` before the first private call)."""
        return {
            "fetchMarkets": {"types": [self.market]},
            "enableUnifiedAccount": True,
            "enableUnifiedMargin": False,
            "defaultType": "spot" if self.spot else "swap",
        }

    def ws_urls(self, default_ws: Mapping[str, Any], ws_private: str) -> dict[str, Any]:
        """``wss://stream.bybit.com/v5/private`` for spot (unified or not) and contracts."""
        ws = dict(default_ws)
        private = dict(ws.get("private", {}))
        private["spot"] = {"unified": ws_private, "nonUnified": ws_private}
        private["contract"] = ws_private
        ws["private"] = private
        return ws

    def configure(self, exchange: Any) -> None:
        """No currency listing at market load (``/v5/asset/coin/query-info``): ccxt has no option for it."""
        exchange.has["fetchCurrencies"] = False

    def rate_use(self, headers: Mapping[str, str], now_ns: int, limits: Mapping[str, int]) -> RateUse:
        """``X-Bapi-Limit`` (the endpoint's limit per window), ``X-Bapi-Limit-Status`` (what is left of it)
        and ``X-Bapi-Limit-Reset-Timestamp`` (ms): one count per endpoint, used = limit - left."""
        limit, left = headers.get("x-bapi-limit", ""), headers.get("x-bapi-limit-status", "")
        reset = headers.get("x-bapi-limit-reset-timestamp", "")
        if not (limit.isdigit() and left.isdigit() and reset.isdigit()):
            return RateUse()
        used = max(0, int(limit) - int(left))
        # the reset time is the venue's "now" until the limit is exceeded; its windows are one second
        reset_ns = int(reset) * _NS_PER_MS
        if reset_ns <= now_ns:
            reset_ns = now_ns + _NS_PER_S
        return RateUse((RateCount("endpoint", used, int(limit), reset_ns, per_endpoint=True),))

    # -- order entry over /v5/trade ------------------------------------------------------------------------

    socket_cancel_op = CANCEL
    socket_time_in_force: ClassVar[Mapping[str, str]] = {"IOC": "IOC", "GTC": "GTC", "FOK": "FOK", "PO": "PostOnly"}

    def framing(self, api_key: str, api_secret: str) -> BybitTradeFraming:
        return BybitTradeFraming(api_key, api_secret)

    def socket_create(self, order: OrderRequest) -> tuple[str, dict[str, Any]]:
        """``order.create`` with ``POST /v5/order/create``'s body."""
        params: dict[str, Any] = {
            "category": self.category,
            "symbol": order.symbol,
            "side": "Buy" if order.side > 0 else "Sell",
            "orderType": "Limit",
            "qty": order.qty,
            "price": order.price,
            "timeInForce": self.time_in_force(order),
            "orderLinkId": order.client_id,
        }
        if order.reduce_only:
            params["reduceOnly"] = True
        return CREATE, params

    def create_reply(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The acknowledgement (``result``: ``orderId``, ``orderLinkId``), as ccxt keeps REST's."""
        result = body.get("result")
        return result if isinstance(result, dict) else None

    async def cancel(self, link: PrivateLink, symbol: str, client_id: str) -> bool:
        request = {"category": self.category, "symbol": symbol, "orderLinkId": client_id}
        try:
            await self.send_cancel(link, "privatePostV5OrderCancel", request)
        except VenueError as error:
            if error.code in NOT_OPEN:
                return False
            raise
        return True

    async def query(self, link: PrivateLink, symbol: str, client_id: str) -> VenueOrderUpdate | None:
        """Open and recent orders first (``/v5/order/realtime`` keeps the last 500 closed ones per
        category), then the order history."""
        return await self._query(link, {"category": self.category, "symbol": symbol, "orderLinkId": client_id})

    async def query_venue_id(self, link: PrivateLink, symbol: str, venue_order_id: str) -> VenueOrderUpdate | None:
        """As :meth:`query`, by ``orderId`` (Bybit's execution rows name the client id already: seldom asked)."""
        return await self._query(link, {"category": self.category, "symbol": symbol, "orderId": venue_order_id})

    async def _query(self, link: PrivateLink, request: Mapping[str, Any]) -> VenueOrderUpdate | None:
        for method in ("privateGetV5OrderRealtime", "privateGetV5OrderHistory"):
            rows = result_list(await link.request(method, request))
            if rows:
                return self.order_update(rows[0])
        return None

    async def open_orders(self, link: PrivateLink, symbol: str) -> list[VenueOrderUpdate]:
        request = {"category": self.category, "symbol": symbol, "openOnly": 0}
        return self.open_updates(result_list(await link.request("privateGetV5OrderRealtime", request)))

    async def cancel_all(self, link: PrivateLink, symbol: str) -> int:
        request = {"category": self.category, "symbol": symbol}
        return len(result_list(await link.request("privatePostV5OrderCancelAll", request)))

    # -- what the venue says ----------------------------------------------------------------------------

    order_update = staticmethod(orders.order_update)

    def fills(self, raw: Mapping[str, Any], assets: MarketAssets) -> list[VenueFill]:
        """A row without ``feeCurrency`` pays its fee in the market's rule (a spot buy in the base coin)."""
        return orders.fills(raw, spot=self.spot, base_asset=assets.base, quote_asset=assets.quote)

    async def order_trades(self, link: PrivateLink, symbol: str, venue_order_id: str) -> list[dict[str, Any]]:
        """Every execution of the order, page after page (an order may have more than a page's)."""
        request = {"category": self.category, "symbol": symbol, "orderId": venue_order_id}
        return await self._executions(link, request)

    async def trades_since(self, link: PrivateLink, symbol: str, since_ms: int) -> list[dict[str, Any]]:
        """Every execution since ``since_ms`` (Bybit answers 7 days from ``startTime``), page after page."""
        request = {"category": self.category, "symbol": symbol, "startTime": since_ms}
        return await self._executions(link, request)

    async def _executions(self, link: PrivateLink, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        # ``/v5/execution/list`` answers at most ``limit`` (1-100, default 50) rows, newest first, and a
        # ``nextPageCursor`` for the next ``cursor``, the last page's too (the page after it is empty)
        async def page_at(cursor: str) -> tuple[list[dict[str, Any]], str]:
            answer = await link.request(
                "privateGetV5ExecutionList",
                {**request, "limit": EXECUTION_PAGE, **({"cursor": cursor} if cursor else {})},
            )
            return result_list(answer), str(((answer or {}).get("result") or {}).get("nextPageCursor") or "")

        return await cursor_pages(page_at, EXECUTION_PAGE)

    # -- the account ----------------------------------------------------------------------------------

    async def balances(self, link: PrivateLink) -> dict[str, Decimal]:
        return orders.balances(await link.request("privateGetV5AccountWalletBalance", {"accountType": "UNIFIED"}))

    async def account_fees(self, link: PrivateLink, symbol: str) -> AccountFees:
        """``GET /v5/account/fee-rate?category=spot|linear&symbol=S``."""
        raw = await link.request("privateGetV5AccountFeeRate", {"category": self.category, "symbol": symbol})
        fees = orders.account_fees(raw, symbol)
        if fees is None:
            raise VenueError(link.name, f"/v5/account/fee-rate named no rates for {symbol}", "the symbol")
        return fees

    async def coin_price(self, link: PrivateLink, coin: str, quote: str) -> Decimal:
        """``GET /v5/market/tickers``: ``{"result":{"list":[{"symbol":"BNBUSDT","lastPrice":"612.3",...}]}}``."""
        rows = result_list(await link.request("publicGetV5MarketTickers", {"category": "spot", "symbol": coin + quote}))
        if not rows:
            raise VenueError(link.name, f"/v5/market/tickers lists no spot {coin}{quote}", "the coin")
        return Decimal(str(rows[0]["lastPrice"]))

    async def linear_position(self, link: PrivateLink, symbol: str) -> tuple[Decimal, Decimal]:
        raw = await link.request("privateGetV5PositionList", {"category": "linear", "symbol": symbol})
        return orders.position_and_entry(raw, symbol)

    async def linear_funding(self, link: PrivateLink, symbol: str, since_ms: int) -> list[FundingPayment]:
        """The ``SETTLEMENT`` entries of the transaction log (one page of 50, within 7 days of ``since_ms``)."""
        request = {
            "accountType": "UNIFIED",
            "category": "linear",
            "type": "SETTLEMENT",
            "startTime": since_ms,
            "limit": 50,
        }
        return orders.funding_payments(
            result_list(await link.request("privateGetV5AccountTransactionLog", request)), symbol
        )

    # -- a perpetual's settings (linear) ----------------------------------------------------------------

    async def perpetual_account(self, link: PrivateLink, margin_mode: MarginMode, source: str) -> list[str]:
        """The unified account's margin mode (``/v5/account/info`` ``marginMode``) is account-wide: checked,
        never changed; a difference stops the start rather than move every position of the account."""
        info = await link.request("privateGetV5AccountInfo", {})
        mode = str(((info or {}).get("result") or {}).get("marginMode", ""))
        if mode not in _MARGIN_MODES[margin_mode]:
            raise PerpetualSettingsError(
                f"{link.name}: the unified account's margin mode is {mode or 'unknown'}, and {source} asks for "
                f'[perpetual] margin_mode = "{margin_mode}"; it is account-wide on Bybit, so arb does not '
                "change it: set it in Bybit or change margin_mode"
            )
        return []

    async def perpetual_symbol(
        self, link: PrivateLink, symbol: str, leverage: int, margin_mode: MarginMode
    ) -> list[str]:
        """``switch-mode`` to one-way (``mode=0``), then ``set-leverage`` the same both ways."""
        changed = []
        params = {"category": "linear", "symbol": symbol}
        if await self.setting(link, "privatePostV5PositionSwitchMode", {**params, "mode": 0}):
            changed.append("position mode switched to one-way")
        both = str(leverage)
        if await self.setting(
            link, "privatePostV5PositionSetLeverage", {**params, "buyLeverage": both, "sellLeverage": both}
        ):
            changed.append(f"leverage set to {leverage}")
        return changed

    # -- the dead-man's switch ----------------------------------------------------------------------------

    async def arm_dead_man(self, link: PrivateLink, markets: Sequence[SymbolRef], window_s: int) -> None:
        """Disconnect-cancel-all for the product with ``window_s`` (one request for every symbol)."""
        product = "SPOT" if self.spot else "DERIVATIVES"
        await link.request(
            "privatePostV5OrderDisconnectedCancelAll", {"product": product, "timeWindow": window_s}, hint=_DCP_HINT
        )

    async def keep_dead_man(
        self, link: PrivateLink, markets: Sequence[SymbolRef], window_s: int, *, armed: bool
    ) -> None:
        """Subscribe the product's DCP topic (``dcp.spot``, ``dcp.future``) on every private connection ccxt
        opens (ccxt does not): DCP counts only connections that subscribed it. A refusal (ccxt keeps it
        under the request's id) is logged as an error: the venue would not cancel on a disconnect."""
        if not armed:
            await self.arm_dead_man(link, markets, window_s)
        exchange = link.exchange
        url = await exchange.get_url_by_market_type(markets[0].ccxt_symbol, True)
        topic = self.dcp_topic
        subscribed: Any = None  # the ccxt client the subscription was sent on
        while not link.stopping:
            client = exchange.clients.get(url)
            refusal = subscribed.rejections.pop(_DCP_REQUEST, None) if subscribed is not None else None
            if refusal is not None:
                log.error("%s: the venue refused the %s subscription (%s): its disconnect-cancel-all will not "
                          "cancel arb's orders if arb's connections drop", self.venue, topic, refusal)  # fmt: skip
            if client is not None and client is not subscribed:
                try:
                    await exchange.authenticate(url)
                    await client.send({"op": "subscribe", "args": [topic], "req_id": _DCP_REQUEST})
                    subscribed = self._dcp_client = client
                except Exception as error:  # noqa: BLE001 - the stream is reconnecting: try on the next turn
                    log.info("%s: %s subscription not sent yet (%r)", self.venue, topic, error)
            await asyncio.sleep(1.0)

    async def disarm_dead_man(self, link: PrivateLink, markets: Sequence[SymbolRef]) -> bool:
        """The product's DCP topic unsubscribed on the connection :meth:`keep_dead_man` subscribed it on, before
        that connection closes, answered ``{"success":true,"ret_msg":"","op":"unsubscribe","req_id":...}``.

        Bybit has no request that turns DCP off (``timeWindow`` takes 3 to 300 s; on and off are Bybit's to
        set per account), but it counts only connections that subscribed the topic ("for those private
        connections subscribing "dcp" topic are all dead, then DCP will be triggered"): with none subscribed,
        arb's connections close and nothing fires. False when this process subscribed none (``arb kill``).
        Raises :class:`~arb.errors.VenueError` when the connection is down already (Bybit counts from its
        drop) or the unsubscription is refused or not answered."""
        client, self._dcp_client = self._dcp_client, None
        if client is None:
            return False
        topic, exchange = self.dcp_topic, link.exchange
        if client.closed():
            raise VenueError(link.name, f"the private connection that subscribed {topic} is down: disconnect-cancel-"
                             "all counts from its drop", "the network (Bybit cancels the product's orders once the "
                             "window passes)", code="dead-man", retryable=True)  # fmt: skip
        off = f"unsubscribe:{topic}"  # where ccxt's Bybit answers an unsubscription (handle_un_subscribe)
        request = {"op": "unsubscribe", "args": [topic], "req_id": _DCP_OFF}
        subscription = {"id": _DCP_OFF, "messageHashes": [off], "subMessageHashes": [None]}
        try:
            async with asyncio.timeout(exchange.timeout / 1000):
                await exchange.watch(client.url, off, request, off, subscription)
        except (ccxt.BaseError, TimeoutError, OSError) as error:
            raise VenueError(link.name, f"the unsubscription of {topic} was refused or not answered ({error})",
                             "the network and the venue's status page (Bybit cancels the product's orders once "
                             "the connection has been down for the window)", code="dead-man",
                             retryable=True) from error  # fmt: skip
        return True


ADAPTER = BybitPrivate
"""The venue's :class:`~connectors.common.private.PrivateVenue` (what :mod:`connectors.registry` finds)."""


class _CreateSigning:
    """``POST /v5/order/create`` signed as ccxt signs it: the parameters as compact JSON in the body, the
    ``X-BAPI-SIGN`` header the HMAC-SHA256 (hex) of the timestamp, the API key, the receive window and the
    body (by the client's own JSON encoder: orjson's where it is installed, else the standard library's); the
    other headers as ccxt sets them (taken from one create ccxt signed)."""

    __slots__ = ("_headers", "_json", "_key", "_mac", "_url", "_window")

    def __init__(
        self, url: str, headers: Mapping[str, str], key: str, secret: str, encode: Callable[[Any], str]
    ) -> None:
        self._url, self._headers, self._key, self._json = url, dict(headers), key, encode
        self._window = self._headers.get("X-BAPI-RECV-WINDOW", "")
        self._mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)

    def sign(self, params: Mapping[str, Any], timestamp_ms: int) -> SignedRest:
        body = self._json(params)
        stamp = str(timestamp_ms)
        mac = self._mac.copy()
        mac.update(f"{stamp}{self._key}{self._window}{body}".encode())
        headers = dict(self._headers)
        headers["X-BAPI-TIMESTAMP"], headers["X-BAPI-SIGN"] = stamp, mac.hexdigest()
        return SignedRest(self._url, "POST", headers, body)

    def timestamp_of(self, signed: SignedRest) -> int | None:
        stamp = (signed.headers or {}).get("X-BAPI-TIMESTAMP", "")
        return int(stamp) if stamp.isdigit() else None
