"""ccxt 4.5.90 pro, unpatched, placing and cancelling orders over the fake Bybit's ``/v5/trade``.

The client is the one :mod:`test_fake_bybit_private` builds (``make_exchange``), with ccxt pro's order-entry
URL, ``urls['api']['ws']['private']['trade']``, set to the venue's. Orders placed over the WebSocket are
checked against the ledger and over REST, as a REST order is. No test sleeps: each awaits the venue's
conditions or ccxt's answers, bounded by ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from arb.sim.bybit.exchange import FakeBybitExchange
from arb.sim.bybit.wire import ws_signature
from arb.sim.faults import FaultKind
from arb.sim.ledger import OrderStatus
from tests.sim.test_fake_bybit_private import (
    BY_NAME,
    KEY,
    MARKETS,
    SECRET,
    Market,
    alice,
    ask_ws,
    best,
    client_for,
    filling_qty,
    realtime,
    ret_code,
    status_of,
    venue_for,
    watching,
)

BOUND_S = 20.0
"""A bound on a step that hangs (a test takes well under a second when nothing does)."""


@asynccontextmanager
async def trade_rig(
    market: Market, *, secret: str = SECRET, key: str = KEY, **options: Any
) -> AsyncIterator[tuple[FakeBybitExchange, Any]]:
    """A venue and a ccxt pro client whose order entry is the venue's ``/v5/trade``, markets loaded."""
    async with venue_for(market, **options) as venue, client_for(venue, market, secret=secret, key=key) as exchange:
        exchange.urls["api"]["ws"]["private"]["trade"] = venue.trade_ws_url
        async with asyncio.timeout(BOUND_S):
            await exchange.load_markets()
        yield venue, exchange


async def place(exchange: Any, market: Market, qty: D, price: D, link: str, **params: Any) -> dict[str, Any]:
    """``create_order_ws``: a limit buy (IOC unless ``params`` say otherwise) with ``link`` as its client id."""
    async with asyncio.timeout(BOUND_S):
        order: dict[str, Any] = await exchange.create_order_ws(
            market.symbol, "limit", "buy", float(qty), float(price),
            {"timeInForce": "IOC", "clientOrderId": link, **params},
        )  # fmt: skip
    return order


def trade_answers(venue: FakeBybitExchange, op: str) -> list[int]:
    return [a.ret_code for a in venue.trade_log if a.op == op]


# -- orders ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_an_ioc_over_websocket_fills_and_rest_shows_it_as_the_ledger_does(market: Market) -> None:
    async with trade_rig(market) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        ack = await place(exchange, market, qty, ask, "ws-ioc-1")
        assert ack["clientOrderId"] == "ws-ioc-1" and ack["status"] is None  # an ack: fills come on the stream
        (ledger_order,) = alice(venue).orders
        assert ack["id"] == venue.order_id(ledger_order) and ledger_order.client_id == "ws-ioc-1"
        assert ledger_order.status is OrderStatus.FILLED and ledger_order.executed_qty == qty
        (listed,) = await realtime(exchange, market, orderLinkId="ws-ioc-1")
        assert listed["orderId"] == ack["id"] and listed["orderStatus"] == "Filled"
        assert D(listed["cumExecQty"]) == qty and D(listed["avgPrice"]) == ask
        fetched = await exchange.fetch_closed_order(ack["id"], market.symbol)
        assert fetched["status"] == "closed" and fetched["filled"] == float(qty)
        assert [t.order_id for t in alice(venue).trades] == [ledger_order.order_id]
        assert trade_answers(venue, "auth") == [0] and trade_answers(venue, "order.create") == [0]
        assert not [r for r in venue.stats.rest_requests if r.path == "/v5/order/create"]


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_a_post_only_rests_then_is_cancelled_over_websocket_with_stream_events(market: Market) -> None:
    async with trade_rig(market) as (venue, exchange):
        watch = await watching(venue, exchange.watch_orders(), "order")
        bid, _, _, _ = best(venue, market)
        price = bid - market.rules.tick_size * 10
        qty = max(market.rules.min_qty, (market.rules.min_notional / price).quantize(market.rules.step_size) * 2)
        ack = await place(exchange, market, qty, price, "ws-maker-1", timeInForce="PO")
        (resting,) = await exchange.fetch_open_orders(market.symbol)
        assert resting["id"] == ack["id"] and resting["clientOrderId"] == "ws-maker-1"
        assert alice(venue).orders[0].status is OrderStatus.NEW
        async with asyncio.timeout(BOUND_S):
            cancelled = await exchange.cancel_order_ws(ack["id"], market.symbol)
        assert cancelled["id"] == ack["id"] and cancelled["clientOrderId"] == "ws-maker-1"
        assert alice(venue).orders[0].status is OrderStatus.CANCELED
        (listed,) = await realtime(exchange, market, orderLinkId="ws-maker-1")
        assert listed["orderStatus"] == "Cancelled" and listed["timeInForce"] == "PostOnly"
        async with asyncio.timeout(BOUND_S):
            await watch
            while exchange.orders[-1]["status"] != "canceled":
                await exchange.watch_orders()
        streamed = [json.loads(m.text)["data"][0] for m in venue.user_stream_log if m.topic == "order"]
        assert [(e["orderLinkId"], e["orderStatus"]) for e in streamed] == [
            ("ws-maker-1", "New"), ("ws-maker-1", "Cancelled")
        ]  # fmt: skip
        assert streamed[-1]["cancelType"] == "CancelByUser"


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_a_post_only_that_would_take_is_acked_then_cancelled_by_the_venue(market: Market) -> None:
    async with trade_rig(market) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        await place(exchange, market, qty, ask, "ws-taker-po", timeInForce="PO")
        (listed,) = await realtime(exchange, market, orderLinkId="ws-taker-po")
        assert listed["orderStatus"] == "Cancelled" and listed["rejectReason"] == "EC_PostOnlyWillTakeLiquidity"
        assert alice(venue).trades == []


