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
``subscribe`` to ``order``, ``execution``, ``execution.fast``, ``position``, ``wallet`` (and their
categorised forms), ``dcp.spot`` / ``dcp.future`` / ``dcp.option``, app-level ``{"op":"ping"}``. Ledger
events go out in ledger order.

Order entry over WebSocket is ``/v5/trade`` on the same port (:mod:`.trade_ws`): ``op`` ``auth``, then
``order.create`` and ``order.cancel`` through the REST handlers above (``order.amend`` is refused as not
modelled, as REST has no ``/v5/order/amend``), and ``ping``.

Linear funding: each funding time the ``tickers.<SYMBOL>`` stream shows passing (its
``nextFundingTime`` moves on; recorded frames and those of a ``funding=`` schedule alike) is settled on
the ledger at the rate and mark price the stream announced for it
(:class:`~arb.sim.funding.FundingAnnouncements`): the wallet moves, the position's
``cumRealisedPnl`` counts it, ``/v5/account/transaction-log`` lists a ``SETTLEMENT``, and the executions
(``/v5/execution/list``, the ``execution`` topic) a row of ``execType`` ``Funding``, as Bybit does.

Time is the venue's ``clock`` (seconds): request timestamps, rate-limit windows, bans and DCP are
read from it, so a test moves time by moving its clock and calling :meth:`FakeBybitExchange.tick`.

