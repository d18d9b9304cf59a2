"""The simulator's parts, each alone: the playback without a venue, the request weight on a hand-moved
clock, the order desk on a hand-made book, Binance's REST on an application of its own, its user stream
fed by a ledger moved by hand, its WebSocket orders answered on a connection that is only a list, and
Bybit's handlers and private stream the same way.

No part here has a venue around it: each is given what it needs through its constructor.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from arb.sim.binance.accounts import BinanceAccounts
from arb.sim.binance.calls import Call, Endpoint
from arb.sim.binance.orders import BinanceOrders
from arb.sim.binance.private_rest import BinanceRest
from arb.sim.binance.user_stream import BinanceUserStream
from arb.sim.binance.weight import RequestWeight
from arb.sim.binance.wire import signature, ws_payload
from arb.sim.binance.ws_api import BinanceWsOrders
from arb.sim.bybit.accounts import BybitAccounts
from arb.sim.bybit.orders import BybitOrders
from arb.sim.bybit.user_stream import BybitUserStream
from arb.sim.bybit.views import BybitViews
from arb.sim.bybit.wire import ws_signature
from arb.sim.faults import AppliedFault, FaultKind, FaultPlan
from arb.sim.ledger import Ledger, OrderStatus, OrderType, Side, SymbolRules, TimeInForce
from arb.sim.options import VenueOptions
from arb.sim.playback import Playback
from arb.sim.private import OrderDesk, open_ledger
from arb.sim.replay import Classified, FrameKind, Replay, ReplayFrame
from arb.sim.venue import BookView

RULES = SymbolRules.of("BTCUSDT", tick_size="0.01", step_size="0.001", min_notional="5")
KEY, SECRET = "k", "s"
NOW_S = 1_723_161_255.0


class Clock:
    """The venue's clock, moved by hand (seconds)."""

    def __init__(self, now: float = NOW_S) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Connection:
    """A user-stream or WS-API connection that only keeps what it is sent."""

    def __init__(self, connection_id: int, path: str) -> None:
        self.id, self.path, self.open, self.sent = connection_id, path, True, list[Any]()
        self.conn_id, self.subscriptions = f"conn-{connection_id}", dict[str, None]()

    async def send_control(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def change_subscriptions(self, *, add: Any = (), remove: Any = (), reply: str | None = None) -> None:
        self.subscriptions.update(dict.fromkeys(add))
        for topic in remove:
            self.subscriptions.pop(topic, None)
        if reply is not None:
            await self.send_control(reply)

    async def close(self, code: int = 1001, reason: str = "", *, abrupt: bool = False) -> None:
        self.open = False


def market_ledger(clock: Clock, market: str = "spot") -> Ledger:
    """A ledger matching against a fixed book (bid 100.00, ask 100.10), with alice funded."""
    book = BookView("BTCUSDT", [("100.00", "1.0")], [("100.10", "0.5")], 1)
    ledger = open_ledger(
        market,  # type: ignore[arg-type]
        [RULES], VenueOptions(), book=lambda symbol: book, book_version=lambda: 0,
        clock_ms=lambda: int(clock() * 1000), linear_taker_fee="0.0005", client_id_scope="open",
        first_ids=(28_000_000_001, 309_520_001), ids_per_symbol=True, post_only_taking="reject",
    )  # fmt: skip
    balances = {"BTC": "1", "USDT": "1000"} if market == "spot" else {"USDT": "1000"}
    ledger.add_account("alice", api_key=KEY, api_secret=SECRET, balances=balances)
    return ledger


def desk_for(ledger: Ledger, clock: Clock, faults: FaultPlan, applied: list[AppliedFault]) -> OrderDesk:
    """An order desk on a market clock that never moves, its events flushed nowhere."""

    async def nothing() -> None:
        return None

    async def wait_until(predicate: Any) -> None:
        assert predicate()

    return OrderDesk(ledger, faults, SimpleNamespace(position=0, exhausted=True), clock=clock,
                     record=applied.append, notify=lambda: None, wait_until=wait_until, flush=nothing)  # fmt: skip


# -- the playback ------------------------------------------------------------------------------------


def classify(raw: bytes) -> Classified:
    message = json.loads(raw)
    return Classified(FrameKind.DATA, message["stream"], "BTCUSDT", message["E"])


async def test_the_playback_alone_hands_each_frame_to_its_callable_in_recorded_order(tmp_path: Path) -> None:
    recording = tmp_path / "trades.txt"
    lines = [f"{1_723_161_255_000_000_000 + k * 1_000_000} " + json.dumps({"stream": "t", "E": k}) for k in range(5)]
    recording.write_text("\n".join(lines) + "\n")
    released: list[ReplayFrame] = []

    async def release(frame: ReplayFrame) -> None:
        released.append(frame)

    playback = Playback(Replay([[recording]], classify), release)
    assert released == [] and playback.position == 0
    assert await playback.advance(2) == 2
    assert await playback.advance_until(1_723_161_255_003_000_000) == 2
    assert await playback.drain() == 1
    assert [json.loads(f.raw)["E"] for f in released] == [0, 1, 2, 3, 4]
    assert [f.stream_index for f in released] == [0, 1, 2, 3, 4]
    assert playback.position == 5 and playback.exhausted and playback.peek() is None


async def test_timed_playback_stops_when_told_even_as_its_pace_changes_in_the_same_step(tmp_path: Path) -> None:
    # frames an hour apart: playback waits on the pace for the second; a gate moved and a stop in one
    # step of the loop must end it (a stop lost there played on, and a test's teardown waited an hour)
    recording = tmp_path / "trades.txt"
    lines = [
        f"{1_723_161_255_000_000_000 + k * 3_600_000_000_000} " + json.dumps({"stream": "t", "E": k}) for k in range(3)
    ]
    recording.write_text("\n".join(lines) + "\n")
    released: list[ReplayFrame] = []
    first = asyncio.Event()

    async def release(frame: ReplayFrame) -> None:
        released.append(frame)
        first.set()

    playback = Playback(Replay([[recording]], classify), release)
    playback.play(1.0)
    await first.wait()
    await asyncio.sleep(0)  # one more step: back in the wait for the next frame's time
    playback.gate(None)
    async with asyncio.timeout(60):
        await playback.stop()
    assert len(released) == 1


# -- the request weight --------------------------------------------------------------------------------


def test_the_request_weight_alone_counts_per_minute_of_its_clock() -> None:
    clock = Clock(60 * 1000 + 50.0)
    weight = RequestWeight(30, clock)
    assert (weight.charge(20), weight.charge(15)) == (20, 35)
    assert weight.seconds_left() == 10
    body = json.loads(weight.error_body(429, None, None, weight.seconds_left()))
    assert body == {"code": -1003, "msg": "Too many requests; current limit is 30 requests per minute. Please use "
                    "the websocket for live updates to avoid polling the API."}  # fmt: skip
    clock.now += 10
    assert weight.charge(1) == 1 and weight.limits()["count"] == 1


# -- the order desk ------------------------------------------------------------------------------------


async def test_the_order_desk_alone_places_the_next_order_under_its_scripted_faults() -> None:
    clock, faults, applied = Clock(), FaultPlan(), list[AppliedFault]()
    ledger = market_ledger(clock)
    desk = desk_for(ledger, clock, faults, applied)
    faults.order_partial(0.5)
    faults.hide_orders(queries=1)
    alice = ledger.accounts["alice"]
    order = desk.place(alice, RULES, Side.BUY, OrderType.LIMIT, D("0.4"), D("100.10"), TimeInForce.IOC, "c1", False)
    assert order.status is OrderStatus.EXPIRED and order.executed_qty == D("0.2")
    assert ledger.find(alice, "BTCUSDT", client_id="c1", count_query=True) is None  # hidden from the first query
    assert ledger.find(alice, "BTCUSDT", client_id="c1", count_query=True) is order
    desk.ban(30)
    assert desk.banned and [f.kind for f in applied] == [FaultKind.BAN]
    clock.now += 30
    assert not desk.banned


# -- Binance's REST ------------------------------------------------------------------------------------


@asynccontextmanager
async def served(app: web.Application) -> AsyncIterator[str]:
    """``app`` on 127.0.0.1 (a port the OS picks); yields its base URL."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def rest_for(ledger: Ledger, clock: Clock, faults: FaultPlan, logged: list[tuple[str, int]]) -> BinanceRest:
    """Binance spot's REST for ``ledger``: the order and account handlers behind the dispatch."""
    applied: list[AppliedFault] = []
    desk = desk_for(ledger, clock, faults, applied)
    accounts = BinanceAccounts(ledger, market="spot", clock=clock, mark_price=lambda s: None, max_leverage=125,
                               maintenance_rate=D("0.004"))  # fmt: skip
    orders = BinanceOrders(desk, market="spot", dual=accounts.dual)

    async def nothing(*_: object) -> None:
        return None

    return BinanceRest(desk, RequestWeight(6000, clock), faults, orders.endpoints() | accounts.endpoints(),
                       market="spot", clock=clock, begin=nothing, tick=nothing,
                       log=lambda request, status, weight: logged.append((request.path, status)),
                       record=applied.append)  # fmt: skip


def signed(params: dict[str, str], clock: Clock) -> str:
    query = urlencode({**params, "timestamp": str(int(clock() * 1000)), "recvWindow": "5000"})
    return f"{query}&signature={signature(SECRET, query)}"


async def test_binance_rest_alone_serves_a_signed_order_from_its_ledger_without_a_market_playback() -> None:
    clock, faults, logged = Clock(), FaultPlan(), list[tuple[str, int]]()
    ledger = market_ledger(clock)
    app = web.Application()
    rest_for(ledger, clock, faults, logged).add_routes(app)
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "IOC", "quantity": "0.2",
             "price": "100.10", "newClientOrderId": "c1"}  # fmt: skip
    async with served(app) as url, aiohttp.ClientSession(headers={"X-MBX-APIKEY": KEY}) as http:
        async with http.post(f"{url}/api/v3/order", data=signed(order, clock),
                             headers={"Content-Type": "application/x-www-form-urlencoded"}) as answer:  # fmt: skip
            placed = await answer.json()
            assert answer.status == 200 and answer.headers["x-mbx-order-count-10s"] == "1"
            assert answer.headers["x-mbx-used-weight-1m"] == "1"
        assert (placed["status"], placed["executedQty"], placed["fills"][0]["price"]) == (
            "FILLED", "0.20000000", "100.10000000")  # fmt: skip
        async with http.get(f"{url}/api/v3/account?{signed({}, clock)}") as answer:
            balances = {b["asset"]: b["free"] for b in (await answer.json())["balances"]}
        assert balances["USDT"] == "979.98000000"  # 1000 - 0.2 x 100.10
        async with http.delete(f"{url}/api/v3/order?{signed({'symbol': 'BTCUSDT', 'orderId': '1'}, clock)[:-2]}00"):
            pass
    assert [status for _, status in logged] == [200, 200, 400]  # the last one's signature was broken
    assert ledger.accounts["alice"].orders[0].client_id == "c1"