# -- rejections ----------------------------------------------------------------------------------------

REJECTS = {
    "spot": [
        ("balance", D("20"), 170131, ccxt.InsufficientFunds),
        ("link-id", D("0.001"), 170130, ccxt.BadRequest),
    ],
    "linear": [
        ("margin", D("600000"), 110007, ccxt.InsufficientFunds),
        ("link-id", D("10"), 10001, ccxt.BadRequest),
    ],
}


@pytest.mark.parametrize(
    ("market_name", "case", "qty", "code", "error"),
    [(name, *case) for name, cases in REJECTS.items() for case in cases],
    ids=[f"{name}-{case[0]}" for name, cases in REJECTS.items() for case in cases],
)
async def test_rejections_over_websocket_carry_the_venues_retcode(
    market_name: str, case: str, qty: D, code: int, error: type[Exception]
) -> None:
    market = BY_NAME[market_name]
    async with trade_rig(market) as (venue, exchange):
        _, _, ask, _ = best(venue, market)
        link = "no spaces allowed" if case == "link-id" else f"rej-{case}"
        with pytest.raises(error) as caught:
            await place(exchange, market, qty, ask, link)
        assert ret_code(caught.value) == code
        assert alice(venue).orders == [] and trade_answers(venue, "order.create") == [code]


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_a_client_id_used_over_rest_is_refused_over_websocket_and_cancel_of_nothing_is_not_found(
    market: Market,
) -> None:
    async with trade_rig(market) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        await exchange.create_order(market.symbol, "limit", "buy", float(qty), float(ask),
                                    {"timeInForce": "IOC", "clientOrderId": "once"})  # fmt: skip
        with pytest.raises(ccxt.InvalidOrder) as caught:
            await place(exchange, market, qty, ask, "once")
        assert ret_code(caught.value) == (170141 if market.spot else 110072)
        assert [o.client_id for o in alice(venue).orders] == ["once"]
        filled_id = venue.order_id(alice(venue).orders[0])
        with pytest.raises(ccxt.OrderNotFound) as caught:
            async with asyncio.timeout(BOUND_S):
                await exchange.cancel_order_ws(filled_id, market.symbol)
        assert ret_code(caught.value) == (170213 if market.spot else 110001)


