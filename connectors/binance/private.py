"""Binance's private side (spot and USD-M) behind :class:`~connectors.common.private.PrivateVenue`.

The requests, as ccxt 4.5's implicit methods name them (spot first, then USD-M):

==================  ===============================================  ====================================
create (IOC)        ``POST /api/v3/order`` (``newOrderRespType=FULL``:  ``POST /fapi/v1/order``
                    the fills come back in the reply)                 (``RESULT``: the final state)
cancel              ``DELETE /api/v3/order`` ``origClientOrderId``     ``DELETE /fapi/v1/order``
query by client id  ``GET /api/v3/order`` ``origClientOrderId``        ``GET /fapi/v1/order``; ``-2013``
                    ("Order does not exist."): the venue has none      the same
query by venue id   ``GET /api/v3/order`` ``orderId`` (names the        ``GET /fapi/v1/order`` the same
                    client id: a trade row names none)
open orders         ``GET /api/v3/openOrders``                         ``GET /fapi/v1/openOrders``
cancel all          ``DELETE /api/v3/openOrders`` (``-2011``: none     ``DELETE /fapi/v1/allOpenOrders``
                    open; the reply lists what was cancelled)          (the reply says "done", no list)
trade history       ``GET /api/v3/myTrades``                           ``GET /fapi/v1/userTrades``
balances            ``GET /api/v3/account``                            ``GET /fapi/v2/balance``
position, entry     (spot has holdings: balances)                      ``GET /fapi/v2/positionRisk``
funding income      (none)                                             ``GET /fapi/v1/income`` FUNDING_FEE
dead-man's switch   (none: IOC orders leave nothing open)              ``POST /fapi/v1/countdownCancelAll``
                                                                       per symbol, renewed every quarter
                                                                       window
==================  ===============================================  ====================================

Every response carries ``X-MBX-USED-WEIGHT-1M``, the IP's request weight this minute, and an order request
``X-MBX-ORDER-COUNT-10S`` and ``-1D`` (spot) or ``-1M`` (USD-M), the account's new orders; the WebSocket
API's answers carry the same counts in ``rateLimits``. :meth:`rate_use` reads them against the limits
exchangeInfo published (:meth:`rate_limits`); :mod:`arb.execution.rate_guard` decides what may go.
Errors are ``{"code": -2010, "msg": "..."}`` with a 4xx status; 418 is a ban ("IP banned until
<epoch ms>"), 429 a rate limit.
"""

from __future__ import annotations

__all__ = ["ADAPTER", "ANSWERS", "BinancePrivate"]

import functools
import hashlib
import hmac
import logging
import re
import string
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

import ccxt

from arb.errors import VenueError
from connectors.binance import orders
from connectors.binance.ws_api import CANCEL, PLACE, BinanceWsApiFraming
from connectors.common.ccxt_venue import CcxtVenue, renew_until_stopped
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
    TimeInForce,
)

log = logging.getLogger(__name__)

ANSWERS = AnswerRules(
    code_field="code",
    message_field="msg",
    ok_code="",
    ban_status=418,
    # UNEXPECTED_RESP, TIMEOUT: "Send status unknown; execution status unknown"
    unknown_codes=frozenset({"-1006", "-1007"}),
    # too much weight, too many orders, system throttled
    rate_codes=frozenset({"-1003", "-1015", "-1008"}),
    # bad key format, invalid key/IP/permissions, bad signature, unauthorized
    credential_codes=frozenset({"-2014", "-2015", "-1022", "-1002"}),
    clock_codes=frozenset({"-1021"}),  # the timestamp is outside recvWindow
    ban_until=re.compile(r"banned until (\d+)", re.IGNORECASE),
    post_only=re.compile(r"^(-2010 Order would immediately match and take|-5022 )"),
)
"""What Binance's answers mean (its ``errors.md`` codes)."""

