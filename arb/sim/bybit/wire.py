"""Bybit v5 private wire formats for the fake venue: signatures, reject codes, and the JSON objects.

Pure functions, no I/O: :mod:`arb.sim.bybit.exchange` serves what they build. Field names,
their order and their JSON types (strings for numbers, integers for ``positionIdx``/``seq``,
booleans for ``reduceOnly``/``isMaker``) follow the v5 documentation (bybit-exchange.github.io/docs/v5:
``order/open-order``, ``order/execution``, ``position``, ``account/wallet-balance``,
``market/instrument``, ``websocket/private/*``) and the REST bodies ccxt's maintainers recorded
(``tests/fixtures/bybit.response.subset.json``).

Ids: spot order and execution ids are 19-digit decimal strings (``"1609920528435648000"``), linear
ones are UUIDs (``"c6f055d9-7f21-4079-913d-e6523a9cfffa"``), as Bybit sends them. The fake derives
both from the ledger's integer ids, so :func:`wire_order_id` and :func:`ledger_order_id` map one to the
other.
"""

from __future__ import annotations

__all__ = [
    "FIRST_ORDER_ID",
    "FIRST_TRADE_ID",
    "LINEAR_REJECTS",
    "SPOT_REJECTS",
    "BybitCategory",
    "OrderView",
    "decimal_text",
    "execution_entry",
    "funding_exec_id",
    "funding_execution_entry",
    "ledger_exec_id",
    "ledger_order_id",
    "order_entry",
    "order_status",
    "reject_code",
    "reject_reason_of",
    "rest_signature",
    "timestamp_error",
    "transaction_entry",
    "wire_exec_id",
    "wire_order_id",
    "ws_signature",
]

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from arb.sim.ledger import (
    ExecType,
    FundingPayment,
    LedgerEvent,
    LedgerOrder,
    LedgerTrade,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    SymbolRules,
    TimeInForce,
)

BybitCategory = Literal["spot", "linear"]

FIRST_ORDER_ID: dict[str, int] = {"spot": 1_700_000_000_000_000_001, "linear": 1_000_001}
"""The ledger's first order id per category: spot ids are Bybit's 19-digit numbers."""
FIRST_TRADE_ID: dict[str, int] = {"spot": 2_100_000_000_000_000_001, "linear": 5_000_001}
"""The ledger's first trade id per category (spot execIds look like ``"2100000000047087120"``)."""

ZERO = Decimal(0)


# -- signatures ---------------------------------------------------------------------------------


def rest_signature(secret: str, timestamp: str, api_key: str, recv_window: str, payload: str) -> str:
    """``X-BAPI-SIGN``: hex HMAC-SHA256 of ``timestamp + api_key + recv_window + payload``.

    ``payload`` is the query string as sent (GET) or the raw JSON body (POST) (v5 "Integration
    Guidance", Authentication).
    """
    text = timestamp + api_key + recv_window + payload
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def ws_signature(secret: str, expires: str) -> str:
    """The private stream's auth signature: hex HMAC-SHA256 of ``"GET/realtime" + expires``."""
    return hmac.new(secret.encode(), ("GET/realtime" + expires).encode(), hashlib.sha256).hexdigest()


def timestamp_error(req_timestamp: str, server_ms: int, recv_window: str) -> str:
    """Bybit's ``10002`` message, e.g. ``invalid request, please check your server timestamp or
    recv_window param. req_timestamp[1678623600260],server_timestamp[1678623606869],recv_window[5000]``."""
    return (
        "invalid request, please check your server timestamp or recv_window param. "
        f"req_timestamp[{req_timestamp}],server_timestamp[{server_ms}],recv_window[{recv_window}]"
    )


# -- rejections ---------------------------------------------------------------------------------

SPOT_REJECTS: Mapping[RejectReason, tuple[int, str]] = {
    RejectReason.UNKNOWN_SYMBOL: (170121, "Invalid symbol."),
    RejectReason.PRICE_TICK: (170134, "Order price decimal too long."),
    RejectReason.PRICE_RANGE: (170132, "Order price too high."),  # 170133 below minPrice, see reject_code
    RejectReason.QTY_STEP: (170137, "Order volume decimal too long"),
    RejectReason.QTY_MIN: (170136, "Order quantity lower than the minimum."),
    RejectReason.QTY_MAX: (170135, "Order quantity too large."),
    RejectReason.NOTIONAL_MIN: (170140, "Order value exceeded lower limit"),
    RejectReason.INSUFFICIENT_BALANCE: (170131, "Insufficient balance."),
    RejectReason.DUPLICATE_CLIENT_ID: (170141, "Duplicate clientOrderId"),
    RejectReason.INVALID_CLIENT_ID: (170130, "Data sent for paramter 'orderLinkId' is not valid."),
    RejectReason.PRICE_REQUIRED: (170130, "Data sent for paramter 'price' is not valid."),
    RejectReason.REDUCE_ONLY: (10001, "params error: reduceOnly is not supported for spot"),
    RejectReason.FOK_UNFILLED: (10001, "params error: order cannot be filled whole"),
}
"""Spot: ``RejectReason`` -> ``(retCode, retMsg)``, codes and texts from the v5 error table."""

