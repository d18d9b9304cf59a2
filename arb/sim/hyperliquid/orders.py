"""The fake Hyperliquid's L1 actions on its ledger: ``order``, ``cancel``, ``cancelByCloid``, ``scheduleCancel``
(the dead-man's switch) and ``noop``, each answered as the venue does inside an HTTP 200.

``{"type":"order","orders":[{"a":0,"b":true,"p":"60010","s":"0.001","r":false,"t":{"limit":{"tif":"Gtc"}},
"c":"0x..."}],"grouping":"na"}`` answers ``{"status":"ok","response":{"type":"order","data":{"statuses":[...]}}}``,
one status per order: ``resting`` (with the ``cloid`` given), ``filled`` (``totalSz``, ``avgPx``, ``oid``) or
``error``. A GTC order takes what the book offers at its price and rests the rest; an IOC takes what it can
(none: ``IocCancel``); an ALO that would take is refused (``BadAloPx``, with the book's best bid and ask). A
cancel answers ``"success"`` or ``{"error":"Order was never placed, already canceled, or filled."}``.

``scheduleCancel {"time": ms}`` cancels every open order of the account at that time (status
``scheduledCancel``), checked at each :meth:`HyperliquidOrders.check_timers` (the venue's ``tick``); it must be at
least 5 s ahead; without ``time`` it unsets the switch; at most 10 triggers a UTC day.
"""

from __future__ import annotations

__all__ = ["CLOID_PREFIX", "MAX_DAILY_TRIGGERS", "HyperliquidOrders"]

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from arb.sim.hyperliquid import wire
from arb.sim.ledger import (
    LedgerAccount,
    LedgerEvent,
    LedgerOrder,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    VenueRejectError,
)
from arb.sim.ledger.records import FundingPayment
from arb.sim.ledger.venue_ledger import Ledger
from arb.sim.private import CancelTrigger, OrderDesk

CLOID_PREFIX = "~"
"""The ledger's client id of an order sent without ``cloid`` starts with this (never a cloid's ``0x``)."""
MAX_DAILY_TRIGGERS = 10
_CLOID = re.compile(r"0x[0-9a-fA-F]{32}")
_DAY_MS = 86_400_000
_REJECTS = {
    RejectReason.PRICE_TICK: "Tick",
    RejectReason.PRICE_RANGE: "Tick",
    RejectReason.QTY_STEP: "Size",
    RejectReason.QTY_MIN: "Size",
    RejectReason.QTY_MAX: "Size",
    RejectReason.NOTIONAL_MIN: "MinTradeNtl",
    RejectReason.INSUFFICIENT_BALANCE: "PerpMargin",
    RejectReason.REDUCE_ONLY: "ReduceOnly",
    RejectReason.DUPLICATE_CLIENT_ID: "Cloid",
    RejectReason.INVALID_CLIENT_ID: "Cloid",
    RejectReason.UNKNOWN_SYMBOL: "Asset",
}


