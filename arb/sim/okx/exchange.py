"""A fake private OKX v5 venue (spot or USDT perpetual swaps) on loopback, that ccxt's ``okx`` and arb's OKX
executor trade against.

:class:`FakeOkxExchange` is the public :class:`~arb.sim.okx.public.FakeOkxVenue` (the same recorded WebSocket
market data on the same port) plus OKX's private side, served from its own ledger
(:class:`~arb.sim.okx.ledger.OkxLedger`): orders match against the book the venue is replaying (a swap's book,
in contracts, is read in base units).

REST, as the docs v5 describe it, every private call signed (:mod:`.rest`):

* public: ``GET /api/v5/public/time``, ``/api/v5/public/instruments`` (with ``instIdCode``), ``/api/v5/market/books``;
* trade (:mod:`.orders`, :mod:`.queries`): ``POST /api/v5/trade/order``, ``batch-orders``, ``cancel-order``,
  ``cancel-batch-orders``, ``amend-order``, ``amend-batch-orders``, ``cancel-all-after``; ``GET
  /api/v5/trade/order``, ``orders-pending``, ``orders-history``, ``fills``, ``fills-history``;
* account (:mod:`.accounts`): ``GET /api/v5/account/balance``, ``positions``, ``config``, ``trade-fee``;
  ``POST /api/v5/account/set-position-mode``, ``set-leverage``;
* funding account (:mod:`.assets`): ``GET /api/v5/asset/currencies``, ``balances``, ``deposit-address``,
  ``deposit-history``, ``withdrawal-history``, ``transfer-state``; ``POST /api/v5/asset/withdrawal``, ``transfer``.

The private WebSocket is ``/ws/v5/private`` on the same port (:mod:`.ws_private`): login, the ``orders``,
``account`` and ``positions`` channels, order entry by ``instIdCode``, ``ping``, the 30 s idle cut.

Faults: the plan's (:class:`~arb.sim.faults.FaultPlan`) REST errors and holds, order timeouts (the answer lost or
late), drops, errors (5xx, 50013 busy, 50004 timeout: the outcome unknown), holds, partial fills and orders
hidden from queries, on REST and on the WebSocket's operations alike; the private stream silenced, losing pushes
of a channel (``lose_user_stream_events("orders")``), dropped (:meth:`drop_user_streams`) or closed after OKX's
notice of a service upgrade (:meth:`announce_upgrade`); an order error of HTTP 200 answered per item (its code as
each item's ``sCode``); the ban (:meth:`ban`: every request answered 50013); rate limits past which OKX answers
50011.

Time is the venue's ``clock`` (seconds): request timestamps, rate-limit windows, the ban, Cancel All After, the
idle cut and transfers are read from it, so a test moves time by moving its clock and calling :meth:`tick`.
"""

from __future__ import annotations

__all__ = ["DEFAULT_PASSPHRASE", "EXCHANGE", "FakeOkxExchange"]

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import msgspec
from aiohttp import web

from arb.sim.connection import OutFrame, VenueConnection
from arb.sim.ledger import LedgerAccount, LedgerOrder, LedgerTrade, SymbolRules
from arb.sim.okx.accounts import OkxAccounts
from arb.sim.okx.assets import OkxAssets
from arb.sim.okx.calls import DEFAULT_RATE_LIMITS, FUNDING, MSG, RateLimits, iso_ms, text
from arb.sim.okx.instruments import OkxInstrument, fields_of_rules, instruments_of
from arb.sim.okx.ledger import open_okx_ledger
from arb.sim.okx.orders import OkxOrders
from arb.sim.okx.public import ChecksumMode, FakeOkxVenue, OkxMarket
from arb.sim.okx.queries import OkxQueries
from arb.sim.okx.rest import OkxRest
from arb.sim.okx.views import OkxViews
from arb.sim.okx.wire import DEFAULT_INSTRUMENTS, instrument_entry
from arb.sim.okx.ws_private import IDLE_CUT_S, PRIVATE_PATH, OkxPrivateWs, WsAnswer
from arb.sim.options import VenueOptions
from arb.sim.private import CancelTrigger, FundingFields, LedgerFeed, OrderDesk, TradingVenue, encode
from arb.sim.replay import ReplayFrame, SessionSpec
from arb.sim.transfers import NetworkTerms

