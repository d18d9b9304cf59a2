"""Bybit's private adapter: the requests it sends for each operation and what it makes of the answers.

REST bodies are the real ones ccxt's maintainers recorded (``tests/fixtures/bybit.response.subset.json``);
stream samples and the transaction-log entry are Bybit's documented examples.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import ccxt
import pytest

from connectors.bybit.private import BybitPrivate
from connectors.common.orders import OrderState
from connectors.common.private import DeadManScope, MarketAssets, OrderRequest
from connectors.registry import private_venue
from tests.unit.private_link import ScriptedLink, bodies, refusal

SPOT = BybitPrivate("spot")
LINEAR = BybitPrivate("linear")
EMPTY = {"retCode": 0, "retMsg": "OK", "result": {"category": "spot", "list": []}}


def test_the_registry_finds_the_adapter_by_name() -> None:
    adapter = private_venue("bybit", "spot")
    assert isinstance(adapter, BybitPrivate) and adapter.category == "spot" and LINEAR.category == "linear"
    assert SPOT.dead_man is DeadManScope.PRODUCT is LINEAR.dead_man


async def test_a_query_asks_realtime_then_history_by_order_link_id_never_order_id() -> None:
    closed = bodies("bybit", "fetchOrder")[0]
    link = ScriptedLink({"privateGetV5OrderRealtime": [EMPTY, EMPTY], "privateGetV5OrderHistory": [closed, EMPTY]})
    update = await SPOT.query(link, "BTCUSDT", "1609602210852247041")
    assert update is not None
    # an immediate-or-cancel order's cancelled rest is expiry
    assert (update.state, update.executed_qty, update.cum_quote) == (
        OrderState.EXPIRED,
        Decimal("0.001614"),
        Decimal("49.97980168"),
    )
    wanted = {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "1609602210852247041"}
    assert link.requests == [("privateGetV5OrderRealtime", wanted), ("privateGetV5OrderHistory", wanted)]
    assert await SPOT.query(link, "BTCUSDT", "arb-gone") is None  # neither lists it


async def test_open_orders_and_cancel_all() -> None:
    link = ScriptedLink(
        {
            "privateGetV5OrderRealtime": [bodies("bybit", "fetchOpenOrder")[0], bodies("bybit", "fetchClosedOrder")[0]],
            "privatePostV5OrderCancelAll": [bodies("bybit", "cancelAllOrders")[0]],
        }
    )
    (update,) = await LINEAR.open_orders(link, "BTCUSDT")
    assert (update.venue_order_id, update.state) == ("3606515b-e4d7-4ea4-b096-bb247d0661ae", OrderState.ACCEPTED)
    assert await LINEAR.open_orders(link, "BTCUSDT") == []  # a filled order is not open
    assert link.requests[0] == ("privateGetV5OrderRealtime", {"category": "linear", "symbol": "BTCUSDT", "openOnly": 0})
    assert await SPOT.cancel_all(link, "LTCUSDT") == 1
    assert link.requests[-1] == ("privatePostV5OrderCancelAll", {"category": "spot", "symbol": "LTCUSDT"})


async def test_a_cancel_by_client_id_says_whether_the_order_was_open() -> None:
    ack = {"retCode": 0, "retMsg": "OK", "result": {"orderId": "1", "orderLinkId": "arb-a"}}
    link = ScriptedLink({"privatePostV5OrderCancel": [ack, refusal("110001"), refusal("170213"), refusal("10001")]})
    assert await LINEAR.cancel(link, "BTCUSDT", "arb-a") is True
    assert await LINEAR.cancel(link, "BTCUSDT", "arb-b") is False  # linear: "order not exists or too late"
    assert await SPOT.cancel(link, "BTCUSDT", "arb-c") is False  # spot's code for the same
    with pytest.raises(Exception, match="10001"):
        await SPOT.cancel(link, "BTCUSDT", "arb-d")
    assert link.requests[0] == (
        "privatePostV5OrderCancel",
        {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "arb-a"},
    )


async def test_executions_become_fills_with_the_markets_fee_rule() -> None:
    spot_rows, swap_rows, spot_named, _ = bodies("bybit", "fetchMyTrades")
    link = ScriptedLink({"privateGetV5ExecutionList": [spot_rows, swap_rows, spot_named]})
    rows = await SPOT.order_trades(link, "BTCUSDT", "1550857400238740992")
    (fill,) = SPOT.fills(rows[0], MarketAssets("BTC", "USDT"))
    # no feeCurrency: a spot buy pays its fee in the base coin
    assert (fill.trade_id, fill.side, fill.qty, fill.fee, fill.fee_asset) == (
        "2100000000047087120",
        1,
        Decimal("0.000336"),
        Decimal("0.000000336"),
        "BTC",
    )
    (funding,) = await LINEAR.trades_since(link, "LTCUSDT", 1_699_948_000_000)
    assert LINEAR.fills(funding, MarketAssets("LTC", "USDT")) == []  # a funding execution is not a trade
    (named,) = await SPOT.trades_since(link, "ETHUSDT", 1_710_762_000_000)
    assert SPOT.fills(named, MarketAssets("ETH", "USDT"))[0].fee_asset == "ETH"
    assert link.requests[1] == (
        "privateGetV5ExecutionList",
        {"category": "linear", "symbol": "LTCUSDT", "startTime": 1_699_948_000_000, "limit": 100},
    )


def test_stream_messages_become_updates_and_fills() -> None:
    # Bybit v5 private stream docs: an "order" item and an "execution" item (trimmed)
    order = {
        "category": "spot",
        "symbol": "BTCUSDT",
        "orderId": "1790",
        "orderLinkId": "arb-x-1-1",
        "side": "Buy",
        "orderStatus": "Filled",
        "timeInForce": "IOC",
        "price": "61838.1",
        "qty": "0.001",
        "cumExecQty": "0.001",
        "cumExecValue": "61.8381",
        "avgPrice": "61838.1",
        "updatedTime": "1723161255343",
    }
    update = SPOT.order_update(order)
    assert update is not None and update.state is OrderState.FILLED and update.client_id == "arb-x-1-1"
    execution = {
        "category": "linear",
        "symbol": "BTCUSDT",
        "execId": "7e2ae69c",
        "orderId": "1790",
        "orderLinkId": "arb-x-1-1",
        "side": "Sell",
        "execPrice": "61810.1",
        "execQty": "0.001",
        "execFee": "0.03708606",
        "feeRate": "0.0006",
        "execTime": "1723161255343",
        "isMaker": False,
        "feeCurrency": "USDT",
    }
    (fill,) = LINEAR.fills(execution, MarketAssets("BTC", "USDT"))
    assert (fill.side, fill.fee, fill.fee_asset) == (-1, Decimal("0.03708606"), "USDT")
    ack = bodies("bybit", "createOrder")[1]  # the create reply is an acknowledgement: no state, no fills
    assert SPOT.order_update(ack) is None and SPOT.fills(ack, MarketAssets("LTC", "USDT")) == []


def test_create_requests_are_immediate_or_cancel_with_arbs_client_id() -> None:
    order = OrderRequest("BTCUSDT", "BTC/USDT:USDT", -1, "0.001", "60000.1", "arb-x-1-1", reduce_only=True)
    assert LINEAR.create_params(order) == {"timeInForce": "IOC", "clientOrderId": "arb-x-1-1", "reduceOnly": True}


async def test_balances_positions_and_funding() -> None:
    settlement = {
        "id": "592324_XRPUSDT_161440249321",
        "symbol": "XRPUSDT",
        "side": "Buy",
        "funding": "-0.003676",
        "orderLinkId": "",
        "orderId": "1672128000-8-592324-1-2",
        "fee": "0.00000000",
        "change": "-0.003676",
        "cashFlow": "0",
        "transactionTime": "1672128000000",
        "type": "SETTLEMENT",
        "feeRate": "0.0001",
        "bonusChange": "",
        "size": "100",
        "qty": "100",
        "cashBalance": "5086.55825002",
        "currency": "USDT",
        "category": "linear",
        "tradePrice": "0.3676",
        "tradeId": "534c0003",
    }
    log = {"retCode": 0, "retMsg": "OK", "result": {"list": [settlement, {**settlement, "symbol": "BTCUSDT"}]}}
    link = ScriptedLink(
        {
            "privateGetV5AccountWalletBalance": [bodies("bybit", "fetchBalance")[0]],
            "privateGetV5PositionList": [bodies("bybit", "fetchPositions")[0], bodies("bybit", "fetchPosition")[0]],
            "privateGetV5AccountTransactionLog": [log],
        }
    )
    balances = await SPOT.balances(link)
    assert balances["USDC"] == Decimal("5848.20013918") and link.requests[0][1] == {"accountType": "UNIFIED"}
    assert await LINEAR.position_and_entry(link, "LTCUSDT") == (Decimal("1.2"), Decimal("64.59947917"))
    assert await LINEAR.position_and_entry(link, "LTCUSDT") == (0, 0)  # flat
    assert await SPOT.position_and_entry(link, "LTCUSDT") == (0, 0)  # spot: no request
    (payment,) = await LINEAR.funding_income(link, "XRPUSDT", 1_672_000_000_000)
    assert (payment.payment, payment.asset, payment.ts_ms) == (Decimal("-0.003676"), "USDT", 1_672_128_000_000)
    assert link.requests[-1] == (
        "privateGetV5AccountTransactionLog",
        {
            "accountType": "UNIFIED",
            "category": "linear",
            "type": "SETTLEMENT",
            "startTime": 1_672_000_000_000,
            "limit": 50,
        },
    )


async def test_dcp_is_armed_once_for_the_product() -> None:
    markets = [
        SimpleNamespace(symbol="BTCUSDT", ccxt_symbol="BTC/USDT"),
        SimpleNamespace(symbol="ETHUSDT", ccxt_symbol="ETH/USDT"),
    ]
    link = ScriptedLink({"privatePostV5OrderDisconnectedCancelAll": [{"retCode": 0}, {"retCode": 0}]})
    await SPOT.arm_dead_man(link, markets, 10)
    await LINEAR.arm_dead_man(link, markets, 20)
    assert link.requests == [
        ("privatePostV5OrderDisconnectedCancelAll", {"product": "SPOT", "timeWindow": 10}),
        ("privatePostV5OrderDisconnectedCancelAll", {"product": "DERIVATIVES", "timeWindow": 20}),
    ]
    assert "disconnect-cancel-all (DCP)" in link.hints[0]


class _PrivateClient:
    """ccxt's private-stream client as keep_dead_man sees it: frames sent, and refusals filed by request id
    (what ccxt's Bybit ``handle_error_message`` does with a ``"success": false`` answer nobody awaits)."""

    def __init__(self, refuse: bool) -> None:
        self.sent: list[dict[str, Any]] = []
        self.rejections: dict[str, Exception] = {}
        self._refuse = refuse

    async def send(self, frame: dict[str, Any]) -> None:
        self.sent.append(frame)
        if self._refuse:
            self.rejections[frame["req_id"]] = ccxt.ExchangeError("bybit error:handler not found,topic:dcp")


class _PrivateExchange:
    def __init__(self, client: _PrivateClient) -> None:
        self.clients = {"wss://private": client}

    async def get_url_by_market_type(self, symbol: str, private: bool) -> str:
        return "wss://private"

    async def authenticate(self, url: str) -> None:
        return None


@pytest.mark.parametrize(("adapter", "topic"), [(SPOT, "dcp.spot"), (LINEAR, "dcp.future")], ids=["spot", "linear"])
async def test_dcp_subscribes_its_products_topic_and_a_refusal_is_an_error(
    adapter: BybitPrivate, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Bybit's private topics of DCP are dcp.future, dcp.spot and dcp.option: only a connection subscribed
    # to one counts. A refusal is filed by ccxt under the request's id, and is said as an error.
    client = _PrivateClient(refuse=True)
    link = ScriptedLink(exchange=_PrivateExchange(client))
    said = asyncio.Event()

    class _Said(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                said.set()

    handler = _Said()
    logging.getLogger("connectors.bybit.private").addHandler(handler)
    try:
        async with asyncio.timeout(30), asyncio.TaskGroup() as group:
            group.create_task(adapter.keep_dead_man(link, [SimpleNamespace(ccxt_symbol="BTC/USDT")], 10, armed=True))
            await said.wait()
            link.stop()
    finally:
        logging.getLogger("connectors.bybit.private").removeHandler(handler)
    assert client.sent == [{"op": "subscribe", "args": [topic], "req_id": "arb-dcp"}]  # once per connection
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert f"refused the {topic} subscription" in error.getMessage() and "will not cancel" in error.getMessage()
    assert client.rejections == {}  # taken, said once


def test_the_limit_headers_are_one_count_per_endpoint() -> None:
    headers = {"x-bapi-limit": "20", "x-bapi-limit-status": "0", "x-bapi-limit-reset-timestamp": "1700000001234"}
    (used_up,) = SPOT.rate_use(headers, 1_700_000_000_900_000_000, {}).counts
    assert (used_up.used, used_up.limit, used_up.reset_ns) == (20, 20, 1_700_000_001_234_000_000)
    assert used_up.per_endpoint and not used_up.orders_only
    # under the limit the reset is the venue's "now": the window is its one second
    now = 1_700_000_001_234_000_000
    (left,) = SPOT.rate_use({**headers, "x-bapi-limit-status": "3"}, now, {}).counts
    assert (left.used, left.reset_ns) == (17, now + 1_000_000_000)
    assert SPOT.rate_use({"x-bapi-limit-status": "3"}, now, {}).counts == ()
    assert SPOT.rate_limits(object()) == {}
