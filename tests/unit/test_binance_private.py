"""Binance's private adapter: the requests it sends for each operation and what it makes of the answers.

REST bodies are the real ones ccxt's maintainers recorded (``tests/fixtures/binance.response.subset.json``);
stream samples are Binance's documented examples; income rows are what the fake USD-M venue serves.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from arb.sim.binance.wire import income_entry
from connectors.binance.private import BinancePrivate
from connectors.common.orders import OrderState
from connectors.common.private import DeadManScope, MarketAssets, OrderRequest
from connectors.registry import private_venue
from tests.unit.private_link import ScriptedLink, bodies, refusal

SPOT = BinancePrivate("spot")
LINEAR = BinancePrivate("linear")
ASSETS = MarketAssets("LTC", "USDT")


def test_the_registry_finds_the_adapter_by_name() -> None:
    adapter = private_venue("binance", "linear")
    assert isinstance(adapter, BinancePrivate) and adapter.market == "linear"
    assert (SPOT.dead_man, LINEAR.dead_man) == (DeadManScope.NONE, DeadManScope.SYMBOL)
    with pytest.raises(ValueError, match="spot or linear"):
        BinancePrivate("inverse")  # type: ignore[arg-type]


async def test_a_query_by_client_id_reads_the_order_and_a_missing_one_is_none() -> None:
    link = ScriptedLink(
        {"privateGetOrder": [bodies("binance", "fetchOrder")[0], refusal("-2013", "Order does not exist.")]}
    )
    update = await SPOT.query(link, "LTCUSDT", "x-R4BD3S825806ed40c861260428a48c")
    assert update is not None
    assert (update.state, update.executed_qty, update.cum_quote) == (OrderState.FILLED, Decimal("0.1"), Decimal("9.08"))
    assert link.requests[0] == (
        "privateGetOrder",
        {"symbol": "LTCUSDT", "origClientOrderId": "x-R4BD3S825806ed40c861260428a48c"},
    )
    assert await SPOT.query(link, "LTCUSDT", "arb-gone") is None
    # USD-M asks its own path; any other refusal is the caller's to handle
    futures = ScriptedLink({"fapiPrivateGetOrder": [bodies("binance", "fetchOpenOrder")[0], refusal("-1022")]})
    open_order = await LINEAR.query(futures, "LTCUSDT", "x-xcKtGhcu68f8383451844295b3e8b9")
    assert open_order is not None and open_order.state is OrderState.ACCEPTED and open_order.cum_quote == 0
    with pytest.raises(Exception, match="-1022"):
        await LINEAR.query(futures, "LTCUSDT", "arb-1")


async def test_open_orders_and_cancel_all() -> None:
    link = ScriptedLink(
        {
            "privateGetOpenOrders": [bodies("binance", "fetchOpenOrders")[0]],
            "privateDeleteOpenOrders": [bodies("binance", "fetchOpenOrders")[0], refusal("-2011")],
        }
    )
    (update,) = await SPOT.open_orders(link, "LTCUSDT")
    assert (update.venue_order_id, update.state, update.client_id) == (
        "3811057334",
        OrderState.ACCEPTED,
        "x-R4BD3S82102a551f8c1642bba06728",
    )
    assert await SPOT.cancel_all(link, "LTCUSDT") == 1  # spot lists what it cancelled
    assert await SPOT.cancel_all(link, "LTCUSDT") == 0  # -2011: nothing was open
    # USD-M answers "done" without a list: what was open before and is not after
    opened = bodies("binance", "fetchOpenOrders")[1]
    futures = ScriptedLink(
        {
            "fapiPrivateGetOpenOrders": [opened, []],
            "fapiPrivateDeleteAllOpenOrders": [{"code": 200, "msg": "The operation of cancel all open order is done."}],
        }
    )
    assert await LINEAR.cancel_all(futures, "LTCUSDT") == 1
    assert futures.methods == ["fapiPrivateGetOpenOrders", "fapiPrivateDeleteAllOpenOrders", "fapiPrivateGetOpenOrders"]


async def test_a_cancel_by_client_id_says_whether_the_order_was_open() -> None:
    link = ScriptedLink({"fapiPrivateDeleteOrder": [{"orderId": 1, "status": "CANCELED"}, refusal("-2011")]})
    assert await LINEAR.cancel(link, "BTCUSDT", "arb-a") is True
    assert await LINEAR.cancel(link, "BTCUSDT", "arb-b") is False  # filled or gone: a query says which
    assert link.requests[0] == ("fapiPrivateDeleteOrder", {"symbol": "BTCUSDT", "origClientOrderId": "arb-a"})


async def test_trade_history_rows_become_fills() -> None:
    spot_rows, swap_rows = bodies("binance", "fetchMyTrades")
    link = ScriptedLink({"privateGetMyTrades": [spot_rows, spot_rows], "fapiPrivateGetUserTrades": [swap_rows]})
    rows = await SPOT.order_trades(link, "LTCUSDT", "3784695242")
    (fill,) = SPOT.fills(rows[0], ASSETS)
    assert (fill.trade_id, fill.side, fill.qty, fill.fee, fill.fee_asset, fill.venue_order_id) == (
        "309520010",
        -1,
        Decimal("0.2"),
        Decimal("0.013926"),
        "USDT",
        "3784695242",
    )
    await SPOT.trades_since(link, "LTCUSDT", 1_699_000_000_000)
    assert link.requests == [
        ("privateGetMyTrades", {"symbol": "LTCUSDT", "orderId": "3784695242"}),
        ("privateGetMyTrades", {"symbol": "LTCUSDT", "startTime": 1_699_000_000_000, "limit": 1000}),
    ]
    (swap,) = LINEAR.fills((await LINEAR.order_trades(link, "BTCUSDT", "3524852987"))[0], ASSETS)
    assert (swap.side, swap.price, swap.is_maker) == (1, Decimal("36567.10"), False)


def test_stream_events_and_replies_become_updates_and_fills() -> None:
    # Binance spot user data stream docs, executionReport (a TRADE)
    report = {
        "e": "executionReport",
        "E": 1499405658658,
        "s": "ETHBTC",
        "c": "mUvoqJxFIILMdfAW5iGSOW",
        "S": "BUY",
        "o": "LIMIT",
        "f": "GTC",
        "q": "1.00000000",
        "p": "0.10264410",
        "x": "TRADE",
        "X": "PARTIALLY_FILLED",
        "r": "NONE",
        "i": 4293153,
        "l": "0.50000000",
        "z": "0.50000000",
        "L": "0.10264410",
        "n": "0.00050000",
        "N": "ETH",
        "T": 1499405658657,
        "t": 1234,
        "m": False,
        "Z": "0.05132205",
    }
    update = SPOT.order_update(report)
    assert update is not None and update.state is OrderState.PARTIALLY_FILLED and update.symbol == "ETHBTC"
    (fill,) = SPOT.fills(report, MarketAssets("ETH", "BTC"))
    assert (fill.trade_id, fill.fee, fill.fee_asset) == ("1234", Decimal("0.0005"), "ETH")
    reply = bodies("binance", "createOrder")[0]  # a NEW order's FULL reply: its state, no fills yet
    new = SPOT.order_update(reply)
    assert new is not None and new.state is OrderState.ACCEPTED and SPOT.fills(reply, ASSETS) == []


def test_create_requests_are_immediate_or_cancel_with_arbs_client_id() -> None:
    order = OrderRequest("BTCUSDT", "BTC/USDT", 1, "0.001", "60000.1", "arb-x-1-0")
    assert SPOT.create_params(order) == {"timeInForce": "IOC", "clientOrderId": "arb-x-1-0", "newOrderRespType": "FULL"}
    closing = OrderRequest("BTCUSDT", "BTC/USDT:USDT", -1, "0.001", "60000.1", "arb-x-2-0", reduce_only=True)
    assert LINEAR.create_params(closing) == {
        "timeInForce": "IOC",
        "clientOrderId": "arb-x-2-0",
        "newOrderRespType": "RESULT",
        "reduceOnly": True,
    }


async def test_balances_and_positions() -> None:
    link = ScriptedLink(
        {
            "privateGetAccount": [bodies("binance", "fetchBalance")[0]],
            "fapiPrivateV2GetPositionRisk": [bodies("binance", "fetchPositions")[0]],
        }
    )
    balances = await SPOT.balances(link)
    assert balances == {"BTC": Decimal(0), "LTC": Decimal("0.919741"), "ETH": Decimal("0.02229833")}
    assert link.requests[0] == ("privateGetAccount", {"omitZeroBalances": "true"})
    assert await SPOT.position_and_entry(link, "BTCUSDT") == (0, 0)  # spot has holdings: no request
    assert await LINEAR.position_and_entry(link, "BTCUSDT") == (Decimal("0.009"), Decimal("67445.9"))
    assert link.methods == ["privateGetAccount", "fapiPrivateV2GetPositionRisk"]


async def test_funding_income_keeps_the_funding_fees_of_the_symbol() -> None:
    rows = [
        income_entry("COMMISSION", "BTCUSDT", Decimal("-0.01"), "USDT", 1_570_636_800_000, 9_689_322_392, "2059192"),
        income_entry("FUNDING_FEE", "BTCUSDT", Decimal("-0.18"), "USDT", 1_715_040_000_000, 9_000_001),
    ]
    link = ScriptedLink({"fapiPrivateGetIncome": [rows]})
    (payment,) = await LINEAR.funding_income(link, "BTCUSDT", 1_715_000_000_000)
    assert (payment.payment, payment.asset, payment.ts_ms, payment.venue_id) == (
        Decimal("-0.18"),
        "USDT",
        1_715_040_000_000,
        "9000001",
    )
    assert link.requests == [
        (
            "fapiPrivateGetIncome",
            {"symbol": "BTCUSDT", "incomeType": "FUNDING_FEE", "startTime": 1_715_000_000_000, "limit": 1000},
        )
    ]
    assert await SPOT.funding_income(link, "BTCUSDT", 0) == []


async def test_the_countdown_is_armed_per_symbol_and_spot_has_none() -> None:
    markets = [
        SimpleNamespace(symbol="BTCUSDT", ccxt_symbol="BTC/USDT:USDT"),
        SimpleNamespace(symbol="ETHUSDT", ccxt_symbol="ETH/USDT:USDT"),
    ]
    link = ScriptedLink({"fapiPrivatePostCountdownCancelAll": [{}, {}]})
    await SPOT.arm_dead_man(link, markets, 30)
    assert link.requests == []
    await LINEAR.arm_dead_man(link, markets, 30)
    assert link.requests == [
        ("fapiPrivatePostCountdownCancelAll", {"symbol": s, "countdownTime": 30_000}) for s in ("BTCUSDT", "ETHUSDT")
    ]
    assert link.hints == ["that the key may trade USD-M futures"] * 2


def test_the_weight_and_order_count_headers_are_read_against_exchange_info() -> None:
    exchange = SimpleNamespace(
        last_json_response={
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            ]
        }
    )
    limits = SPOT.rate_limits(exchange)
    assert limits == {"weight-1m": 6000, "orders-10s": 100, "orders-1d": 200000}
    now = 1_700_000_035_000_000_000  # 55 s into a minute, 5 s into a 10 s window
    use = SPOT.rate_use({"x-mbx-used-weight-1m": "120", "x-mbx-order-count-10s": "7", "date": "x"}, now, limits)
    weight, orders = sorted(use.counts, key=lambda c: c.name, reverse=True)
    assert (weight.name, weight.used, weight.limit, weight.reset_ns) == (
        "weight-1m",
        120,
        6000,
        1_700_000_040_000_000_000,
    )
    assert not weight.orders_only and use.used_weight == 120
    assert (orders.name, orders.used, orders.limit, orders.reset_ns) == (
        "orders-10s",
        7,
        100,
        1_700_000_040_000_000_000,
    )
    assert orders.orders_only
    assert SPOT.rate_use({}, now, limits).used_weight is None
