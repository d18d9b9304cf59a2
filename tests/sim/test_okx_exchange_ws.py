"""The fake private OKX WebSocket (``/ws/v5/private``) driven by the ``websockets`` library and by ccxt pro's
``okx``: login with good and bad signatures, the ``orders``, ``account`` and ``positions`` channels, order
operations naming the instrument by ``instIdCode``, the text ping, the 30 s idle cut, and the rate limits REST and
the WebSocket share. The rig is ``test_okx_exchange``'s; every wait is bounded and on a condition or a message.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D  # noqa: N817 - short for the many literals below
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from arb.sim.ledger import OrderStatus
from arb.sim.okx.calls import ws_sign
from arb.sim.okx.exchange import FakeOkxExchange
from tests.sim.test_okx_exchange import (
    KEY,
    PASSPHRASE,
    SECRET,
    SWAP,
    TIMEOUT_S,
    alice,
    okx_client,
    place,
    rig,
    symbol_of,
    venue_for,
)
from tests.support.clocks import OffsetClock


def login_request(venue: FakeOkxExchange, *, secret: str = SECRET, key: str = KEY, passphrase: str = PASSPHRASE,
                  ahead_s: float = 0.0) -> dict[str, Any]:  # fmt: skip
    """``{"op":"login",...}`` signed now by the venue's clock (``ahead_s``: a timestamp that far off it)."""
    stamp = str(int(venue.options.clock() + ahead_s))
    arg = {"apiKey": key, "passphrase": passphrase, "timestamp": stamp, "sign": ws_sign(secret, stamp)}
    return {"op": "login", "args": [arg]}


async def receive(ws: ClientConnection) -> Any:
    """The next message, decoded (``pong`` as text)."""
    async with asyncio.timeout(TIMEOUT_S):
        text = await ws.recv()
    return text if text == "pong" else json.loads(text)


async def send(ws: ClientConnection, message: Any) -> None:
    await ws.send(message if isinstance(message, str) else json.dumps(message))


@asynccontextmanager
async def private(venue: FakeOkxExchange, *, login: bool = True) -> AsyncIterator[ClientConnection]:
    """A connection to the venue's private WebSocket, logged in unless ``login`` is false."""
    async with connect(venue.private_ws_url, ping_interval=None) as ws:
        if login:
            await send(ws, login_request(venue))
            answer = await receive(ws)
            assert answer["event"] == "login" and answer["code"] == "0", answer
        yield ws


async def until_event(ws: ClientConnection, wanted: Any) -> list[Any]:
    """Messages up to and including the first for which ``wanted(message)`` holds."""
    seen = []
    while True:
        message = await receive(ws)
        seen.append(message)
        if wanted(message):
            return seen


def pushes(messages: list[Any], channel: str) -> list[Any]:
    return [m for m in messages if isinstance(m, dict) and m.get("arg", {}).get("channel") == channel and "data" in m]


# -- login and subscriptions -----------------------------------------------------------------------