class HyperliquidOrders:
    """The actions on ``ledger`` (orders placed through ``desk``, with its order faults). ``coins`` lists the
    perpetuals in ``meta``'s order (an asset is its index), ``sz_decimals`` each one's ``szDecimals``; ``book``
    gives a coin's best bid and ask (``BadAloPx`` names them)."""

    def __init__(
        self,
        ledger: Ledger,
        desk: OrderDesk,
        *,
        coins: Callable[[], Sequence[str]],
        sz_decimals: Callable[[str], int],
        best: Callable[[str], tuple[str, str]],
        clock_ms: Callable[[], int],
    ) -> None:
        self.ledger = ledger
        self._desk = desk
        self._coins = coins
        self._sz = sz_decimals
        self._best = best
        self._clock_ms = clock_ms
        self._unnamed = itertools.count(1)
        self.reasons: dict[int, str] = {}
        """The status of an order the venue cancelled on its own (``scheduledCancel``), by order id."""
        self.start_positions: dict[int, Decimal] = {}
        """The position before each fill, by trade id (a fill's ``startPosition``)."""
        self.schedules: dict[str, int] = {}
        """Each account's dead-man's switch: when it fires, venue ms."""
        self.triggers: list[CancelTrigger] = []
        """Every scheduled cancel that fired, with the orders it cancelled."""

    # -- what the ledger tells -----------------------------------------------------------------

    def on_event(self, event: LedgerEvent | FundingPayment) -> None:
        """A ledger listener (called as the ledger moves): keeps each fill's ``startPosition``."""
        if isinstance(event, LedgerEvent) and event.trade is not None:
            trade = event.trade
            now = self.ledger.accounts[trade.account].position(trade.symbol).qty
            self.start_positions[trade.trade_id] = now - trade.qty * trade.side.sign

    @staticmethod
    def cloid(order: LedgerOrder) -> str | None:
        """The ``cloid`` an order was sent with, ``None`` when it had none."""
        return None if order.client_id.startswith(CLOID_PREFIX) else order.client_id

    def coin_of(self, asset: object) -> str | None:
        """The coin of asset index ``asset``; ``None`` when the venue lists none there."""
        coins = self._coins()
        listed = isinstance(asset, int) and not isinstance(asset, bool) and 0 <= asset < len(coins)
        return coins[asset] if listed and isinstance(asset, int) else None

    def asset_of(self, coin: str) -> int:
        """The asset index of ``coin``."""
        return list(self._coins()).index(coin)

    # -- the actions ---------------------------------------------------------------------------

    def batch_size(self, action: Mapping[str, Any]) -> int:
        """How many requests ``action`` counts on the address budget (a batch of n: n)."""
        for key in ("orders", "cancels"):
            items = action.get(key)
            if isinstance(items, list):
                return max(1, len(items))
        return 1

    def run(self, account: LedgerAccount, action: Mapping[str, Any]) -> dict[str, Any]:
        """Act on ``action`` for ``account``; returns the venue's answer (HTTP 200)."""
        kind = action.get("type")
        if kind == "order":
            placed: list[object] = [self._order(account, wire_order) for wire_order in _items(action, "orders")]
            return {"status": "ok", "response": {"type": "order", "data": {"statuses": placed}}}
        if kind in ("cancel", "cancelByCloid"):
            by_cloid = kind == "cancelByCloid"
            statuses = [self._cancel(account, item, by_cloid=by_cloid) for item in _items(action, "cancels")]
            return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}
        if kind == "scheduleCancel":
            return self._schedule(account, action.get("time"))
        if kind == "noop":
            return wire.default_answer()
        return wire.err(f"Unknown action type: {kind}")  # chosen

    def _order(self, account: LedgerAccount, order: object) -> dict[str, Any]:
        if not isinstance(order, dict):
            return {"error": "Invalid order."}  # chosen
        asset = order.get("a")
        coin = self.coin_of(asset)
        if coin is None:
            return {"error": wire.ORDER_TEXTS["Asset"]}
        assert isinstance(asset, int)
        limit = order.get("t", {}).get("limit") if isinstance(order.get("t"), dict) else None
        tif = wire.TIF.get(str(limit.get("tif"))) if isinstance(limit, dict) else None
        cloid = order.get("c")
        try:
            price, size = Decimal(str(order.get("p"))), Decimal(str(order.get("s")))
        except InvalidOperation:
            return wire.order_error("Tick", asset)
        sz_decimals = self._sz(coin)
        if not wire.price_ok(price, sz_decimals):
            return wire.order_error("Tick", asset)
        if not wire.size_ok(size, sz_decimals):
            return wire.order_error("Size", asset)
        if tif is None or not isinstance(order.get("b"), bool):
            return {"error": "Invalid order."}  # chosen: only limit orders are served
        if cloid is not None and (not isinstance(cloid, str) or not _CLOID.fullmatch(cloid)):
            return wire.order_error("Cloid", asset)
        side = Side.BUY if order["b"] else Side.SELL
        cloid = cloid.lower() if isinstance(cloid, str) else None  # kept, and found, in lower case
        client_id = cloid if cloid is not None else f"{CLOID_PREFIX}{next(self._unnamed)}"
        rules = self.ledger.rules[coin]
        try:
            placed = self._desk.place(account, rules, side, OrderType.LIMIT, size, price, tif, client_id,
                                      bool(order.get("r", False)))  # fmt: skip
        except VenueRejectError as error:
            if error.reason is RejectReason.POST_ONLY_TAKES:
                bid, ask = self._best(coin)
                return wire.order_error("BadAloPx", asset, bbo=f"{bid}@{ask}")
            return wire.order_error(_REJECTS.get(error.reason, "Tick"), asset)
        return _answer(placed, asset, cloid)

    def _cancel(self, account: LedgerAccount, item: object, *, by_cloid: bool) -> str | dict[str, str]:
        if not isinstance(item, dict):
            return {"error": wire.CANCEL_MISSING}
        coin = self.coin_of(item.get("asset" if by_cloid else "a"))
        ref = item.get("cloid" if by_cloid else "o")
        if coin is None or (by_cloid and not isinstance(ref, str)) or (not by_cloid and not isinstance(ref, int)):
            return {"error": wire.CANCEL_MISSING}
        done = (self.ledger.cancel(account, coin, client_id=str(ref).lower()) if by_cloid
                else self.ledger.cancel(account, coin, order_id=int(str(ref))))  # fmt: skip
        return "success" if done is not None else {"error": wire.CANCEL_MISSING}

    def _schedule(self, account: LedgerAccount, at: object) -> dict[str, Any]:
        now = self._clock_ms()
        if at is None:
            self.schedules.pop(account.name, None)
            return wire.default_answer()
        if not isinstance(at, int) or at < now + 5_000:
            return wire.err(wire.SCHEDULE_TOO_EARLY)
        today = now - now % _DAY_MS
        fired = sum(1 for t in self.triggers if t.account == account.name and t.at_s * 1000 >= today)
        if fired >= MAX_DAILY_TRIGGERS:
            return wire.err("Too many scheduled cancel triggers today.")  # chosen
        self.schedules[account.name] = at
        return wire.default_answer()

    def check_timers(self) -> list[CancelTrigger]:
        """Fire every dead-man's switch whose time has come: the account's open orders cancelled, each with
        status ``scheduledCancel``. Returns the triggers fired now."""
        now = self._clock_ms()
        fired = []
        for name, at in list(self.schedules.items()):
            if at > now:
                continue
            del self.schedules[name]
            account = self.ledger.accounts[name]
            for order in self.ledger.open_orders(account):
                self.reasons[order.order_id] = "scheduledCancel"
            cancelled = self.ledger.cancel_all(account)
            fired.append(CancelTrigger(name, "scheduleCancel", at / 1000, tuple(o.order_id for o in cancelled)))
        self.triggers += fired
        return fired


def _items(action: Mapping[str, Any], key: str) -> list[object]:
    items = action.get(key)
    return list(items) if isinstance(items, list) else []


def _answer(order: LedgerOrder, asset: int, cloid: str | None) -> dict[str, Any]:
    # one placed order's status: resting while open, filled when it took anything and is done, else IocCancel
    if order.status.is_open:
        resting: dict[str, Any] = {"oid": order.order_id}
        if cloid is not None:
            resting["cloid"] = cloid
        return {"resting": resting}
    if order.executed_qty > 0:
        average = order.cum_quote / order.executed_qty
        filled: dict[str, Any] = {
            "totalSz": wire.num(order.executed_qty),
            "avgPx": wire.num(average),
            "oid": order.order_id,
        }
        if cloid is not None:
            filled["cloid"] = cloid
        return {"filled": filled}
    if order.status is OrderStatus.EXPIRED:
        return wire.order_error("IocCancel", asset)
    return {"error": f"Order {order.status.value}."}  # chosen; not reached by a limit order
