"""Hyperliquid's private wire, as pure functions: the venue's texts, its price and size rules, and the order, fill
and account entries its ``/exchange`` answers, ``/info`` queries and private streams carry.

Shapes follow Hyperliquid's API documentation ("Exchange endpoint", "Info endpoint", "Error responses",
"Websocket: subscriptions") and what ccxt's ``hyperliquid`` reads. Numbers are strings (``"2000.0"``, ``"0.1"``),
ids and times integers; a side is ``"B"`` (bid, buy) or ``"A"`` (ask, sell). A sample of each:

* an order's answer: ``{"resting":{"oid":77738308,"cloid":"0x..."}}``, ``{"filled":{"totalSz":"0.02",
  "avgPx":"1891.4","oid":77747314}}`` or ``{"error":"Order must have minimum value of $10. asset=0"}``;
* ``openOrders``: ``{"coin":"ETH","limitPx":"2000.0","oid":3991946565,"side":"B","sz":"0.1","timestamp":
  1704346468838,"origSz":"0.1"}``; ``frontendOpenOrders`` and ``orderStatus`` add ``orderType``, ``tif``,
  ``reduceOnly``, ``cloid``, ``isTrigger``, ``triggerPx``, ``triggerCondition``, ``isPositionTpsl``, ``children``;
* a fill: ``{"coin":"AVAX","px":"18.435","sz":"93.53","side":"B","time":1681222254710,"startPosition":"26.86",
  "dir":"Open Long","closedPnl":"0.0","hash":"0x...","oid":90542681,"crossed":false,"fee":"0.01","tid":
  118906512037719,"feeToken":"USDC"}``.

Texts the documentation gives are kept word for word; those it does not give are marked *chosen* where defined.
"""

from __future__ import annotations

__all__ = [
    "CANCEL_MISSING",
    "MAX_DECIMALS",
    "ORDER_TEXTS",
    "SCHEDULE_TOO_EARLY",
    "SIG_FIGS",
    "TIF",
    "TIF_NAMES",
    "default_answer",
    "err",
    "fill_entry",
    "frontend_entry",
    "num",
    "open_entry",
    "order_error",
    "price_ok",
    "rate_limited",
    "side_of",
    "size_ok",
    "status_entry",
    "unknown_signer",
    "venue_status",
]

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from arb.sim.ledger import LedgerOrder, LedgerTrade, OrderStatus, Side, TimeInForce

MAX_DECIMALS = 6
"""A perpetual's price has at most ``MAX_DECIMALS - szDecimals`` decimals (and five significant figures)."""
SIG_FIGS = 5

CANCEL_MISSING = "Order was never placed, already canceled, or filled."
"""A cancel of an order that is not open (documented)."""
SCHEDULE_TOO_EARLY = "Scheduled cancel time too early, must be at least 5 seconds from now."
"""*chosen*: the rule (at least now + 5 s) is documented, the text is not."""

ORDER_TEXTS = {
    "Tick": "Price must be divisible by tick size.",
    "MinTradeNtl": "Order must have minimum value of $10.",
    "PerpMargin": "Insufficient margin to place order.",
    "ReduceOnly": "Reduce only order would increase position.",
    "BadAloPx": "Post only order would have immediately matched, bbo was {bbo}.",
    "IocCancel": "Order could not immediately match against any resting orders.",
    "Size": "Order has invalid size.",  # chosen: the documentation lists no size error
    "Cloid": "Duplicate cloid.",  # chosen
    "Asset": "Invalid asset.",  # chosen
}
"""The per-order errors of Hyperliquid's table ("Error responses"), by its error type; the venue adds
`` asset=<n>`` (as ccxt's captures show: ``Insufficient margin to place order. asset=4``)."""
TIF = {"Gtc": TimeInForce.GTC, "Ioc": TimeInForce.IOC, "Alo": TimeInForce.POST_ONLY}
"""The ``tif`` of a limit order."""
TIF_NAMES = {tif: name for name, tif in TIF.items()}


def num(value: Decimal) -> str:
    """A decimal as Hyperliquid writes a number: plain digits, a whole number with ``.0`` (``"2000.0"``)."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def side_of(side: Side) -> str:
    """``"B"`` for a buy, ``"A"`` for a sell."""
    return "B" if side is Side.BUY else "A"


def price_ok(price: Decimal, sz_decimals: int) -> bool:
    """Hyperliquid's price rule for a perpetual: positive, and a whole number, or at most five significant
    figures and ``6 - szDecimals`` decimals."""
    if not price.is_finite() or price <= 0:
        return False
    if price == price.to_integral_value():
        return True
    exact = price.normalize()
    decimals = -int(exact.as_tuple().exponent)
    return len(exact.as_tuple().digits) <= SIG_FIGS and decimals <= MAX_DECIMALS - sz_decimals


def size_ok(size: Decimal, sz_decimals: int) -> bool:
    """A size is positive with at most ``szDecimals`` decimals."""
    return size.is_finite() and size > 0 and -int(size.normalize().as_tuple().exponent) <= sz_decimals


def order_error(kind: str, asset: int, **fields: str) -> dict[str, str]:
    """One order's ``{"error": ...}`` of error type ``kind`` (:data:`ORDER_TEXTS`) on ``asset``."""
    return {"error": f"{ORDER_TEXTS[kind].format(**fields)} asset={asset}"}