LINEAR_REJECTS: Mapping[RejectReason, tuple[int, str]] = {
    RejectReason.UNKNOWN_SYMBOL: (10001, "params error: symbol invalid"),
    RejectReason.PRICE_TICK: (10001, "params error: price err"),
    RejectReason.PRICE_RANGE: (110003, "Order price exceeds the allowable range."),
    # Bybit's code for a qty off qtyStep is undocumented; 10001 with the text it sends for a bad qty.
    RejectReason.QTY_STEP: (10001, "params error: qty err"),
    RejectReason.QTY_MIN: (10001, "The number of contracts exceeds minimum limit allowed"),
    RejectReason.QTY_MAX: (10001, "The number of contracts exceeds maximum limit allowed: too large"),
    RejectReason.NOTIONAL_MIN: (110094, "Order notional value below the lower limit"),
    RejectReason.INSUFFICIENT_BALANCE: (110007, "ab not enough for new order"),
    RejectReason.DUPLICATE_CLIENT_ID: (110072, "OrderLinkedID is duplicate"),
    RejectReason.INVALID_CLIENT_ID: (10001, "params error: orderLinkId invalid"),
    RejectReason.PRICE_REQUIRED: (10001, "params error: price is required for a Limit order"),
    RejectReason.REDUCE_ONLY: (110017, "Reduce-only rule not satisfied"),
    RejectReason.FOK_UNFILLED: (10001, "params error: order cannot be filled whole"),
}
"""Linear: ``RejectReason`` -> ``(retCode, retMsg)``."""


def reject_code(
    category: BybitCategory, reason: RejectReason, rules: SymbolRules | None = None, price: Decimal | None = None
) -> tuple[int, str]:
    """``(retCode, retMsg)`` for a ledger rejection; spot splits the price range by side of it."""
    if category == "spot":
        if reason is RejectReason.PRICE_RANGE and rules is not None and price is not None and price < rules.min_price:
            return 170133, "Order price lower than the minimum."
        return SPOT_REJECTS[reason]
    return LINEAR_REJECTS[reason]


# -- ids and numbers ----------------------------------------------------------------------------


_UUID_PREFIX = 0x5A3C9E1D_7F21_4079_913D << 48
"""Linear ids are this venue's fixed version-4 prefix with the ledger's id in the last 48 bits."""
_UUID_LOW = (1 << 48) - 1


def wire_order_id(category: BybitCategory, order_id: int) -> str:
    """The ``orderId`` Bybit would send for the ledger's order ``order_id``."""
    return str(order_id) if category == "spot" else str(uuid.UUID(int=_UUID_PREFIX | order_id))


def ledger_order_id(category: BybitCategory, text: str) -> int | None:
    """The ledger's id behind a wire ``orderId``, or ``None`` when ``text`` cannot be one."""
    try:
        if category == "spot":
            return int(text) if text.isdigit() else None
        value = uuid.UUID(text).int
    except ValueError:
        return None
    return value & _UUID_LOW if value & ~_UUID_LOW == _UUID_PREFIX else None


def wire_exec_id(category: BybitCategory, trade_id: int) -> str:
    """The ``execId`` Bybit would send for the ledger's trade ``trade_id``."""
    return wire_order_id(category, trade_id)


def ledger_exec_id(category: BybitCategory, text: str) -> int | None:
    """The ledger's trade id behind a wire ``execId``."""
    return ledger_order_id(category, text)


_FUNDING_PREFIX = 0x8D1EF156_4EC6_4445_9A6C << 48
"""Funding executions' ids: another fixed version-4 prefix, so they never look like a trade's."""


def funding_exec_id(payment_id: int) -> str:
    """The ``execId`` of the ledger's funding payment ``payment_id`` (a linear UUID)."""
    return str(uuid.UUID(int=_FUNDING_PREFIX | payment_id))


