"""arb's own order-entry client (:mod:`connectors.common.order_socket`) on the fake Bybit's ``/v5/trade``
and the fake Binance's WebSocket API (spot ``/ws-api/v3``, USD-M ``/ws-fapi/v1``).

The client logs in once, hands each request to the socket and says when, and keeps the rules a live
executor needs: a request that could not be sent says so (the order may go by REST), one whose
connection closed before the answer is lost (its fate found out by a query, never sent again), and an
answer after its caller stopped waiting is counted, not delivered. No test sleeps: each awaits the
venue's conditions or the client's answers, bounded by ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from typing import Any

import msgspec
import pytest

from arb.sim.bybit.exchange import FakeBybitExchange
from arb.sim.bybit.wire import ws_signature
from arb.sim.faults import FaultKind
from arb.sim.ledger import OrderStatus
from arb.testing.pair_rig import KEY as PAIR_KEY
from arb.testing.pair_rig import SECRET as PAIR_SECRET
from arb.testing.pair_rig import account
from connectors.binance.ws_api import CANCEL as BN_CANCEL
from connectors.binance.ws_api import PLACE, STATUS, BinanceWsApiFraming
from connectors.bybit.private import ANSWERS
from connectors.bybit.trade_socket import CANCEL, CREATE, BybitTradeFraming
from connectors.common.order_socket import (
    AnswerLostError,
    Framing,
    LoginRefusedError,
    NotSentError,
    OrderSocket,
    SentRequest,
)
from tests.sim.test_fake_bybit_private import (
    BY_NAME,
    KEY,
    MARKETS,
    SECRET,
    Market,
    alice,
    filling_qty,
    venue_for,
)
from tests.sim.test_fake_bybit_trade_ws import trade_answers
from tests.support.live_rig import BINANCE_LINEAR, BINANCE_SPOT, VenueSpec, at_ask, eventually, fake_venue

BOUND_S = 20.0
"""A bound on a step that hangs (each takes well under a second when nothing does)."""


@asynccontextmanager
async def started(url: str, framing: Framing, name: str) -> AsyncIterator[OrderSocket]:
    """A client on ``url``, started (logged in where its venue asks for that), closed on the way out."""
    client = OrderSocket(url, framing, name=name)
    try:
        async with asyncio.timeout(BOUND_S):
            await client.start()
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def socket_rig(market: Market, *, secret: str = SECRET) -> AsyncIterator[tuple[FakeBybitExchange, OrderSocket]]:
    """A venue and a logged-in client on its ``/v5/trade``."""
    framing = BybitTradeFraming(KEY, secret)
    async with venue_for(market) as venue, started(venue.trade_ws_url, framing, "bybit order entry") as client:
        yield venue, client


def ioc(market: Market, qty: D, price: D, link: str, **extra: Any) -> dict[str, Any]:
    """A limit buy as Bybit's REST body (and ``/v5/trade``'s one argument) has it."""
    return {"category": market.name, "symbol": market.rules.symbol, "side": "Buy", "orderType": "Limit",
            "qty": str(qty), "price": str(price), "timeInForce": "IOC", "orderLinkId": link, **extra}  # fmt: skip


async def answer_of(sent: SentRequest, within_s: float = BOUND_S) -> dict[str, Any]:
    """``sent``'s answer, awaited at most ``within_s``."""
    async with asyncio.timeout(within_s):
        return await sent.answer()


