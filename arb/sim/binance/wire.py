"""Binance private wire formats for the fake venue (spot and USD-M): signatures, reject codes, JSON.

Pure functions, no I/O: :mod:`arb.sim.binance.exchange` serves what they build. Field names,
their order and JSON types follow Binance's documentation (binance-spot-api-docs ``rest-api.md``,
``user-data-stream.md``, ``errors.md``; developers.binance.com USD-M "New Order", "Query Order",
"Account Trade List", "Futures Account Balance V2", "Position Information V2", "User Data Streams")
and the REST bodies ccxt's maintainers recorded (``tests/fixtures/binance.response.subset.json``):
spot numbers are 8-decimal strings (``"0.00100000"``), USD-M numbers carry the symbol's precision.
Error codes and texts are those of the venues' error tables as ccxt 4.5.90 maps them
(``ccxt/binance.py`` ``exceptions``).
"""

from __future__ import annotations

__all__ = [
    "LINEAR_REJECTS",
    "SPOT_REJECTS",
    "BinanceMarket",
    "account_update_event",
    "execution_report",
    "funding_income",
    "futures_order",
    "futures_order_event",
    "futures_trade",
    "income_entry",
    "position_risk",
    "reject_error",
    "signature",
    "spot_order",
    "spot_trade",
    "status_text",
    "ws_payload",
    "ws_text",
]

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from arb.sim.ledger import (
    FundingPayment,
    LedgerEvent,
    LedgerOrder,
    LedgerTrade,
    OrderStatus,
    OrderType,
    Position,
    RejectReason,
    Side,
    SymbolRules,
    TimeInForce,
)

BinanceMarket = Literal["spot", "linear"]
ZERO = Decimal(0)


def signature(secret: str, payload: str) -> str:
    """Binance's HMAC-SHA256 signature (hex) of ``payload``: the request's query string and body with
    the ``signature`` parameter left out (REST), or the WS-API request's params sorted by name and
    joined as a query string."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def ws_text(value: Any) -> str:
    """A WS-API parameter's JSON value as text, as it is signed and as REST would carry it: booleans
    ``true``/``false``, numbers and strings as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ws_payload(params: Mapping[str, Any]) -> str:
    """What a WS-API request's ``signature`` signs: every other parameter, sorted by name, as
    ``name=value`` joined by ``&`` (values unencoded, :func:`ws_text`)."""
    return "&".join(f"{name}={ws_text(params[name])}" for name in sorted(params) if name != "signature")


# -- rejections ---------------------------------------------------------------------------------

