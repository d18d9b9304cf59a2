"""A fake private Hyperliquid (its perpetuals) on loopback, built so that ccxt's ``hyperliquid`` could trade
against it: the same paths, bodies and answers as the venue.

:class:`FakeHyperliquidExchange` is the public :class:`~arb.sim.hyperliquid.public.FakeHyperliquidVenue` (the same
recorded ``l2Book``, ``trades`` and ``activeAssetCtx`` on the same port) plus its private side, served from its own
:class:`~arb.sim.ledger.Ledger` (USDC margin, one-way positions with entry prices, fees in USDC): orders take the
replayed book level by level, and a resting order fills (as a maker, at its price) when a later book crosses it.

* ``POST /exchange`` ``{action, nonce, signature:{r,s,v}, vaultAddress?, expiresAfter?}``: the signer recovered
  and checked, its nonce and the account's address budget taken (:mod:`.auth`, :mod:`.signing`), then the
  action (:mod:`.orders`): ``order``, ``cancel``, ``cancelByCloid``, ``scheduleCancel``, ``noop``. Every answer
  is an HTTP 200; a body that is not JSON gets HTTP 422.
* ``POST /info``: the public types (:mod:`.public`) and the private ones by the account's address
  (:mod:`.queries`).
* ``/ws``: the public channels plus ``orderUpdates``, ``userFills`` and posted actions (:mod:`.ws_private`).
* Funding: each ``activeAssetCtx`` announces the hour's rate and the oracle price; when the venue's clock has
  passed a whole hour since the last one, the positions held at that hour pay ``position x oracle x rate``.

Terms: Hyperliquid's base fees (0.045 % taker, 0.015 % maker), leverage 10 (the ledger's), a coin's rules from its
``szDecimals`` (sizes to ``szDecimals``, prices to five significant figures and ``6 - szDecimals`` decimals, at
least 10 USDC). ``network="testnet"`` checks the testnet's ``source`` (``"b"``) in signatures.

Faults: the plan's REST errors, malformed answers and holds (path ``/exchange``), and its order faults on
``/exchange`` (``"create"`` an order action, ``"cancel"`` a cancel or ``scheduleCancel``): the answer held
(``order_timeout``) or dropped (``order_drop``) after the action ran, an HTTP error, a hold for market frames, a
partial fill, orders hidden from ``orderStatus``, a refusal inside a 200 (``order_error(200, msg=...)``: each order
or cancel answered ``{"error": msg}``), a 429 with its ``Retry-After``; the private stream silenced, losing messages
(``lose_user_stream_events("orderUpdates")``) or dropped (:meth:`drop_user_streams`); the address budget
(``address_budget=``) and the IP's weight a minute (``ip_weight=``, 1200: past it HTTP 429).

Its REST log (``stats.rest_requests``) names each request's type in its ``type`` parameter (an action's, an info
request's: every action takes one path) and an action's nonce as its signing stamp (``sent_ms``).

Time is the venue's ``clock`` (seconds, :class:`~arb.sim.options.VenueOptions`): nonces, ``expiresAfter``, order
and fill times, funding hours and ``scheduleCancel``, which fires at the next :meth:`tick` or released frame after
its time.
"""

from __future__ import annotations

__all__ = ["EXCHANGE", "FakeHyperliquidExchange"]

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec
from aiohttp import web

from arb.sim.connection import VenueConnection
from arb.sim.faults import AppliedFault, FaultKind, OrderOperation
from arb.sim.hyperliquid import wire
from arb.sim.hyperliquid.auth import INFO_WEIGHTS, IpWeight, Refused, Signers
from arb.sim.hyperliquid.orders import HyperliquidOrders
from arb.sim.hyperliquid.public import DEFAULT_SZ_DECIMALS, FakeHyperliquidVenue
from arb.sim.hyperliquid.queries import PRIVATE_INFO, HyperliquidQueries
from arb.sim.hyperliquid.ws_private import HyperliquidPrivateWs
from arb.sim.ledger import LedgerAccount, LedgerOrder, LedgerTrade, SymbolRules
from arb.sim.ledger.venue_ledger import Ledger
from arb.sim.options import VenueOptions
from arb.sim.private import CancelTrigger, FundingFields, LedgerFeed, OrderDesk, RestCall, TradingVenue
from arb.sim.replay import ReplayFrame, SessionSpec

