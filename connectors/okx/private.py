"""OKX v5's private side (spot and the USDT-margined swaps) behind
:class:`~connectors.common.private.PrivateVenue`.

The requests, as ccxt 4.5's implicit methods of its ``okx`` class name them (``instId`` ``BTC-USDT`` on spot,
``BTC-USDT-SWAP`` on linear; every client id as OKX's ``clOrdId``, :func:`~connectors.okx.trading.okx_client_id`):

==================  ==========================================================================================
create              ``POST /api/v5/trade/order`` (ccxt's ``create_order`` would use ``batch-orders``): ``tdMode``
                    ``cash`` on spot, the ``[perpetual] margin_mode`` on linear; ``ordType`` ``ioc`` or
                    ``post_only``; ``sz`` in contracts on linear. Over the order WebSocket: ``order``, the
                    instrument named by ``instIdCode``
cancel              ``POST /api/v5/trade/cancel-order`` ``clOrdId`` (``51400``/``51401``/``51402``: not open any
                    more); over the WebSocket ``cancel-order``
query by client id  ``GET /api/v5/trade/order`` ``clOrdId`` (``51603``: OKX has none)
query by venue id   the same, by ``ordId``
open orders         ``GET /api/v5/trade/orders-pending``
cancel all          the open orders, one ``cancel-order`` each (OKX has no cancel-all of one instrument)
trade history       ``GET /api/v5/trade/fills`` (the last 3 days), paged by ``billId``
balances            ``GET /api/v5/account/balance`` (the trading account)
position, entry     ``GET /api/v5/account/positions`` (linear, net mode)
funding income      ``GET /api/v5/account/bills`` ``type=8`` (linear)
fees                ``GET /api/v5/account/trade-fee``
dead-man's switch   ``POST /api/v5/trade/cancel-all-after`` ``timeOut`` (10-120 s): every order-book instrument
                    of the account, renewed every quarter window while trading
account settings    ``GET /api/v5/account/config`` (``posMode``: arb trades ``net_mode`` only), ``POST
                    /api/v5/account/set-leverage``
==================  ==========================================================================================

Every answer is HTTP 200 with ``{"code","msg","data":[...]}`` unless the gateway refused; an order request is
answered per item (``sCode``/``sMsg``), read by :data:`ANSWERS`. OKX states no request counts on its answers:
a rate limit is only its answer ``50011``. The adapter keeps, besides its market, what the loaded markets say
of its instruments (:meth:`OkxPrivate.markets_loaded`) and the margin mode the venue file names
(:meth:`OkxPrivate.perpetual_account`).
"""

from __future__ import annotations

__all__ = ["ADAPTER", "ANSWERS", "OkxPrivate", "PositionModeError"]

import functools
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Unpack

from arb.errors import NeedsOperatorError, VenueError
from connectors.common.ccxt_venue import CcxtVenue, cursor_pages, renew_until_stopped
from connectors.common.order_entry import CreateSigner, OrderEntry, Outgoing, SignedRest
from connectors.common.order_socket import AnswerLostError, NotSentError, OrderSocket
from connectors.common.orders import VenueFill, VenueOrderUpdate
from connectors.common.private import (
    AccountFees,
    AnswerRules,
    ClientOptions,
    DeadManScope,
    FundingPayment,
    MarginMode,
    MarketAssets,
    OrderRequest,
    PerpetualSettingsError,
    PrivateLink,
    SymbolRef,
    TimeInForce,
)
from connectors.common.rest_lane import PreparedCreate
from connectors.okx import trading
from connectors.okx.orders import POST_ONLY_CANCEL_SOURCE
from connectors.okx.trade_socket import CANCEL, CREATE, OkxTradeFraming
from connectors.okx.urls import inst_id

log = logging.getLogger(__name__)