# -- Binance's user stream -----------------------------------------------------------------------------


def user_stream_for(ledger: Ledger, clock: Clock, connections: list[Connection], market: str) -> BinanceUserStream:
    async def no_ws(request: web.Request, combined: bool) -> web.StreamResponse:
        raise AssertionError("no venue serves WebSockets here")

    stream = BinanceUserStream(
        ledger, FaultPlan(), RequestWeight(6000, clock), market=market, clock=clock,  # type: ignore[arg-type]
        connections=lambda: connections, serve_ws=no_ws, record=lambda fault: None, notify=lambda: None,
        mark_price=lambda symbol: D("100.05"), cancel_client_id=lambda symbol, order_id: "",
    )  # fmt: skip
    ledger.subscribe("alice", stream.events.queue)
    return stream


async def test_binance_user_stream_alone_sends_what_a_hand_moved_ledger_did_on_a_listen_key_stream() -> None:
    clock = Clock()
    ledger = market_ledger(clock, "linear")
    alice = ledger.accounts["alice"]
    connections: list[Connection] = []
    stream = user_stream_for(ledger, clock, connections, "linear")
    handler = stream.endpoints()[("POST", "/fapi/v1/listenKey")].handler
    key = handler(Call({}, alice, int(clock() * 1000))).body["listenKey"]
    connection = Connection(7, f"/private/ws?listenKey={key}")
    connections.append(connection)
    assert stream.count() == 1 and stream.is_user_stream(connection)  # type: ignore[arg-type]
    ledger.place(alice, symbol="BTCUSDT", side=Side.SELL, type=OrderType.LIMIT, qty=D("0.5"), price=D("100.00"),
                 time_in_force=TimeInForce.IOC, client_id="c1")  # fmt: skip
    await stream.events.flush()
    assert [m["e"] for m in connection.sent] == ["ORDER_TRADE_UPDATE", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]
    filled = connection.sent[1]["o"]
    assert (filled["c"], filled["X"], filled["l"], filled["L"]) == ("c1", "FILLED", "0.500", "100.00")
    assert [m.event for m in stream.events.log if m.sent] == [m["e"] for m in connection.sent]
    clock.now += 3600
    await stream.expire_listen_keys()
    assert connection.sent[-1]["e"] == "listenKeyExpired" and connection.open  # left open, as Binance does
    sent = len(connection.sent)
    ledger.place(alice, symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=D("0.5"), price=D("100.10"),
                 time_in_force=TimeInForce.IOC, client_id="c2")  # fmt: skip
    await stream.events.flush()
    assert len(connection.sent) == sent and stream.count() == 0  # and nothing more on it