async def test_requests_over_the_limit_get_10006_with_the_limit_headers() -> None:
    market = BY_NAME["linear"]
    async with trade_rig(market, rate_limits={"/v5/order/create": 1}) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        first, second = await asyncio.gather(
            place(exchange, market, qty, ask, "quick-1"),
            place(exchange, market, qty, ask, "quick-2"),
            return_exceptions=True,
        )
        outcomes = [first, second]
        refused = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(refused) == 1 and isinstance(refused[0], ccxt.RateLimitExceeded)
        assert ret_code(refused[0]) == 10006 and "Too many visits!" in str(refused[0])
        assert len(alice(venue).orders) == 1
        header = json.loads(str(refused[0]).split(" ", 1)[1])["header"]
        assert header["X-Bapi-Limit"] == "1" and header["X-Bapi-Limit-Status"] == "0"


# -- authentication --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "secret", "code"), [(KEY, "not-the-secret", 10004), ("nobodysKey", SECRET, 10003)])
async def test_ccxt_with_a_wrong_secret_or_key_fails_authentication(key: str, secret: str, code: int) -> None:
    market = BY_NAME["spot"]
    async with trade_rig(market, key=key, secret=secret) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        with pytest.raises(ccxt.AuthenticationError) as caught:
            await place(exchange, market, qty, ask, "never")
        assert ret_code(caught.value) == code
        assert alice(venue).orders == [] and venue.auth_log[-1][2] is False


@asynccontextmanager
async def raw_trade(venue: FakeBybitExchange) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session, session.ws_connect(venue.trade_ws_url) as ws:
        yield ws


def auth_args(secret: str = SECRET, *, ahead_ms: int = 10_000) -> list[Any]:
    expires = int(time.time() * 1000) + ahead_ms
    return [KEY, expires, ws_signature(secret, str(expires))]


def order_request(req_id: str, order: dict[str, Any], *, op: str = "order.create", late_ms: int = 0) -> dict[str, Any]:
    stamp = str(int(time.time() * 1000) - late_ms)
    return {"reqId": req_id, "header": {"X-BAPI-TIMESTAMP": stamp, "X-BAPI-RECV-WINDOW": "5000"}, "op": op,
            "args": [order]}  # fmt: skip


async def test_the_wire_auth_ping_order_and_refusals() -> None:
    market = BY_NAME["spot"]
    async with venue_for(market) as venue, raw_trade(venue) as ws:
        _, _, ask, _ = best(venue, market)
        order = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
                 "price": str(ask), "timeInForce": "IOC", "orderLinkId": "raw-1"}  # fmt: skip
        unauthed = await ask_ws(ws, order_request("r0", order))
        assert unauthed["retCode"] == 10003 and "reqId" not in unauthed and unauthed["op"] == "order.create"
        assert (await ask_ws(ws, {"op": "auth", "args": auth_args(ahead_ms=-1000)}))["retCode"] == 10001
        assert (await ask_ws(ws, {"op": "auth", "args": auth_args("wrong")}))["retCode"] == 10004
        reply = await ask_ws(ws, {"op": "auth", "args": auth_args(), "reqId": "a1"})
        assert reply == {"reqId": "a1", "retCode": 0, "retMsg": "OK", "op": "auth", "connId": reply["connId"]}
        assert (await ask_ws(ws, {"op": "auth", "args": auth_args()}))["retCode"] == 20001
        pong = await ask_ws(ws, {"op": "ping"})
        assert pong["op"] == "pong" and pong["retCode"] == 0 and pong["data"][0].isdigit()
        assert (await ask_ws(ws, order_request("r1", order, late_ms=6000)))["retCode"] == 10002
        answer = await ask_ws(ws, order_request("r2", order))
        assert list(answer) == ["reqId", "retCode", "retMsg", "op", "data", "retExtInfo", "header", "connId"]
        assert answer["retCode"] == 0 and answer["data"] == {"orderId": venue.order_id(alice(venue).orders[0]),
                                                             "orderLinkId": "raw-1"}  # fmt: skip
        assert answer["header"]["X-Bapi-Limit"] == "20" and answer["header"]["X-Bapi-Limit-Status"] == "19"
        assert set(answer["header"]) >= {"X-Bapi-Limit-Reset-Timestamp", "Traceid", "Timenow"}
        assert (await ask_ws(ws, order_request("r2", order)))["retCode"] == 20006
        assert (await ask_ws(ws, order_request("r3", {**order, "category": "futures"})))["retCode"] == 10404
        assert (await ask_ws(ws, order_request("r4", {}, op="order.query")))["retCode"] == 10404
        amend = await ask_ws(ws, order_request("r5", {"category": "spot", "symbol": "BTCUSDT"}, op="order.amend"))
        assert amend["retCode"] == 10001 and "not modelled" in amend["retMsg"]
        assert [o.client_id for o in alice(venue).orders] == ["raw-1"]