NOT_FOUND = "-2013"
"""``"Order does not exist."``: the answer to a query of an order the venue does not have."""
UNKNOWN_ORDER = "-2011"
"""``"Unknown order sent."``: a cancel of an order that is not open (or of none, for cancel-all)."""
_INTERVAL_NS = {"s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000, "d": 86_400_000_000_000}
"""The length of each of Binance's interval letters, ns."""


class BinancePrivate(CcxtVenue):
    """Binance spot (``binance``) or USD-M futures (``binanceusdm``) through ccxt."""

    venue = "binance"
    answers = ANSWERS
    unchanged_codes = frozenset({"-4046", "-4059"})  # margin type, position side: "No need to change"
    rest_paths = True  # every family keeps its path on the REST base (public -> /api/v3, fapiPrivate -> /fapi/v1)

    @property
    def dead_man(self) -> DeadManScope:
        """USD-M has a countdown per symbol; spot has no switch."""
        return DeadManScope.NONE if self.spot else DeadManScope.SYMBOL

    @property
    def reduce_only_any_notional(self) -> bool:  # type: ignore[override]  # a fact of the market: spot's is False
        """USD-M takes a reduce-only order below MIN_NOTIONAL (``-4164`` "... unless you choose reduce only")."""
        return not self.spot

    @property
    def reduce_only_past_throttle(self) -> bool:  # type: ignore[override]  # a fact of the market: spot's is False
        """USD-M's ``-1008`` throttle exempts "Reduce-only/close-position orders"."""
        return not self.spot

    def signed_rest(self, signed: SignedRest) -> SignedRest:
        """The signed parameters in the query string, the body empty (Binance takes a POST's parameters
        from either, the signature over both): a request without a body leaves in its task's first step,
        where aiohttp on Python 3.11 writes a body in a task of its own, after whatever else is ready."""
        if not signed.body:
            return signed
        sep = "&" if "?" in signed.url else "?"
        return SignedRest(f"{signed.url}{sep}{signed.body}", signed.method, signed.headers, None)

    def own_create_signer(self, exchange: Any, reference: SignedRest) -> _CreateSigning | None:
        """An HMAC key's creates signed here (an RSA or Ed25519 key's by ccxt)."""
        secret, window = exchange.secret, exchange.options.get("recvWindow")
        if not isinstance(secret, str) or not secret or "-----BEGIN" in secret or not isinstance(window, int):
            return None
        return _CreateSigning(reference.url.split("?", 1)[0], reference.headers or {}, secret, window)

    def rest_create_method(self) -> str:
        """``POST /api/v3/order`` (spot) or ``/fapi/v1/order`` (USD-M)."""
        return self._method("privatePostOrder", "fapiPrivatePostOrder")

    def _method(self, spot: str, futures: str) -> str:
        # The implicit method of this market: spot's or USD-M's
        return spot if self.spot else futures

    # -- the client --------------------------------------------------------------------------------

    def ccxt_class(self) -> str:
        return "binance" if self.spot else "binanceusdm"

    def ccxt_options(self) -> dict[str, Any]:
        return {
            "fetchCurrencies": False,
            "fetchMargins": False,
            "fetchMarkets": {"types": [self.market]},
            "warnOnFetchOpenOrdersWithoutSymbol": False,
        }

    def ws_urls(self, default_ws: Mapping[str, Any], ws_private: str) -> dict[str, Any]:
        """Spot's user stream is the WS-API (``wss://ws-api.binance.com:443/ws-api/v3``); USD-M's the
        user-stream base (``wss://fstream.binance.com/ws``: ccxt appends the listen key, or rewrites
        ``/ws`` to ``/private/ws``)."""
        ws = dict(default_ws)
        if self.spot:
            ws["ws-api"] = {**ws.get("ws-api", {}), "spot": ws_private}
        else:
            ws["linear"] = ws_private
            ws["ws-api"] = {**ws.get("ws-api", {}), "linear": ws_private}
        return ws

    def configure(self, exchange: Any) -> None:
        """Keep the last JSON answer (ccxt does not by default): exchangeInfo's, right after the market
        load, is where :meth:`rate_limits` reads the published limits. USD-M's user stream also notices
        ``listenKeyExpired`` (:func:`_reopen_on_expiry`)."""
        exchange.enableLastJsonResponse = True
        if not self.spot and hasattr(exchange, "handle_message"):  # a pro client: it has the user stream
            _reopen_on_expiry(exchange)

    def rate_limits(self, exchange: Any) -> dict[str, int]:
        """exchangeInfo's ``rateLimits`` (which ccxt keeps as the last JSON response of the market load) by
        count name: ``REQUEST_WEIGHT`` per minute as ``weight-1m``, ``ORDERS`` per 10 s as ``orders-10s``
        (per day ``orders-1d``, USD-M per minute ``orders-1m``)."""
        raw = getattr(exchange, "last_json_response", None)
        out = {}
        for limit in (raw.get("rateLimits") if isinstance(raw, dict) else None) or []:
            kind = {"REQUEST_WEIGHT": "weight", "ORDERS": "orders"}.get(str(limit.get("rateLimitType")))
            interval = str(limit.get("interval", ""))
            if kind and interval and str(limit.get("limit", "")).isdigit():
                out[f"{kind}-{int(limit.get('intervalNum', 1))}{interval[0].lower()}"] = int(limit["limit"])
        return out

    def rate_use(self, headers: Mapping[str, str], now_ns: int, limits: Mapping[str, int]) -> RateUse:
        """``X-MBX-USED-WEIGHT-1M`` (the IP's request weight this minute) and ``X-MBX-ORDER-COUNT-10S``,
        ``-1D``, ``-1M`` (the account's new orders: they limit creates alone), each with its window's end:
        Binance's windows start on the clock (a minute at :00)."""
        counts = []
        for name, value in headers.items():
            for prefix, kind in (("x-mbx-used-weight-", "weight"), ("x-mbx-order-count-", "orders")):
                if not name.startswith(prefix) or not value.isdigit():
                    continue
                span = name[len(prefix) :]
                unit = _INTERVAL_NS.get(span[-1:])
                if unit is None or not span[:-1].isdigit():
                    continue
                window = int(span[:-1]) * unit
                key = f"{kind}-{span}"
                reset = now_ns - now_ns % window + window
                counts.append(RateCount(key, int(value), limits.get(key), reset, orders_only=kind == "orders"))
        return RateUse(tuple(counts))

    # -- orders --------------------------------------------------------------------------------------

    def venue_create_params(self, order: OrderRequest) -> dict[str, Any]:
        """Spot answers ``FULL`` (state and fills in the reply), USD-M ``RESULT`` (the final state)."""
        return {"newOrderRespType": "FULL" if self.spot else "RESULT"}

    # -- order entry over the WebSocket API (spot /ws-api/v3, USD-M /ws-fapi/v1) --------------------------

    socket_cancel_op = CANCEL
    # post-only: USD-M's timeInForce GTX (spot's is a type, LIMIT_MAKER: see socket_create)
    socket_time_in_force: ClassVar[Mapping[str, str]] = {"IOC": "IOC", "GTC": "GTC", "FOK": "FOK", "PO": "GTX"}

    def framing(self, api_key: str, api_secret: str) -> BinanceWsApiFraming:
        return BinanceWsApiFraming(api_key, api_secret)

    def socket_create(self, order: OrderRequest) -> tuple[str, dict[str, Any]]:
        """``order.place`` with ``POST /api/v3/order``'s (``/fapi/v1/order``'s) body."""
        maker = order.time_in_force is TimeInForce.POST_ONLY and self.spot  # spot words post-only as a type
        params = {
            "symbol": order.symbol,
            "side": "BUY" if order.side > 0 else "SELL",
            "type": "LIMIT_MAKER" if maker else "LIMIT",
            **({} if maker else {"timeInForce": self.time_in_force(order)}),
            "quantity": order.qty,
            "price": order.price,
            "newClientOrderId": order.client_id,
            **self.venue_create_params(order),
        }
        if order.reduce_only:
            params["reduceOnly"] = "true"
        return PLACE, params

    def socket_headers(self, body: Mapping[str, Any], status: int) -> dict[str, str]:
        """A 429/418 answer's ``data.retryAfter`` (epoch ms) as REST's ``Retry-After`` (seconds)."""
        data = body.get("data")
        retry_ms = data.get("retryAfter") if isinstance(data, Mapping) else None
        if status not in (429, 418) or not isinstance(retry_ms, int):
            return {}
        return {"retry-after": str(max(0, retry_ms - time.time_ns() // 1_000_000) // 1000 + 1)}

    async def cancel(self, link: PrivateLink, symbol: str, client_id: str) -> bool:
        method = self._method("privateDeleteOrder", "fapiPrivateDeleteOrder")
        try:
            await self.send_cancel(link, method, {"symbol": symbol, "origClientOrderId": client_id})
        except VenueError as error:
            if error.code in (UNKNOWN_ORDER, NOT_FOUND):
                return False
            raise
        return True

    async def query(self, link: PrivateLink, symbol: str, client_id: str) -> VenueOrderUpdate | None:
        return await self._query(link, {"symbol": symbol, "origClientOrderId": client_id})

    async def query_venue_id(self, link: PrivateLink, symbol: str, venue_order_id: str) -> VenueOrderUpdate | None:
        """``GET /api/v3/order`` (``/fapi/v1/order``) by ``orderId``: the answer names the client id."""
        return await self._query(link, {"symbol": symbol, "orderId": venue_order_id})

    async def _query(self, link: PrivateLink, params: Mapping[str, Any]) -> VenueOrderUpdate | None:
        # GET /api/v3/order (/fapi/v1/order) by either id; NOT_FOUND: the venue has no such order
        try:
            raw = await link.request(self._method("privateGetOrder", "fapiPrivateGetOrder"), params)
        except VenueError as error:
            if error.code == NOT_FOUND:
                return None
            raise
        return self.order_update(raw)

    async def open_orders(self, link: PrivateLink, symbol: str) -> list[VenueOrderUpdate]:
        method = self._method("privateGetOpenOrders", "fapiPrivateGetOpenOrders")
        return self.open_updates(await link.request(method, {"symbol": symbol}) or [])

    async def cancel_all(self, link: PrivateLink, symbol: str) -> int:
        if not self.spot:
            # USD-M answers {"code":200,"msg":"The operation of cancel all open order is done."}, no list:
            # count what was open, cancel, and count what is left.
            before = await self.open_orders(link, symbol)
            await link.request("fapiPrivateDeleteAllOpenOrders", {"symbol": symbol})
            return len(before) - len(await self.open_orders(link, symbol)) if before else 0
        try:
            rows = await link.request("privateDeleteOpenOrders", {"symbol": symbol})
        except VenueError as error:
            if error.code == UNKNOWN_ORDER:  # no open orders
                return 0
            raise
        return len(rows) if isinstance(rows, list) else 0

    # -- what the venue says ----------------------------------------------------------------------------

    order_update = staticmethod(orders.order_update)

    def fills(self, raw: Mapping[str, Any], assets: MarketAssets) -> list[VenueFill]:
        """Binance names every fee's asset (``N``, ``commissionAsset``)."""
        return orders.fills(raw)

    async def order_trades(self, link: PrivateLink, symbol: str, venue_order_id: str) -> list[dict[str, Any]]:
        method = self._method("privateGetMyTrades", "fapiPrivateGetUserTrades")
        return list(await link.request(method, {"symbol": symbol, "orderId": venue_order_id}) or [])

    async def trades_since(self, link: PrivateLink, symbol: str, since_ms: int) -> list[dict[str, Any]]:
        method = self._method("privateGetMyTrades", "fapiPrivateGetUserTrades")
        return list(await link.request(method, {"symbol": symbol, "startTime": since_ms, "limit": 1000}) or [])

    # -- the account ----------------------------------------------------------------------------------

    async def balances(self, link: PrivateLink) -> dict[str, Decimal]:
        if self.spot:
            return orders.balances(await link.request("privateGetAccount", {"omitZeroBalances": "true"}))
        return orders.balances(await link.request("fapiPrivateV2GetBalance", {}))

    async def account_fees(self, link: PrivateLink, symbol: str) -> AccountFees:
        """Spot ``GET /api/v3/account/commission``, USD-M ``GET /fapi/v1/commissionRate``."""
        method = self._method("privateGetAccountCommission", "fapiPrivateGetCommissionRate")
        return orders.account_fees(await link.request(method, {"symbol": symbol}))

    async def coin_price(self, link: PrivateLink, coin: str, quote: str) -> Decimal:
        """``GET /api/v3/ticker/price`` (USD-M ``/fapi/v1/ticker/price``): ``{"symbol":"BNBUSDT","price":"612.3"}``."""
        method = self._method("publicGetTickerPrice", "fapiPublicGetTickerPrice")
        return Decimal(str((await link.request(method, {"symbol": coin + quote}))["price"]))

    async def linear_position(self, link: PrivateLink, symbol: str) -> tuple[Decimal, Decimal]:
        rows = await link.request("fapiPrivateV2GetPositionRisk", {"symbol": symbol})
        return orders.position_and_entry(rows, symbol)

    async def linear_funding(self, link: PrivateLink, symbol: str, since_ms: int) -> list[FundingPayment]:
        """USD-M's ``FUNDING_FEE`` income rows (at most 1,000, oldest first)."""
        params = {"symbol": symbol, "incomeType": "FUNDING_FEE", "startTime": since_ms, "limit": 1000}
        return orders.funding_payments(await link.request("fapiPrivateGetIncome", params) or [])

    # -- a perpetual's settings (USD-M) ---------------------------------------------------------------------

    async def perpetual_account(self, link: PrivateLink, margin_mode: MarginMode, source: str) -> list[str]:
        """``positionSide/dual`` (the account's position mode, one for every symbol) switched to one-way
        if it is not; Binance refuses while positions or orders are open (``-4068``): the start stops."""
        changed = []
        dual = await link.request("fapiPrivateGetPositionSideDual", {})
        if str((dual or {}).get("dualSidePosition", "false")).lower() == "true":
            try:
                await self.setting(link, "fapiPrivatePostPositionSideDual", {"dualSidePosition": "false"})
            except VenueError as error:
                if error.retryable:
                    raise
                raise PerpetualSettingsError(
                    f"{link.name}: the account is in hedge position mode and could not be switched to one-way "
                    f"({error.answered}); close its USD-M positions and orders, or switch it in Binance, "
                    "then start again"
                ) from None
            changed.append("position mode switched to one-way")
        return changed

    async def perpetual_symbol(
        self, link: PrivateLink, symbol: str, leverage: int, margin_mode: MarginMode
    ) -> list[str]:
        """``marginType`` (``CROSSED``/``ISOLATED``; refused while a position or order is open, ``-4048``)
        and ``leverage``."""
        changed = []
        margin = "ISOLATED" if margin_mode == "isolated" else "CROSSED"
        try:
            if await self.setting(link, "fapiPrivatePostMarginType", {"symbol": symbol, "marginType": margin}):
                changed.append(f"margin type set to {margin}")
        except VenueError as error:
            if error.retryable:
                raise
            raise PerpetualSettingsError(
                f"{link.name}: margin type of {symbol} could not be set to {margin} ({error.answered}); "
                "Binance refuses while a position or order is open"
            ) from None
        await self.setting(link, "fapiPrivatePostLeverage", {"symbol": symbol, "leverage": leverage})
        changed.append(f"leverage set to {leverage}")
        return changed

    # -- the dead-man's switch ----------------------------------------------------------------------------

    async def arm_dead_man(self, link: PrivateLink, markets: Sequence[SymbolRef], window_s: int) -> None:
        """One ``countdownCancelAll`` per symbol: unless renewed within ``window_s``, Binance cancels the
        symbol's orders."""
        if self.spot:
            return
        for m in markets:
            renew = {"symbol": m.symbol, "countdownTime": window_s * 1000}
            await link.request("fapiPrivatePostCountdownCancelAll", renew, hint="that the key may trade USD-M futures")

    async def keep_dead_man(
        self, link: PrivateLink, markets: Sequence[SymbolRef], window_s: int, *, armed: bool
    ) -> None:
        """Renew every symbol's countdown every quarter window (a failed renewal is logged and retried at
        the next turn)."""
        if self.spot:
            return
        countdown = functools.partial(link.request, "fapiPrivatePostCountdownCancelAll")
        ms = window_s * 1000
        renewals = [
            (f"countdown cancel of {m.symbol}", functools.partial(countdown, {"symbol": m.symbol, "countdownTime": ms}))
            for m in markets
        ]
        await renew_until_stopped(link, self.venue, renewals, window_s / 4, armed=armed)

    async def disarm_dead_man(self, link: PrivateLink, markets: Sequence[SymbolRef]) -> bool:
        """Every symbol's countdown stopped: ``countdownCancelAll`` with ``countdownTime`` 0 ("the countdown
        timer will be stopped"), answered ``{"symbol":"BTCUSDT","countdownTime":"0"}``; spot has none."""
        if self.spot:
            return False
        for m in markets:
            answer = await link.request("fapiPrivatePostCountdownCancelAll", {"symbol": m.symbol, "countdownTime": 0})
            said = answer if isinstance(answer, Mapping) else {}
            if str(said.get("countdownTime")) != "0" or said.get("symbol") != m.symbol:
                raise VenueError(link.name, f"POST /fapi/v1/countdownCancelAll (countdownTime 0, {m.symbol}) answered "
                                 f"{answer!r}, not the countdown stopped", "the venue's status page (arb kill "
                                 "stops it again)", code="dead-man")  # fmt: skip
        return True


ADAPTER = BinancePrivate
"""The venue's :class:`~connectors.common.private.PrivateVenue` (what :mod:`connectors.registry` finds)."""


_TIMESTAMP = re.compile(r"[?&]timestamp=(\d+)")
_UNRESERVED = string.ascii_letters + string.digits + "_.~-"
"""What ccxt's urlencode (``urllib``'s, quoting with ``quote``) leaves as it is."""


def _reopen_on_expiry(exchange: Any) -> None:
    """Make a USD-M pro client's user stream fail when Binance says its listen key expired.

    Binance sends ``{"e":"listenKeyExpired","E":1576653824250,"listenKey":"..."}`` and then no more user
    data on that connection ("not related to the websocket disconnection"), and ccxt drops the event: the
    stream would stay open and silent. Here the event does what ccxt does when it fails to keep a key
    alive: the key is forgotten and every watch on the connection raises, so the executor reopens the
    stream with a new key and sweeps the trades it may have missed."""
    handle = exchange.handle_message

    def handle_message(client: Any, message: Any) -> Any:
        if isinstance(message, dict) and message.get("e") == "listenKeyExpired":
            log.warning("binance USD-M: the user stream's listen key expired (%s); reopening it with a new key",
                        message.get("E"), extra={"event": "listen_key_expired", "venue": "binance"})  # fmt: skip
            bucket = exchange.options.get("linear")
            if isinstance(bucket, dict):
                exchange.options["linear"] = {**bucket, "listenKey": None, "lastAuthenticatedTime": 0}
            client.reject(ccxt.NetworkError("binance USD-M user stream: listenKeyExpired"))
            return None
        return handle(client, message)

    exchange.handle_message = handle_message


class _CreateSigning:
    """``POST /api/v3/order`` (``/fapi/v1/order``) signed as ccxt signs it: ``timestamp``, the parameters in
    their order and ``recvWindow``, url-encoded, then ``signature``, the HMAC-SHA256 of that (hex); all in
    the query string, as :meth:`BinancePrivate.signed_rest` sends it."""

    __slots__ = ("_headers", "_mac", "_url", "_window")

    def __init__(self, url: str, headers: Mapping[str, str], secret: str, window: int) -> None:
        self._url, self._headers, self._window = url, dict(headers), window
        self._mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)

    def sign(self, params: Mapping[str, Any], timestamp_ms: int) -> SignedRest:
        fields = [f"timestamp={timestamp_ms}"]
        for key, value in params.items():
            # as ccxt's urlencode: booleans as true/false, all but unreserved characters quoted
            text = value if type(value) is str else str(value).lower() if type(value) is bool else str(value)
            fields.append(f"{quote(key, safe='') if key.strip(_UNRESERVED) else key}="
                          f"{quote(text, safe='') if text.strip(_UNRESERVED) else text}")  # fmt: skip
        fields.append(f"recvWindow={self._window}")
        query = "&".join(fields)
        mac = self._mac.copy()
        mac.update(query.encode())
        return SignedRest(f"{self._url}?{query}&signature={mac.hexdigest()}", "POST", dict(self._headers), None)

    def timestamp_of(self, signed: SignedRest) -> int | None:
        found = _TIMESTAMP.search(signed.url)
        return int(found.group(1)) if found else None