ANSWERS = AnswerRules(
    code_field="code",
    message_field="msg",
    ok_code="0",
    items_field="data",
    item_code_field="sCode",
    item_message_field="sMsg",
    ban_status=418,  # OKX documents no ban status (a ban would be answered 50011 or 50013 as a 429): none seen
    # may or may not have been executed: endpoint request timeout (400), service unavailable (503), systems busy
    # (429), internal error (500), an order's own timeouts (51149, 51054, 52912), and a duplicate clOrdId: OKX
    # has an open order with it, which only this order can be (arb's ids are unique forever)
    unknown_codes=frozenset({"50001", "50004", "50013", "50026", "51149", "51054", "52912", "51016"}),
    # rate limit reached (per user and instrument, REST and WebSocket together), the sub-account's order cap
    rate_codes=frozenset({"50011", "50061"}),
    # key frozen, demo/production mismatch, a missing header, wrong passphrase, IP, invalid key, sign, authority
    credential_codes=frozenset(
        {"50100", "50101", "50103", "50104", "50105", "50106", "50107", "50110", "50111", "50113", "50114", "50120"}
    ),
    clock_codes=frozenset({"50102", "50112"}),  # timestamp expired, invalid timestamp
    endpoint_rate_codes=frozenset({"50011"}),  # per user and instrument: not the account's other requests
    post_only_expiry=POST_ONLY_CANCEL_SOURCE,  # a post_only that would take: accepted, then cancelled ("31")
)
"""What OKX's answers mean (docs v5 "Error Code": REST 50000-50120, trade 51000-51999)."""

NOT_OPEN = frozenset({"51400", "51401", "51402"})
"""A cancel of an order that is not open any more: filled, cancelled or none; already cancelled; completed."""
CANCEL_PENDING = "51410"
"""The order is being cancelled already: the venue took a cancel of it."""
NOT_FOUND = "51603"
"""``GET /api/v5/trade/order``: "Order does not exist"."""
POSITION_MODE = "net_mode"
"""The one position mode arb trades: one net position per instrument, no ``posSide``."""
FILLS_PAGE = 100
"""Rows asked of ``/api/v5/trade/fills`` per page (its most)."""
DEAD_MAN_RANGE_S = (10, 120)
"""``cancel-all-after`` ``timeOut``: 0 (off) or 10 to 120 s."""
DEMO_NETWORK = "testnet"
"""The venue file's network that is OKX's demo trading (the production hosts' REST, ``wspap`` WebSockets,
the ``x-simulated-trading: 1`` header, a demo key)."""
_DEMO_HINT = 'that the key is a demo-trading key (OKX: Trade > Demo trading > API) for network = "testnet"'


class PositionModeError(PerpetualSettingsError, NeedsOperatorError):
    """The OKX account is in a position mode arb does not trade (long/short): a person changes it on OKX."""


