"""Venue order and fill messages to arb's normalized form, and the live order's state machine.

REST bodies are the real ones ccxt's maintainers recorded (tests/fixtures/*.response.subset.json,
see tests/fixtures/README.md); stream samples are the venues' documented examples.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from arb.execution.orders import LiveOrder, OrderState, VenueFill, VenueOrderUpdate
from connectors.binance import orders as binance
from connectors.bybit import orders as bybit
from tests.support.captures import FIXTURES


def _bodies(venue: str, method: str) -> list[Any]:
    data = json.loads((FIXTURES / f"{venue}.response.subset.json").read_text())
    return [entry["httpResponse"] for entry in data["methods"][method]]


def test_binance_rest_orders_and_trades() -> None:
    spot = binance.order_update(_bodies("binance", "fetchOrder")[0])
    assert spot is not None
    assert (spot.state, spot.executed_qty, spot.cum_quote) == (OrderState.FILLED, Decimal("0.1"), Decimal("9.08"))
    assert spot.venue_order_id == "3397148653" and spot.client_id.startswith("x-R4BD3S82")
    swap = binance.order_update(_bodies("binance", "fetchOpenOrder")[0])
    assert swap is not None and swap.state is OrderState.ACCEPTED and swap.cum_quote == 0
    (spot_trade,) = binance.fills(_bodies("binance", "fetchMyTrades")[0][0])
    assert (spot_trade.trade_id, spot_trade.side, spot_trade.qty, spot_trade.fee, spot_trade.fee_asset) == (
        "309520010",
        -1,
        Decimal("0.2"),
        Decimal("0.013926"),
        "USDT",
    )
    assert spot_trade.client_id == "" and spot_trade.venue_order_id == "3784695242"
    (swap_trade,) = binance.fills(_bodies("binance", "fetchMyTrades")[1][0])
    assert (swap_trade.side, swap_trade.price, swap_trade.is_maker) == (1, Decimal("36567.10"), False)
    new_order = _bodies("binance", "createOrder")[0]
    assert binance.fills(new_order) == []  # a NEW order's reply carries no fills


def test_binance_full_reply_carries_its_fills() -> None:
    # Binance spot API docs, "New order" FULL response (trimmed to one fill)
    reply = {"symbol": "BTCUSDT", "orderId": 28, "orderListId": -1, "clientOrderId": "arb-x-1-0",
             "transactTime": 1507725176595, "price": "0.00000000", "origQty": "10.00000000",
             "executedQty": "10.00000000", "cummulativeQuoteQty": "10.00000000", "status": "FILLED",
             "timeInForce": "GTC", "type": "MARKET", "side": "SELL",
             "fills": [{"price": "4000.00000000", "qty": "1.00000000", "commission": "4.00000000",
                        "commissionAsset": "USDT", "tradeId": 56}]}  # fmt: skip
    update = binance.order_update(reply)
    assert update is not None and update.state is OrderState.FILLED
    (fill,) = binance.fills(reply)
    assert (fill.trade_id, fill.client_id, fill.venue_order_id, fill.side) == ("56", "arb-x-1-0", "28", -1)


def test_binance_stream_events() -> None:
    # Binance spot user data stream docs, executionReport (a TRADE)
    report = {"e": "executionReport", "E": 1499405658658, "s": "ETHBTC", "c": "mUvoqJxFIILMdfAW5iGSOW", "S": "BUY",
              "o": "LIMIT", "f": "GTC", "q": "1.00000000", "p": "0.10264410", "x": "TRADE", "X": "PARTIALLY_FILLED",
              "r": "NONE", "i": 4293153, "l": "0.50000000", "z": "0.50000000", "L": "0.10264410", "n": "0.00050000",
              "N": "ETH", "T": 1499405658657, "t": 1234, "m": False, "Z": "0.05132205"}  # fmt: skip
    update = binance.order_update(report)
    assert update is not None and update.state is OrderState.PARTIALLY_FILLED and update.executed_qty == Decimal("0.5")
    (fill,) = binance.fills(report)
    assert (fill.trade_id, fill.fee, fill.fee_asset, fill.client_id) == ("1234", Decimal("0.0005"), "ETH",
                                                                          "mUvoqJxFIILMdfAW5iGSOW")  # fmt: skip
    # USD-M ORDER_TRADE_UPDATE (docs example, trimmed)
    event = {"e": "ORDER_TRADE_UPDATE", "E": 1568879465651, "T": 1568879465650,
             "o": {"s": "BTCUSDT", "c": "TEST", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.001", "p": "7103.04",
                   "ap": "7103.04", "x": "TRADE", "X": "FILLED", "i": 8886774, "l": "0.001", "z": "0.001",
                   "L": "7103.04", "N": "USDT", "n": "0.00284121", "T": 1568879465650, "t": 12345, "m": False,
                   "R": False, "rp": "0"}}  # fmt: skip
    update = binance.order_update(event)
    assert update is not None and update.state is OrderState.FILLED and update.cum_quote == Decimal("7.10304")
    (fill,) = binance.fills(event)
    assert (fill.trade_id, fill.side, fill.fee_asset) == ("12345", -1, "USDT")
    canceled = dict(report, x="CANCELED", X="CANCELED", c="cancel-req-1", C="mUvoqJxFIILMdfAW5iGSOW")
    update = binance.order_update(canceled)
    assert update is not None and update.client_id == "mUvoqJxFIILMdfAW5iGSOW" and binance.fills(canceled) == []


def test_bybit_rest_orders_and_executions() -> None:
    row = _bodies("bybit", "fetchOrder")[0]["result"]["list"][0]
    update = bybit.order_update(row)
    assert update is not None
    # an IOC's cancelled rest is expiry, as on Binance
    assert (update.state, update.executed_qty, update.cum_quote) == (OrderState.EXPIRED, Decimal("0.001614"),
                                                                     Decimal("49.97980168"))  # fmt: skip
    spot_buy = _bodies("bybit", "fetchMyTrades")[0]["result"]["list"][0]
    (fill,) = bybit.fills(spot_buy, spot=True, base_asset="BTC", quote_asset="USDT")
    assert (fill.trade_id, fill.side, fill.fee_asset, fill.qty) == (
        "2100000000047087120",
        1,
        "BTC",
        Decimal("0.000336"),
    )
    with_currency = _bodies("bybit", "fetchMyTrades")[2]["result"]["list"][0]
    assert bybit.fills(with_currency, spot=True, base_asset="X", quote_asset="Y")[0].fee_asset == "ETH"
    swap = _bodies("bybit", "fetchMyTrades")[1]["result"]["list"][0]
    fills = bybit.fills(swap, spot=False, base_asset="LTC", quote_asset="USDT")
    assert all(f.fee_asset == "USDT" for f in fills)
    assert bybit.order_update({"execId": "1"}) is None


def _order(qty: str = "0.002") -> LiveOrder:
    return LiveOrder(order_id=1, client_id="arb-r-1-0", venue=0, side=1, price=100.0, qty=float(qty), kind=1,
                     pair_id=1, sent_ts=0, price_text="100", qty_text=qty, symbol="BTCUSDT")  # fmt: skip


def _fill(trade_id: str, qty: str, price: str = "100", fee: str = "0.000001", asset: str = "BTC") -> VenueFill:
    return VenueFill(trade_id, "arb-r-1-0", "9", 1, Decimal(price), Decimal(qty), Decimal(fee), asset, 1_000)


def test_terminal_states_are_sticky_and_quantities_only_grow() -> None:
    order = _order()
    order.state = OrderState.SENT
    assert order.apply(VenueOrderUpdate("arb-r-1-0", "9", OrderState.FILLED, Decimal("0.002")))
    assert not order.apply(VenueOrderUpdate("arb-r-1-0", "9", OrderState.ACCEPTED, Decimal("0")))  # a late ack
    assert order.state is OrderState.FILLED and order.executed_qty == Decimal("0.002")
    assert not order.done  # the venue executed 0.002 but no fill has been seen yet


def test_fills_are_booked_once_and_done_needs_all_of_them() -> None:
    order = _order()
    order.apply(VenueOrderUpdate("arb-r-1-0", "9", OrderState.FILLED, Decimal("0.002")))
    assert order.add_fill(_fill("t1", "0.001"), 5)
    assert not order.add_fill(_fill("t1", "0.001"), 6)  # the same trade id again
    assert not order.done
    assert order.add_fill(_fill("t2", "0.001", price="102"), 7)
    assert order.done and order.first_fill_ns == 5
    order.settle(10, quote_asset="USDT", base_asset="BTC")
    assert (order.status, order.fill_qty, order.fill_price) == ("filled", 0.002, 101.0)
    assert order.fee == pytest.approx(0.000001 * 100 + 0.000001 * 102)  # base-coin fees valued at the fill price


def test_stream_fills_before_the_ack_move_the_order() -> None:
    order = _order("0.001")
    order.state = OrderState.PENDING
    order.add_fill(_fill("t1", "0.001"), 1)
    assert order.state is OrderState.FILLED and order.done


def test_binance_commission_counts_every_part_and_the_bnb_discount_on_the_standard_one() -> None:
    # the example of Binance's commission FAQ: the discount multiplies the standard part only
    parts = {"maker": "0.00000010", "taker": "0.00000020", "buyer": "0.00000030", "seller": "0.00000040"}
    tax = {"maker": "0.00000112", "taker": "0.00000114", "buyer": "0.00000118", "seller": "0.00000116"}
    discount = {"enabledForAccount": True, "enabledForSymbol": True, "discountAsset": "BNB", "discount": "0.25"}
    raw = {"symbol": "BTCUSDT", "standardCommission": parts, "taxCommission": tax, "discount": discount}
    fees = binance.account_fees(raw)  # taker: (0.2 + 0.4) x 0.25 + 1.14 + 1.18 (1e-6), the larger side's part
    assert (fees.maker, fees.taker, fees.coin) == (Decimal("0.000002425"), Decimal("0.00000247"), "BNB")
    off = binance.account_fees({**raw, "discount": {**discount, "enabledForSymbol": False}})
    assert (off.taker, off.coin) == (Decimal("0.00000292"), "")
    usdm = binance.account_fees({"symbol": "BTCUSDT", "makerCommissionRate": "0.0002", "takerCommissionRate": "0.0004"})
    assert (usdm.maker, usdm.taker, usdm.coin) == (Decimal("0.0002"), Decimal("0.0004"), "")


def test_bybit_fee_rate_names_the_symbols_rates() -> None:
    raw = {"retCode": 0, "retMsg": "OK", "result": {"list": [{"symbol": "ETHUSDT", "takerFeeRate": "0.0006",
           "makerFeeRate": "0.0001"}]}, "retExtInfo": {}, "time": 1676360412576}  # fmt: skip
    fees = bybit.account_fees(raw, "ETHUSDT")
    assert fees is not None and (fees.maker, fees.taker) == (Decimal("0.0001"), Decimal("0.0006"))
    assert bybit.account_fees(raw, "BTCUSDT") is None