def decimal_text(value: Decimal, step: Decimal | None = None) -> str:
    """A plain decimal string: with ``step``'s decimals (``"0.001614"``, ``"25"``) or as few as needed."""
    if step is not None:
        exponent = step.normalize().as_tuple().exponent
        places = min(0, exponent) if isinstance(exponent, int) else 0
        return format(value.quantize(Decimal(1).scaleb(places)), "f")
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


# -- orders -------------------------------------------------------------------------------------

_TIF = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
    TimeInForce.POST_ONLY: "PostOnly",
}


def order_status(category: BybitCategory, status: OrderStatus, executed: Decimal) -> str:
    """Bybit's ``orderStatus``: an IOC's unfilled rest is ``PartiallyFilledCanceled`` on spot ("only spot
    has this order status") and ``Cancelled`` with an executed qty on derivatives (v5 enum)."""
    if status is OrderStatus.NEW:
        return "New"
    if status is OrderStatus.PARTIALLY_FILLED:
        return "PartiallyFilled"
    if status is OrderStatus.FILLED:
        return "Filled"
    if status is OrderStatus.REJECTED:
        return "Rejected"
    if category == "spot" and executed > 0:
        return "PartiallyFilledCanceled"
    return "Cancelled"


def reject_reason_of(order: LedgerOrder, status: OrderStatus, executed: Decimal) -> str:
    """``rejectReason`` of an order in ``status``: why the venue ended it, ``EC_NoError`` otherwise."""
    if status is not OrderStatus.EXPIRED:
        return "EC_NoError"
    if order.time_in_force is TimeInForce.POST_ONLY:
        return "EC_PostOnlyWillTakeLiquidity"
    if order.time_in_force is TimeInForce.FOK:
        return "EC_NoEnoughQtyToFill"
    return "EC_CancelForNoFullFill" if executed > 0 else "EC_NoImmediateQtyToFill"


class OrderView:
    """One order as of one moment (a stream event, or now): what :func:`order_entry` renders."""

    __slots__ = ("cancel_type", "cancelled", "executed", "fee", "order", "quote", "status", "updated_ms")

    def __init__(self, at: LedgerOrder | LedgerEvent) -> None:
        """The order ``at`` as it is now, or as the ledger event ``at`` saw it (its status, executed
        quantity and value, and time then: the order itself moves on). ``cancel_type`` is ``UNKNOWN``
        until the venue sets the one Bybit shows for a cancelled order."""
        if isinstance(at, LedgerEvent):
            self.order, self.status, self.updated_ms = at.order, at.status, at.time_ms
            self.executed, self.quote = at.executed_qty, at.cum_quote
            self.cancelled = at.exec_type is ExecType.CANCELED
        else:
            self.order, self.status, self.updated_ms = at, at.status, at.updated_ms
            self.executed, self.quote = at.executed_qty, at.cum_quote
            self.cancelled = at.status is OrderStatus.CANCELED
        self.cancel_type = "UNKNOWN"
        # The fee of the trades behind ``executed`` (an event sees only the trades before it).
        fee, filled = ZERO, ZERO
        for trade in self.order.trades:
            if filled >= self.executed:
                break
            fee += trade.fee
            filled += trade.qty
        self.fee = fee


def _streamed(category: str, entry: dict[str, Any], **stream_only: Any) -> dict[str, Any]:
    # The private stream's form of a REST list's record: ``category`` first, then the record, then
    # the fields only the stream carries
    return {"category": category, **entry, **stream_only}


