"""Hyperliquid's private side (the USDC perpetuals) behind :class:`~connectors.common.private.PrivateVenue`,
through ccxt's ``hyperliquid``, which signs every action (EIP-712, with the private key given here).

Hyperliquid has no API key: an action is signed by a wallet's private key, the account's own or an "API wallet"
(agent) the account approved, and every query names the ACCOUNT's address (an agent's address holds nothing).
The venue file's two credentials are read so: ``api_key`` the account's address (``0x`` and 40 hex digits),
``api_secret`` the private key that signs (``0x`` and 64 hex digits), each from the environment.

The requests (``POST /exchange`` an L1 action signed by ccxt; ``POST /info`` a query by the account's address):

==================  ==========================================================================================
create              ``order`` (ccxt's ``create_order``): ``tif`` ``Ioc`` or ``Alo`` (post-only), arb's client
                    id as a 128-bit ``cloid`` (:func:`cloid_of`)
cancel              ``cancelByCloid`` (``Order was never placed, already canceled, or filled.``: not open)
query by client id  ``orderStatus`` by ``cloid`` (``{"status":"unknownOid"}``: none)
query by venue id   ``orderStatus`` by ``oid``
open orders         ``frontendOpenOrders``
cancel all          the open orders, one ``cancel`` by ``oid`` each
trade history       ``userFillsByTime`` (``startTime``), ``userFills`` for one order's
balances            ``clearinghouseState``: USDC, the account value less the positions' unrealized PnL
position, entry     ``clearinghouseState`` ``assetPositions`` (one-way: ``szi`` signed)
funding income      ``userFunding`` (``startTime``)
fees                ``userFees`` (``userAddRate`` maker, ``userCrossRate`` taker)
rate limits         ``userRateLimit``: the address budget (requests used and allowed, which grows with the
                    volume traded), said at start by :meth:`HyperliquidPrivate.perpetual_account`
dead-man's switch   ``scheduleCancel`` ``time`` (ccxt's ``cancelAllOrdersAfter``: now + the window, at least
                    5 s ahead); renewed each quarter window; unset by a ``scheduleCancel`` without ``time``
==================  ==========================================================================================

Every answer is an HTTP 200 (an IP over its weight: 429): ``{"status":"ok","response":{"type":"order","data":
{"statuses":[...]}}}`` with each order's own ``{"error": text}``, or ``{"status":"err","response":text}``. The
venue's refusals carry no code: :func:`read_answer` names each by the error type of Hyperliquid's table
(``PerpMargin``, ``BadAloPx``...) or one of its own (``UnknownSigner``: the signer is no account and no agent).

The venue's messages name an order by its ``cloid``, a digest of arb's client id: the adapter maps each back from
the ids it sent or asked about, and from every order its executor knows (those a previous run left in flight
included, taken over from the journal at the start), so a restarted run books a message about an earlier run's
order to that order, never to no order's.
"""

from __future__ import annotations

__all__ = ["ADAPTER", "ANSWERS", "HyperliquidPrivate", "cloid_of", "read_answer"]

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Unpack

from arb.errors import VenueError
from connectors.common.ccxt_venue import CcxtVenue, renew_until_stopped
from connectors.common.orders import OrderState, VenueFill, VenueOrderUpdate
from connectors.common.private import (
    AccountFees,
    AnswerRules,
    ClientOptions,
    DeadManScope,
    FundingPayment,
    MarginMode,
    MarketAssets,
    OrderRequest,
    PrivateLink,
    Stream,
    SymbolRef,
    TimeInForce,
)
from connectors.common.rest_lane import PreparedCreate

log = logging.getLogger(__name__)

ZERO = Decimal(0)
QUOTE = "USDT"
"""arb's symbols name the perpetuals by a USDT pair (``BTCUSDT`` is the ``BTC`` perpetual, margined in USDC)."""
COLLATERAL = "USDC"
TESTNET = "testnet"
"""The venue file's network that is Hyperliquid's testnet (its signatures' ``source`` ``"b"``)."""
DEAD_MAN_LEAST_S = 5
"""``scheduleCancel``'s time must be at least 5 s ahead."""

