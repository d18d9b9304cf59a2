"""Every fault the fake OKX can inject, each shown doing what it says against ccxt's ``okx`` (REST, ccxt pro for
the private stream) or the ``websockets`` library: the answer lost (held until released, the order placed or
not), late, an error (5xx, busy 50013, timeout 50004: the outcome unknown; a refusal in an HTTP 200, per item in
``sCode``) or the connection dropped; a request held while the book moves (the fill that beats a cancel, the
post-only that would now take); fills capped; orders hidden from queries; the private stream silenced, losing one
channel's pushes, dropped, or closed after a service upgrade's notice; rate limits (50011) and the ban (50013);
duplicate client ids (51016), a resend after a lost answer among them. The rig is ``test_okx_exchange``'s.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal as D  # noqa: N817 - short for the many literals below
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest
from websockets.exceptions import ConnectionClosed

from arb.sim.faults import FaultKind
from arb.sim.ledger import OrderStatus
from tests.sim.test_okx_exchange import (
    SPOT,
    SWAP,
    TIMEOUT_S,
    alice,
    code_of,
    okx_client,
    place,
    rig,
    symbol_of,
    venue_for,
)
from tests.sim.test_okx_exchange_ws import private, pushes, receive, send, until_event
from tests.support.clocks import OffsetClock

THROUGH = ([("59990", "0"), ("59890", "150")], [("60010", "0"), ("59900", "80")])
"""A book change that trades through 59950 downwards: bid 59890, ask 59900."""


async def until(venue: Any, condition: Any) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        await venue.wait_until(condition)


async def given_up(task: asyncio.Task[Any]) -> None:
    """The client stops waiting for ``task``'s answer (as its timeout would)."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# -- answers lost, late, erroneous ------------------------------------------------------------------