logger = logging.getLogger(__name__)

DEFAULT_PASSPHRASE = "fakePassphrase1"
"""The passphrase of an account's key unless :meth:`FakeOkxExchange.add_account` is given one."""
FIRST_ORDER_ID = 680_800_019_749_904_385
FIRST_TRADE_ID = 744_876_981
MAINTENANCE_RATE = "0.004"
"""The swaps' maintenance margin rate unless the options give one: the fake's own (OKX's is tiered)."""


class _FundingData(msgspec.Struct, frozen=True):
    inst_id: str = msgspec.field(name="instId")
    funding_rate: str | None = msgspec.field(name="fundingRate", default=None)
    funding_time: str | None = msgspec.field(name="fundingTime", default=None)
    mark_price: str | None = msgspec.field(name="markPx", default=None)


class _FundingPush(msgspec.Struct, frozen=True):
    data: list[_FundingData]


_decode_funding = msgspec.json.Decoder(_FundingPush)


def _funding_fields(text_: str) -> FundingFields:
    # what a funding-rate push (the next settlement's time and rate) or a mark-price push announces
    entry = _decode_funding.decode(text_).data[0]
    return entry.inst_id, entry.mark_price, entry.funding_rate, entry.funding_time


class _OkxFeed(LedgerFeed):
    """The shared feed, also reading the ``mark-price`` channel: OKX announces the mark price apart from the
    funding rate and time (``funding-rate``)."""

    def on_release(self, frame: ReplayFrame, outs: Iterable[OutFrame]) -> None:
        outs = list(outs)
        super().on_release(frame, outs)
        if self._ledger.market == "linear":
            for out in outs:
                if out.stream.startswith("mark-price:"):
                    self._take_funding(out.raw_text or out.text)