SPOT_REJECTS: Mapping[RejectReason, tuple[int, str]] = {
    RejectReason.UNKNOWN_SYMBOL: (-1121, "Invalid symbol."),
    RejectReason.PRICE_TICK: (-1013, "Filter failure: PRICE_FILTER"),
    RejectReason.PRICE_RANGE: (-1013, "Filter failure: PRICE_FILTER"),
    RejectReason.QTY_STEP: (-1013, "Filter failure: LOT_SIZE"),
    RejectReason.QTY_MIN: (-1013, "Filter failure: LOT_SIZE"),
    RejectReason.QTY_MAX: (-1013, "Filter failure: LOT_SIZE"),
    RejectReason.NOTIONAL_MIN: (-1013, "Filter failure: NOTIONAL"),
    RejectReason.INSUFFICIENT_BALANCE: (-2010, "Account has insufficient balance for requested action."),
    RejectReason.DUPLICATE_CLIENT_ID: (-2010, "Duplicate order sent."),
    RejectReason.INVALID_CLIENT_ID: (
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'.",
    ),
    RejectReason.PRICE_REQUIRED: (-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."),
    RejectReason.REDUCE_ONLY: (-1104, "Not all sent parameters were read; 'reduceOnly' is not a spot parameter."),
    RejectReason.FOK_UNFILLED: (-2010, "Order would not fill completely."),
    RejectReason.POST_ONLY_TAKES: (-2010, "Order would immediately match and take."),
}
"""Spot (HTTP 400): filter failures are ``-1013`` before the matching engine, ``-2010`` from it."""

LINEAR_REJECTS: Mapping[RejectReason, tuple[int, str]] = {
    RejectReason.UNKNOWN_SYMBOL: (-1121, "Invalid symbol."),
    RejectReason.PRICE_TICK: (-4014, "Price not increased by tick size."),
    RejectReason.PRICE_RANGE: (-4013, "Price less than min price."),  # above max: -4016, see reject_error
    RejectReason.QTY_STEP: (-4023, "Qty not increased by step size."),
    RejectReason.QTY_MIN: (-4004, "Quantity less than min quantity."),
    RejectReason.QTY_MAX: (-4005, "Quantity greater than max quantity."),
    RejectReason.NOTIONAL_MIN: (
        -4164,
        "Order's notional must be no smaller than {min} (unless you choose reduce only).",
    ),
    RejectReason.INSUFFICIENT_BALANCE: (-2019, "Margin is insufficient."),
    RejectReason.DUPLICATE_CLIENT_ID: (-4116, "ClientOrderId is duplicated."),
    RejectReason.INVALID_CLIENT_ID: (-4015, "Client order id is not valid."),
    RejectReason.PRICE_REQUIRED: (-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."),
    RejectReason.REDUCE_ONLY: (-2022, "ReduceOnly Order is rejected."),
    RejectReason.FOK_UNFILLED: (
        -5021,
        "Due to the order could not be filled immediately, the FOK order has been rejected.",
    ),
    RejectReason.POST_ONLY_TAKES: (
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected.",
    ),
}
"""USD-M (HTTP 400)."""


def reject_error(
    market: BinanceMarket, reason: RejectReason, rules: SymbolRules | None = None, price: Decimal | None = None
) -> tuple[int, str]:
    """``(code, msg)`` for a ledger rejection."""
    if market == "spot":
        return SPOT_REJECTS[reason]
    code, msg = LINEAR_REJECTS[reason]
    if reason is RejectReason.PRICE_RANGE and rules is not None and price is not None and price > rules.max_price:
        return -4016, f"Limit price can't be higher than {plain(rules.max_price)}."
    if reason is RejectReason.NOTIONAL_MIN:
        msg = msg.format(min=plain(rules.min_notional) if rules is not None else "5")
    return code, msg


# -- numbers and names --------------------------------------------------------------------------


def plain(value: Decimal) -> str:
    """As few decimals as needed: ``"5"``, ``"0.001"``."""
    return "0" if value == 0 else format(value.normalize(), "f")


def fixed(value: Decimal, places: int = 8) -> str:
    """Spot's fixed-decimals strings: ``"61837.63000000"``."""
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


def stepped(value: Decimal, step: Decimal) -> str:
    """USD-M strings with the decimals of ``step`` (``"0.010"`` for step 0.001)."""
    exponent = step.normalize().as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK", TimeInForce.POST_ONLY: "GTX"}
_STATUS = {
    OrderStatus.NEW: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.EXPIRED: "EXPIRED",
    OrderStatus.REJECTED: "REJECTED",
}


def status_text(status: OrderStatus) -> str:
    return _STATUS[status]


def side_text(side: Side) -> str:
    return "BUY" if side is Side.BUY else "SELL"


def _type_text(order: LedgerOrder, market: BinanceMarket) -> str:
    if order.type is OrderType.MARKET:
        return "MARKET"
    if market == "spot" and order.time_in_force is TimeInForce.POST_ONLY:
        return "LIMIT_MAKER"
    return "LIMIT"


def _tif_text(order: LedgerOrder, market: BinanceMarket) -> str:
    if market == "spot" and order.time_in_force is TimeInForce.POST_ONLY:
        return "GTC"
    return _TIF[order.time_in_force]


# -- orders -------------------------------------------------------------------------------------


def spot_order(
    order: LedgerOrder,
    *,
    status: OrderStatus | None = None,
    executed: Decimal | None = None,
    quote: Decimal | None = None,
    kind: Literal["ACK", "RESULT", "FULL", "QUERY", "CANCEL"] = "QUERY",
    cancel_client_id: str = "",
) -> dict[str, Any]:
    """A spot order as ``POST/GET/DELETE /api/v3/order`` answers it.

    ``ACK``: ``{symbol, orderId, orderListId, clientOrderId, transactTime}``; ``RESULT`` adds the
    order's state; ``FULL`` adds ``fills``; ``QUERY`` is ``GET /api/v3/order``'s shape (``time``,
    ``updateTime``, ``isWorking``); ``CANCEL`` is ``DELETE /api/v3/order``'s (``origClientOrderId``).
    """
    status = order.status if status is None else status
    executed = order.executed_qty if executed is None else executed
    quote = order.cum_quote if quote is None else quote
    price = fixed(order.price or ZERO)
    state = {
        "price": price,
        "origQty": fixed(order.qty),
        "executedQty": fixed(executed),
        "cummulativeQuoteQty": fixed(quote),
        "status": status_text(status),
        "timeInForce": _tif_text(order, "spot"),
        "type": _type_text(order, "spot"),
        "side": side_text(order.side),
    }
    if kind == "CANCEL":
        return {"symbol": order.symbol, "origClientOrderId": order.client_id, "orderId": order.order_id,
                "orderListId": -1, "clientOrderId": cancel_client_id, "transactTime": order.updated_ms,
                **state, "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "EXPIRE_MAKER"}  # fmt: skip
    if kind == "QUERY":
        return {"symbol": order.symbol, "orderId": order.order_id, "orderListId": -1,
                "clientOrderId": order.client_id, **state, "stopPrice": "0.00000000", "icebergQty": "0.00000000",
                "time": order.created_ms, "updateTime": order.updated_ms, "isWorking": True,
                "workingTime": order.created_ms, "origQuoteOrderQty": "0.00000000",
                "selfTradePreventionMode": "EXPIRE_MAKER"}  # fmt: skip
    head = {"symbol": order.symbol, "orderId": order.order_id, "orderListId": -1, "clientOrderId": order.client_id,
            "transactTime": order.created_ms}  # fmt: skip
    if kind == "ACK":
        return head
    body = {**head, **state, "workingTime": order.created_ms, "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "EXPIRE_MAKER"}  # fmt: skip
    if kind == "FULL":
        body["fills"] = [
            {
                "price": fixed(t.price),
                "qty": fixed(t.qty),
                "commission": fixed(t.fee),
                "commissionAsset": t.fee_asset,
                "tradeId": t.trade_id,
            }
            for t in order.trades
        ]
    return body


def futures_order(
    order: LedgerOrder,
    rules: SymbolRules,
    *,
    status: OrderStatus | None = None,
    executed: Decimal | None = None,
    quote: Decimal | None = None,
    query: bool = False,
) -> dict[str, Any]:
    """A USD-M order as ``POST/GET/DELETE /fapi/v1/order`` answers it (``query`` adds ``time``)."""
    status = order.status if status is None else status
    executed = order.executed_qty if executed is None else executed
    quote = order.cum_quote if quote is None else quote
    average = quote / executed if executed else ZERO
    body: dict[str, Any] = {
        "orderId": order.order_id,
        "symbol": order.symbol,
        "status": status_text(status),
        "clientOrderId": order.client_id,
        "price": stepped(order.price or ZERO, rules.tick_size),
        "avgPrice": stepped(average, rules.tick_size * Decimal("0.00001")),
        "origQty": stepped(order.qty, rules.step_size),
        "executedQty": stepped(executed, rules.step_size),
        "cumQty": stepped(executed, rules.step_size),
        "cumQuote": stepped(quote, Decimal("0.00001")),
        "timeInForce": _tif_text(order, "linear"),
        "type": _type_text(order, "linear"),
        "reduceOnly": order.reduce_only,
        "closePosition": False,
        "side": side_text(order.side),
        "positionSide": "BOTH",
        "stopPrice": stepped(ZERO, rules.tick_size),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": _type_text(order, "linear"),
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
    }
    if query:
        body["time"] = order.created_ms
    body["updateTime"] = order.updated_ms
    return body


# -- trades -------------------------------------------------------------------------------------


def spot_trade(trade: LedgerTrade) -> dict[str, Any]:
    """One ``GET /api/v3/myTrades`` row."""
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": fixed(trade.price),
        "qty": fixed(trade.qty),
        "quoteQty": fixed(trade.quote_qty),
        "commission": fixed(trade.fee),
        "commissionAsset": trade.fee_asset,
        "time": trade.time_ms,
        "isBuyer": trade.side is Side.BUY,
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }


def futures_trade(trade: LedgerTrade, rules: SymbolRules) -> dict[str, Any]:
    """One ``GET /fapi/v1/userTrades`` row."""
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "side": side_text(trade.side),
        "price": stepped(trade.price, rules.tick_size),
        "qty": stepped(trade.qty, rules.step_size),
        "realizedPnl": fixed(trade.realized_pnl),
        "marginAsset": rules.quote,
        "quoteQty": stepped(trade.quote_qty, Decimal("0.00001")),
        "commission": fixed(trade.fee),
        "commissionAsset": trade.fee_asset,
        "time": trade.time_ms,
        "positionSide": "BOTH",
        "buyer": trade.side is Side.BUY,
        "maker": trade.is_maker,
    }


# -- user-stream events -------------------------------------------------------------------------

_EXEC_TYPE = {"new": "NEW", "trade": "TRADE", "canceled": "CANCELED", "expired": "EXPIRED"}


def _event_fields(
    event: LedgerEvent,
) -> tuple[LedgerOrder, str, OrderStatus, Decimal, Decimal, LedgerTrade | None, int]:
    """``event``'s order, exec type, order status, executed quantity, cumulative quote, trade and time."""
    return (event.order, event.exec_type.value, event.status, event.executed_qty, event.cum_quote, event.trade,
            event.time_ms)  # fmt: skip


def execution_report(event: LedgerEvent, *, cancel_client_id: str = "") -> dict[str, Any]:
    """Spot ``executionReport``; a cancel carries a new client id in ``c`` and the order's in ``C``."""
    order, exec_type, status, executed, quote, trade, event_ms = _event_fields(event)
    canceled = exec_type == "canceled"
    return {
        "e": "executionReport",
        "E": event_ms,
        "s": order.symbol,
        "c": cancel_client_id if canceled and cancel_client_id else order.client_id,
        "S": side_text(order.side),
        "o": _type_text(order, "spot"),
        "f": _tif_text(order, "spot"),
        "q": fixed(order.qty),
        "p": fixed(order.price or ZERO),
        "P": "0.00000000",
        "F": "0.00000000",
        "g": -1,
        "C": order.client_id if canceled and cancel_client_id else "",
        "x": _EXEC_TYPE[exec_type],
        "X": status_text(status),
        "r": "NONE",
        "i": order.order_id,
        "l": fixed(trade.qty if trade else ZERO),
        "z": fixed(executed),
        "L": fixed(trade.price if trade else ZERO),
        "n": fixed(trade.fee if trade else ZERO),
        "N": trade.fee_asset if trade else None,
        "T": trade.time_ms if trade else event_ms,
        "t": trade.trade_id if trade else -1,
        "I": 0,
        "w": status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED),
        "m": trade.is_maker if trade else False,
        "M": False,
        "O": order.created_ms,
        "Z": fixed(quote),
        "Y": fixed(trade.quote_qty if trade else ZERO),
        "Q": "0.00000000",
        "W": order.created_ms,
        "V": "EXPIRE_MAKER",
    }


def futures_order_event(event: LedgerEvent, rules: SymbolRules) -> dict[str, Any]:
    """USD-M ``ORDER_TRADE_UPDATE`` (commission fields only when there is a commission)."""
    order, exec_type, status, executed, quote, trade, event_ms = _event_fields(event)
    average = quote / executed if executed else ZERO
    inner: dict[str, Any] = {
        "s": order.symbol,
        "c": order.client_id,
        "S": side_text(order.side),
        "o": _type_text(order, "linear"),
        "f": _tif_text(order, "linear"),
        "q": stepped(order.qty, rules.step_size),
        "p": stepped(order.price or ZERO, rules.tick_size),
        "ap": stepped(average, rules.tick_size * Decimal("0.00001")),
        "sp": "0",
        "x": _EXEC_TYPE[exec_type],
        "X": status_text(status),
        "i": order.order_id,
        "l": stepped(trade.qty if trade else ZERO, rules.step_size),
        "z": stepped(executed, rules.step_size),
        "L": stepped(trade.price if trade else ZERO, rules.tick_size),
    }
    if trade is not None:
        inner["N"] = trade.fee_asset
        inner["n"] = fixed(trade.fee)
    inner.update({
        "T": trade.time_ms if trade else event_ms,
        "t": trade.trade_id if trade else 0,
        "b": "0",
        "a": "0",
        "m": trade.is_maker if trade else False,
        "R": order.reduce_only,
        "wt": "CONTRACT_PRICE",
        "ot": _type_text(order, "linear"),
        "ps": "BOTH",
        "cp": False,
        "rp": fixed(trade.realized_pnl if trade else ZERO),
        "pP": False,
        "si": 0,
        "ss": 0,
        "V": "EXPIRE_MAKER",
        "pm": "NONE",
        "gtd": 0,
    })  # fmt: skip
    return {"e": "ORDER_TRADE_UPDATE", "T": inner["T"], "E": event_ms, "o": inner}


def position_risk(
    position: Position, rules: SymbolRules, *, mark: Decimal | None, maintenance_rate: Decimal, updated_ms: int,
    v2: bool, margin_type: str = "cross",
) -> dict[str, Any]:  # fmt: skip
    """One ``GET /fapi/v2|v3/positionRisk`` row (one-way mode: ``positionSide`` ``BOTH``); ``margin_type``
    is ``"cross"`` or ``"isolated"``, as Binance spells it there."""
    mark_price = mark if mark is not None else position.entry_price
    notional = position.qty * mark_price
    upl = (mark_price - position.entry_price) * position.qty if position.qty else ZERO
    row: dict[str, Any] = {
        "symbol": position.symbol,
        "positionSide": "BOTH",
        "positionAmt": stepped(position.qty, rules.step_size),
        "entryPrice": plain(position.entry_price),
        "breakEvenPrice": plain(position.entry_price),
        "markPrice": fixed(mark_price),
        "unRealizedProfit": fixed(upl),
        "liquidationPrice": "0",
        "isolatedMargin": "0",
        "notional": fixed(notional),
        "marginAsset": rules.quote,
        "isolatedWallet": "0",
        "initialMargin": fixed(abs(notional) / position.leverage),
        "maintMargin": fixed(abs(notional) * maintenance_rate),
        "positionInitialMargin": fixed(abs(notional) / position.leverage),
        "openOrderInitialMargin": "0",
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": updated_ms,
    }
    if v2:
        row.update(leverage=plain(position.leverage), marginType=margin_type, maxNotionalValue="1000000",
                   isAutoAddMargin="false")  # fmt: skip
    return row


def account_update_event(
    reason: str, wallet: Decimal, settle: str, positions: list[tuple[Position, Decimal]], event_ms: int,
    rules: Mapping[str, SymbolRules], *, balance_change: Decimal = ZERO,
) -> dict[str, Any]:  # fmt: skip
    """USD-M ``ACCOUNT_UPDATE`` with the settle asset's wallet and the given ``(position, upl)`` pairs.

    ``reason`` is Binance's ``m``: ``"ORDER"`` after fills, ``"FUNDING_FEE"`` after a funding payment on
    a cross position, which Binance pushes with the balance alone (no ``P``), ``balance_change`` (``bc``,
    the wallet's change other than PnL and commission) being the payment."""
    return {
        "e": "ACCOUNT_UPDATE",
        "E": event_ms,
        "T": event_ms,
        "a": {
            "m": reason,
            "B": [{"a": settle, "wb": fixed(wallet), "cw": fixed(wallet), "bc": fixed(balance_change)}],
            "P": [
                {
                    "s": p.symbol,
                    "pa": stepped(p.qty, rules[p.symbol].step_size),
                    "ep": plain(p.entry_price),
                    "bep": plain(p.entry_price),
                    "cr": fixed(p.realized_pnl),
                    "up": fixed(upl),
                    "mt": "cross",
                    "iw": "0",
                    "ps": "BOTH",
                }
                for p, upl in positions
            ],
        },
    }


def income_entry(
    income_type: str, symbol: str, amount: Decimal, asset: str, time_ms: int, tran_id: int, trade_id: str = ""
) -> dict[str, Any]:
    """One row of USD-M ``GET /fapi/v1/income``, e.g. ``{"symbol":"BTCUSDT","incomeType":"FUNDING_FEE",
    "income":"-0.18000000","asset":"USDT","info":"FUNDING_FEE","time":1715040000000,"tranId":9000001,
    "tradeId":""}`` (``income`` > 0 flows in; ``info`` repeats the type, as Binance's examples show it;
    ``tradeId`` is the trade's for ``COMMISSION`` and ``REALIZED_PNL``, empty for funding)."""
    return {"symbol": symbol, "incomeType": income_type, "income": fixed(amount), "asset": asset,
            "info": income_type, "time": time_ms, "tranId": tran_id, "tradeId": trade_id}  # fmt: skip


def funding_income(payment: FundingPayment, asset: str) -> dict[str, Any]:
    """A funding payment as its ``FUNDING_FEE`` income row, timed at the funding time it settles."""
    return income_entry("FUNDING_FEE", payment.symbol, payment.payment, asset, payment.funding_ms, payment.payment_id)