def order_entry(
    category: BybitCategory,
    view: OrderView,
    rules: SymbolRules,
    *,
    fee_asset: str,
    market_unit: str = "",
    last_price: str = "",
    stream: bool = False,
) -> dict[str, Any]:
    """One order as ``/v5/order/realtime``/``history`` list it (``stream``: as the ``order`` topic does).

    Spot orders carry neither ``createType`` nor ``tpslMode`` (v5 docs: "Spot does not have this
    field"): ccxt tells a contract order from a spot one by ``tpslMode`` alone.
    """
    order = view.order
    is_open = view.status.is_open
    leaves = order.qty - view.executed if is_open else ZERO
    price = order.price if order.price is not None else ZERO
    avg = view.quote / view.executed if view.executed else None
    entry: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": wire_order_id(category, order.order_id),
        "orderLinkId": order.client_id if not order.client_id.startswith("~") else "",
        "blockTradeId": "",
        "side": "Buy" if order.side is Side.BUY else "Sell",
        "orderType": "Limit" if order.type is OrderType.LIMIT else "Market",
        "cancelType": view.cancel_type,
        "price": decimal_text(price, rules.tick_size) if order.price is not None else "0",
        "qty": decimal_text(order.qty, rules.step_size),
        "orderIv": "",
        "timeInForce": "IOC" if order.type is OrderType.MARKET else _TIF[order.time_in_force],
        "orderStatus": order_status(category, view.status, view.executed),
        "isLeverage": "0" if category == "spot" else "",
        "lastPriceOnCreated": last_price if category == "linear" else "",
        "reduceOnly": order.reduce_only,
        "leavesQty": decimal_text(leaves, rules.step_size),
        "leavesValue": decimal_text(leaves * price),
        "cumExecQty": decimal_text(view.executed, rules.step_size),
        "cumExecValue": decimal_text(view.quote),
        "avgPrice": decimal_text(avg) if avg is not None else "",
        "positionIdx": 0,
        "cumExecFee": decimal_text(view.fee),
        "cumFeeDetail": {fee_asset: decimal_text(view.fee)} if view.fee else {},
        "createdTime": str(order.created_ms),
        "updatedTime": str(view.updated_ms),
        "rejectReason": reject_reason_of(order, view.status, view.executed),
        "stopOrderType": "",
        "triggerPrice": "0" if category == "spot" else "",
        "takeProfit": "0" if category == "spot" else "",
        "stopLoss": "0" if category == "spot" else "",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "tpLimitPrice": "0",
        "slLimitPrice": "0",
        "triggerDirection": 0,
        "triggerBy": "",
        "closeOnTrigger": False,
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "marketUnit": market_unit,
    }
    if category == "linear":
        entry["createType"] = "CreateByUser"
        entry["tpslMode"] = ""
        entry["slippageToleranceType"] = "UNKNOWN"
        entry["slippageTolerance"] = "0"
    return _streamed(category, entry, feeCurrency="", closedPnl="0") if stream else entry


def execution_entry(
    category: BybitCategory,
    trade: LedgerTrade,
    order: LedgerOrder,
    rules: SymbolRules,
    *,
    fee_rate: Decimal,
    mark_price: str = "",
    seq: int = 0,
    stream: bool = False,
    fast: bool = False,
) -> dict[str, Any]:
    """One execution as ``/v5/execution/list`` lists it (``stream``: the ``execution`` topic;
    ``fast``: the few fields of ``execution.fast``)."""
    link_id = order.client_id if not order.client_id.startswith("~") else ""
    side = "Buy" if trade.side is Side.BUY else "Sell"
    if fast:
        return {
            "category": category,
            "symbol": trade.symbol,
            "execId": wire_exec_id(category, trade.trade_id),
            "execPrice": decimal_text(trade.price, rules.tick_size),
            "execQty": decimal_text(trade.qty, rules.step_size),
            "orderId": wire_order_id(category, order.order_id),
            "isMaker": trade.is_maker,
            "orderLinkId": link_id,
            "side": side,
            "execTime": str(trade.time_ms),
            "seq": seq,
        }
    filled = ZERO
    for earlier in order.trades:
        filled += earlier.qty
        if earlier.trade_id == trade.trade_id:
            break
    entry: dict[str, Any] = {
        "symbol": trade.symbol,
        "orderType": "Limit" if order.type is OrderType.LIMIT else "Market",
        "underlyingPrice": "",
        "orderLinkId": link_id,
        "orderId": wire_order_id(category, order.order_id),
        "stopOrderType": "" if category == "spot" else "UNKNOWN",
        "execTime": str(trade.time_ms),
        "feeCurrency": trade.fee_asset if category == "spot" else "",
        "feeRate": decimal_text(fee_rate),
        "tradeIv": "",
        "blockTradeId": "",
        "markPrice": mark_price,
        "execPrice": decimal_text(trade.price, rules.tick_size),
        "markIv": "",
        "orderQty": decimal_text(order.qty, rules.step_size),
        "orderPrice": decimal_text(order.price, rules.tick_size) if order.price is not None else "0",
        "execValue": decimal_text(trade.quote_qty),
        "closedSize": "" if category == "spot" else decimal_text(trade.qty if trade.realized_pnl else ZERO),
        "execType": "Trade",
        "seq": seq,
        "side": side,
        "indexPrice": "",
        "leavesQty": decimal_text(order.qty - filled, rules.step_size),
        "isMaker": trade.is_maker,
        "execFee": decimal_text(trade.fee),
        "execId": wire_exec_id(category, trade.trade_id),
        "execQty": decimal_text(trade.qty, rules.step_size),
        "marketUnit": "",
        "extraFees": "",
    }
    if category == "linear":
        entry["createType"] = "CreateByUser"
    if not stream:
        return entry
    return _streamed(
        category, entry, isLeverage="0" if category == "spot" else "", execPnl=decimal_text(trade.realized_pnl)
    )