The venue is an assembly of parts, each usable alone, wired here through their constructors:
``playback`` (the market clock), ``ledger`` and ``desk`` (the ledger and where orders meet it,
:mod:`arb.sim.private`), ``views`` (:mod:`.views`), ``orders``, ``accounts`` and ``public_rest`` (the
endpoint handlers, :mod:`.orders`, :mod:`.accounts`, :mod:`.private_rest`), ``rest`` (the dispatch in
front of them), ``user_stream`` (:mod:`.user_stream`) and ``trade_ws`` (:mod:`.trade_ws`).
"""

from __future__ import annotations

__all__ = ["EXCHANGE", "FakeBybitExchange"]

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from aiohttp import web

from arb.sim.bybit.accounts import BybitAccounts
from arb.sim.bybit.calls import DEFAULT_RATE_LIMITS, Call, DcpTrigger, Reply, TradeAnswer, decode_ticker
from arb.sim.bybit.orders import BybitOrders
from arb.sim.bybit.private_rest import BybitMarketEndpoints, BybitRest
from arb.sim.bybit.public import BybitMarket, FakeBybitVenue
from arb.sim.bybit.trade_ws import TRADE_PATH, BybitTradeWs
from arb.sim.bybit.transfers import BybitTransfers
from arb.sim.bybit.user_stream import BybitUserStream
from arb.sim.bybit.views import BybitViews
from arb.sim.bybit.wire import FIRST_ORDER_ID, FIRST_TRADE_ID, BybitCategory
from arb.sim.connection import VenueConnection
from arb.sim.ledger import LedgerOrder, LedgerTrade, SymbolRules
from arb.sim.options import VenueOptions
from arb.sim.private import (
    FundingFields,
    LedgerFeed,
    OrderDesk,
    TradingVenue,
    open_ledger,
)
from arb.sim.replay import SessionSpec
from connectors.bybit.urls import INSTRUMENTS_PATH

logger = logging.getLogger(__name__)


def _funding_fields(text: str) -> FundingFields:
    # what a linear tickers message (as the venue sent it) announces about funding
    ticker = decode_ticker.decode(text).data
    return ticker.symbol, ticker.mark_price, ticker.funding_rate, ticker.next_funding_ms


class FakeBybitExchange(TradingVenue[BybitUserStream], FakeBybitVenue):
    """Fake Bybit v5 with trading, for ``market="spot"`` or ``"linear"`` (USDT perpetuals).

    ``rules``: each tradable symbol's instrument rules (tick, qty step = spot ``basePrecision``,
    min/max qty, min order value = spot ``minOrderAmt`` / linear ``minNotionalValue``, min/max price),
    reported by ``instruments-info`` and enforced on orders. ``options``
    (:class:`~arb.sim.options.VenueOptions`): how it serves, and its trading terms: fees default to
    Bybit's base rates (spot 0.1 %/0.1 %, linear 0.055 %/0.02 %), a spot fee is paid in the asset
    received (a buy's in the base coin) unless ``spot_fee_asset="quote"``, leverage up to 100,
    maintenance rate 0.5 %. ``rate_limits`` overrides the per-second, per-UID request limit of any
    path (:data:`arb.sim.bybit.calls.DEFAULT_RATE_LIMITS`). ``ip_limit`` ``(requests, seconds)`` is the REST IP limit
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
        self.private_path = private_path
        self.ledger = open_ledger(
            market, rules, options, book=self.book, book_version=lambda: self.position, clock_ms=self._now_ms,
            linear_taker_fee="0.00055", client_id_scope="all",
            first_ids=(FIRST_ORDER_ID[market], FIRST_TRADE_ID[market]),
        )  # fmt: skip
        self.max_leverage = Decimal(options.max_leverage if options.max_leverage is not None else 100)
        self.maintenance_rate = Decimal(options.maintenance_rate if options.maintenance_rate is not None else "0.005")
        self.views = BybitViews(self.ledger, category=market, clock=self._clock, mark_price=self.mark_price,
                                maintenance_rate=self.maintenance_rate)  # fmt: skip
        self.user_stream = BybitUserStream(
            self.views, self.faults, clock=self._clock, record=self._record, notify=self._notify,
            log_subscription=self._log_subscription, private_path=private_path,
        )  # fmt: skip
        self.desk = OrderDesk(
            self.ledger, self.faults, self.playback, clock=self._clock, record=self._record, notify=self._notify,
            wait_until=self.wait_until, flush=self.user_stream.events.flush,
        )  # fmt: skip
        self.accounts = BybitAccounts(self.views, max_leverage=self.max_leverage)
        self.orders = BybitOrders(self.desk, self.views, hedge=self.accounts.hedge, mark_price=self.mark_price)
        self.public_rest = BybitMarketEndpoints(
            self.views, clock=self._clock, max_leverage=self.max_leverage, symbols=lambda: self.symbols,
            book=self.book, stamps=self.book_stamps,
        )  # fmt: skip
        limits = {**DEFAULT_RATE_LIMITS["any"], **DEFAULT_RATE_LIMITS[market], **(rate_limits or {})}
        endpoints = (self.public_rest.endpoints() | self.accounts.endpoints() | self.orders.endpoints()
                     | self.user_stream.endpoints())  # fmt: skip
        instruments = endpoints[INSTRUMENTS_PATH]
        endpoints[INSTRUMENTS_PATH] = replace(instruments, handler=self._with_funding_intervals(instruments.handler))
        self.transfers = BybitTransfers(self.ledger, clock=self._clock, uid=self.views.uid,
                                        coin_info=endpoints["/v5/asset/coin/query-info"].handler)  # fmt: skip
        endpoints |= self.transfers.endpoints()  # coin-info's rows gain the chains; wallets: join a Chain
        self.rest = BybitRest(
            self.desk, self.views, self.faults, endpoints, clock=self._clock, begin=self._begin_rest, tick=self.tick,
            log=self._log_rest, record=self._record, rate_limits=limits, ip_limit=ip_limit, ip_ban_s=ip_ban_s,
        )  # fmt: skip
        self.trade_ws = BybitTradeWs(self.rest, self.user_stream, clock=self._clock, tick=self.tick,
                                     notify=self._notify, spawn=self._spawn)  # fmt: skip
        self._feed = LedgerFeed(self.ledger, book_stream="orderbook.", funding_stream="tickers.",
                                funding_fields=_funding_fields, message="tickers message")  # fmt: skip

    # -- what tests read -------------------------------------------------------------------------

    @property
    def auth_log(self) -> list[tuple[int, str, bool]]:
        """``(connection, ret_msg, success)`` of every auth request (private stream and order entry)."""
        return self.user_stream.auth_log

    @property
    def trade_log(self) -> list[TradeAnswer]:
        """Every answer sent on an order-entry connection (auth, orders, refusals; pongs not included)."""
        return self.trade_ws.trade_log

    @property
    def dcp_product(self) -> str:
        """The DCP ``product`` this venue's orders belong to."""
        return self.user_stream.dcp_product

    @property
    def dcp_topic(self) -> str:
        """The private topic DCP counts on this venue: ``dcp.spot`` (spot) or ``dcp.future`` (linear)."""
        return self.user_stream.dcp_topic

    @property
    def dcp_triggers(self) -> list[DcpTrigger]:
        """Every disconnection-protection cancel, with the orders it cancelled."""
        return self.user_stream.dcp_triggers

    @property
    def private_ws_url(self) -> str:
        """``ws://host:port/v5/private`` of endpoint 0: the private stream."""
        return f"ws://{self.host}:{self.ports[0]}{self.private_path}"

    @property
    def trade_ws_url(self) -> str:
        """``ws://host:port/v5/trade`` of endpoint 0: the order-entry connection (ccxt pro:
        ``urls['api']['ws']['private']['trade']``)."""
        return f"ws://{self.host}:{self.ports[0]}{TRADE_PATH}"

    def uid(self, account: str) -> int:
        """The Bybit user id of ``account``."""
        return self.views.uid(account)

    def order_id(self, order: LedgerOrder) -> str:
        """The ``orderId`` the venue sends for ``order``."""
        return self.views.order_id(order)

    def exec_id(self, trade: LedgerTrade) -> str:
        """The ``execId`` the venue sends for ``trade``."""
        return self.views.exec_id(trade)

    def position_mode(self, symbol: str) -> str:
        """Linear: ``"one-way"`` or ``"hedge"`` for ``symbol`` (``/v5/position/switch-mode``)."""
        return "hedge" if self.accounts.hedge(symbol) else "one-way"

    def user_streams_up(self) -> bool:
        """Private connections are subscribed to ``order`` and to ``execution``."""
        return self.user_stream.up()

    # -- what tests do ---------------------------------------------------------------------------

    async def tick(self) -> None:
        """Apply what is due at the venue's current time (disconnection protection), then send events."""
        self.user_stream.check_dcp()
        self.transfers.wallets.settle()
        await self.user_stream.events.flush()

    # -- the wiring ------------------------------------------------------------------------------

    def _account_opened(self, name: str) -> None:
        self.views.add_uid(name)

    def _add_routes(self, app: web.Application) -> None:
        super()._add_routes(app)
        # {"op":"auth","args":[key, expires, sig]}, then subscribe; events like
        # {"id":"...","topic":"order","creationTime":1672364262474,"data":[{...,"orderStatus":"Filled"}]}
        app.router.add_get(self.private_path, self._handle_private_ws)
        app.router.add_get(TRADE_PATH, self._handle_private_ws)

    def _add_rest_routes(self, app: web.Application) -> None:
        self.rest.add_routes(app)  # the whole REST API, instruments-info included

    def _with_funding_intervals(self, handler: Callable[[Call], Reply]) -> Callable[[Call], Reply]:
        # instruments-info with each linear symbol's fundingInterval as its funding schedule stands now
        def answer(call: Call) -> Reply:
            reply = handler(call)
            if self._bybit_market == "linear" and isinstance(reply.result, dict):
                for entry in reply.result.get("list", []):
                    entry["fundingInterval"] = self.funding_interval_min(entry["symbol"])
            return reply

        return answer

    async def _handle_private_ws(self, request: web.Request) -> web.StreamResponse:
        """The private stream and the order-entry WebSocket: requests on them are :meth:`_on_text`'s; their
        sessions are swept when one closes."""
        try:
            return await self._serve_ws(request, streams=(), combined=True)
        finally:
            (self.trade_ws if request.path.startswith(TRADE_PATH) else self.user_stream).sweep()

    async def _on_text(self, conn: VenueConnection, text: str) -> None:
        """A request on a connection: the public stream's, the private stream's or the order entry's."""
        if conn.path.startswith(TRADE_PATH):
            part: BybitTradeWs | BybitUserStream = self.trade_ws
        elif conn.path.startswith(self.private_path):
            part = self.user_stream
        else:
            await super()._on_text(conn, text)
            return
        if request := self._request(conn, text, "op", logger, "private connection %d: not a v5 request: %.200r"):
            await part.on_request(conn, request)
            self._notify()


EXCHANGE = FakeBybitExchange
"""This venue's fake, as :func:`arb.sim.fake_exchange` finds it by the venue's name."""