async def test_binance_user_stream_alone_answers_a_signed_subscription_then_sends_execution_reports() -> None:
    clock = Clock()
    ledger = market_ledger(clock)
    connection = Connection(3, "/ws-api/v3")
    stream = user_stream_for(ledger, clock, [connection], "spot")
    params: dict[str, Any] = {"apiKey": KEY, "timestamp": int(clock() * 1000)}
    params["signature"] = signature(SECRET, ws_payload(params))
    await stream.on_request(connection, "s1", "userDataStream.subscribe.signature", params)  # type: ignore[arg-type]
    assert connection.sent[0]["result"] == {"subscriptionId": 0} and stream.auth_log == [(3, 0, True)]
    ledger.place(ledger.accounts["alice"], symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=D("0.1"),
                 price=D("99.00"), time_in_force=TimeInForce.GTC, client_id="c2")  # fmt: skip
    await stream.events.flush()
    events = [m["event"] for m in connection.sent[1:]]
    assert [(e["e"], e.get("X")) for e in events] == [("executionReport", "NEW"), ("outboundAccountPosition", None)]
    assert {m["subscriptionId"] for m in connection.sent[1:]} == {0}


# -- Binance's WebSocket orders ------------------------------------------------------------------------


async def test_binance_ws_orders_alone_answer_an_order_with_the_rest_handler_and_its_shared_weight() -> None:
    clock, faults = Clock(), FaultPlan()
    ledger = market_ledger(clock)
    rest = rest_for(ledger, clock, faults, [])

    async def nothing() -> None:
        return None

    ws_orders = BinanceWsOrders(rest, clock=clock, tick=nothing, spawn=lambda coro: None)
    connection = Connection(1, "/ws-api/v3")
    params: dict[str, Any] = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
                              "quantity": "0.1", "price": "101.00", "newClientOrderId": "w1", "apiKey": KEY,
                              "timestamp": int(clock() * 1000)}  # fmt: skip
    params["signature"] = signature(SECRET, ws_payload(params))
    await ws_orders.on_request(connection, "1", "order.place", params)  # type: ignore[arg-type]
    (answer,) = connection.sent
    assert (answer["id"], answer["status"], answer["result"]["status"]) == ("1", 200, "NEW")
    assert [(r["rateLimitType"], r["count"]) for r in answer["rateLimits"]] == [
        ("ORDERS", 1), ("ORDERS", 1), ("REQUEST_WEIGHT", 1)]  # fmt: skip
    assert rest.weight.used == 1 and [a.code for a in ws_orders.ws_api_log] == [0]
    assert ledger.open_orders(ledger.accounts["alice"], "BTCUSDT")[0].client_id == "w1"
    params["signature"] = "0" * 64
    await ws_orders.on_request(connection, "2", "order.place", params)  # type: ignore[arg-type]
    assert connection.sent[-1]["error"]["code"] == -1022 and rest.weight.used == 2