async def test_a_login_then_subscriptions_get_acks_counts_and_snapshots(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, private(venue) as ws:
        args = [{"channel": "orders", "instType": "ANY"}, {"channel": "account"},
                {"channel": "positions", "instType": "SWAP"}]  # fmt: skip
        await send(ws, {"op": "subscribe", "args": args})
        seen = [await receive(ws) for _ in range(8)]
        events = [(m.get("event"), m.get("arg", {}).get("channel") or m.get("channel")) for m in seen]
        assert events == [("subscribe", "orders"), ("channel-conn-count", "orders"), ("subscribe", "account"),
                          ("channel-conn-count", "account"), (None, "account"), ("subscribe", "positions"),
                          ("channel-conn-count", "positions"), (None, "positions")]  # fmt: skip
        account, positions = seen[4], seen[7]
        assert account["eventType"] == "snapshot" and account["arg"]["uid"] == venue.uid("alice")
        (usdt,) = account["data"][0]["details"]
        assert (usdt["ccy"], D(usdt["cashBal"]), D(usdt["availBal"])) == ("USDT", D(100000), D(100000))
        assert positions["eventType"] == "snapshot" and positions["data"] == []
        assert venue.user_streams_up() and venue.auth_log == [(0, "0", True)]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"secret": "wrong"}, "60007"),
        ({"passphrase": "wrong"}, "60024"),
        ({"key": "nobody"}, "60005"),
        ({"ahead_s": 31.0}, "60006"),
    ],
    ids=["sign", "passphrase", "key", "timestamp"],
)
async def test_a_bad_login_is_refused_and_the_connection_closed(change: dict[str, Any], code: str,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    async with venue_for(tmp_path) as venue, private(venue, login=False) as ws:
        await send(ws, login_request(venue, **change))
        refused = await receive(ws)
        assert (refused["event"], refused["code"]) == ("error", code)
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
        assert venue.auth_log == [(0, code, False)]


async def test_private_channels_and_operations_need_a_login_and_a_second_login_is_refused(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, private(venue, login=False) as ws:
        await send(ws, {"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
        assert (await receive(ws))["code"] == "60011"
        await send(ws, {"id": "1", "op": "order", "args": [{"instIdCode": 10459}]})
        assert (await receive(ws))["code"] == "60011"
        await send(ws, login_request(venue))
        assert (await receive(ws))["event"] == "login"
        await send(ws, login_request(venue))
        assert (await receive(ws))["code"] == "60031"
        await send(ws, {"op": "subscribe", "args": [{"channel": "fills", "instType": "ANY"}]})
        assert (await receive(ws))["code"] == "60018"
        await send(ws, "not json")
        assert (await receive(ws))["code"] == "60012"


# -- the orders channel -----------------------------------------------------------------------------


async def test_the_orders_channel_pushes_each_state_of_an_order_with_its_own_fill(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange), private(venue) as ws:
        await send(ws, {"op": "subscribe", "args": [{"channel": "orders", "instType": "SWAP"},
                                                    {"channel": "positions", "instType": "ANY"}]})  # fmt: skip
        await until_event(ws, lambda m: m.get("arg", {}).get("channel") == "positions" and "data" in m)
        placed = await place(exchange, SWAP, "buy", "80", "60020", "ws1")  # 50 at 60010, then 30 at 60020
        seen = await until_event(ws, lambda m: m.get("data", [{}])[0].get("state") == "filled")
        states = [(p["data"][0]["state"], p["data"][0]["fillSz"], p["data"][0]["fillPx"], p["data"][0]["accFillSz"])
                  for p in pushes(seen, "orders")]  # fmt: skip
        assert states == [("live", "0", "", "0"), ("partially_filled", "50", "60010", "50"),
                          ("filled", "30", "60020", "80")]  # fmt: skip
        fills = [p["data"][0] for p in pushes(seen, "orders")][1:]
        order = alice(venue).orders[0]
        assert [f["tradeId"] for f in fills] == [str(t.trade_id) for t in order.trades]
        assert [D(f["fillFee"]) for f in fills] == [-t.fee for t in order.trades]
        assert {f["execType"] for f in fills} == {"T"} and {f["ordId"] for f in fills} == {placed["id"]}
        assert {f["fillFeeCcy"] for f in fills} == {"USDT"}
        assert D(fills[-1]["avgPx"]) == order.cum_quote / order.executed_qty
        assert pushes(seen, "orders")[0]["arg"] == {"channel": "orders", "instType": "SWAP", "uid": venue.uid("alice")}
        position = await until_event(ws, lambda m: m.get("arg", {}).get("channel") == "positions")
        assert position[-1]["eventType"] == "event_update" and position[-1]["data"][0]["pos"] == "80"


# -- order operations -------------------------------------------------------------------------------


async def test_order_operations_name_the_instrument_by_its_code(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, private(venue) as ws:
        code = venue.inst_id_code(SWAP)
        order = {"instIdCode": code, "tdMode": "cross", "side": "buy", "ordType": "limit", "px": "59000", "sz": "2",
                 "clOrdId": "w1"}  # fmt: skip
        await send(ws, {"id": "a1", "op": "order", "args": [order]})
        answer = await receive(ws)
        assert (answer["id"], answer["op"], answer["code"], answer["data"][0]["sCode"]) == ("a1", "order", "0", "0")
        ord_id = answer["data"][0]["ordId"]
        assert ord_id == str(alice(venue).orders[0].order_id) and "inTime" in answer
        by_id = {**order, "instIdCode": None, "instId": SWAP, "clOrdId": "w2"}
        await send(ws, {"id": "a2", "op": "order", "args": [by_id]})
        refused = await receive(ws)
        assert (refused["code"], refused["data"][0]["sCode"]) == ("1", "50014")
        assert refused["data"][0]["sMsg"] == "Parameter instIdCode can not be empty."
        unknown = {**order, "instIdCode": 99, "clOrdId": "w3"}
        await send(ws, {"id": "a3", "op": "batch-orders", "args": [{**order, "clOrdId": "w4"}, unknown]})
        batch = await receive(ws)
        assert batch["code"] == "2" and [d["sCode"] for d in batch["data"]] == ["0", "51001"]
        amend = {"instIdCode": code, "clOrdId": "w1", "newPx": "59100", "reqId": "r1"}
        await send(ws, {"id": "a4", "op": "amend-order", "args": [amend]})
        amended = await receive(ws)
        assert (amended["data"][0]["sCode"], amended["data"][0]["reqId"]) == ("0", "r1")
        assert alice(venue).orders[0].price == D("59100")
        await send(ws, {"id": "a5", "op": "cancel-order", "args": [{"instIdCode": code, "ordId": ord_id}]})
        assert (await receive(ws))["data"][0]["sCode"] == "0"
        assert alice(venue).orders[0].status is OrderStatus.CANCELED
        await send(ws, {"id": "a6", "op": "cancel-order", "args": [{"instIdCode": code, "ordId": ord_id}]})
        assert (await receive(ws))["data"][0]["sCode"] == "51400"
        await send(ws, {"id": "a7", "op": "order", "args": {"instIdCode": code}})
        malformed = await receive(ws)
        assert (malformed["id"], malformed["code"], malformed["data"]) == ("a7", "60013", [])
        assert [a.code for a in venue.op_log] == ["0", "1", "2", "0", "0", "1", "60013"]


async def test_an_amendment_is_pushed_with_its_request_id(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, private(venue) as ws:
        await send(ws, {"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
        await until_event(ws, lambda m: m.get("event") == "channel-conn-count")
        code = venue.inst_id_code(SWAP)
        order = {"instIdCode": code, "tdMode": "cross", "side": "sell", "ordType": "post_only", "px": "60100",
                 "sz": "5", "clOrdId": "p1"}  # fmt: skip
        await send(ws, {"id": "1", "op": "order", "args": [order]})
        created = await until_event(ws, lambda m: "data" in m and m.get("arg"))
        assert created[-1]["data"][0]["amendResult"] == "" and created[-1]["data"][0]["state"] == "live"
        await send(ws, {"id": "2", "op": "amend-order", "args": [{"instIdCode": code, "clOrdId": "p1", "newSz": "7",
                                                                  "reqId": "q7"}]})  # fmt: skip
        pushed = await until_event(ws, lambda m: "data" in m and m.get("arg"))
        entry = pushed[-1]["data"][0]
        assert (entry["amendResult"], entry["reqId"], entry["sz"], entry["state"]) == ("0", "q7", "7", "live")


# -- keeping alive ----------------------------------------------------------------------------------


async def test_ping_keeps_a_connection_that_would_be_cut_after_30_silent_seconds(tmp_path: Path) -> None:
    clock = OffsetClock()
    async with venue_for(tmp_path, clock=clock) as venue, private(venue) as quiet, private(venue) as busy:
        clock.advance(20.0)
        await send(busy, "ping")
        assert await receive(busy) == "pong"
        clock.advance(15.0)  # quiet has said nothing for 35 s, busy for 15 s
        await venue.tick()
        with pytest.raises(ConnectionClosed) as closed:
            await receive(quiet)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4004
        await send(busy, "ping")
        assert await receive(busy) == "pong"


# -- limits shared with REST ------------------------------------------------------------------------


async def test_the_per_instrument_order_limit_counts_rest_and_websocket_together(tmp_path: Path) -> None:
    clock = OffsetClock()
    async with rig(tmp_path, clock=clock, rate_limits={"order": (2, 2.0)}) as (venue, exchange), private(venue) as ws:
        body = {"instId": SWAP, "tdMode": "cross", "side": "buy", "ordType": "limit", "px": "59000", "sz": "1"}
        assert (await exchange.privatePostTradeOrder({**body, "clOrdId": "r1"}))["code"] == "0"
        ws_order = {**body, "instId": None, "instIdCode": venue.inst_id_code(SWAP)}
        await send(ws, {"id": "w", "op": "order", "args": [{**ws_order, "clOrdId": "r2"}]})
        assert (await receive(ws))["code"] == "0"
        await send(ws, {"id": "x", "op": "order", "args": [{**ws_order, "clOrdId": "r3"}]})
        refused = await receive(ws)
        assert (refused["code"], refused["data"][0]["sCode"]) == ("1", "50011")
        with pytest.raises(ccxt.RateLimitExceeded):
            await exchange.privatePostTradeOrder({**body, "clOrdId": "r4"})
        assert venue.stats.rest_requests[-1].status == 429
        clock.advance(2.1)
        exchange.options["timeDifference"] = -int(clock.offset * 1000)
        assert (await exchange.privatePostTradeOrder({**body, "clOrdId": "r5"}))["code"] == "0"
        assert [o.client_id for o in alice(venue).orders] == ["r1", "r2", "r5"]


# -- ccxt pro ---------------------------------------------------------------------------------------


async def test_ccxt_pro_places_by_code_and_watches_the_fill(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue:
        exchange = okx_client(venue, pro=True)
        try:
            async with asyncio.timeout(TIMEOUT_S):
                await exchange.load_markets()
                watching = asyncio.create_task(exchange.watch_orders(symbol_of(SWAP)))
                await venue.wait_until(lambda: venue.user_streams_up())
                placed = await exchange.create_order_ws(symbol_of(SWAP), "limit", "buy", 5, 60010,
                                                        {"timeInForce": "IOC", "clientOrderId": "pro1"})  # fmt: skip
                seen = await watching
                while not any(o["status"] == "closed" for o in seen):
                    seen = await exchange.watch_orders(symbol_of(SWAP))
            (closed,) = [o for o in seen if o["status"] == "closed"]
            assert closed["id"] == placed["id"] and closed["filled"] == 5 and closed["clientOrderId"] == "pro1"
            (answer,) = venue.op_log
            assert (answer.op, answer.code, answer.s_codes) == ("batch-orders", "0", ("0",))
        finally:
            await exchange.close()