def err(text: str) -> dict[str, Any]:
    """A request-level refusal: ``{"status":"err","response":text}`` (an HTTP 200)."""
    return {"status": "err", "response": text}


def default_answer() -> dict[str, Any]:
    """What an action without data answers (``scheduleCancel``, ``noop``)."""
    return {"status": "ok", "response": {"type": "default"}}


def unknown_signer(address: str) -> dict[str, Any]:
    """The refusal of an action whose recovered signer is neither an account nor an agent it approved."""
    return err(f"User or API Wallet {address} does not exist.")


def rate_limited(used: int, cap: int, volume: Decimal) -> dict[str, Any]:
    """The address budget's refusal (its first sentence as seen on the venue)."""
    return err(f"Too many cumulative requests sent ({used} > {cap}) for cumulative volume traded ${volume:.2f}.")


def venue_status(order: LedgerOrder, reasons: Mapping[int, str]) -> str:
    """An order's status as ``orderStatus`` and ``orderUpdates`` name it: ``open``, ``filled``, ``canceled``,
    ``scheduledCancel`` (or another reason the venue recorded), ``iocCancelRejected`` (an IOC that took
    nothing)."""
    if order.status.is_open:
        return "open"
    if order.status is OrderStatus.FILLED:
        return "filled"
    if order.status is OrderStatus.EXPIRED:
        return "canceled" if order.executed_qty > 0 else "iocCancelRejected"
    if order.status is OrderStatus.REJECTED:
        return "rejected"
    return reasons.get(order.order_id, "canceled")


def open_entry(order: LedgerOrder, coin: str, cloid: str | None) -> dict[str, Any]:
    """``openOrders``' entry of an order."""
    entry: dict[str, Any] = {"coin": coin, "side": side_of(order.side), "limitPx": num(order.price or Decimal(0)),
                             "sz": num(order.remaining), "oid": order.order_id, "timestamp": order.created_ms,
                             "origSz": num(order.qty)}  # fmt: skip
    if cloid is not None:
        entry["cloid"] = cloid
    return entry


def frontend_entry(order: LedgerOrder, coin: str, cloid: str | None) -> dict[str, Any]:
    """``frontendOpenOrders``' entry of an order, which ``orderStatus`` and ``orderUpdates`` also carry: ``sz`` what
    is left of it (0 once filled; a cancelled order's unfilled rest, so ``origSz - sz`` is what it filled)."""
    remaining = Decimal(0) if order.status is OrderStatus.FILLED else order.remaining
    return {"coin": coin, "side": side_of(order.side), "limitPx": num(order.price or Decimal(0)),
            "sz": num(remaining), "oid": order.order_id, "timestamp": order.created_ms,
            "triggerCondition": "N/A", "isTrigger": False, "triggerPx": "0.0", "children": [],
            "isPositionTpsl": False, "reduceOnly": order.reduce_only, "orderType": "Limit", "origSz": num(order.qty),
            "tif": TIF_NAMES.get(order.time_in_force, "Gtc"), "cloid": cloid}  # fmt: skip


def status_entry(order: LedgerOrder, coin: str, cloid: str | None, status: str) -> dict[str, Any]:
    """``{order, status, statusTimestamp}``: ``orderStatus``' ``order`` and one ``orderUpdates`` item."""
    return {"order": frontend_entry(order, coin, cloid), "status": status, "statusTimestamp": order.updated_ms}


def _direction(start: Decimal, side: Side, size: Decimal) -> str:
    # Hyperliquid's ``dir`` of a perpetual's fill, from the position before it
    if side is Side.BUY:
        if start >= 0:
            return "Open Long"
        return "Short > Long" if size > -start else "Close Short"
    if start <= 0:
        return "Open Short"
    return "Long > Short" if size > start else "Close Long"


def fill_entry(trade: LedgerTrade, coin: str, cloid: str | None, start_position: Decimal) -> dict[str, Any]:
    """One fill as ``userFills`` and the ``userFills`` stream carry it; ``hash`` is the fake's own (a digest of
    the trade id: a real one is the transaction's)."""
    entry: dict[str, Any] = {
        "coin": coin, "px": num(trade.price), "sz": num(trade.qty), "side": side_of(trade.side), "time": trade.time_ms,
        "startPosition": num(start_position), "dir": _direction(start_position, trade.side, trade.qty),
        "closedPnl": num(trade.realized_pnl), "hash": "0x" + hashlib.sha256(str(trade.trade_id).encode()).hexdigest(),
        "oid": trade.order_id, "crossed": not trade.is_maker, "fee": num(trade.fee), "tid": trade.trade_id,
        "feeToken": "USDC",
    }  # fmt: skip
    if cloid is not None:
        entry["cloid"] = cloid
    return entry