@pytest.mark.parametrize("endpoint", [("GET", "/api/v3/order"), ("DELETE", "/api/v3/openOrders")])
def test_binance_handlers_alone_refuse_an_unknown_symbol_without_http(endpoint: tuple[str, str]) -> None:
    clock = Clock()
    ledger = market_ledger(clock)
    rest = rest_for(ledger, clock, FaultPlan(), [])
    found: Endpoint = rest.endpoints[endpoint]
    reply = rest.run(found, Call({"symbol": "ETHUSDT", "orderId": "1"}, ledger.accounts["alice"], int(time.time())))
    assert (reply.status, reply.body["code"]) == (400, -1121)


# -- Bybit's handlers and private stream ---------------------------------------------------------------


def bybit_views(clock: Clock) -> BybitViews:
    """Bybit spot's views of a ledger on the fixed book, alice with her UID."""
    ledger = market_ledger(clock)
    views = BybitViews(ledger, category="spot", clock=clock, mark_price=lambda s: D("100.05"),
                       maintenance_rate=D("0.005"))  # fmt: skip
    views.add_uid("alice")
    return views


def test_bybit_handlers_alone_place_and_show_an_order_without_http() -> None:
    clock = Clock()
    views = bybit_views(clock)
    desk = desk_for(views.ledger, clock, FaultPlan(), [])
    accounts = BybitAccounts(views, max_leverage=D(10))
    orders = BybitOrders(desk, views, hedge=accounts.hedge, mark_price=lambda s: D("100.05"))
    alice = views.ledger.accounts["alice"]
    create = orders.endpoints()["/v5/order/create"].handler
    params = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.2",
              "price": "99.00", "orderLinkId": "b1"}  # fmt: skip
    placed = create(Call(params, alice, int(clock() * 1000)))
    assert (placed.ret_code, placed.result["orderLinkId"]) == (0, "b1")
    realtime = orders.endpoints()["/v5/order/realtime"].handler
    listed = realtime(Call({"category": "spot", "symbol": "BTCUSDT"}, alice, int(clock() * 1000))).result["list"]
    assert [(o["orderId"], o["orderLinkId"], o["orderStatus"]) for o in listed] == [
        (placed.result["orderId"], "b1", "New")]  # fmt: skip
    wallet = accounts.endpoints()["/v5/account/wallet-balance"].handler
    coins = wallet(Call({"accountType": "UNIFIED"}, alice, int(clock() * 1000))).result["list"][0]["coin"]
    assert {c["coin"]: c["locked"] for c in coins} == {"BTC": "0", "USDT": "19.8"}


