"""Bybit v5 order and execution messages (spot and linear) as typed structs, and their normalized form.

The private stream's ``order`` and ``execution`` topics and the REST ``/v5/order/realtime``,
``/v5/order/history`` and ``/v5/execution/list`` rows share one shape per kind, so one struct each
reads both. Bybit's create reply is an acknowledgement only (``{"orderId","orderLinkId"}``): an
order's state and fills always come from these messages.
"""

from __future__ import annotations

__all__ = [
    "REFUSALS",
    "BybitExecution",
    "BybitFeeRate",
    "BybitOrder",
    "BybitTransaction",
    "account_fees",
    "balances",
    "fills",
    "funding_payments",
    "order_update",
    "position_and_entry",
    "state_of",
]

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from connectors.common.orders import OrderState, RefusalAnswers, VenueFill, VenueOrderUpdate
from connectors.common.private import AccountFees, FundingPayment

_F = msgspec.field
ZERO = Decimal(0)

_STATES = {
    "Created": OrderState.ACCEPTED,
    "New": OrderState.ACCEPTED,
    "Untriggered": OrderState.ACCEPTED,
    "Triggered": OrderState.ACCEPTED,
    "PartiallyFilled": OrderState.PARTIALLY_FILLED,
    "Filled": OrderState.FILLED,
    "Cancelled": OrderState.CANCELED,
    "PartiallyFilledCanceled": OrderState.CANCELED,
    "Deactivated": OrderState.CANCELED,
    "Rejected": OrderState.REJECTED,
}


POST_ONLY_REFUSED = "EC_PostOnlyWillTakeLiquidity"
"""``rejectReason`` of a post-only order that would have taken: Bybit accepts it, then cancels it."""


def state_of(status: str, time_in_force: str = "", reject_reason: str = "") -> OrderState:
    """arb's state for a Bybit ``orderStatus``; an immediate-or-cancel order's cancelled rest is expiry,
    and so is a post-only order cancelled because it would have taken (as Binance's ``GTX`` expires)."""
    state = _STATES.get(status, OrderState.ACCEPTED)
    if state is OrderState.CANCELED and time_in_force in ("IOC", "FOK"):
        return OrderState.EXPIRED
    if state in (OrderState.CANCELED, OrderState.REJECTED) and reject_reason == POST_ONLY_REFUSED:
        return OrderState.EXPIRED
    return state


def _decimal(text: Any) -> Decimal:
    # Bybit sends "" for fields that do not apply yet (avgPrice of an unfilled order)
    return Decimal(text) if text not in (None, "") else ZERO


class BybitOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An ``order`` topic item or a ``/v5/order/realtime`` row.

    Sample: ``{"category":"spot","symbol":"BTCUSDT","orderId":"1790...","orderLinkId":"arb-...",
    "side":"Buy","orderStatus":"Filled","timeInForce":"IOC","price":"61838.1","qty":"0.001",
    "cumExecQty":"0.001","cumExecValue":"61.8381","avgPrice":"61838.1","updatedTime":"1723161255343"}``.
    """

    symbol: str
    order_id: str = _F(name="orderId")
    client_id: str = _F(name="orderLinkId", default="")
    status: str = _F(name="orderStatus")
    time_in_force: str = _F(name="timeInForce", default="")
    reject_reason: str = _F(name="rejectReason", default="")
    cum_exec_qty: str = _F(name="cumExecQty", default="0")
    cum_exec_value: str = _F(name="cumExecValue", default="")
    updated_time_ms: int = _F(name="updatedTime", default=0)


class BybitExecution(msgspec.Struct, frozen=True, kw_only=True):
    """An ``execution`` topic item or a ``/v5/execution/list`` row.

    Sample: ``{"category":"linear","symbol":"BTCUSDT","execId":"7e2ae69c-...","orderId":"1790...",
    "orderLinkId":"arb-...","side":"Sell","execPrice":"61810.1","execQty":"0.001",
    "execFee":"0.03708606","feeRate":"0.0006","execTime":"1723161255343","isMaker":false,
    "feeCurrency":"USDT"}``.
    """

    symbol: str
    exec_id: str = _F(name="execId")
    order_id: str = _F(name="orderId")
    client_id: str = _F(name="orderLinkId", default="")
    side: str
    exec_price: Decimal = _F(name="execPrice")
    exec_qty: Decimal = _F(name="execQty")
    exec_fee: Decimal = _F(name="execFee", default=ZERO)
    fee_currency: str = _F(name="feeCurrency", default="")
    exec_time_ms: int = _F(name="execTime")
    is_maker: bool = _F(name="isMaker", default=False)
    exec_type: str = _F(name="execType", default="Trade")


def order_update(raw: Mapping[str, Any]) -> VenueOrderUpdate | None:
    """The order state in an ``order`` item or realtime/history row; None for anything else."""
    if "orderStatus" not in raw:
        return None
    order = msgspec.convert(raw, BybitOrder, strict=False)
    value = _decimal(order.cum_exec_value) if order.cum_exec_value else None
    return VenueOrderUpdate(
        order.client_id,
        order.order_id,
        state_of(order.status, order.time_in_force, order.reject_reason),
        _decimal(order.cum_exec_qty),
        value,
        order.updated_time_ms,
        order.symbol,
    )


def fills(raw: Mapping[str, Any], *, spot: bool, base_asset: str = "", quote_asset: str = "") -> list[VenueFill]:
    """The fill in an ``execution`` item or ``/v5/execution/list`` row (trades only, not funding).

    Without ``feeCurrency``, the fee asset is the venue's rule for the market (``spot``: REST rows do
    not repeat the category): a spot buy pays in the base coin, a spot sell and every linear fill in
    the quote (settle) coin.
    """
    if "execId" not in raw:
        return []
    ex = msgspec.convert(raw, BybitExecution, strict=False)
    if ex.exec_type not in ("Trade", "") or ex.exec_qty <= 0:
        return []
    side = 1 if ex.side == "Buy" else -1
    fee_asset = ex.fee_currency
    if not fee_asset:
        fee_asset = base_asset if (spot and side > 0) else quote_asset
    return [
        VenueFill(
            ex.exec_id,
            ex.client_id,
            ex.order_id,
            side,
            ex.exec_price,
            ex.exec_qty,
            ex.exec_fee,
            fee_asset,
            ex.exec_time_ms,
            ex.is_maker,
            ex.symbol,
        )
    ]


def balances(raw: Mapping[str, Any]) -> dict[str, Decimal]:
    """Wallet balance per coin from ``GET /v5/account/wallet-balance?accountType=UNIFIED``."""
    out: dict[str, Decimal] = {}
    for account in ((raw or {}).get("result") or {}).get("list") or []:
        for coin in account.get("coin") or []:
            out[str(coin["coin"])] = _decimal(coin.get("walletBalance"))
    return out


def position_and_entry(raw: Mapping[str, Any], symbol: str) -> tuple[Decimal, Decimal]:
    """The signed one-way position of ``symbol`` and its average entry price (0 when flat) from
    ``GET /v5/position/list?category=linear``, e.g. ``{"result":{"list":[{"symbol":"BTCUSDT","side":"Sell",
    "size":"0.030","avgPrice":"60300",...}]}}``."""
    total, cost = ZERO, ZERO
    for row in ((raw or {}).get("result") or {}).get("list") or []:
        if row.get("symbol") == symbol:
            size = _decimal(row.get("size"))
            signed = size if row.get("side") == "Buy" else -size if row.get("side") == "Sell" else ZERO
            total += signed
            cost += signed * _decimal(row.get("avgPrice"))
    return total, (cost / total if total else ZERO)


class BybitTransaction(msgspec.Struct, frozen=True, kw_only=True):
    """One ``/v5/account/transaction-log`` entry.

    Sample (a funding settlement): ``{"id":"592324_XRPUSDT_161440249321","symbol":"XRPUSDT","side":"Buy",
    "funding":"-0.003676","orderLinkId":"","orderId":"1672128000-8-592324-1-2","fee":"0.00000000",
    "change":"-0.003676","cashFlow":"0","transactionTime":"1672128000000","type":"SETTLEMENT",
    "feeRate":"0.0001","size":"100","qty":"100","cashBalance":"5086.55825002","currency":"USDT",
    "category":"linear","tradePrice":"0.3676","tradeId":"534c0003-..."}`` (``funding`` > 0 received).
    """

    entry_id: str = _F(name="id", default="")
    symbol: str
    kind: str = _F(name="type")
    funding: str = ""
    currency: str
    transaction_time_ms: int = _F(name="transactionTime")


class BybitFeeRate(msgspec.Struct, frozen=True):
    """One row of ``GET /v5/account/fee-rate?category=spot|linear&symbol=S``'s ``result.list``:
    ``{"symbol":"ETHUSDT","takerFeeRate":"0.0006","makerFeeRate":"0.0001"}``."""

    symbol: str
    taker: Decimal = _F(name="takerFeeRate")
    maker: Decimal = _F(name="makerFeeRate")


def account_fees(raw: Mapping[str, Any], symbol: str) -> AccountFees | None:
    """``symbol``'s rates from a ``/v5/account/fee-rate`` answer (None when its list does not name it)."""
    for row in ((raw or {}).get("result") or {}).get("list") or []:
        rate = msgspec.convert(row, BybitFeeRate, strict=False)
        if rate.symbol == symbol:
            return AccountFees(symbol, rate.maker, rate.taker, detail=f"maker {rate.maker}, taker {rate.taker}")
    return None


def funding_payments(rows: Sequence[Any], symbol: str) -> list[FundingPayment]:
    """The ``SETTLEMENT`` entries of ``symbol`` in ``/v5/account/transaction-log`` rows as payments."""
    out = []
    for row in rows:
        entry = msgspec.convert(row, BybitTransaction, strict=False)
        if entry.kind == "SETTLEMENT" and entry.symbol == symbol and entry.funding:
            out.append(
                FundingPayment(
                    entry.symbol, Decimal(entry.funding), entry.currency, entry.transaction_time_ms, entry.entry_id
                )
            )
    return out


REFUSALS = {
    "spot": RefusalAnswers(
        price=(170134, "Order price decimal too long."),
        lot=(170137, "Order volume decimal too long."),
        min_qty=(170136, "Order quantity lower than the minimum."),
        notional=(170140, "Order value exceeded lower limit."),
        balance=(170131, "Insufficient balance."),
        post_only=("EC_PostOnlyWillTakeLiquidity", "post-only order would take liquidity"),
        cancel_miss=(170213, "Order does not exist."),
    ),
    "linear": RefusalAnswers(
        price=(10001, "The number of decimal places for price is too large."),
        lot=(10001, "Qty invalid."),
        notional=(110094, "Order value is lower than the minimum order value."),
        balance=(110007, "Insufficient available balance."),
        post_only=("EC_PostOnlyWillTakeLiquidity", "post-only order would take liquidity"),
        cancel_miss=(110001, "order not exists or too late to cancel"),
    ),
}
"""Bybit's answers to refused orders and cancels, by market (v5 ``retCode``; a post-only order that would
take is accepted and cancelled with the reject reason ``EC_PostOnlyWillTakeLiquidity``)."""