logger = logging.getLogger(__name__)

EXCHANGE_PATH = "/exchange"
FIRST_ORDER_ID = 77_738_308
FIRST_TRADE_ID = 118_906_512_037_719
HOUR_MS = 3_600_000
_CANCELS = ("cancel", "cancelByCloid", "scheduleCancel")
_TYPE_KEY = web.RequestKey("hyperliquid_type", tuple)
"""A request's type (an action's, an info request's) and its nonce (an action's), as its log entry names them."""
_TOO_MANY = "Too many requests"
"""*chosen*: the body of an HTTP 429 for the IP's weight."""
_SPOT_META = {"tokens": [{"name": "USDC", "szDecimals": 8, "weiDecimals": 8, "index": 0, "isCanonical": True,
                          "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054", "evmContract": None, "fullName": None}],
              "universe": []}  # fmt: skip
"""``spotMeta``: USDC alone (the collateral; no spot pair is served), which ccxt reads as its currencies."""


class _Ctx(msgspec.Struct, frozen=True):
    funding: str | None = None
    oracle_price: str | None = msgspec.field(name="oraclePx", default=None)


class _CtxData(msgspec.Struct, frozen=True):
    coin: str
    ctx: _Ctx


class _CtxPush(msgspec.Struct, frozen=True):
    data: _CtxData


_decode_ctx = msgspec.json.Decoder(_CtxPush)


def coin_rules(coin: str, sz_decimals: int) -> SymbolRules:
    """A perpetual's rules as the ledger checks them: the step ``10^-szDecimals``, the finest price ``10^-(6 -
    szDecimals)`` (the five significant figures are checked before), 10 USDC at least."""
    step = Decimal(1).scaleb(-sz_decimals)
    tick = Decimal(1).scaleb(-(wire.MAX_DECIMALS - sz_decimals))
    return SymbolRules(coin, coin, "USDC", tick_size=tick, step_size=step, min_qty=step, max_qty=Decimal(10) ** 9,
                       min_notional=Decimal(10), min_price=tick, max_price=Decimal(10) ** 9)  # fmt: skip


def _as_coin(rules: SymbolRules) -> SymbolRules:
    # a symbol's rules as a rig gives them (BTCUSDT, quoted in USDT) as the coin's (BTC, margined in USDC)
    coin = rules.symbol.upper().removesuffix("USDT")
    return dataclasses.replace(rules, symbol=coin, base=coin, quote="USDC")