class OkxPrivate(CcxtVenue):
    """OKX v5 spot or linear (USDT swaps) through ccxt's ``okx``."""

    venue = "okx"
    answers = ANSWERS
    rest_create = "privatePostTradeOrder"
    rest_paths = False  # ccxt's one family ("rest") is the bare host

    def __init__(self, market: Any) -> None:
        super().__init__(market)
        self.instruments = trading.Instruments()
        """The loaded markets' ``instIdCode`` and contract values (:meth:`markets_loaded`)."""
        self.td_mode = "cash" if self.spot else "cross"
        """The orders' ``tdMode``: ``cash`` on spot, the venue file's margin mode on linear."""

    @property
    def dead_man(self) -> DeadManScope:
        """``cancel-all-after``: one countdown for every order-book instrument of the account."""
        return DeadManScope.ACCOUNT

    @property
    def inst_type(self) -> str:
        return "SPOT" if self.spot else "SWAP"

    def market_id(self, symbol: str) -> str:
        """``BTC-USDT`` (spot), ``BTC-USDT-SWAP`` (linear) for arb's ``BTCUSDT``."""
        return inst_id(symbol, self.market)

    # -- the client --------------------------------------------------------------------------------

    def ccxt_class(self) -> str:
        return "okx"

    def ccxt_options(self) -> dict[str, Any]:
        """One instrument type at market load."""
        return {"fetchMarkets": {"types": ["spot" if self.spot else "swap"]}, "defaultType": self.market_type}

    @property
    def market_type(self) -> str:
        return "spot" if self.spot else "swap"

    def make_client(self, *, rest: str, **options: Unpack[ClientOptions]) -> Any:
        """As the other venues' (:meth:`CcxtVenue.make_client`); ``network = "testnet"`` is OKX's demo trading:
        every REST request carries ``x-simulated-trading: 1`` (ccxt's sandbox mode, without its URL swap)."""
        exchange = super().make_client(rest=rest, **options)
        if options.get("network") == DEMO_NETWORK:
            exchange.options["sandboxMode"] = True
            exchange.headers = {**(exchange.headers or {}), "x-simulated-trading": "1"}
        return exchange

    def ws_urls(self, default_ws: Any, ws_private: str) -> Any:
        """ccxt pro's OKX base (it adds ``/private``): the venue file's private URL without it."""
        return ws_private.removesuffix("/").removesuffix("/private")

    def configure(self, exchange: Any) -> None:
        """No currency listing at market load (``/api/v5/asset/currencies``, a private call)."""
        exchange.has["fetchCurrencies"] = False

    def markets_loaded(self, exchange: Any) -> None:
        """Each instrument's ``instIdCode`` and its contract value (``ctVal`` x ``ctMult``; 1 on spot)."""
        for market in (exchange.markets or {}).values():
            info = market.get("info") or {}
            if market.get("type") != self.market_type or not isinstance(info, dict):
                continue
            name = str(info.get("instId", market.get("id", "")))
            code = str(info.get("instIdCode", ""))
            if code.isdigit():
                self.instruments.codes[name] = int(code)
            size = Decimal(1)
            if not self.spot:
                size = Decimal(str(info.get("ctVal") or market.get("contractSize") or 1))
                size *= Decimal(str(info.get("ctMult") or 1))
            self.instruments.contract[name] = size
            self.instruments.symbols[name] = str(market.get("base", "")) + str(market.get("quote", ""))

    def create_signer(self, exchange: Any) -> CreateSigner | None:
        """ccxt signs every create (OKX's signature is over an ISO timestamp: no own signing yet)."""
        return None

    def ccxt_signed(self, exchange: Any, params: dict[str, Any]) -> SignedRest:
        """ccxt's signed create, with the client's own headers (demo trading's ``x-simulated-trading``): the
        REST lane sends only what is here."""
        signed = super().ccxt_signed(exchange, params)
        return SignedRest(signed.url, signed.method, {**(signed.headers or {}), **(exchange.headers or {})},
                          signed.body)  # fmt: skip

    # -- orders --------------------------------------------------------------------------------------

    socket_cancel_op = CANCEL
    _ORD_TYPES: ClassVar[Mapping[TimeInForce, str]] = {TimeInForce.IOC: "ioc", TimeInForce.POST_ONLY: "post_only"}

    def order_entry(
        self, url: str, *, api_key: str, api_secret: str, request_timeout_ms: int, api_password: str | None = None
    ) -> OrderEntry:
        """The private WebSocket's order entry (login with the key's passphrase)."""
        name = f"{self.venue} {self.market}"
        socket = OrderSocket(url, OkxTradeFraming(api_key, api_secret, api_password or ""), name=f"{name} order entry")
        return OrderEntry(socket, name=name, request_timeout_s=request_timeout_ms / 1000)

    def _size(self, order: OrderRequest, instrument: str) -> str:
        # arb's base quantity as OKX's sz: contracts on linear (exact: arb's grid is whole contracts)
        if self.spot:
            return order.qty
        contracts = Decimal(order.qty) / self.instruments.contract[instrument]
        return f"{contracts.normalize():f}"

    def _order_body(self, order: OrderRequest) -> dict[str, Any]:
        instrument = self.market_id(order.symbol)
        try:
            body: dict[str, Any] = {
                "instId": instrument,
                "tdMode": self.td_mode,
                "side": "buy" if order.side > 0 else "sell",
                "ordType": self._ORD_TYPES[order.time_in_force],
                "px": order.price,
                "sz": self._size(order, instrument),
                "clOrdId": trading.okx_client_id(order.client_id),
            }
        except (KeyError, ValueError) as error:
            raise NotSentError(f"{self.venue} {self.market}: cannot word the order: {error!r}") from error
        if order.reduce_only and not self.spot:
            body["reduceOnly"] = True
        return body

    def socket_create(self, order: OrderRequest) -> tuple[str, dict[str, Any]]:
        """``order`` with ``POST /api/v5/trade/order``'s body, the instrument by ``instIdCode``."""
        body = self._order_body(order)
        code = self.instruments.codes.get(body.pop("instId"))
        if code is None:
            raise NotSentError(f"{self.venue} {self.market}: no instIdCode for {order.symbol}: by REST")
        return CREATE, {"instIdCode": code, **body}

    def prepare_create(self, link: PrivateLink, order: OrderRequest) -> PreparedCreate | None:
        """Over the order WebSocket while it is up; else ``POST /api/v5/trade/order`` signed by ccxt now."""
        entry = link.order_entry
        if entry is not None and entry.ready:
            try:
                return entry.outgoing(*self.socket_create(order))
            except NotSentError as error:
                log.info("%s: %s", link.name, error)
        return self._rest_create(link, order)

    def _rest_create(self, link: PrivateLink, order: OrderRequest) -> PreparedCreate | None:
        # ``POST /api/v5/trade/order`` signed by ccxt now, for the REST lane when it serves the host
        try:
            params = self._order_body(order)
        except NotSentError:
            return None
        rest = self.ccxt_signed(link.exchange, params)
        lane = link.rest_lane
        return lane.outgoing(rest) if lane is not None and lane.serves(rest.url) else rest

    async def create(
        self, link: PrivateLink, order: OrderRequest, outgoing: PreparedCreate | None = None
    ) -> dict[str, Any] | None:
        """As :meth:`CcxtVenue.create`, never through ccxt's ``create_order`` (which sends ``batch-orders``):
        a create not prepared is prepared now."""
        if outgoing is None:
            outgoing = self.prepare_create(link, order)
        if isinstance(outgoing, Outgoing):
            outgoing.write()  # written once: a second write does nothing
            if not outgoing.written_ns and not isinstance(outgoing.error, AnswerLostError):
                log.info("%s: %s not sent over the order WebSocket (%s): by REST, the same client id",
                         link.name, order.client_id, outgoing.error)  # fmt: skip
                outgoing = self._rest_create(link, order)
        if outgoing is None:  # an order OKX's body cannot word (a client id past 32 characters): never sent
            raise NotSentError(f"{link.name}: {order.client_id} cannot be worded as an OKX order")
        return await super().create(link, order, outgoing)

    def create_reply(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The order's item (``ordId``, ``clOrdId``, ``sCode`` ``"0"``)."""
        data = body.get("data")
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else None
        return dict(first) if first is not None else None

    async def cancel(self, link: PrivateLink, symbol: str, client_id: str) -> bool:
        instrument, cl_ord_id = self.market_id(symbol), trading.okx_client_id(client_id)
        entry, code = link.order_entry, self.instruments.codes.get(instrument)
        try:
            if entry is not None and entry.ready and code is not None:
                request = {"instIdCode": code, "clOrdId": cl_ord_id}
                try:
                    await link.call(lambda: self.socket_request(link, entry, CANCEL, request))
                    return True
                except NotSentError as error:
                    log.info("%s: cancel not sent over the order WebSocket (%s): by REST", link.name, error)
            await link.request("privatePostTradeCancelOrder", {"instId": instrument, "clOrdId": cl_ord_id})
        except VenueError as error:
            if error.code in NOT_OPEN:
                return False
            if error.code == CANCEL_PENDING:
                return True
            raise
        return True

    async def query(self, link: PrivateLink, symbol: str, client_id: str) -> VenueOrderUpdate | None:
        return await self._query(link, symbol, {"clOrdId": trading.okx_client_id(client_id)})

    async def query_venue_id(self, link: PrivateLink, symbol: str, venue_order_id: str) -> VenueOrderUpdate | None:
        return await self._query(link, symbol, {"ordId": venue_order_id})

    async def _query(self, link: PrivateLink, symbol: str, by: Mapping[str, str]) -> VenueOrderUpdate | None:
        try:
            answer = await link.request("privateGetTradeOrder", {"instId": self.market_id(symbol), **by})
        except VenueError as error:
            if error.code == NOT_FOUND:
                return None
            raise
        rows = trading._data(answer)
        return self.order_update(rows[0]) if rows else None

    async def open_orders(self, link: PrivateLink, symbol: str) -> list[VenueOrderUpdate]:
        request = {"instType": self.inst_type, "instId": self.market_id(symbol)}
        return self.open_updates(trading._data(await link.request("privateGetTradeOrdersPending", request)))

    async def cancel_all(self, link: PrivateLink, symbol: str) -> int:
        """Every open order of ``symbol`` cancelled by its client id (or its order id when it has none)."""
        cancelled = 0
        request = {"instType": self.inst_type, "instId": self.market_id(symbol)}
        for row in trading._data(await link.request("privateGetTradeOrdersPending", request)):
            if row.get("clOrdId"):
                cancelled += await self.cancel(link, symbol, trading.arb_client_id(str(row["clOrdId"])))
                continue
            try:
                await link.request("privatePostTradeCancelOrder", {"instId": request["instId"], "ordId": row["ordId"]})
                cancelled += 1
            except VenueError as error:
                if error.code not in NOT_OPEN:
                    raise
        return cancelled

    # -- what the venue says ----------------------------------------------------------------------------

    def order_update(self, raw: Mapping[str, Any]) -> VenueOrderUpdate | None:
        return trading.order_update(raw, self.instruments)

    def fills(self, raw: Mapping[str, Any], assets: MarketAssets) -> list[VenueFill]:
        """OKX names every fill's fee currency (``fillFeeCcy``, ``feeCcy``)."""
        return trading.fills(raw, self.instruments)

    async def order_trades(self, link: PrivateLink, symbol: str, venue_order_id: str) -> list[dict[str, Any]]:
        request = {"instType": self.inst_type, "instId": self.market_id(symbol), "ordId": venue_order_id}
        return await self._fills(link, request)

    async def trades_since(self, link: PrivateLink, symbol: str, since_ms: int) -> list[dict[str, Any]]:
        """The fills since ``since_ms`` (``/trade/fills`` keeps 3 days), page after page."""
        request = {"instType": self.inst_type, "instId": self.market_id(symbol), "begin": str(since_ms)}
        return await self._fills(link, request)

    async def _fills(self, link: PrivateLink, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        # newest first, at most ``limit`` a page; ``after`` a billId asks for the older ones (the page's last)
        async def page_at(after: str) -> tuple[list[dict[str, Any]], str]:
            page_request = {**request, "limit": str(FILLS_PAGE), **({"after": after} if after else {})}
            page = trading._data(await link.request("privateGetTradeFills", page_request))
            return page, str(page[-1].get("billId", "")) if page else ""

        return await cursor_pages(page_at, FILLS_PAGE)

    # -- the account ----------------------------------------------------------------------------------

    async def balances(self, link: PrivateLink) -> dict[str, Decimal]:
        return trading.balances(await link.request("privateGetAccountBalance", {}))

    async def account_fees(self, link: PrivateLink, symbol: str) -> AccountFees:
        """``GET /api/v5/account/trade-fee?instType=SPOT&instId=BTC-USDT`` (swaps: ``instFamily=BTC-USDT``)."""
        instrument = self.market_id(symbol)
        where = {"instId": instrument} if self.spot else {"instFamily": instrument.removesuffix("-SWAP")}
        raw = await link.request("privateGetAccountTradeFee", {"instType": self.inst_type, **where})
        fees = trading.account_fees(raw, symbol, swap=not self.spot)
        if fees is None:
            raise VenueError(link.name, f"/api/v5/account/trade-fee named no rates for {instrument}", "the symbol")
        return fees

    async def coin_price(self, link: PrivateLink, coin: str, quote: str) -> Decimal:
        """``GET /api/v5/market/ticker?instId=OKB-USDT``: ``last``."""
        rows = trading._data(await link.request("publicGetMarketTicker", {"instId": f"{coin}-{quote}"}))
        if not rows or not rows[0].get("last"):
            raise VenueError(link.name, f"/api/v5/market/ticker lists no {coin}-{quote}", "the coin")
        return Decimal(str(rows[0]["last"]))

    async def linear_position(self, link: PrivateLink, symbol: str) -> tuple[Decimal, Decimal]:
        instrument = self.market_id(symbol)
        raw = await link.request("privateGetAccountPositions", {"instType": "SWAP", "instId": instrument})
        return trading.position_and_entry(raw, instrument, self.instruments)

    async def linear_funding(self, link: PrivateLink, symbol: str, since_ms: int) -> list[FundingPayment]:
        """The funding-fee bills (``type=8``) since ``since_ms``: one page of 100 (the last 7 days)."""
        instrument = self.market_id(symbol)
        request = {"instType": "SWAP", "type": "8", "begin": str(since_ms), "limit": "100"}
        rows = trading._data(await link.request("privateGetAccountBills", request))
        return trading.funding_payments(rows, instrument, symbol)

    # -- a perpetual's settings (linear) ----------------------------------------------------------------

    async def perpetual_account(self, link: PrivateLink, margin_mode: MarginMode, source: str) -> list[str]:
        """The account's position mode (``/api/v5/account/config`` ``posMode``) is checked, never changed: in
        long/short mode every order needs a ``posSide`` arb does not send (OKX refuses it, 51000), so a start
        there stops (exit 78) naming the setting. The orders' ``tdMode`` is ``margin_mode`` from here on."""
        config = trading._data(await link.request("privateGetAccountConfig", {}))
        mode = str(config[0].get("posMode", "")) if config else ""
        if mode != POSITION_MODE:
            raise PositionModeError(
                f"{link.name}: the OKX account's position mode is {mode or 'unknown'} and arb trades only "
                f"{POSITION_MODE}: set OKX's Trade > Settings > Position mode to One-way (net_mode) with no open "
                "position or order, then start again"
            )
        self.td_mode = margin_mode
        return []

    async def perpetual_symbol(
        self, link: PrivateLink, symbol: str, leverage: int, margin_mode: MarginMode
    ) -> list[str]:
        """``set-leverage`` of the swap in ``margin_mode`` (OKX answers the setting as it now is)."""
        request = {"instId": self.market_id(symbol), "lever": str(leverage), "mgnMode": margin_mode}
        await link.request("privatePostAccountSetLeverage", request)
        return [f"leverage set to {leverage} ({margin_mode})"]

    # -- the dead-man's switch ----------------------------------------------------------------------------

    def _dead_man_timeout(self, window_s: int) -> str:
        low, high = DEAD_MAN_RANGE_S
        timeout = min(high, max(low, window_s))
        if timeout != window_s:
            log.warning("%s: cancel-all-after takes %d-%d s: armed with %d s for [live] dead_man_window_s = %d",
                        self.venue, low, high, timeout, window_s)  # fmt: skip
        return str(timeout)

    async def arm_dead_man(self, link: PrivateLink, markets: Sequence[SymbolRef], window_s: int) -> None:
        """``cancel-all-after`` with ``window_s`` (10-120 s): unless renewed in time, OKX cancels every order of
        the account's order-book instruments (spot and swaps alike)."""
        request = {"timeOut": self._dead_man_timeout(window_s)}
        await link.request("privatePostTradeCancelAllAfter", request, hint=_DEMO_HINT)

    async def keep_dead_man(
        self, link: PrivateLink, markets: Sequence[SymbolRef], window_s: int, *, armed: bool
    ) -> None:
        """Renew the countdown every quarter window (at least every 2.5 s: OKX allows one a second); a failed
        renewal is logged and tried at the next turn."""
        request = {"timeOut": self._dead_man_timeout(window_s)}
        renew = functools.partial(link.request, "privatePostTradeCancelAllAfter", request)
        pause = int(request["timeOut"]) / 4
        await renew_until_stopped(link, self.venue, [("cancel-all-after", renew)], pause, armed=armed)

    async def disarm_dead_man(self, link: PrivateLink, markets: Sequence[SymbolRef]) -> bool:
        """The countdown off: ``cancel-all-after`` with ``timeOut`` "0" ("Setting timeOut to 0 disables Cancel
        All After"), answered ``[{"triggerTime":"0","tag":"","ts":"1587971400"}]`` ("triggerTime=0 means Cancel
        All After is disabled")."""
        data = trading._data(await link.request("privatePostTradeCancelAllAfter", {"timeOut": "0"}))
        trigger = str(data[0].get("triggerTime", "")) if data else ""
        if trigger != "0":
            raise VenueError(link.name, f"POST /api/v5/trade/cancel-all-after (timeOut 0) answered triggerTime "
                             f"{trigger or 'none'}, not the countdown off", "the venue's status page (arb kill "
                             "turns it off again)", code="dead-man")  # fmt: skip
        return True


ADAPTER = OkxPrivate
"""The venue's :class:`~connectors.common.private.PrivateVenue` (what :mod:`connectors.registry` finds)."""