class FakeOkxExchange(TradingVenue[OkxPrivateWs], FakeOkxVenue):
    """Fake OKX v5 with trading, for ``market="spot"`` (``BTC-USDT``...) or ``"linear"`` (``BTC-USDT-SWAP``...).

    ``instruments``: the instruments traded, by id (each with OKX's documented rules for its type,
    :data:`~arb.sim.okx.wire.DEFAULT_INSTRUMENTS`) or by id with the rules that differ (``tickSz``, ``lotSz``,
    ``minSz``, ``ctVal``, ``ctMult``, ``maxLmtSz``, ``maxMktSz``, ``instIdCode``); all of the market's kind.
    ``rules`` names more (or the same, with their sizes) as the other fakes take them, in base units
    (:func:`~arb.sim.okx.instruments.fields_of_rules`: ``BTCUSDT`` on ``linear`` is ``BTC-USDT-SWAP``, its sizes
    in contracts of the ``ctVal`` ``instruments`` gives it, else 0.01).
    ``options`` (:class:`~arb.sim.options.VenueOptions`): how it serves, and its trading terms: fees default to
    OKX's Lv1 rates (spot 0.1 %/0.08 %, swaps 0.05 %/0.02 %), a spot fee is paid in the currency received, leverage
    up to 100 (``max_leverage``), maintenance rate 0.4 %. ``demo``: the venue is OKX's demo trading (private REST
    calls must carry ``x-simulated-trading: 1``, others are refused with 50101). ``rate_limits``: overrides of
    :data:`~arb.sim.okx.calls.DEFAULT_RATE_LIMITS`. ``networks``: the funding account's terms per currency and
    network. ``idle_cut_s``: the private WebSocket's idle cut (``None``: never). ``checksums``, ``ws_snapshots``,
    ``symbols`` and ``seed`` are :class:`~arb.sim.okx.public.FakeOkxVenue`'s.
    """

    def __init__(
        self,
        recordings: SessionSpec | Sequence[SessionSpec],
        *,
        market: OkxMarket = "linear",
        instruments: Sequence[str] | Mapping[str, Mapping[str, str]] = (),
        rules: Sequence[SymbolRules] = (),
        options: VenueOptions | None = None,
        demo: bool = False,
        rate_limits: Mapping[str, tuple[int, float]] | None = None,
        networks: Sequence[NetworkTerms] | None = None,
        idle_cut_s: float | None = IDLE_CUT_S,
        checksums: ChecksumMode = "recorded",
        ws_snapshots: bool = True,
        symbols: Sequence[str] = (),
        seed: int = 0,
    ) -> None:
        options = options if options is not None else VenueOptions()
        given: dict[str, Mapping[str, str]] = (dict(instruments) if isinstance(instruments, Mapping)
                                               else {i: {} for i in instruments})  # fmt: skip
        given |= fields_of_rules(rules, swap=market == "linear", given=given)
        traded = instruments_of(given, max_leverage=options.max_leverage or 100)
        wrong = [i for i in traded.values() if i.swap != (market == "linear")]
        if not traded or wrong:
            raise ValueError(f"a fake OKX {market} venue trades {'swaps' if market == 'linear' else 'spot pairs'}, "
                             f"got {', '.join(traded) or 'none'}")  # fmt: skip
        super().__init__(recordings, market=market, options=options, checksums=checksums, ws_snapshots=ws_snapshots,
                         instruments={i.inst_id: i.fields for i in traded.values()}, symbols=[*symbols, *traded],
                         seed=seed)  # fmt: skip
        self.instruments: dict[str, OkxInstrument] = traded
        """The instruments traded, by id."""
        self.demo = demo
        self.passphrases: dict[str, str] = {}
        """Each account's key passphrase."""
        self.ledger = open_okx_ledger(
            market, [i.rules for i in traded.values()], options, book=self._ledger_book,
            book_version=lambda: self.position, clock_ms=self._now_ms, first_ids=(FIRST_ORDER_ID, FIRST_TRADE_ID),
        )  # fmt: skip
        rate = Decimal(options.maintenance_rate if options.maintenance_rate is not None else MAINTENANCE_RATE)
        self.views = OkxViews(self.ledger, traded, clock=self._clock, mark_price=self.mark_price, maintenance_rate=rate)
        self.limits = RateLimits(self._clock, {**DEFAULT_RATE_LIMITS, **(rate_limits or {})})
        self.desk = OrderDesk(
            self.ledger, self.faults, self.playback, clock=self._clock, record=self._record, notify=self._notify,
            wait_until=self.wait_until, flush=self._flush_events,
        )  # fmt: skip
        self.accounts = OkxAccounts(self.ledger, self.views, clock=self._clock, demo=demo)
        self.orders = OkxOrders(self.desk, self.views, self.limits, position_mode=self.accounts.position_mode)
        self.queries = OkxQueries(self.ledger, self.views, clock=self._clock)
        self.assets = OkxAssets(self.ledger, clock=self._clock, networks=networks)
        endpoints = {**self.orders.endpoints(), **self.queries.endpoints(), **self.accounts.endpoints(),
                     **self.assets.endpoints()}  # fmt: skip
        self.rest = OkxRest(
            self.desk, self.views, self.faults, endpoints, clock=self._clock, begin=self._begin_rest, tick=self.tick,
            log=self._log_rest, record=self._record, limits=self.limits, passphrase=self.passphrase, demo=demo,
        )  # fmt: skip
        self.user_stream = OkxPrivateWs(
            self.orders, self.desk, self.faults, clock=self._clock, tick=self.tick, record=self._record,
            notify=self._notify, log_subscription=self._log_subscription, spawn=self._spawn,
            passphrase=self.passphrase, banned=lambda: self.desk.banned, idle_cut_s=idle_cut_s,
        )  # fmt: skip
        self._feed = _OkxFeed(self.ledger, book_stream="books", funding_stream="funding-rate:",
                              funding_fields=_funding_fields, message="funding-rate or mark-price push")  # fmt: skip

    # -- what tests read -------------------------------------------------------------------------

    def exec_id(self, trade: LedgerTrade) -> str:
        """The ``tradeId`` the venue sends for ``trade``."""
        return str(trade.trade_id)

    @property
    def private_ws_url(self) -> str:
        """``ws://host:port/ws/v5/private`` of endpoint 0."""
        return f"ws://{self.host}:{self.ports[0]}{PRIVATE_PATH}"

    @property
    def ws_base_url(self) -> str:
        """``ws://host:port/ws/v5`` of endpoint 0: ccxt pro's ``urls['api']['ws']`` (it adds ``/public``,
        ``/private``)."""
        return f"ws://{self.host}:{self.ports[0]}/ws/v5"

    @property
    def auth_log(self) -> list[tuple[int, str, bool]]:
        """``(connection, code, success)`` of every WebSocket login."""
        return self.user_stream.auth_log

    @property
    def op_log(self) -> list[WsAnswer]:
        """Every answer to a WebSocket order operation."""
        return self.user_stream.op_log

    @property
    def caa_triggers(self) -> list[CancelTrigger]:
        """Every Cancel All After that fired, with the orders it cancelled."""
        return self.queries.caa_triggers

    def passphrase(self, account: str) -> str:
        """The passphrase of ``account``'s key."""
        return self.passphrases[account]

    def uid(self, account: str) -> str:
        """The OKX user id of ``account``."""
        return self.views.uid(account)

    def order_id(self, order: LedgerOrder) -> str:
        """The ``ordId`` the venue sends for ``order``."""
        return str(order.order_id)

    def inst_id_code(self, inst_id: str) -> int:
        """The ``instIdCode`` WebSocket orders name ``inst_id`` by."""
        return self.instruments[inst_id].code

    def position_mode(self, account: str) -> str:
        """``account``'s ``posMode``: ``net_mode`` or ``long_short_mode``."""
        return self.accounts.position_mode(account)

    def user_streams_up(self) -> bool:
        """A logged-in private connection is subscribed to ``orders``."""
        return self.user_stream.up()

    # -- what tests do ---------------------------------------------------------------------------

    def add_account(
        self,
        name: str,
        *,
        api_key: str,
        api_secret: str,
        passphrase: str = DEFAULT_PASSPHRASE,
        balances: Mapping[str, str | Decimal] | None = None,
        funding: Mapping[str, str | Decimal] | None = None,
        can_trade: bool = True,
    ) -> LedgerAccount:
        """Open an account: ``balances`` in its trading account (the ledger: a swap venue's in USDT), ``funding``
        in its funding account, a key with ``passphrase``."""
        self.passphrases[name] = passphrase
        account = super().add_account(name, api_key=api_key, api_secret=api_secret, balances=balances,
                                      can_trade=can_trade)  # fmt: skip
        for ccy, amount in (funding or {}).items():
            self.assets.wallets.fund(name, FUNDING, ccy, amount)
        return account

    def set_position_mode(self, account: str, mode: str) -> None:
        """Put ``account`` in ``posMode`` ``net_mode`` or ``long_short_mode`` (as the account's owner would on OKX's
        site), whatever it holds."""
        if mode not in ("net_mode", "long_short_mode"):
            raise ValueError(f"posMode is net_mode or long_short_mode, got {mode!r}")
        self.accounts.position_modes[account] = mode

    async def announce_upgrade(self, close_after_s: float = 30.0) -> int:
        """Tell every private connection a service upgrade will close it (OKX's notice 64008), and close each
        ``close_after_s`` of the venue's clock later (at a :meth:`tick` or a released frame). Returns how many."""
        return await self.user_stream.announce_upgrade(close_after_s)

    async def tick(self) -> None:
        """Apply what is due at the venue's current time (Cancel All After, transfers, the idle cut), then send
        the events."""
        self.queries.check_timers()
        self.assets.wallets.settle()
        await self.user_stream.check_idle()
        await self.user_stream.events.flush()

    # -- the wiring ------------------------------------------------------------------------------

    def _account_opened(self, name: str) -> None:
        self.views.add_uid(name)

    def _ledger_book(self, symbol: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        # the book the ledger matches against, in base units (a swap's sizes are contracts)
        view = self.book(symbol)
        inst = self.instruments[symbol]
        if not inst.swap:
            return view.bids, view.asks
        unit = inst.contract
        return ([(p, text(Decimal(q) * unit)) for p, q in view.bids],
                [(p, text(Decimal(q) * unit)) for p, q in view.asks])  # fmt: skip

    def _add_routes(self, app: web.Application) -> None:
        super()._add_routes(app)
        app.router.add_get(PRIVATE_PATH, self._handle_private_ws)
        self.rest.add_routes(app)

    async def _handle_private_ws(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._serve_ws(request, streams=(), combined=True)
        finally:
            self.user_stream.sweep()

    async def _on_text(self, conn: VenueConnection, text_: str) -> None:
        if conn.path.startswith(PRIVATE_PATH):
            await self.user_stream.on_text(conn, text_)
            self._notify()
            return
        await super()._on_text(conn, text_)

    async def _release(self, frame: ReplayFrame) -> None:
        await super()._release(frame)
        await self.user_stream.check_idle()

    async def _answer(self, request: web.Request, build: Any) -> web.Response:
        """The public market endpoints, refused like the rest while the venue is banned."""
        if self.desk.banned:
            self._log_rest(request, 429, 0)
            body = encode({"code": "50013", "msg": MSG["50013"], "data": []})
            return web.Response(status=429, body=body, content_type="application/json")
        return await super()._answer(request, build)

    async def _handle_instruments(self, request: web.Request) -> web.Response:
        """``GET /api/v5/public/instruments?instType=SWAP&instId=BTC-USDT-SWAP``: the public venue's answer, each
        traded instrument with its ``instIdCode``, ``maxLmtSz``, ``maxMktSz`` and ``lever``."""
        inst_type, inst_id = request.query.get("instType", ""), request.query.get("instId", "")

        def build() -> tuple[int, bytes]:
            if inst_type not in ("SPOT", "SWAP", "MARGIN", "FUTURES", "OPTION"):
                return 400, encode({"code": "51000", "msg": "Parameter instType error", "data": []})
            if inst_id and inst_id not in self.symbols:
                return 400, encode({"code": "51001", "msg": MSG["51001"], "data": []})
            entries = [
                self.instruments[i].entry() if i in self.instruments
                else instrument_entry(i, DEFAULT_INSTRUMENTS["SWAP" if i.endswith("-SWAP") else "SPOT"])
                for i in ([inst_id] if inst_id else sorted(self.symbols))
                if i.endswith("-SWAP") == (inst_type == "SWAP") and inst_type in ("SPOT", "SWAP")
            ]  # fmt: skip
            return 200, encode({"code": "0", "msg": "", "data": entries})

        return await self._answer(request, build)

    def _log_rest(self, request: web.Request, status: int, weight: int) -> None:
        # the client's signing time is OKX's ISO timestamp header
        super()._log_rest(request, status, weight)
        stamp = iso_ms(request.headers.get("OK-ACCESS-TIMESTAMP", ""))
        if stamp is not None:
            self.stats.rest_requests[-1] = replace(self.stats.rest_requests[-1], sent_ms=stamp)


EXCHANGE = FakeOkxExchange
"""This venue's fake, as :func:`arb.sim.fake_exchange` finds it by the venue's name."""