# -- faults -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_a_socket_dropped_after_placing_leaves_the_outcome_to_a_rest_query(market: Market) -> None:
    async with trade_rig(market) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        venue.faults.order_drop(processed=True)
        with pytest.raises(ccxt.NetworkError):
            await place(exchange, market, qty, ask, "dropped-1")
        assert await status_of(exchange, market, "dropped-1") == "Filled"
        assert [o.client_id for o in alice(venue).orders] == ["dropped-1"]
        (applied,) = [a for a in venue.faults.applied if a.kind is FaultKind.ORDER_DROP]
        assert "/v5/trade order.create processed=True" in applied.detail
        # the next request opens a new connection and authenticates again
        again = await place(exchange, market, qty, ask, "after-drop")
        assert again["clientOrderId"] == "after-drop"
        assert [o.client_id for o in alice(venue).orders] == ["dropped-1", "after-drop"]
        assert trade_answers(venue, "auth") == [0, 0]


async def test_a_socket_dropped_before_placing_leaves_nothing_on_the_ledger() -> None:
    market = BY_NAME["linear"]
    async with trade_rig(market) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        venue.faults.order_drop(processed=False)
        with pytest.raises(ccxt.NetworkError):
            await place(exchange, market, qty, ask, "lost-1")
        assert await realtime(exchange, market, orderLinkId="lost-1") == []
        assert alice(venue).orders == [] and venue.faults.count(FaultKind.ORDER_DROP) == 1


@pytest.mark.parametrize("processed", [True, False], ids=["placed", "not-placed"])
async def test_an_unanswered_request_times_out_with_the_order_placed_or_not(processed: bool) -> None:
    market = BY_NAME["spot"]
    async with trade_rig(market) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        venue.faults.order_timeout(processed=processed)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):  # ccxt sets no timeout of its own on a WebSocket request
                await exchange.create_order_ws(market.symbol, "limit", "buy", float(qty), float(ask),
                                               {"timeInForce": "IOC", "clientOrderId": "held-1"})  # fmt: skip
        listed = await realtime(exchange, market, orderLinkId="held-1")
        assert [o["orderStatus"] for o in listed] == (["Filled"] if processed else [])
        # the connection goes on answering while the answer is held
        after = await place(exchange, market, qty, ask, "next-1")
        assert after["clientOrderId"] == "next-1"
        venue.faults.release_orders()
        async with asyncio.timeout(BOUND_S):
            await venue.wait_until(lambda: trade_answers(venue, "order.create") == [0, 0])
        assert sorted(o.client_id for o in alice(venue).orders) == ["held-1", "next-1"]
        assert venue.faults.count(FaultKind.ORDER_TIMEOUT) == 1


async def test_an_error_answer_for_an_order_that_exists_then_one_that_does_not() -> None:
    market = BY_NAME["linear"]
    async with trade_rig(market) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        venue.faults.order_error(200, processed=True)
        with pytest.raises(ccxt.ExchangeError) as caught:
            await place(exchange, market, qty, ask, "exists")
        assert ret_code(caught.value) == 10016 and "Internal system error." in str(caught.value)
        venue.faults.order_error(429)
        with pytest.raises(ccxt.ExchangeError) as caught:
            await place(exchange, market, qty, ask, "never")
        assert ret_code(caught.value) == 10429
        assert [o.client_id for o in alice(venue).orders] == ["exists"]
        assert venue.faults.count(FaultKind.ORDER_ERROR) == 2


async def test_a_delayed_way_in_delays_the_answer() -> None:
    market = BY_NAME["spot"]
    async with trade_rig(market) as (venue, exchange):
        qty, ask = filling_qty(venue, market)
        await place(exchange, market, qty, ask, "warm")  # connects and authenticates
        venue.faults.delay_orders(0.3)
        started = time.monotonic()
        await place(exchange, market, qty, ask, "slow")
        assert time.monotonic() - started >= 0.3
        assert [o.client_id for o in alice(venue).orders] == ["warm", "slow"]
