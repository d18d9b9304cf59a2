"""Binance order and fill messages (spot and USD-M) as typed structs, and their normalized form.

The live executor hands the venue's raw JSON (ccxt keeps it as ``info``) to :func:`order_update`
and :func:`fills`, which decode it into the structs below and return arb's normalized
:class:`~connectors.common.orders.VenueOrderUpdate` / :class:`~connectors.common.orders.VenueFill`,
with the venue's decimal strings kept exact. One function per message shape; the shape is told by its keys
(``"e"`` for stream events, ``"fills"``/``"transactTime"`` for order replies, ``"commission"`` for
trade history).
"""

from __future__ import annotations

__all__ = [
    "REFUSALS",
    "BinanceCommission",
    "BinanceExecutionReport",
    "BinanceFuturesOrderEvent",
    "BinanceIncome",
    "BinanceOrderReply",
    "BinanceTradeRecord",
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
    "NEW": OrderState.ACCEPTED,
    "PENDING_NEW": OrderState.ACCEPTED,
    "PENDING_CANCEL": OrderState.ACCEPTED,
    "PARTIALLY_FILLED": OrderState.PARTIALLY_FILLED,
    "FILLED": OrderState.FILLED,
    "CANCELED": OrderState.CANCELED,
    "EXPIRED": OrderState.EXPIRED,
    "EXPIRED_IN_MATCH": OrderState.EXPIRED,
    "REJECTED": OrderState.REJECTED,
}


def state_of(status: str) -> OrderState:
    """arb's state for a Binance order status (``NEW``, ``PARTIALLY_FILLED``, ``FILLED``, ...)."""
    return _STATES.get(status, OrderState.ACCEPTED)


class _OrderChange(msgspec.Struct, frozen=True, kw_only=True):
    # The fields a spot executionReport and a USD-M order event share (same keys, same meaning).
    symbol: str = _F(name="s")
    client_id: str = _F(name="c")
    side: str = _F(name="S")
    exec_type: str = _F(name="x")
    status: str = _F(name="X")
    order_id: int = _F(name="i")
    last_qty: Decimal = _F(name="l")
    cum_qty: Decimal = _F(name="z")
    last_price: Decimal = _F(name="L")
    fee: Decimal = _F(name="n", default=ZERO)
    fee_asset: str | None = _F(name="N", default=None)
    transaction_time_ms: int = _F(name="T")
    is_maker: bool = _F(name="m", default=False)


class BinanceExecutionReport(_OrderChange, frozen=True, kw_only=True):
    """Spot user stream ``executionReport`` (one per order change; ``x == "TRADE"`` carries a fill).

    Sample: ``{"e":"executionReport","E":1723161255343,"s":"BTCUSDT","c":"arb-...","S":"BUY",
    "o":"LIMIT","f":"IOC","q":"0.00100000","p":"61838.04000000","x":"TRADE","X":"FILLED",
    "i":4293153,"l":"0.00100000","z":"0.00100000","L":"61838.04000000","n":"0.00000100",
    "N":"BTC","T":1723161255343,"t":283199,"m":false,"Z":"61.83804000"}``.
    """

    orig_client_id: str = _F(name="C", default="")
    """Cancels carry the cancelled order's id here (and a new id in ``c``)."""
    cum_quote: Decimal = _F(name="Z", default=ZERO)
    trade_id: int = _F(name="t", default=-1)


class BinanceFuturesOrderEvent(_OrderChange, frozen=True, kw_only=True):
    """USD-M ``ORDER_TRADE_UPDATE``'s ``o`` object.

    Sample: ``{"s":"BTCUSDT","c":"arb-...","S":"SELL","o":"LIMIT","f":"IOC","q":"0.001",
    "p":"61800","ap":"61810.1","x":"TRADE","X":"FILLED","i":8886774,"l":"0.001","z":"0.001",
    "L":"61810.1","N":"USDT","n":"0.02472404","T":1723161255343,"t":123456,"m":false,"R":false,
    "rp":"0"}``.
    """

    avg_price: Decimal = _F(name="ap", default=ZERO)
    trade_id: int = _F(name="t", default=0)