async def test_bybit_user_stream_alone_authenticates_subscribes_and_sends_a_hand_moved_ledgers_order() -> None:
    clock = Clock()
    views = bybit_views(clock)
    logged: list[tuple[str, bool]] = []
    stream = BybitUserStream(views, FaultPlan(), clock=clock, record=lambda fault: None, notify=lambda: None,
                             log_subscription=lambda conn, op, topics, ok: logged.append((op, ok)))  # fmt: skip
    views.ledger.subscribe("alice", stream.events.queue)
    connection = Connection(4, "/v5/private")
    expires = str(int(clock() * 1000) + 10_000)
    await stream.on_request(connection, {"op": "auth", "args": [KEY, expires, ws_signature(SECRET, expires)]})  # type: ignore[arg-type]
    await stream.on_request(connection, {"op": "subscribe", "args": ["order"], "req_id": "r1"})  # type: ignore[arg-type]
    assert [(m["op"], m["success"]) for m in connection.sent] == [("auth", True), ("subscribe", True)]
    assert stream.up() is False and logged == [("subscribe", True)]  # no execution topic yet
    views.ledger.place(views.ledger.accounts["alice"], symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT,
                       qty=D("0.1"), price=D("99.00"), time_in_force=TimeInForce.GTC, client_id="b2")  # fmt: skip
    await stream.events.flush()
    (message,) = connection.sent[2:]
    assert message["topic"] == "order" and message["id"].startswith(str(views.uid("alice")))
    assert [(o["orderLinkId"], o["orderStatus"]) for o in message["data"]] == [("b2", "New")]