_TEXTS = (
    ("User or API Wallet ", "UnknownSigner"),
    ("Too many cumulative requests", "AddressBudget"),
    ("Post only order would have immediately matched", "BadAloPx"),
    ("Order could not immediately match", "IocCancel"),
    ("Insufficient margin", "PerpMargin"),
    ("Order must have minimum value", "MinTradeNtl"),
    ("Price must be divisible by tick size", "Tick"),
    ("Reduce only order would increase position", "ReduceOnly"),
    ("Order has invalid size", "Size"),
    ("Order was never placed, already canceled, or filled", "CancelMissing"),
    ("Scheduled cancel time too early", "ScheduleTooEarly"),
    ("Cannot set scheduled cancel time until enough volume traded", "ScheduleVolume"),
    ("Too many scheduled cancel triggers", "ScheduleTriggers"),
    ("Invalid nonce", "Nonce"),
)
"""A refusal's text (its start) -> arb's code for it: Hyperliquid's error type where its table names one."""


def _code_of(text: str) -> str:
    return next((code for start, code in _TEXTS if text.startswith(start)), "err")


def read_answer(body: Mapping[str, Any]) -> tuple[str, str]:
    """The code and text of one ``/exchange`` or ``/info`` answer: ``("ok", "")`` when every order or cancel of
    it was taken; else the first refusal's, by :data:`_TEXTS` (``"err"``: a text not listed there).

    ``{"status":"err","response":"User or API Wallet 0xb8a6... does not exist."}`` -> ``("UnknownSigner", ...)``;
    ``{"status":"ok","response":{"type":"order","data":{"statuses":[{"error":"Insufficient margin to place
    order. asset=4"}]}}}`` -> ``("PerpMargin", ...)``; ``{"status":"unknownOid"}`` -> ``("unknownOid", "")``."""
    status = str(body.get("status", ""))
    response = body.get("response")
    if status == "err":
        return _code_of(str(response)), str(response)
    if status != "ok":
        return status, str(response or "")
    data = response.get("data") if isinstance(response, dict) else None
    for item in (data.get("statuses") if isinstance(data, dict) else None) or []:
        if isinstance(item, dict) and "error" in item:
            text = str(item["error"])
            return _code_of(text), text
    return "ok", ""


ANSWERS = AnswerRules(
    code_field="status",
    message_field="response",
    ok_code="ok",
    ban_status=418,  # Hyperliquid documents no ban: an IP past its weight a minute is a 429
    unknown_codes=frozenset(),  # no answer says "may or may not": only no answer, or a 5xx
    rate_codes=frozenset({"AddressBudget"}),
    credential_codes=frozenset({"UnknownSigner"}),  # the recovered signer: a wrong key, or an agent not approved
    clock_codes=frozenset({"Nonce"}),  # a nonce is the signer's clock in ms: too far from the venue's
    post_only=re.compile(r"^BadAloPx "),
    reader=read_answer,
)
"""What Hyperliquid's answers mean ("Error responses"; the texts as the venue words them)."""

NOT_OPEN = frozenset({"CancelMissing"})
NOT_FOUND = "unknownOid"
_STATES = {
    "open": OrderState.ACCEPTED,
    "filled": OrderState.FILLED,
    "triggered": OrderState.ACCEPTED,
    "rejected": OrderState.REJECTED,
    "iocCancelRejected": OrderState.EXPIRED,
}
"""``orderStatus``/``orderUpdates`` statuses; every other (``canceled``, ``scheduledCancel``, ``marginCanceled``,
``reduceOnlyCanceled``...) is an order the venue cancelled: EXPIRED for an IOC's rest, CANCELED otherwise."""


def cloid_of(client_id: str) -> str:
    """arb's client id as Hyperliquid's ``cloid``: ``0x`` and the first 32 hex digits of its SHA-256 (arb's ids
    are unique forever and up to 36 characters: 128 bits cannot hold one, its digest can)."""
    return "0x" + hashlib.sha256(client_id.encode()).hexdigest()[:32]


def _coin(symbol: str) -> str:
    return symbol.upper().removesuffix(QUOTE)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else ZERO