async def ask(client: OrderSocket, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    async with asyncio.timeout(BOUND_S):
        sent = await client.send(operation, params)
    return await answer_of(sent)


@pytest.mark.parametrize("market", MARKETS, ids=lambda m: m.name)
async def test_an_ioc_is_answered_by_its_request_id_and_fills_on_the_ledger(market: Market) -> None:
    async with socket_rig(market) as (venue, client):
        qty, price = filling_qty(venue, market)
        sent = await client.send(CREATE, ioc(market, qty, price, "sock-1"))
        assert sent.written_ns > 0
        answer = await answer_of(sent)
        assert answer["reqId"] == sent.request_id and answer["retCode"] == 0
        (order,) = alice(venue).orders
        assert answer["data"] == {"orderId": venue.order_id(order), "orderLinkId": "sock-1"}
        body = client.framing.body(answer)  # as REST's reply: the acknowledgement in "result"
        assert body["result"] == answer["data"] and str(body[ANSWERS.code_field]) == ANSWERS.ok_code
        assert order.status is OrderStatus.FILLED and order.executed_qty == qty
        assert trade_answers(venue, "auth") == [0] and client.connects == 1
        assert not [r for r in venue.stats.rest_requests if r.path == "/v5/order/create"]


async def test_a_resting_order_is_cancelled_through_the_same_connection() -> None:
    market = BY_NAME["spot"]
    async with socket_rig(market) as (venue, client):
        qty, price = filling_qty(venue, market)
        below = (price * D("0.9")).quantize(market.rules.tick_size)
        rest = ioc(market, qty * 2, below, "rest-1", timeInForce="PostOnly")  # twice: above the minimum value
        assert (await ask(client, CREATE, rest))["retCode"] == 0
        assert alice(venue).orders[0].status is OrderStatus.NEW
        by_link = {"category": "spot", "symbol": market.rules.symbol, "orderLinkId": "rest-1"}
        cancelled = await ask(client, CANCEL, by_link)
        assert cancelled["retCode"] == 0 and cancelled["data"]["orderLinkId"] == "rest-1"
        assert alice(venue).orders[0].status is OrderStatus.CANCELED
        again = await ask(client, CANCEL, by_link)
        assert str(again["retCode"]) in {"170213", "110001"}  # not open any more: the adapter's NOT_OPEN


async def test_a_refusal_comes_back_as_the_venues_answer_with_its_code() -> None:
    market = BY_NAME["linear"]
    async with socket_rig(market) as (venue, client):
        _, price = filling_qty(venue, market)
        answer = await ask(client, CREATE, ioc(market, market.rules.step_size / 10, price, "tiny-1"))
        code = str(answer[ANSWERS.code_field])
        assert code != ANSWERS.ok_code and answer[ANSWERS.message_field]
        assert alice(venue).orders == [] and trade_answers(venue, "order.create") == [int(code)]


async def test_a_refused_login_sends_nothing_and_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    market = BY_NAME["spot"]
    async with venue_for(market) as venue:
        client = OrderSocket(venue.trade_ws_url, BybitTradeFraming(KEY, "not-the-secret"), name="bybit order entry")
        with pytest.raises(LoginRefusedError) as refused:
            async with asyncio.timeout(BOUND_S):
                await client.start()
        assert refused.value.code == "10004" and not client.ready
        with pytest.raises(NotSentError):
            await client.send(CREATE, ioc(market, D("0.001"), D("1"), "never-1"))
        assert alice(venue).orders == [] and trade_answers(venue, "auth") == [10004]
        assert "not-the-secret" not in caplog.text and "not-the-secret" not in repr(client.framing)
        await client.close()


def test_the_login_signature_is_the_venues() -> None:
    framing = BybitTradeFraming(KEY, SECRET)
    frame = msgspec.json.decode(framing.login(1_700_000_000_000))
    key, expires, signature = frame["args"]
    assert frame["op"] == "auth" and key == KEY and expires == "1700000010000"
    assert signature == ws_signature(SECRET, expires)


async def test_a_connection_dropped_after_the_order_was_placed_loses_the_answer_not_the_order() -> None:
    market = BY_NAME["linear"]
    async with socket_rig(market) as (venue, client):
        qty, price = filling_qty(venue, market)
        pings = [t for t in asyncio.all_tasks() if t.get_name() == f"{client.name} ping"]
        assert len(pings) == 1  # the connection's keep-alive
        venue.faults.order_drop(processed=True)
        sent = await client.send(CREATE, ioc(market, qty, price, "drop-1"))
        with pytest.raises(AnswerLostError):
            await answer_of(sent)
        assert not client.ready and client.lost == 1
        # the lost connection's keep-alive is told to end with it (not left sleeping until its next ping)
        assert pings[0].done() or pings[0].cancelling()
        await asyncio.wait(pings)
        # the order is on the ledger once; the client never sent it again
        assert [o.client_id for o in alice(venue).orders] == ["drop-1"]
        assert trade_answers(venue, "order.create") == []
        with pytest.raises(NotSentError):
            await client.send(CREATE, ioc(market, qty, price, "while-down"))
        async with asyncio.timeout(BOUND_S):
            await client.start()
        assert (await ask(client, CREATE, ioc(market, qty, price, "drop-2")))["retCode"] == 0
        assert [o.client_id for o in alice(venue).orders] == ["drop-1", "drop-2"] and client.connects == 2
        assert venue.faults.count(FaultKind.ORDER_DROP) == 1


async def test_a_prepared_request_is_written_as_framed_after_the_protocols_own_and_on_a_later_connection() -> None:
    market = BY_NAME["linear"]
    async with socket_rig(market) as (venue, client):
        qty, price = filling_qty(venue, market)
        straight = client.prepare(CREATE, ioc(market, qty, price, "prep-1"))
        behind = client.prepare(CREATE, ioc(market, qty, price, "prep-2"))
        after_loss = client.prepare(CREATE, ioc(market, qty, price, "prep-3"))
        assert straight.wire != behind.wire and straight.wire[1] & 0x80  # framed at prepare, masked, each its own
        assert (await answer_of(client.write(straight)))["retCode"] == 0
        ws = client._ws
        assert ws is not None
        ws.protocol.send_ping(b"first")  # a frame of the protocol's own, not yet handed to the socket
        sent = client.write(behind)  # goes after it, framed by the library
        assert (await answer_of(sent))["retCode"] == 0 and not ws.protocol.writes
        # a frame built before the connection was lost is written as is on the next one
        venue.faults.order_drop(processed=False)
        with pytest.raises(AnswerLostError):
            await answer_of(await client.send(CREATE, ioc(market, qty, price, "lost-1")))
        async with asyncio.timeout(BOUND_S):
            await client.start()
        assert (await answer_of(client.write(after_loss)))["retCode"] == 0 and client.connects == 2
        assert [o.client_id for o in alice(venue).orders] == ["prep-1", "prep-2", "prep-3"]


async def test_an_answer_after_the_caller_gave_up_is_counted_not_delivered() -> None:
    market = BY_NAME["spot"]
    async with socket_rig(market) as (venue, client):
        qty, price = filling_qty(venue, market)
        venue.faults.order_timeout(processed=True)
        sent = await client.send(CREATE, ioc(market, qty, price, "held-1"))
        with pytest.raises(TimeoutError):
            await answer_of(sent, 0.2)  # the venue holds this answer until released below
        # the connection goes on answering other requests meanwhile
        assert (await ask(client, CREATE, ioc(market, qty, price, "next-1")))["retCode"] == 0
        venue.faults.release_orders()
        async with asyncio.timeout(BOUND_S):
            await venue.wait_until(lambda: len(trade_answers(venue, "order.create")) == 2)
        await eventually(lambda: client.late_answers >= 1, client)  # in flight on loopback until the client reads it
        assert client.late_answers == 1 and client.lost == 0 and client.ready
        assert sorted(o.client_id for o in alice(venue).orders) == ["held-1", "next-1"]


# -- Binance's WebSocket API: every request signed, answers by id, REST's bodies ---------------------------


@asynccontextmanager
async def binance_rig(spec: VenueSpec, *, secret: str = PAIR_SECRET) -> AsyncIterator[tuple[Any, OrderSocket]]:
    """The fake Binance of ``spec`` and a client on its WebSocket API (nothing to log in: no request yet)."""
    framing = BinanceWsApiFraming(PAIR_KEY, secret)
    async with fake_venue(spec) as venue, started(venue.ws_api_url, framing, "binance order entry") as client:
        yield venue, client


def binance_ioc(qty: D, price: D, client_id: str, **extra: Any) -> dict[str, Any]:
    """A limit buy as Binance's REST ``/order`` takes it (the WebSocket API's ``order.place`` params)."""
    return {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "IOC", "quantity": str(qty),
            "price": str(price), "newClientOrderId": client_id, "newOrderRespType": "ACK", **extra}  # fmt: skip


@pytest.mark.parametrize("spec", [BINANCE_SPOT, BINANCE_LINEAR], ids=lambda s: s.market)
async def test_a_binance_order_is_signed_answered_by_id_and_on_the_ledger(spec: VenueSpec) -> None:
    async with binance_rig(spec) as (venue, client):
        ask_px, qty = at_ask(venue, spec, D(0))
        answer = await ask(client, PLACE, binance_ioc(qty, ask_px, "bn-1"))
        assert answer["status"] == 200 and answer["id"]
        body = client.framing.body(answer)
        assert body["clientOrderId"] == "bn-1" and body["symbol"] == "BTCUSDT"
        (order,) = account(venue).orders
        assert order.client_id == "bn-1" and order.executed_qty == qty
        status = await ask(client, STATUS, {"symbol": "BTCUSDT", "origClientOrderId": "bn-1"})
        assert client.framing.body(status)["status"] == "FILLED"


@pytest.mark.parametrize("spec", [BINANCE_SPOT, BINANCE_LINEAR], ids=lambda s: s.market)
async def test_binance_refusals_come_back_as_rests_error_bodies(spec: VenueSpec) -> None:
    async with binance_rig(spec) as (venue, client):
        ask_px, qty = at_ask(venue, spec, D(0))
        assert (await ask(client, PLACE, binance_ioc(qty, ask_px, "dup-1")))["status"] == 200
        cancelled = await ask(client, BN_CANCEL, {"symbol": "BTCUSDT", "origClientOrderId": "dup-1"})
        body = client.framing.body(cancelled)
        assert cancelled["status"] == 400 and body["code"] == -2011 and body["msg"]  # filled: not open any more
    async with binance_rig(spec, secret="not-the-secret") as (venue, client):
        refused = await ask(client, PLACE, binance_ioc(qty, ask_px, "badsig-1"))
        assert client.framing.body(refused)["code"] == -1022 and account(venue).orders == []


async def test_a_binance_connection_dropped_after_placing_loses_the_answer_not_the_order() -> None:
    spec = BINANCE_LINEAR
    async with binance_rig(spec) as (venue, client):
        ask_px, qty = at_ask(venue, spec, D(0))
        venue.faults.order_drop(processed=True)
        sent = await client.send(PLACE, binance_ioc(qty, ask_px, "bn-drop"))
        with pytest.raises(AnswerLostError):
            await answer_of(sent)
        assert [o.client_id for o in account(venue).orders] == ["bn-drop"] and client.lost == 1
        async with asyncio.timeout(BOUND_S):
            await client.start()
        status = await ask(client, STATUS, {"symbol": "BTCUSDT", "origClientOrderId": "bn-drop"})
        assert client.framing.body(status)["status"] == "FILLED"  # found out by query, never sent again
        assert [o.client_id for o in account(venue).orders] == ["bn-drop"]