class FakeHyperliquidExchange(TradingVenue[HyperliquidPrivateWs], FakeHyperliquidVenue):
    """Fake Hyperliquid with trading. ``traded``: the coins accounts trade (each an asset index, in this order
    first in ``meta``); ``sz_decimals``, ``coins``, ``fundings`` and ``page`` are the public venue's. ``market``:
    ``"linear"`` (its perpetuals: the one market it serves; a rig names it as every fake's). ``rules``: the
    ledger's rules of some coins instead of their ``szDecimals``' (``BTCUSDT``'s are ``BTC``'s, in USDC), as a rig
    gives every fake its symbols' rules; each is traded too.
    ``options``: how it serves and its fees (``taker_fee``, ``maker_fee``). ``network``: ``"mainnet"`` or
    ``"testnet"`` (the ``source`` a signature names). ``address_budget``: each address's initial request
    allowance (Hyperliquid's 10,000). ``ip_weight``: the REST weight allowed a minute (1200)."""

    def __init__(
        self,
        recordings: SessionSpec | Sequence[SessionSpec],
        *,
        traded: Sequence[str] = ("BTC",),
        market: str = "linear",
        rules: Sequence[SymbolRules] = (),
        options: VenueOptions | None = None,
        network: str = "mainnet",
        address_budget: int = 10_000,
        ip_weight: int = 1200,
        coins: Sequence[str] = (),
        sz_decimals: Mapping[str, int] | None = None,
        fundings: Mapping[str, Sequence[tuple[int, str]]] | None = None,
        page: int = 500,
    ) -> None:
        if network not in ("mainnet", "testnet"):
            raise ValueError(f"network must be 'mainnet' or 'testnet', got {network!r}")
        if market != "linear":
            raise ValueError(f"the fake Hyperliquid serves its perpetuals (market 'linear'), not {market!r}")
        options = options if options is not None else VenueOptions()
        given = {r.symbol.upper().removesuffix("USDT"): r for r in rules}
        self._traded = list(dict.fromkeys([*traded, *given]))
        super().__init__(recordings, market="linear", options=options, coins=[*self._traded, *coins],
                         sz_decimals=sz_decimals, fundings=fundings, page=page)  # fmt: skip
        self.network = network
        self.ledger = Ledger(
            market="linear", rules=[_as_coin(given[c]) if c in given else coin_rules(c, self._sz_of(c))
                                    for c in self._traded], book=self._levels,
            book_version=lambda: self.position, clock_ms=self._now_ms, taker_fee=options.fee("taker", "0.00045"),
            maker_fee=options.fee("maker", "0.00015"), client_id_scope="all", settle_asset="USDC",
            first_order_id=FIRST_ORDER_ID, first_trade_id=FIRST_TRADE_ID, post_only_taking="reject",
        )  # fmt: skip
        self.ip_weight = IpWeight(self._clock, ip_weight)
        """The IP's REST weight in the rolling minute; past it, HTTP 429."""
        self.signers = Signers(self._now_ms, mainnet=network == "mainnet", address_budget=address_budget)
        self.desk = OrderDesk(
            self.ledger, self.faults, self.playback, clock=self._clock, record=self._record, notify=self._notify,
            wait_until=self.wait_until, flush=self._flush_events,
        )  # fmt: skip
        self.orders = HyperliquidOrders(self.ledger, self.desk, coins=lambda: self.coins, sz_decimals=self._sz_of,
                                        best=self._best, clock_ms=self._now_ms)  # fmt: skip
        self.queries = HyperliquidQueries(self.ledger, self.orders, self.signers, mark=self.mark_price,
                                          clock_ms=self._now_ms)  # fmt: skip
        self.user_stream = HyperliquidPrivateWs(
            self.orders, self.queries, self.signers, self.faults, execute=self._execute,
            connections=lambda: self.connections, position=lambda: self.position, record=self._record,
            notify=self._notify, log_subscription=self._log_subscription,
        )  # fmt: skip
        self._feed = LedgerFeed(self.ledger, book_stream="l2Book", funding_stream="activeAssetCtx:",
                                funding_fields=self._funding_fields, message="activeAssetCtx push")  # fmt: skip
        self.exchange_log: list[tuple[str, str, int]] = []
        """``(signer, action type, HTTP status)`` of every ``/exchange`` request the venue read, in order."""

    # -- what tests read -------------------------------------------------------------------------

    @property
    def coins(self) -> list[str]:
        """The coins ``meta`` lists: the traded ones first (their asset indexes are fixed), then the others."""
        others = super().coins
        return self._traded + [c for c in others if c not in self._traded]

    @property
    def private_ws_url(self) -> str:
        """The WebSocket the private streams share with the public ones (``/ws`` of endpoint 0)."""
        return self.ws_urls[0]

    @property
    def exchange_url(self) -> str:
        """``http://host:port/exchange`` of endpoint 0."""
        return f"{self.rest_url}{EXCHANGE_PATH}"

    @property
    def schedule_triggers(self) -> list[CancelTrigger]:
        """Every ``scheduleCancel`` that fired, with the orders it cancelled."""
        return self.orders.triggers

    def address(self, account: str) -> str:
        """The address of ``account``."""
        return self.signers.address_of(account)

    def asset(self, coin: str) -> int:
        """The asset index of ``coin`` (its place in ``meta``)."""
        return self.coins.index(coin)

    def order_id(self, order: LedgerOrder) -> int:
        """The ``oid`` the venue sends for ``order``."""
        return order.order_id

    def exec_id(self, trade: LedgerTrade) -> int:
        """The ``tid`` the venue sends for ``trade``."""
        return trade.trade_id

    def mark_price(self, symbol: str) -> Decimal | None:
        """``symbol``'s (a coin's) last ``markPx``, else its book's mid; ``None`` with neither."""
        ctx = self._contexts.get(symbol)
        if ctx is not None and ctx.get("markPx"):
            return Decimal(str(ctx["markPx"]))
        view = self.book(symbol, 1)
        if view.bids and view.asks:
            return (Decimal(view.bids[0][0]) + Decimal(view.asks[0][0])) / 2
        return None

    def user_streams_up(self) -> bool:
        """A connection is subscribed to ``orderUpdates``."""
        return self.user_stream.up()

    # -- what tests do ---------------------------------------------------------------------------

    def add_account(  # type: ignore[override]  # an address, not an API key and secret
        self,
        name: str,
        *,
        address: str,
        balances: Mapping[str, str | Decimal] | None = None,
        can_trade: bool = True,
    ) -> LedgerAccount:
        """Open account ``name`` at ``address`` (``0x`` hex) with ``balances`` (its USDC margin)."""
        self.signers.add_account(address, name)
        account = super().add_account(name, api_key=address.lower(), api_secret="", balances=balances,
                                      can_trade=can_trade)  # fmt: skip
        self.ledger.subscribe(name, self.orders.on_event)
        return account

    def approve_agent(self, account: str, agent_address: str) -> None:
        """Let the API wallet at ``agent_address`` sign for ``account`` (a name or an address), as the account's
        ``approveAgent`` would."""
        address = account if account.startswith("0x") else self.signers.address_of(account)
        self.signers.approve_agent(address, agent_address)

    async def tick(self) -> None:
        """Apply what is due at the venue's current time (``scheduleCancel``), then send the events."""
        self.orders.check_timers()
        await self._flush_events()

    # -- /exchange -------------------------------------------------------------------------------

    async def _execute(self, body: dict[str, Any]) -> dict[str, Any]:
        """Authenticate ``body`` and run its action (no order faults): the posted actions' way in."""
        try:
            actor = self.signers.authenticate(body)
            account = self.ledger.accounts[actor.account]
            action = body["action"]
            self._charge(actor.address, account, action)
        except Refused as refused:
            return refused.answer
        self.exchange_log.append((actor.signer, str(action.get("type")), 200))
        self.orders.check_timers()
        return await self.desk.act(lambda: self.orders.run(account, action))

    def _charge(self, address: str, account: LedgerAccount, action: Mapping[str, Any]) -> None:
        volume = sum((t.price * t.qty for t in account.trades), Decimal(0))
        self.signers.charge(address, self.orders.batch_size(action), volume, cancel=action.get("type") in _CANCELS)

    async def _handle_exchange(self, request: web.Request) -> web.StreamResponse:
        """``POST /exchange``: see the module docstring."""
        await self._begin_rest(request)
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return self._reply(request, 422, "Failed to deserialize the JSON body into the target type", 1)
        action = body.get("action")
        kind = action.get("type") if isinstance(action, dict) else None
        request[_TYPE_KEY] = (str(kind) if kind is not None else "", body.get("nonce"))
        weight = 1 + self.orders.batch_size(action) // 40 if isinstance(action, dict) else 1
        if not self.ip_weight.take(weight):
            return self._reply(request, 429, _TOO_MANY, weight)
        rest_fault = self.faults.take_rest_fault(request.path)
        if rest_fault is not None:
            self._record(AppliedFault(FaultKind.REST_ERROR, detail=f"{rest_fault.status} {request.path} {kind}"))
            text = (rest_fault.body or (rest_fault.msg or "Service unavailable").encode()).decode()
            return self._reply(request, rest_fault.status, text, weight)
        try:
            actor = self.signers.authenticate(body)
            account = self.ledger.accounts[actor.account]
            assert isinstance(action, dict)
            self._charge(actor.address, account, action)
        except Refused as refused:
            self.exchange_log.append(("", str(kind), 200))
            return self._reply(request, 200, _dump(refused.answer), weight)
        self.exchange_log.append((actor.signer, str(kind), 200))
        operation: OrderOperation = "create" if kind == "order" else "cancel" if kind in _CANCELS else "any"
        await self.desk.arrives(operation)
        self.orders.check_timers()

        def run() -> dict[str, Any]:
            return self.orders.run(account, action)

        fault = self.faults.take_order_fault(operation)
        if fault is None:
            return self._reply(request, 200, _dump(await self.desk.act(run)), weight)
        call: RestCall[Any] = RestCall({}, account, self._now_ms())
        outcome = await self.desk.under_fault(request, fault, call, run, lambda s: self._log_rest(request, s, weight))
        if isinstance(outcome, web.StreamResponse):
            return outcome
        if outcome is not None:
            return self._reply(request, 200, _dump(outcome), weight)
        if fault.status == 200:  # a refusal inside a 200: each order or cancel answered with the fault's text
            return self._reply(request, 200, _dump(_refusal(action, fault.msg)), weight)
        status = fault.status or 500
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        return self._reply(request, status, fault.msg or "Internal Server Error", weight, headers)  # chosen: plain

    def _info_refusal(self, request: web.Request, kind: object) -> web.Response | None:
        """``POST /info`` is counted on the IP's weight first (HTTP 429 past it)."""
        request[_TYPE_KEY] = (str(kind) if kind is not None else "", None)
        if not self.ip_weight.take(INFO_WEIGHTS.get(str(kind), 20)):
            return self._reply(request, 429, _TOO_MANY, 0)
        return None

    def _reply(self, request: web.Request, status: int, text: str, weight: int,
               headers: Mapping[str, str] | None = None) -> web.Response:  # fmt: skip
        self._log_rest(request, status, weight)
        kind = "application/json" if text[:1] in "{[n" else "text/plain"
        return web.Response(status=status, text=text, content_type=kind, headers=headers)

    def _log_rest(self, request: web.Request, status: int, weight: int) -> None:
        # a request logged with its type (the ``type`` parameter: the action's or the info request's), an action
        # with its nonce as its signing stamp (the signer's clock, ms)
        super()._log_rest(request, status, weight)
        kind, nonce = request.get(_TYPE_KEY, ("", None))
        if kind:
            logged = self.stats.rest_requests[-1]
            stamp = nonce if isinstance(nonce, int) and not isinstance(nonce, bool) else logged.sent_ms
            self.stats.rest_requests[-1] = dataclasses.replace(logged, params={**logged.params, "type": kind},
                                                               sent_ms=stamp)  # fmt: skip

    # -- the wiring ------------------------------------------------------------------------------

    def _info(self, kind: object, body: Mapping[str, Any]) -> tuple[int, str]:
        if isinstance(kind, str) and kind in PRIVATE_INFO:
            status, value = self.queries.answer(kind, body)
            return status, value if isinstance(value, str) else _dump(value)
        if kind == "spotMeta":
            return 200, _dump(_SPOT_META)
        return super()._info(kind, body)

    async def _on_text(self, conn: VenueConnection, text: str) -> None:
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            request = None
        if isinstance(request, dict) and await self.user_stream.on_text(conn, request):
            self._notify()
            return
        await super()._on_text(conn, text)

    def _add_routes(self, app: web.Application) -> None:
        super()._add_routes(app)
        app.router.add_post(EXCHANGE_PATH, self._handle_exchange)

    async def _release(self, frame: ReplayFrame) -> None:
        await super()._release(frame)
        if self.orders.check_timers():
            await self._flush_events()

    def _sz_of(self, coin: str) -> int:
        return self._sz.get(coin, DEFAULT_SZ_DECIMALS)

    def _levels(self, coin: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        view = self.book(coin)
        return view.bids, view.asks

    def _best(self, coin: str) -> tuple[str, str]:
        view = self.book(coin, 1)
        return (view.bids[0][0] if view.bids else "None"), (view.asks[0][0] if view.asks else "None")

    def _funding_fields(self, text: str) -> FundingFields:
        # an activeAssetCtx push: the hour's rate on the oracle price, the next funding the next whole hour
        data = _decode_ctx.decode(text).data
        now = self._now_ms()
        return data.coin, data.ctx.oracle_price, data.ctx.funding, now - now % HOUR_MS + HOUR_MS


def _refusal(action: Mapping[str, Any], text: str | None) -> dict[str, Any]:
    # the answer of an action the fault plan refuses inside a 200: every item an error
    kind = action.get("type")
    items = action.get("orders") if kind == "order" else action.get("cancels")
    if not isinstance(items, list):
        return wire.err(text or "Action refused.")
    error = {"error": text or "Insufficient margin to place order. asset=0"}
    return {"status": "ok", "response": {"type": "order" if kind == "order" else "cancel",
                                         "data": {"statuses": [error] * len(items)}}}  # fmt: skip


def _dump(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


EXCHANGE = FakeHyperliquidExchange
"""This venue's fake, as :func:`arb.sim.fake_exchange` finds it by the venue's name."""