async def test_a_lost_answer_leaves_the_order_placed_and_a_query_by_client_id_finds_it(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        venue.faults.order_timeout(processed=True)
        task = asyncio.create_task(place(exchange, SWAP, "buy", "10", "60010", "lost1"))
        await until(venue, lambda: venue.faults.count(FaultKind.ORDER_TIMEOUT) == 1 and alice(venue).orders)
        await given_up(task)
        found = await exchange.fetch_order(None, symbol_of(SWAP), {"clientOrderId": "lost1"})
        assert found["status"] == "closed" and found["filled"] == 10
        assert [o.client_id for o in alice(venue).orders] == ["lost1"]
        venue.faults.release_orders()


async def test_a_resend_after_a_lost_answer_is_refused_51016_while_the_first_order_rests(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        venue.faults.order_timeout(processed=True)
        task = asyncio.create_task(place(exchange, SWAP, "buy", "10", "59000", "again1", tif="GTC"))
        await until(venue, lambda: venue.faults.count(FaultKind.ORDER_TIMEOUT) == 1 and alice(venue).orders)
        await given_up(task)
        with pytest.raises(ccxt.InvalidOrder) as caught:  # the same client id: a duplicate, never "not placed"
            await place(exchange, SWAP, "buy", "10", "59000", "again1", tif="GTC")
        assert code_of(caught.value) == "51016"
        found = await exchange.fetch_order(None, symbol_of(SWAP), {"clientOrderId": "again1"})
        assert (found["status"], found["amount"]) == ("open", 10) and len(alice(venue).orders) == 1
        venue.faults.release_orders()


async def test_a_late_answer_comes_once_released_and_the_order_is_placed_only_then(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        venue.faults.order_timeout(processed=False)
        task = asyncio.create_task(place(exchange, SWAP, "buy", "10", "60010", "late1"))
        await until(venue, lambda: venue.faults.count(FaultKind.ORDER_TIMEOUT) == 1)
        with pytest.raises(ccxt.OrderNotFound):
            await exchange.fetch_order(None, symbol_of(SWAP), {"clientOrderId": "late1"})
        assert alice(venue).orders == []
        venue.faults.release_orders()
        async with asyncio.timeout(TIMEOUT_S):
            placed = await task
        assert placed["clientOrderId"] == "late1" and alice(venue).orders[0].status is OrderStatus.FILLED


async def test_a_websocket_answer_held_then_released_arrives_after_the_order_filled(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, private(venue) as ws:
        venue.faults.order_timeout(processed=True)
        order = {"instIdCode": venue.inst_id_code(SWAP), "tdMode": "cross", "side": "buy", "ordType": "ioc",
                 "px": "60010", "sz": "10", "clOrdId": "wsl"}  # fmt: skip
        await send(ws, {"id": "h1", "op": "order", "args": [order]})
        await until(venue, lambda: bool(alice(venue).orders))
        assert alice(venue).orders[0].status is OrderStatus.FILLED and venue.op_log == []
        venue.faults.release_orders()
        answer = await receive(ws)
        assert (answer["id"], answer["data"][0]["sCode"]) == ("h1", "0")


@pytest.mark.parametrize(
    ("status", "code", "processed", "error", "placed"),
    [
        (500, None, True, ccxt.ExchangeNotAvailable, True),  # 50026 System error: the order exists
        (503, None, False, ccxt.OnMaintenance, False),  # 50001 Service temporarily unavailable
        (400, 50004, True, ccxt.RequestTimeout, True),  # the documented unknown outcome
        (429, 50013, False, ccxt.ExchangeNotAvailable, False),  # Systems are busy
    ],
    ids=["500", "503", "50004", "50013"],
)
async def test_an_error_answer_says_nothing_of_whether_the_order_exists(
    status: int, code: int | None, processed: bool, error: type[Exception], placed: bool, tmp_path: Path
) -> None:
    async with rig(tmp_path) as (venue, exchange):
        venue.faults.order_error(status, code, processed=processed)
        with pytest.raises(error) as caught:
            await place(exchange, SWAP, "buy", "10", "60010", "err1")
        assert code_of(caught.value) == str(code or {500: 50026, 503: 50001}[status])
        assert venue.stats.rest_requests[-1].status == status
        assert [o.client_id for o in alice(venue).orders] == (["err1"] if placed else [])


async def test_a_scripted_refusal_in_an_http_200_is_answered_per_order_in_its_scode(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        venue.faults.order_error(200, 51008)
        with pytest.raises(ccxt.InsufficientFunds) as caught:
            await place(exchange, SWAP, "buy", "10", "60010", "poor1")
        body = json.loads(str(caught.value).split(" ", 1)[1])
        assert (body["code"], body["msg"], venue.stats.rest_requests[-1].status) == ("1", "All operations failed", 200)
        (answer,) = body["data"]
        assert (answer["clOrdId"], answer["ordId"], answer["sCode"]) == ("poor1", "", "51008")
        assert answer["sMsg"] == "Order failed. Insufficient balance in account" and alice(venue).orders == []
        venue.faults.order_error(200, 51400, "Order cancellation failed", operation="cancel")
        resting = await place(exchange, SWAP, "buy", "10", "59000", "rest1", tif="GTC")
        with pytest.raises(ccxt.OrderNotFound) as caught:
            await exchange.cancel_order(resting["id"], symbol_of(SWAP))
        assert code_of(caught.value) == "51400" and alice(venue).orders[-1].status is OrderStatus.NEW


async def test_a_websocket_operation_refused_in_its_items_or_as_a_whole(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, private(venue) as ws:
        order = {"instIdCode": venue.inst_id_code(SWAP), "tdMode": "cross", "side": "buy", "ordType": "ioc",
                 "px": "60010", "sz": "10", "clOrdId": "wsdup"}  # fmt: skip
        venue.faults.order_error(200, 51016)
        await send(ws, {"id": "r1", "op": "order", "args": [order]})
        answer = await receive(ws)
        assert (answer["id"], answer["code"], answer["msg"]) == ("r1", "1", "")
        assert [(d["clOrdId"], d["sCode"], d["sMsg"]) for d in answer["data"]] == [
            ("wsdup", "51016", "Client order ID already exists.")
        ]
        venue.faults.order_error(429)
        await send(ws, {"id": "r2", "op": "order", "args": [order]})
        answer = await receive(ws)
        assert (answer["id"], answer["code"], answer["data"]) == ("r2", "50011", [])
        assert alice(venue).orders == [] and venue.faults.count(FaultKind.ORDER_ERROR) == 2


async def test_a_gateway_error_without_a_body_and_a_dropped_connection(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        venue.faults.order_error(502)
        with pytest.raises(ccxt.ExchangeNotAvailable, match="Bad Gateway"):
            await place(exchange, SWAP, "buy", "10", "60010", "gw1")
        venue.faults.order_drop(processed=True)
        with pytest.raises(ccxt.NetworkError):
            await place(exchange, SWAP, "buy", "10", "60010", "drop1")
        assert [o.client_id for o in alice(venue).orders] == ["drop1"]
        assert venue.faults.count(FaultKind.ORDER_ERROR) == venue.faults.count(FaultKind.ORDER_DROP) == 1


async def test_scripted_rest_answers_malformed_held_and_429(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        venue.faults.rest_malformed(path="/api/v5/account/balance")
        async with aiohttp.ClientSession() as session, session.get(venue.rest_url + "/api/v5/account/balance") as got:
            body = await got.text()  # ccxt hands back an unparsable body as it is: read it as it came
        assert got.status == 200 and body.startswith('{"code"')
        with pytest.raises(json.JSONDecodeError):
            json.loads(body)
        assert venue.faults.count(FaultKind.REST_MALFORMED) == 1
        venue.faults.rest_error(429, retry_after=3)
        with pytest.raises(ccxt.RateLimitExceeded) as caught:
            await exchange.fetch_balance()
        assert code_of(caught.value) == "50011"
        venue.faults.rest_hold()
        task = asyncio.create_task(exchange.fetch_balance())
        async with asyncio.timeout(TIMEOUT_S):
            await venue.wait_for_rest_held(1)
        assert not task.done()
        venue.faults.rest_release()
        async with asyncio.timeout(TIMEOUT_S):
            assert (await task)["USDT"]["total"] == 100000


# -- requests that meet a moving book ---------------------------------------------------------------


async def test_a_held_cancel_finds_its_quote_filled_meanwhile_and_is_answered_51400(tmp_path: Path) -> None:
    async with rig(tmp_path, changes=[THROUGH]) as (venue, exchange), private(venue) as ws:
        await send(ws, {"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
        await until_event(ws, lambda m: m.get("event") == "channel-conn-count")
        placed = await place(exchange, SWAP, "buy", "30", "59950", "q1", tif="PO")
        venue.faults.order_hold(1, operation="cancel")
        cancel = asyncio.create_task(exchange.cancel_order(placed["id"], symbol_of(SWAP)))
        await until(venue, lambda: venue.faults.count(FaultKind.ORDER_HOLD) == 1)
        assert not cancel.done() and alice(venue).orders[0].status is OrderStatus.NEW
        async with asyncio.timeout(TIMEOUT_S):
            await venue.advance(1)  # the book trades through 59950: the quote fills as a maker
            with pytest.raises(ccxt.OrderNotFound) as caught:
                await cancel
        assert code_of(caught.value) == "51400"
        seen = await until_event(ws, lambda m: m.get("data", [{}])[0].get("state") == "filled")
        (fill,) = [p["data"][0] for p in pushes(seen, "orders") if p["data"][0]["fillSz"] != "0"]
        assert (fill["execType"], fill["fillPx"], fill["fillSz"]) == ("M", "59950", "30")


async def test_a_held_post_only_meets_the_book_that_moved_and_is_cancelled_with_source_31(tmp_path: Path) -> None:
    async with rig(tmp_path, changes=[THROUGH]) as (venue, exchange):
        venue.faults.order_hold(1, operation="create")
        create = asyncio.create_task(place(exchange, SWAP, "buy", "30", "59950", "q2", tif="PO"))
        await until(venue, lambda: venue.faults.count(FaultKind.ORDER_HOLD) == 1)
        assert venue.ledger.order_requests == []
        async with asyncio.timeout(TIMEOUT_S):
            await venue.advance(1)  # the ask falls to 59900: a buy at 59950 would take
            placed = await create  # accepted...
        found = await exchange.fetch_order(placed["id"], symbol_of(SWAP))
        assert (found["status"], found["info"]["cancelSource"]) == ("canceled", "31")  # ...then cancelled


async def test_a_partial_fill_fault_caps_what_an_ioc_takes(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        venue.faults.order_partial("0.5")
        placed = await place(exchange, SWAP, "buy", "40", "60010", "half1")
        found = await exchange.fetch_order(placed["id"], symbol_of(SWAP))
        assert (found["filled"], found["status"], found["info"]["cancelSource"]) == (20, "canceled", "14")


async def test_an_order_hidden_from_queries_is_not_found_then_found_filled(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange):
        venue.faults.hide_orders(queries=2)
        placed = await place(exchange, SWAP, "buy", "10", "60010", "shy1")
        assert len(await exchange.fetch_my_trades(symbol_of(SWAP))) == 1  # its fills are listed (no query used)
        for _ in range(2):
            with pytest.raises(ccxt.OrderNotFound) as caught:
                await exchange.fetch_order(placed["id"], symbol_of(SWAP))
            assert code_of(caught.value) == "51603"
        found = await exchange.fetch_order(placed["id"], symbol_of(SWAP))
        assert found["status"] == "closed" and len(await exchange.fetch_my_trades(symbol_of(SWAP))) == 1


# -- the private stream -----------------------------------------------------------------------------


async def test_a_silenced_stream_withholds_pushes_while_rest_shows_the_fill(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange), private(venue) as ws:
        await send(ws, {"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
        await until_event(ws, lambda m: m.get("event") == "channel-conn-count")
        venue.faults.silence_user_stream()
        placed = await place(exchange, SWAP, "buy", "10", "60010", "quiet1")
        assert (await exchange.fetch_order(placed["id"], symbol_of(SWAP)))["status"] == "closed"
        assert venue.user_stream_log and not any(m.sent for m in venue.user_stream_log)
        venue.faults.resume_user_stream()
        await place(exchange, SWAP, "buy", "10", "60010", "loud1")
        seen = await until_event(ws, lambda m: m.get("data", [{}])[0].get("state") == "filled")
        assert {p["data"][0]["clOrdId"] for p in pushes(seen, "orders")} == {"loud1"}  # the withheld are lost


async def test_a_lost_orders_push_leaves_the_account_push(tmp_path: Path) -> None:
    async with rig(tmp_path) as (venue, exchange), private(venue) as ws:
        await send(ws, {"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}, {"channel": "account"}]})
        await until_event(ws, lambda m: m.get("eventType") == "snapshot")
        venue.faults.lose_user_stream_events("orders", times=3)  # live, filled's fill... all three
        await place(exchange, SWAP, "buy", "60", "60020", "gone1")
        seen = await until_event(ws, lambda m: m.get("eventType") == "event_update")
        assert pushes(seen, "orders") == [] and venue.faults.count(FaultKind.USER_STREAM_LOSS) == 3


async def test_dropped_private_streams_close_with_1006_and_a_new_login_works(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue:
        async with private(venue) as ws:
            assert await venue.drop_user_streams() == 1
            with pytest.raises(ConnectionClosed):
                await receive(ws)
        async with private(venue) as again:
            await send(again, "ping")
            assert await receive(again) == "pong"
        assert venue.faults.count(FaultKind.USER_STREAM_DROP) == 1 and len(venue.auth_log) == 2


async def test_a_service_upgrade_is_announced_then_closes_the_stream_on_the_venues_clock(tmp_path: Path) -> None:
    clock = OffsetClock()
    async with venue_for(tmp_path, clock=clock, idle_cut_s=None) as venue, private(venue) as ws:
        await send(ws, "ping")
        assert await receive(ws) == "pong"
        assert await venue.announce_upgrade(close_after_s=30.0) == 1
        notice = await receive(ws)
        assert (notice["event"], notice["code"]) == ("notice", "64008") and "service upgrade" in notice["msg"]
        clock.advance(29.0)
        await venue.tick()
        await send(ws, "ping")
        assert await receive(ws) == "pong"  # still open a second before the announced time
        clock.advance(1.0)
        await venue.tick()
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert venue.faults.count(FaultKind.USER_STREAM_DROP) == 1


async def test_ccxt_pro_watch_raises_when_the_stream_drops(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue:
        exchange = okx_client(venue, pro=True)
        try:
            async with asyncio.timeout(TIMEOUT_S):
                await exchange.load_markets()
                watching = asyncio.create_task(exchange.watch_orders(symbol_of(SWAP)))
                await venue.wait_until(venue.user_streams_up)
                await venue.drop_user_streams()
                with pytest.raises(ccxt.NetworkError):
                    await watching
        finally:
            await exchange.close()


# -- limits and the ban -----------------------------------------------------------------------------


async def test_a_path_limit_answers_50011_until_its_window_passed(tmp_path: Path) -> None:
    clock = OffsetClock()
    async with rig(tmp_path, clock=clock, rate_limits={"/api/v5/account/balance": (2, 2.0)}) as (venue, exchange):
        for _ in range(2):
            await exchange.fetch_balance()
        with pytest.raises(ccxt.RateLimitExceeded) as caught:
            await exchange.fetch_balance()
        assert code_of(caught.value) == "50011" and venue.stats.rest_requests[-1].status == 429
        clock.advance(2.1)
        exchange.options["timeDifference"] = -int(clock.offset * 1000)
        assert (await exchange.fetch_balance())["USDT"]["total"] == 100000


async def test_the_ban_answers_every_request_50013_until_the_clock_passes_it(tmp_path: Path) -> None:
    clock = OffsetClock()
    async with rig(tmp_path, clock=clock) as (venue, exchange), private(venue) as ws:
        venue.ban(30.0)
        for call in (exchange.fetch_time(), exchange.fetch_order_book(symbol_of(SWAP)), exchange.fetch_balance()):
            with pytest.raises(ccxt.ExchangeNotAvailable) as caught:
                await call
            assert code_of(caught.value) == "50013" and venue.stats.rest_requests[-1].status == 429
        order = {"instIdCode": venue.inst_id_code(SWAP), "tdMode": "cross", "side": "buy", "ordType": "limit",
                 "px": "59000", "sz": "1"}  # fmt: skip
        await send(ws, {"id": "b1", "op": "order", "args": [order]})
        assert (await receive(ws))["data"][0]["sCode"] == "50013"
        clock.advance(31.0)
        exchange.options["timeDifference"] = -int(clock.offset * 1000)
        assert not venue.banned and await exchange.fetch_time() > 0
        assert venue.faults.count(FaultKind.BAN) == 1 and alice(venue).orders == []


async def test_a_client_id_twice_in_one_batch_is_refused_for_the_second(tmp_path: Path) -> None:
    async with venue_for(tmp_path, SPOT) as venue, private(venue) as ws:
        order = {"instIdCode": venue.inst_id_code(SPOT), "tdMode": "cash", "side": "buy", "ordType": "ioc",
                 "px": "60010", "sz": "0.1", "clOrdId": "twice"}  # fmt: skip
        await send(ws, {"id": "d1", "op": "batch-orders", "args": [order, order]})
        answer = await receive(ws)
        assert [d["sCode"] for d in answer["data"]] == ["0", "51016"] and answer["code"] == "2"
        (placed,) = alice(venue).orders
        assert placed.status is OrderStatus.FILLED and placed.executed_qty == D("0.1")
