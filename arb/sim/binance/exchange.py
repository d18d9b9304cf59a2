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
* Orders over the WebSocket API (:mod:`.ws_api`): ``order.place``, ``order.cancel``, ``order.status`` on
  spot's ``/ws-api/v3`` and USD-M's ``/ws-fapi/v1``, each signed per request and run by the REST
  endpoint's handler.

USD-M funding: each funding time the ``<symbol>@markPrice`` stream shows passing (its ``T`` moves on;
recorded frames and those of a ``funding=`` schedule alike) is settled on the ledger at the rate and
mark price the stream announced for it (:class:`~arb.sim.funding.FundingAnnouncements`): the
wallet moves, ``/fapi/v1/income`` lists a ``FUNDING_FEE``, and the user stream sends an
``ACCOUNT_UPDATE`` with reason ``FUNDING_FEE`` and the balance alone, as Binance does for a cross position.

Time is the venue's ``clock`` (seconds): request timestamps, the weight window, bans, listen-key
expiry and countdown cancels are read from it; a test moves time by moving its clock and calling
:meth:`FakeBinanceExchange.tick`. Faults are the venue's :class:`~arb.sim.faults.FaultPlan`.

The venue is an assembly of parts, each usable alone, wired here through their constructors:
``playback`` (the market clock), ``weight`` (:mod:`.weight`), ``ledger`` and ``desk`` (the ledger and
where orders meet it, :mod:`arb.sim.private`), ``orders`` and ``accounts`` (the endpoint handlers,
:mod:`.orders`, :mod:`.accounts`), ``rest`` (:mod:`.private_rest`: the dispatch in front of them),
``user_stream`` (:mod:`.user_stream`) and ``ws_orders`` (:mod:`.ws_api`).
"""

from __future__ import annotations

__all__ = ["EXCHANGE", "FakeBinanceExchange"]

import logging
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from aiohttp import web

from arb.sim.binance.accounts import BinanceAccounts
from arb.sim.binance.calls import WsApiAnswer, send_ws_answer
from arb.sim.binance.orders import BinanceOrders
from arb.sim.binance.private_rest import BinanceRest
from arb.sim.binance.public import FakeBinanceVenue, SymbolSpec
from arb.sim.binance.symbols import BinanceMarket
from arb.sim.binance.transfers import BinanceTransfers
from arb.sim.binance.user_stream import LISTEN_KEY_PATH, BinanceUserStream, funding_fields
from arb.sim.binance.wire import fixed, plain
from arb.sim.binance.ws_api import ORDER_METHODS, WS_FAPI_PATH, BinanceWsOrders
from arb.sim.connection import VenueConnection
from arb.sim.ledger import LedgerOrder, LedgerTrade, SymbolRules
from arb.sim.options import VenueOptions
from arb.sim.private import (
    CancelTrigger,
    LedgerFeed,
    OrderDesk,
    TradingVenue,
    open_ledger,
)
from arb.sim.replay import SessionSpec

logger = logging.getLogger(__name__)


class FakeBinanceExchange(TradingVenue[BinanceUserStream], FakeBinanceVenue):
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
        self.ws_api_path = ws_api_path
        spot = market == "spot"
        self.ledger = open_ledger(
            market, rules, options, book=self.book, book_version=lambda: self.position, clock_ms=self._now_ms,
            linear_taker_fee="0.0005", client_id_scope="open",
            first_ids=(28_000_000_001, 309_520_001) if spot else (4_087_000_001, 272_536_001),
            ids_per_symbol=True,  # Binance numbers orders and trades per symbol
            post_only_taking="reject",  # LIMIT_MAKER -2010, GTX -5022: refused, never recorded
        )  # fmt: skip
        self.ledger.reduce_only_any_notional = not spot  # -4164 "... (unless you choose reduce only)"
        self.user_stream = BinanceUserStream(
            self.ledger, self.faults, self.weight, market=market, clock=self._clock,
            connections=lambda: self.connections, serve_ws=self._serve_private_ws, record=self._record,
            notify=self._notify, mark_price=self.mark_price,
            cancel_client_id=lambda symbol, order_id: self.orders.cancel_client_id(symbol, order_id),
            ws_api_path=ws_api_path, listen_key_ttl_s=listen_key_ttl_s,
        )  # fmt: skip
        self.desk = OrderDesk(
            self.ledger, self.faults, self.playback, clock=self._clock, record=self._record, notify=self._notify,
            wait_until=self.wait_until, flush=self.user_stream.events.flush,
        )  # fmt: skip
        self.accounts = BinanceAccounts(
            self.ledger, market=market, clock=self._clock, mark_price=self.mark_price,
            max_leverage=options.max_leverage if options.max_leverage is not None else 125,
            maintenance_rate=Decimal(options.maintenance_rate if options.maintenance_rate is not None else "0.004"),
        )  # fmt: skip
        self.orders = BinanceOrders(self.desk, market=market, dual=self.accounts.dual)
        self.transfers = BinanceTransfers(self.ledger, market=market, clock=self._clock)  # wallets: join a Chain
        endpoints = self.orders.endpoints() | self.accounts.endpoints() | self.user_stream.endpoints()
        endpoints |= self.transfers.endpoints()
        self.rest = BinanceRest(
            self.desk, self.weight, self.faults, endpoints, market=market, clock=self._clock, begin=self._begin_rest,
            tick=self.tick, log=self._log_rest, record=self._record, bans_after_429=bans_after_429, ban_s=ban_s,
        )  # fmt: skip
        self.ws_orders = BinanceWsOrders(self.rest, clock=self._clock, tick=self.tick, spawn=self._spawn)
        self._feed = LedgerFeed(self.ledger, book_stream="@depth", funding_stream="@markPrice",
                                funding_fields=funding_fields, message="markPriceUpdate")  # fmt: skip

    # -- what tests read -------------------------------------------------------------------------

    @property
    def auth_log(self) -> list[tuple[int, int, bool]]:
        """``(connection, error code or 0, success)`` of every WS-API user-stream subscription request."""
        return self.user_stream.auth_log

    @property
    def ws_api_log(self) -> list[WsApiAnswer]:
        """Every answer the WebSocket API sent to an order request, in order."""
        return self.ws_orders.ws_api_log

    @property
    def countdown_triggers(self) -> list[CancelTrigger]:
        """Every USD-M countdown that ran out, with the orders it cancelled."""
        return self.accounts.countdown_triggers

    @property
    def private_ws_url(self) -> str:
        """The URL to configure as ``ws_private``: spot's WS-API (``ws://host:port/ws-api/v3``), or USD-M's
        user-stream base ``ws://host:port/ws`` (ccxt turns it into ``/private/ws?listenKey=...``)."""
        path = self.ws_api_path if self.market == "spot" else "/ws"
        return f"ws://{self.host}:{self.ports[0]}{path}"

    @property
    def ws_api_url(self) -> str:
        """The order-entry WebSocket of endpoint 0: ``ws://host:port/ws-api/v3`` (spot, also its user
        stream) or ``ws://host:port/ws-fapi/v1`` (USD-M); ccxt pro: ``urls['api']['ws']['ws-api'][market]``."""
        path = self.ws_api_path if self.market == "spot" else WS_FAPI_PATH
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
        return self.accounts.margin_type(account, symbol)

    def position_mode(self, account: str) -> str:
        """USD-M: ``"one-way"`` or ``"hedge"`` (``positionSide/dual``)."""
        return self.accounts.position_mode(account)

    def user_stream_count(self) -> int:
        """Open user-stream connections that would receive this venue's events."""
        return self.user_stream.count()

    def user_streams_up(self) -> bool:
        """A WS-API subscription or a listen-key stream is open (``user_stream_count``)."""
        return self.user_stream.count() >= 1

    # -- what tests do ---------------------------------------------------------------------------

    async def tick(self) -> None:
        """Apply what is due at the venue's current time (countdown cancels, listen-key expiry), then
        send the events that caused."""
        self.accounts.check_countdowns()
        self.transfers.wallets.settle()
        await self.user_stream.expire_listen_keys()
        await self.user_stream.events.flush()

    # -- the wiring ------------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        super()._add_routes(app)
        self.rest.add_routes(app)
        if self.market == "spot":
            # requests {"id","method","params"} answered {"id","status","result"}
            app.router.add_get(self.ws_api_path, self._handle_ws_api)
        else:
            app.router.add_get(LISTEN_KEY_PATH, self.user_stream.handle_listen_key_stream)
            app.router.add_get(WS_FAPI_PATH, self._handle_ws_api)

    async def _serve_private_ws(self, request: web.Request, combined: bool) -> web.StreamResponse:
        return await self._serve_ws(request, streams=(), combined=combined)

    async def _handle_ws_api(self, request: web.Request) -> web.StreamResponse:
        """The WebSocket API (spot's ``/ws-api/v3``, USD-M's ``/ws-fapi/v1``): requests on it are
        :meth:`_on_text`'s; its user-stream sessions are swept when it closes."""
        try:
            return await self._serve_ws(request, streams=(), combined=True)
        finally:
            self.user_stream.sweep()

    async def _on_text(self, conn: VenueConnection, text: str) -> None:
        """A request on a connection: the public streams', the WS-API's (an order method goes to
        ``ws_orders``, a user-data method to ``user_stream``), none on a listen-key stream."""
        path = conn.path
        ws_fapi = self.market != "spot" and path.startswith(WS_FAPI_PATH)
        if path.startswith(LISTEN_KEY_PATH):
            self.stats.ignored_messages += 1  # the listen-key stream takes no requests
            return
        if not (path.startswith(self.ws_api_path) or ws_fapi):
            await super()._on_text(conn, text)
            return
        request = self._request(conn, text, "method", logger, "WS-API connection %d: not a request: %.200r")
        limits = [self.weight.limits()]
        if request is None:
            await send_ws_answer(conn, None, 400, limits, error=(-1000, "Malformed request."))
            return
        raw_params = request.get("params")
        params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
        request_id, method = request.get("id"), request["method"]
        if method in ORDER_METHODS:
            await self.ws_orders.on_request(conn, request_id, method, params)
        elif ws_fapi:
            await send_ws_answer(conn, request_id, 400, limits, error=(-1000, f"Unknown method '{method}'."))
        else:
            await self.user_stream.on_request(conn, request_id, method, params)
        self._notify()

    def _spot_symbol(self, symbol: str) -> dict[str, Any]:
        return self._with_limits(symbol, super()._spot_symbol(symbol), fixed)

    def _futures_symbol(self, symbol: str) -> dict[str, Any]:
        return self._with_limits(symbol, super()._futures_symbol(symbol), plain)

    def _with_limits(self, symbol: str, entry: dict[str, Any], text: Callable[[Decimal], str]) -> dict[str, Any]:
        """``entry`` (an ``exchangeInfo`` symbol) with the ledger's price and quantity limits in its
        PRICE_FILTER and LOT_SIZE filters, numbers spelled by ``text`` (spot ``fixed``, USD-M ``plain``)."""
        rules = self.ledger.rules.get(symbol)
        if rules is not None:
            for f in entry["filters"]:
                if f["filterType"] == "PRICE_FILTER":
                    f.update(minPrice=text(rules.min_price), maxPrice=text(rules.max_price))
                elif f["filterType"] == "LOT_SIZE":
                    f.update(minQty=text(rules.min_qty), maxQty=text(rules.max_qty))
        return entry


EXCHANGE = FakeBinanceExchange
"""This venue's fake, as :func:`arb.sim.fake_exchange` finds it by the venue's name."""