class BinanceFill(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a spot ``FULL`` order reply's ``fills``."""

    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str = _F(name="commissionAsset")
    trade_id: int = _F(name="tradeId")


class BinanceOrderReply(msgspec.Struct, frozen=True, kw_only=True):
    """A REST order (create reply, query): spot ``/api/v3/order``, USD-M ``/fapi/v1/order``.

    Spot FULL sample: ``{"symbol":"BTCUSDT","orderId":28,"clientOrderId":"arb-...",
    "transactTime":1507725176595,"price":"0.10","origQty":"10.0","executedQty":"10.0",
    "cummulativeQuoteQty":"10.0","status":"FILLED","timeInForce":"IOC","type":"LIMIT","side":"SELL",
    "fills":[{"price":"0.10","qty":"5.0","commission":"0.005","commissionAsset":"USDT","tradeId":56}]}``.
    USD-M has ``cumQuote``/``avgPrice``/``updateTime`` instead of ``cummulativeQuoteQty``/``transactTime``.
    """

    symbol: str
    order_id: int = _F(name="orderId")
    client_id: str = _F(name="clientOrderId")
    status: str
    side: str
    executed_qty: Decimal = _F(name="executedQty", default=ZERO)
    spot_cum_quote: Decimal | None = _F(name="cummulativeQuoteQty", default=None)
    futures_cum_quote: Decimal | None = _F(name="cumQuote", default=None)
    transact_time_ms: int = _F(name="transactTime", default=0)
    update_time_ms: int = _F(name="updateTime", default=0)
    fills: list[BinanceFill] = []


class BinanceTradeRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Trade history: spot ``GET /api/v3/myTrades``, USD-M ``GET /fapi/v1/userTrades``.

    Spot sample: ``{"symbol":"BTCUSDT","id":28457,"orderId":100234,"price":"4.00000100",
    "qty":"12.00000000","quoteQty":"48.000012","commission":"10.10000000","commissionAsset":"BNB",
    "time":1499865549590,"isBuyer":true,"isMaker":false}``; USD-M has ``side``/``buyer``/``maker``.
    """

    symbol: str
    trade_id: int = _F(name="id")
    order_id: int = _F(name="orderId")
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str = _F(name="commissionAsset")
    time_ms: int = _F(name="time")
    is_buyer: bool | None = _F(name="isBuyer", default=None)
    buyer: bool | None = None
    side: str | None = None
    is_maker: bool | None = _F(name="isMaker", default=None)
    maker: bool | None = None


def _side(text: str) -> int:
    return 1 if text.upper() == "BUY" else -1


def _event(raw: Mapping[str, Any]) -> BinanceExecutionReport | BinanceFuturesOrderEvent | None:
    if raw.get("e") == "executionReport":
        return msgspec.convert(raw, BinanceExecutionReport, strict=False)
    if raw.get("e") == "ORDER_TRADE_UPDATE":
        return msgspec.convert(raw["o"], BinanceFuturesOrderEvent, strict=False)
    if "x" in raw and "X" in raw and "i" in raw and "e" not in raw:  # the bare ``o`` object
        return msgspec.convert(raw, BinanceFuturesOrderEvent, strict=False)
    return None


def order_update(raw: Mapping[str, Any]) -> VenueOrderUpdate | None:
    """The order state in a stream event or REST order body; None for anything else."""
    event = _event(raw)
    if event is not None:
        client_id = event.client_id
        if isinstance(event, BinanceExecutionReport) and event.exec_type == "CANCELED" and event.orig_client_id:
            client_id = event.orig_client_id
        cum_quote: Decimal | None = (
            event.cum_quote if isinstance(event, BinanceExecutionReport) else event.avg_price * event.cum_qty
        )
        return VenueOrderUpdate(
            client_id,
            str(event.order_id),
            state_of(event.status),
            event.cum_qty,
            cum_quote,
            event.transaction_time_ms,
            event.symbol,
        )
    if "orderId" in raw and "status" in raw:
        reply = msgspec.convert(raw, BinanceOrderReply, strict=False)
        quote = reply.spot_cum_quote if reply.spot_cum_quote is not None else reply.futures_cum_quote
        return VenueOrderUpdate(
            reply.client_id,
            str(reply.order_id),
            state_of(reply.status),
            reply.executed_qty,
            quote,
            reply.transact_time_ms or reply.update_time_ms,
            reply.symbol,
        )
    return None


def fills(raw: Mapping[str, Any]) -> list[VenueFill]:
    """The fills in a stream event (``x == "TRADE"``), a FULL order reply, or one trade-history row."""
    event = _event(raw)
    if event is not None:
        if event.exec_type != "TRADE" or event.last_qty <= 0:
            return []
        return [
            VenueFill(
                str(event.trade_id),
                event.client_id,
                str(event.order_id),
                _side(event.side),
                event.last_price,
                event.last_qty,
                event.fee,
                event.fee_asset or "",
                event.transaction_time_ms,
                event.is_maker,
                event.symbol,
            )
        ]
    if "commission" in raw and "orderId" in raw:
        row = msgspec.convert(raw, BinanceTradeRecord, strict=False)
        buyer = row.is_buyer if row.is_buyer is not None else row.buyer
        side = _side(row.side) if row.side else (1 if buyer else -1)
        maker = bool(row.is_maker if row.is_maker is not None else row.maker)
        return [
            VenueFill(
                str(row.trade_id),
                "",
                str(row.order_id),
                side,
                row.price,
                row.qty,
                row.commission,
                row.commission_asset,
                row.time_ms,
                maker,
                row.symbol,
            )
        ]
    if "fills" in raw and "orderId" in raw:
        reply = msgspec.convert(raw, BinanceOrderReply, strict=False)
        return [
            VenueFill(
                str(f.trade_id),
                reply.client_id,
                str(reply.order_id),
                _side(reply.side),
                f.price,
                f.qty,
                f.commission,
                f.commission_asset,
                reply.transact_time_ms,
                False,
                reply.symbol,
            )
            for f in reply.fills
        ]
    return []


def balances(raw: Mapping[str, Any] | Sequence[Any]) -> dict[str, Decimal]:
    """Total (free + locked) per asset from spot ``GET /api/v3/account`` (``balances``) or the wallet
    balance per asset from USD-M ``GET /fapi/v2|v3/balance`` (a list with ``balance``)."""
    out: dict[str, Decimal] = {}
    if isinstance(raw, Mapping):
        for row in raw.get("balances", []):
            out[str(row["asset"])] = Decimal(str(row["free"])) + Decimal(str(row["locked"]))
    else:
        for row in raw:
            out[str(row["asset"])] = Decimal(str(row.get("balance", row.get("walletBalance", "0"))))
    return out


def position_and_entry(rows: Sequence[Any], symbol: str) -> tuple[Decimal, Decimal]:
    """The signed one-way position of ``symbol`` and its average entry price (0 when flat) from USD-M
    ``GET /fapi/v2|v3/positionRisk``, e.g. ``[{"symbol":"BTCUSDT","positionAmt":"0.030",
    "entryPrice":"60000.0","markPrice":"59995.00000000",...}]``."""
    total, cost = Decimal(0), Decimal(0)
    for row in rows:
        if row.get("symbol") == symbol:
            amount = Decimal(str(row.get("positionAmt", "0")))
            total += amount
            cost += amount * Decimal(str(row.get("entryPrice") or "0"))
    return total, (cost / total if total else Decimal(0))


class BinanceIncome(msgspec.Struct, frozen=True, kw_only=True):
    """One row of USD-M ``GET /fapi/v1/income``.

    Sample: ``{"symbol":"BTCUSDT","incomeType":"FUNDING_FEE","income":"-0.37500000","asset":"USDT",
    "info":"FUNDING_FEE","time":1570636800000,"tranId":9689322392,"tradeId":""}`` (``income`` > 0 flows in).
    """

    symbol: str
    income_type: str = _F(name="incomeType")
    income: Decimal
    asset: str
    time_ms: int = _F(name="time")
    tran_id: int = _F(name="tranId", default=0)


def funding_payments(rows: Sequence[Any]) -> list[FundingPayment]:
    """The ``FUNDING_FEE`` rows of USD-M ``GET /fapi/v1/income`` as payments (> 0 received)."""
    out = []
    for row in rows:
        income = msgspec.convert(row, BinanceIncome, strict=False)
        if income.income_type == "FUNDING_FEE":
            out.append(FundingPayment(income.symbol, income.income, income.asset, income.time_ms, str(income.tran_id)))
    return out


class BinanceRates(msgspec.Struct, frozen=True):
    """One part of spot's commission: ``{"maker":"0.00100000","taker":"0.00100000","buyer":"0.00000000",
    "seller":"0.00000000"}`` (``buyer``/``seller`` add to the role's rate on that side's fills)."""

    maker: Decimal = ZERO
    taker: Decimal = ZERO
    buyer: Decimal = ZERO
    seller: Decimal = ZERO

    def of(self, role: Decimal) -> Decimal:
        # the role's rate and the larger side's: a pair buys on one venue and sells on the other
        return role + max(self.buyer, self.seller)


class BinanceDiscount(msgspec.Struct, frozen=True):
    """``{"enabledForAccount":true,"enabledForSymbol":true,"discountAsset":"BNB","discount":"0.75000000"}``:
    with both on (and the coin held), the standard part is multiplied by ``discount`` and paid in the coin."""

    enabled_for_account: bool = _F(name="enabledForAccount", default=False)
    enabled_for_symbol: bool = _F(name="enabledForSymbol", default=False)
    discount_asset: str = _F(name="discountAsset", default="")
    discount: Decimal = Decimal(1)


class BinanceCommission(msgspec.Struct, frozen=True, kw_only=True):
    """Spot ``GET /api/v3/account/commission?symbol=S``, or USD-M ``GET /fapi/v1/commissionRate?symbol=S``.

    Spot sample: ``{"symbol":"BTCUSDT","standardCommission":{"maker":"0.00100000","taker":"0.00100000",
    "buyer":"0.00000000","seller":"0.00000000"},"specialCommission":{...},"taxCommission":{...},
    "discount":{"enabledForAccount":true,"enabledForSymbol":true,"discountAsset":"BNB","discount":"0.75000000"}}``.
    USD-M: ``{"symbol":"BTCUSDT","makerCommissionRate":"0.0002","takerCommissionRate":"0.0004"}``.
    """

    symbol: str
    standard: BinanceRates | None = _F(name="standardCommission", default=None)
    special: BinanceRates = _F(name="specialCommission", default=BinanceRates())
    tax: BinanceRates = _F(name="taxCommission", default=BinanceRates())
    discount: BinanceDiscount = BinanceDiscount()
    maker_rate: Decimal = _F(name="makerCommissionRate", default=ZERO)
    taker_rate: Decimal = _F(name="takerCommissionRate", default=ZERO)


def account_fees(raw: Mapping[str, Any]) -> AccountFees:
    """The account's rates from either commission answer (:class:`BinanceCommission`): on spot the
    standard part (times the discount when it is on for the account and the symbol, the fee then paid
    in ``discountAsset``), plus the special and the tax parts, which the discount leaves as they are."""
    c = msgspec.convert(raw, BinanceCommission, strict=False)
    if c.standard is None:
        return AccountFees(c.symbol, c.maker_rate, c.taker_rate, detail=f"maker {c.maker_rate}, taker {c.taker_rate}")
    d = c.discount
    on = d.enabled_for_account and d.enabled_for_symbol and bool(d.discount_asset)
    times = d.discount if on else Decimal(1)

    maker = c.standard.of(c.standard.maker) * times + c.special.of(c.special.maker) + c.tax.of(c.tax.maker)
    taker = c.standard.of(c.standard.taker) * times + c.special.of(c.special.taker) + c.tax.of(c.tax.taker)
    said = f"standard maker {c.standard.maker}, taker {c.standard.taker}"
    if on:
        said += f", {d.discount_asset} discount x{d.discount} on"
    return AccountFees(c.symbol, maker.normalize(), taker.normalize(), d.discount_asset if on else "", said)


REFUSALS = {
    "spot": RefusalAnswers(
        price=(-1013, "Filter failure: PRICE_FILTER"),
        lot=(-1013, "Filter failure: LOT_SIZE"),
        notional=(-1013, "Filter failure: NOTIONAL"),
        balance=(-2010, "Account has insufficient balance for requested action."),
        post_only=(-2010, "Order would immediately match and take."),
        cancel_miss=(-2011, "Unknown order sent."),
    ),
    "linear": RefusalAnswers(
        price=(-4014, "Price not increased by tick size."),
        lot=(-1111, "Precision is over the maximum defined for this asset."),
        notional=(-4164, "Order's notional must be no smaller than the minimum."),
        balance=(-2019, "Margin is insufficient."),
        post_only=(-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected."),
        cancel_miss=(-2011, "Unknown order sent."),
    ),
}
"""Binance's answers to refused orders and cancels, by market (its ``errors.md`` codes and filter failures)."""