class HyperliquidPrivate(CcxtVenue):
    """Hyperliquid's perpetuals through ccxt's ``hyperliquid`` (``linear`` only)."""

    venue = "hyperliquid"
    answers = ANSWERS

    def __init__(self, market: Any) -> None:
        super().__init__(market)  # "spot" too, for its answer rules: venue.toml lists linear alone to trade
        self.client_ids: dict[str, str] = {}
        """Each ``cloid`` sent, asked for or known to the executor -> arb's client id (a digest is not undone)."""
        self._hashed: set[str] = set()
        """The client ids already in :attr:`client_ids` (each digest taken once)."""
        self.market_ids: dict[str, str] = {}
        """A coin -> ccxt's market id (the asset's index in ``meta``), from the loaded markets."""

    @property
    def dead_man(self) -> DeadManScope:
        """``scheduleCancel``: one time for every open order of the account."""
        return DeadManScope.ACCOUNT

    def cloid(self, client_id: str) -> str:
        """:func:`cloid_of`, remembered so that the venue's messages naming it name arb's id."""
        wire = cloid_of(client_id)
        self.client_ids[wire] = client_id
        self._hashed.add(client_id)
        return wire

    def remember(self, client_ids: Iterable[str]) -> None:
        """Map the ``cloid`` of each of ``client_ids`` back to it (each digest taken once): orders this adapter
        never sent nor asked about, such as the ones a previous run left in flight, which the executor took over
        from the journal at the start."""
        for client_id in client_ids:
            if client_id not in self._hashed:
                self._hashed.add(client_id)
                self.client_ids[cloid_of(client_id)] = client_id

    def _known(self, link: PrivateLink, rows: Iterable[Any]) -> None:
        # Before the rows are read: a cloid not mapped yet may be an order the executor knows that this adapter
        # never saw (one a previous run sent, taken over from the journal, before its first query); the
        # executor's orders (client id -> order) are mapped then. A cloid of no order of arb's (a person's
        # order on the account) finds nothing and stays unmapped.
        for row in rows:
            if not isinstance(row, Mapping):
                continue
            inner = row.get("order")
            cloid = row.get("cloid") or (inner.get("cloid") if isinstance(inner, Mapping) else None)
            if cloid and str(cloid) not in self.client_ids:
                self.remember(link.known_client_ids)
                return

    def market_id(self, symbol: str) -> str:
        """ccxt's id of the ``BTC`` perpetual for arb's ``BTCUSDT``: its asset index (``"0"``)."""
        coin = _coin(symbol)
        return self.market_ids.get(coin, coin)

    # -- the client --------------------------------------------------------------------------------

    def ccxt_class(self) -> str:
        return "hyperliquid"

    def ccxt_options(self) -> dict[str, Any]:
        """Swaps alone at market load; no builder fee, no referrer (else ccxt would send ``approveBuilderFee``
        and ``setReferrer`` actions of its own before the first order)."""
        return {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap", "builderFee": False,
                "approvedBuilderFee": True, "refSet": True}  # fmt: skip

    def make_client(self, *, rest: str, **options: Unpack[ClientOptions]) -> Any:
        """As the other venues' (:meth:`CcxtVenue.make_client`), with ``api_key`` the account's address (ccxt's
        ``walletAddress``: every query names it) and ``api_secret`` the signing key (``privateKey``); ``network =
        "testnet"`` signs for the testnet."""
        exchange = super().make_client(rest=rest, **options)
        address, key = options.get("api_key"), options.get("api_secret")
        if address is not None:
            exchange.walletAddress = address.lower()
        if key is not None:
            exchange.privateKey = key
        exchange.options["sandboxMode"] = options.get("network") == TESTNET
        return exchange

    def ws_urls(self, default_ws: Any, ws_private: str) -> Any:
        """One WebSocket for everything (``/ws``): the private streams on the venue file's ``ws_private``."""
        return {**(default_ws if isinstance(default_ws, dict) else {}), "public": ws_private}

    def markets_loaded(self, exchange: Any) -> None:
        """Each perpetual's market id by its coin (``info.name``)."""
        for market in (exchange.markets or {}).values():
            info = market.get("info") or {}
            if market.get("type") == "swap" and isinstance(info, dict) and info.get("name"):
                self.market_ids[str(info["name"])] = str(market["id"])

    def create_signer(self, exchange: Any) -> None:
        """ccxt signs every action (an EIP-712 signature over the action's msgpack hash)."""
        return None

    def _user(self, link: PrivateLink) -> str:
        return str(link.exchange.walletAddress)

    async def _info(self, link: PrivateLink, request: Mapping[str, Any]) -> Any:
        return await link.request("publicPostInfo", {"user": self._user(link), **request})

    # -- orders --------------------------------------------------------------------------------------

    _TIF: ClassVar[Mapping[TimeInForce, str]] = {TimeInForce.IOC: "Ioc", TimeInForce.POST_ONLY: "Alo"}

    def create_params(self, order: OrderRequest) -> dict[str, Any]:
        """``tif`` ``Ioc``/``Alo``, the ``cloid``, ``reduceOnly``."""
        params: dict[str, Any] = {"timeInForce": self._TIF[order.time_in_force]}
        params["clientOrderId"] = self.cloid(order.client_id)
        if order.reduce_only:
            params["reduceOnly"] = True
        return params

    def prepare_create(self, link: PrivateLink, order: OrderRequest) -> PreparedCreate | None:
        """Nothing ahead: ccxt builds and signs the action when :meth:`create` sends it."""
        return None

    async def create(
        self, link: PrivateLink, order: OrderRequest, outgoing: PreparedCreate | None = None
    ) -> dict[str, Any] | None:
        """ccxt's ``create_order``; the order's status (``{"resting":{"oid","cloid"}}`` or ``{"filled":
        {"totalSz","avgPx","oid"}}``) read as an ``orderStatus`` entry (:meth:`order_update`)."""
        self.cloid(order.client_id)
        reply = await super().create(link, order, None)
        if reply is None:
            return None
        cloid = cloid_of(order.client_id)
        coin = _coin(order.symbol)
        side = "B" if order.side > 0 else "A"
        entry = {"coin": coin, "side": side, "limitPx": order.price, "origSz": order.qty, "cloid": cloid,
                 "tif": self._TIF[order.time_in_force]}  # fmt: skip
        if isinstance(reply.get("resting"), dict):
            return {"order": {**entry, "oid": reply["resting"].get("oid"), "sz": order.qty}, "status": "open"}
        if isinstance(reply.get("filled"), dict):
            filled = _dec(reply["filled"].get("totalSz"))
            rest = _dec(order.qty) - filled
            status = "filled" if rest <= 0 else "canceled"  # an IOC's rest is cancelled at once
            return {"order": {**entry, "oid": reply["filled"].get("oid"), "sz": str(rest)}, "status": status}
        return None

    async def cancel(self, link: PrivateLink, symbol: str, client_id: str) -> bool:
        exchange, cloid, ccxt_symbol = link.exchange, self.cloid(client_id), self._ccxt_symbol(link, symbol)
        try:
            await link.call(lambda: exchange.cancel_order("", ccxt_symbol, {"clientOrderId": cloid}))
        except VenueError as error:
            if error.code in NOT_OPEN:
                return False
            raise
        return True

    def _ccxt_symbol(self, link: PrivateLink, symbol: str) -> str:
        return f"{_coin(symbol)}/{COLLATERAL}:{COLLATERAL}"

    async def query(self, link: PrivateLink, symbol: str, client_id: str) -> VenueOrderUpdate | None:
        return await self._status(link, self.cloid(client_id))

    async def query_venue_id(self, link: PrivateLink, symbol: str, venue_order_id: str) -> VenueOrderUpdate | None:
        return await self._status(link, int(venue_order_id))

    async def _status(self, link: PrivateLink, oid: int | str) -> VenueOrderUpdate | None:
        try:
            raw = await self._info(link, {"type": "orderStatus", "oid": oid})
        except VenueError as error:
            if error.code == NOT_FOUND:
                return None
            raise
        found = raw.get("order") if isinstance(raw, dict) else None
        if not isinstance(found, dict):
            return None
        self._known(link, [found])
        return self.order_update(found)

    async def open_orders(self, link: PrivateLink, symbol: str) -> list[VenueOrderUpdate]:
        coin = _coin(symbol)
        rows = [r for r in await self._info(link, {"type": "frontendOpenOrders"}) or [] if r.get("coin") == coin]
        self._known(link, rows)
        return self.open_updates([{"order": r, "status": "open"} for r in rows])

    async def cancel_all(self, link: PrivateLink, symbol: str) -> int:
        exchange, ccxt_symbol = link.exchange, self._ccxt_symbol(link, symbol)
        cancelled = 0
        for update in await self.open_orders(link, symbol):
            oid = update.venue_order_id
            try:
                await link.call(lambda oid=oid: exchange.cancel_order(oid, ccxt_symbol))  # type: ignore[misc]
            except VenueError as error:
                if error.code not in NOT_OPEN:
                    raise
                continue
            cancelled += 1
        return cancelled

    # -- what the venue says ----------------------------------------------------------------------------

    async def watch(self, link: PrivateLink, what: Stream) -> list[dict[str, Any]]:
        """ccxt pro's ``orderUpdates`` or ``userFills`` (:meth:`CcxtVenue.watch`), each item's cloid mapped to arb's
        client id when the executor knows the order (:meth:`_known`)."""
        rows = await super().watch(link, what)
        self._known(link, rows)
        return rows

    def order_update(self, raw: Mapping[str, Any]) -> VenueOrderUpdate | None:
        """An ``orderStatus`` entry or ``orderUpdates`` item: ``{"order":{"coin":"BTC","side":"B","limitPx":
        "59995.0","sz":"0.0","oid":77738308,"timestamp":1723161250000,"origSz":"0.001","tif":"Alo","cloid":
        "0xab..."},"status":"filled","statusTimestamp":1723161251000}``; the executed size ``origSz - sz``."""
        order = raw.get("order")
        if not isinstance(order, dict) or "oid" not in order:
            return None
        status = str(raw.get("status", ""))
        state = _STATES.get(status)
        if state is None:
            state = OrderState.EXPIRED if order.get("tif") == "Ioc" else OrderState.CANCELED
        executed = _dec(order.get("origSz")) - (ZERO if state is OrderState.FILLED else _dec(order.get("sz")))
        if state is OrderState.ACCEPTED and executed > 0:
            state = OrderState.PARTIALLY_FILLED
        cloid = str(order.get("cloid") or "")
        return VenueOrderUpdate(self.client_ids.get(cloid, ""), str(order["oid"]), state, executed,
                                exch_ts_ms=int(raw.get("statusTimestamp") or order.get("timestamp") or 0),
                                symbol=str(order.get("coin", "")) + QUOTE)  # fmt: skip

    def fills(self, raw: Mapping[str, Any], assets: MarketAssets) -> list[VenueFill]:
        """One ``userFills`` entry: ``{"coin":"BTC","px":"60010.0","sz":"0.2","side":"B","time":1723161250000,
        "oid":77738308,"crossed":true,"fee":"5.4009","tid":118906512037719,"feeToken":"USDC","cloid":"0x..."}``."""
        if "tid" not in raw or "px" not in raw:
            return []
        cloid = str(raw.get("cloid") or "")
        return [VenueFill(str(raw["tid"]), self.client_ids.get(cloid, ""), str(raw.get("oid", "")),
                          1 if raw.get("side") == "B" else -1, _dec(raw["px"]), _dec(raw.get("sz")),
                          _dec(raw.get("fee")), str(raw.get("feeToken") or assets.quote), int(raw.get("time") or 0),
                          is_maker=not raw.get("crossed", True), symbol=str(raw.get("coin", "")) + QUOTE)]  # fmt: skip

    async def order_trades(self, link: PrivateLink, symbol: str, venue_order_id: str) -> list[dict[str, Any]]:
        """The account's newest fills (``userFills``, up to 2000), the order's among them."""
        rows = [r for r in await self._info(link, {"type": "userFills"}) or [] if str(r.get("oid")) == venue_order_id]
        self._known(link, rows)
        return rows

    async def trades_since(self, link: PrivateLink, symbol: str, since_ms: int) -> list[dict[str, Any]]:
        """``userFillsByTime`` from ``since_ms`` (up to 2000 a request), ``symbol``'s coin's."""
        coin = _coin(symbol)
        rows = await self._info(link, {"type": "userFillsByTime", "startTime": since_ms})
        mine = [r for r in rows or [] if r.get("coin") == coin]
        self._known(link, mine)
        return mine

    # -- the account ----------------------------------------------------------------------------------

    async def _clearinghouse(self, link: PrivateLink) -> dict[str, Any]:
        raw = await self._info(link, {"type": "clearinghouseState"})
        return raw if isinstance(raw, dict) else {}

    async def balances(self, link: PrivateLink) -> dict[str, Decimal]:
        """USDC: the account's value less its positions' unrealized PnL (what its wallet holds)."""
        state = await self._clearinghouse(link)
        value = _dec((state.get("marginSummary") or {}).get("accountValue"))
        positions = [row.get("position") or {} for row in state.get("assetPositions") or []]
        unrealized = sum((_dec(p.get("unrealizedPnl")) for p in positions), ZERO)
        return {COLLATERAL: value - unrealized}

    async def linear_position(self, link: PrivateLink, symbol: str) -> tuple[Decimal, Decimal]:
        coin = _coin(symbol)
        for row in (await self._clearinghouse(link)).get("assetPositions") or []:
            position = row.get("position") or {}
            if position.get("coin") == coin:
                size = _dec(position.get("szi"))
                return size, _dec(position.get("entryPx")) if size else ZERO
        return ZERO, ZERO

    async def linear_funding(self, link: PrivateLink, symbol: str, since_ms: int) -> list[FundingPayment]:
        """``userFunding``: ``{"time":..,"hash":"0x..","delta":{"type":"funding","coin":"BTC","usdc":"-0.12",
        "szi":"0.3","fundingRate":"0.0000125"}}`` (``usdc`` signed: > 0 received)."""
        coin = _coin(symbol)
        rows = await self._info(link, {"type": "userFunding", "startTime": since_ms})
        out = []
        for row in rows or []:
            delta = row.get("delta") or {}
            if delta.get("type") == "funding" and delta.get("coin") == coin:
                out.append(FundingPayment(symbol, _dec(delta.get("usdc")), COLLATERAL, int(row.get("time") or 0),
                                          str(row.get("hash") or "")))  # fmt: skip
        return out

    async def account_fees(self, link: PrivateLink, symbol: str) -> AccountFees:
        raw = await self._info(link, {"type": "userFees"})
        if not isinstance(raw, dict) or "userAddRate" not in raw:
            raise VenueError(link.name, "userFees named no rates", "the account's address (api_key)")
        maker, taker = _dec(raw["userAddRate"]), _dec(raw.get("userCrossRate"))
        return AccountFees(symbol, maker, taker, detail=f"userAddRate {maker}, userCrossRate {taker}")

    async def coin_price(self, link: PrivateLink, coin: str, quote: str) -> Decimal:
        raise VenueError(link.name, f"fees are paid in USDC, not {coin}", "nothing", code="no-coin")

    async def rate_budget(self, link: PrivateLink) -> str:
        """The address budget as ``userRateLimit`` states it, in a few words."""
        raw = await self._info(link, {"type": "userRateLimit"})
        used, cap = raw.get("nRequestsUsed"), raw.get("nRequestsCap")
        return f"address budget: {used} of {cap} requests used (volume traded ${_dec(raw.get('cumVlm')):.2f})"

    # -- a perpetual's settings -------------------------------------------------------------------------

    async def perpetual_account(self, link: PrivateLink, margin_mode: MarginMode, source: str) -> list[str]:
        """Nothing to set (positions are one-way); the address budget said."""
        return [await self.rate_budget(link)]

    async def perpetual_symbol(
        self, link: PrivateLink, symbol: str, leverage: int, margin_mode: MarginMode
    ) -> list[str]:
        """The leverage is not set yet: the account's own (an order's margin is the venue's rule)."""
        return ["leverage not set by arb: the account's own"]

    # -- the dead-man's switch ----------------------------------------------------------------------------

    async def _schedule(self, link: PrivateLink, window_s: int) -> Any:
        exchange, ms = link.exchange, max(DEAD_MAN_LEAST_S + 1, window_s) * 1000
        return await link.call(lambda: exchange.cancel_all_orders_after(ms))

    async def arm_dead_man(self, link: PrivateLink, markets: Sequence[SymbolRef], window_s: int) -> None:
        """``scheduleCancel`` at now + ``window_s`` (at least 6 s): unless renewed in time, Hyperliquid cancels
        every open order of the account. The first signed action: a wrong key is refused here."""
        await self._schedule(link, window_s)

    async def keep_dead_man(
        self, link: PrivateLink, markets: Sequence[SymbolRef], window_s: int, *, armed: bool
    ) -> None:
        """Renew the time every quarter window; a failed renewal is logged and tried at the next turn."""
        renewals = [("scheduleCancel", lambda: self._schedule(link, window_s))]
        pause = max(DEAD_MAN_LEAST_S + 1, window_s) / 4
        await renew_until_stopped(link, self.venue, renewals, pause, armed=armed)

    async def disarm_dead_man(self, link: PrivateLink, markets: Sequence[SymbolRef]) -> bool:
        """``scheduleCancel`` without ``time``: the switch unset (ccxt always sends one; signed by its own
        ``sign_l1_action``)."""
        exchange = link.exchange
        nonce = exchange.incrementing_nonce()
        action = {"type": "scheduleCancel"}
        request = {"action": action, "nonce": nonce, "signature": exchange.sign_l1_action(action, nonce)}
        await link.request("privatePostExchange", request)
        return True


ADAPTER = HyperliquidPrivate
"""The venue's :class:`~connectors.common.private.PrivateVenue` (what :mod:`connectors.registry` finds)."""