def funding_execution_entry(
    payment: FundingPayment, rules: SymbolRules, *, order_id: str, seq: int, stream: bool = False
) -> dict[str, Any]:
    """One funding settlement as Bybit lists it among the executions (``execType`` ``Funding``; the
    ``execution`` topic with ``stream``), e.g. ``{"symbol":"BTCUSDT","execType":"Funding","side":"Sell",
    "execPrice":"26898.2","execQty":"3.00238","execValue":"80758.617716","execFee":"-8.0758617716",
    "feeRate":"0.0001","markPrice":"26898.2","orderId":"16791","orderLinkId":"","orderType":"UNKNOWN",
    "execTime":"1679184000000",...}``: the side of the position, its size at the mark price, the funding
    rate, and ``execFee`` what it paid (negative: received), at the funding time."""
    side = "Buy" if payment.position > 0 else "Sell"
    entry: dict[str, Any] = {
        "symbol": payment.symbol,
        "orderType": "UNKNOWN",
        "underlyingPrice": "",
        "orderLinkId": "",
        "orderId": order_id,
        "stopOrderType": "UNKNOWN",
        "execTime": str(payment.funding_ms),
        "feeCurrency": "",
        "createType": "",
        "feeRate": decimal_text(payment.rate),
        "tradeIv": "",
        "blockTradeId": "",
        "markPrice": decimal_text(payment.mark_price, rules.tick_size),
        "execPrice": decimal_text(payment.mark_price, rules.tick_size),
        "markIv": "",
        "orderQty": "0",
        "orderPrice": "0",
        "execValue": decimal_text(payment.value),
        "closedSize": "0",
        "execType": "Funding",
        "seq": seq,
        "side": side,
        "indexPrice": "",
        "leavesQty": "0",
        "isMaker": False,
        "execFee": decimal_text(-payment.payment),
        "execId": funding_exec_id(payment.payment_id),
        "execQty": decimal_text(abs(payment.position), rules.step_size),
        "marketUnit": "",
        "extraFees": "",
    }
    return _streamed("linear", entry, isLeverage="0", execPnl="0") if stream else entry


def transaction_entry(
    *,
    entry_id: str,
    kind: Literal["TRADE", "SETTLEMENT"],
    symbol: str,
    side: str,
    time_ms: int,
    qty: str,
    size: str,
    currency: str,
    trade_price: str,
    funding: Decimal | None,
    fee: Decimal,
    cash_flow: Decimal,
    cash_balance: Decimal,
    fee_rate: Decimal,
    trade_id: str,
    order_id: str,
    order_link_id: str,
) -> dict[str, Any]:
    """One row of ``/v5/account/transaction-log`` (linear), e.g. the documented funding
    ``{"id":"592324_XRPUSDT_161440249321","symbol":"XRPUSDT","side":"Buy","funding":"-0.003676",
    "orderLinkId":"","orderId":"1672128000-8-592324-1-2","fee":"0.00000000","change":"-0.003676",
    "cashFlow":"0","transactionTime":"1672128000000","type":"SETTLEMENT","feeRate":"0.0001",
    "bonusChange":"","size":"100","qty":"100","cashBalance":"5086.55825002","currency":"USDT",
    "category":"linear","tradePrice":"0.3676","tradeId":"534c0003-..."}``: ``funding`` > 0 received,
    ``fee`` > 0 paid, ``change = cashFlow + funding - fee``, ``cashBalance`` the wallet after it."""
    change = cash_flow + (funding or ZERO) - fee
    return {
        "id": entry_id,
        "symbol": symbol,
        "side": side,
        "funding": decimal_text(funding) if funding is not None else "",
        "orderLinkId": order_link_id,
        "orderId": order_id,
        "fee": format(fee.quantize(Decimal("0.00000001")), "f"),
        "change": decimal_text(change),
        "cashFlow": decimal_text(cash_flow),
        "transactionTime": str(time_ms),
        "type": kind,
        "transSubType": "",
        "feeRate": decimal_text(fee_rate),
        "bonusChange": "",
        "size": size,
        "qty": qty,
        "cashBalance": format(cash_balance.quantize(Decimal("0.00000001")), "f"),
        "currency": currency,
        "category": "linear",
        "tradePrice": trade_price,
        "tradeId": trade_id,
    }
