"""ccxt 4.5.90 pro, unpatched, placing, querying and cancelling orders over the fake Binance's WebSocket
API: spot on ``/ws-api/v3``, USD-M on ``/ws-fapi/v1``.

The venue is the live tests' (:func:`tests.support.live_rig.fake_venue`: the recorded BTCUSDT books,
account "arb"); the client is arb's (``make_exchange``) with ccxt pro's order-entry URL,
``urls['api']['ws']['ws-api'][market]``, set to the venue's. Orders placed over the WebSocket are
checked against the ledger and over REST. No test sleeps: each awaits the venue's conditions or ccxt's
answers, bounded by ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from typing import Any

import aiohttp
import ccxt.async_support as ccxt
import pytest

from arb.execution.ccxt_setup import make_exchange
from arb.sim.binance.exchange import FakeBinanceExchange
from arb.sim.binance.wire import signature, ws_payload
from arb.sim.faults import FaultKind
from arb.sim.ledger import OrderStatus
from arb.sim.options import VenueOptions
from arb.testing.pair_rig import KEY, SECRET, account
from tests.support.live_rig import BINANCE_LINEAR, BINANCE_SPOT, VenueSpec, at_ask, best, fake_venue

SPECS = [BINANCE_SPOT, BINANCE_LINEAR]
BOUND_S = 20.0
"""A bound on a step that hangs (a test takes well under a second when nothing does)."""


def symbol_of(spec: VenueSpec) -> str:
    return "BTC/USDT" if spec.market == "spot" else "BTC/USDT:USDT"


@asynccontextmanager
async def ws_rig(
    spec: VenueSpec, *, key: str = KEY, secret: str = SECRET, options: VenueOptions | None = None
) -> AsyncIterator[tuple[FakeBinanceExchange, Any]]:
    """The fake venue of ``spec`` and a ccxt pro client whose WebSocket API is the venue's, markets loaded."""
    async with fake_venue(spec, options) as venue:
        exchange = make_exchange("binance", spec.market, rest=venue.rest_url, ws_private=venue.private_ws_url,
                                 api_key=key, api_secret=secret, timeout_ms=3000, pro=True)  # fmt: skip
        try:
            exchange.urls["api"]["ws"]["ws-api"][spec.market] = venue.ws_api_url
            async with asyncio.timeout(BOUND_S):
                await exchange.load_markets()
            yield venue, exchange
        finally:
            await exchange.close()


def code_of(error: BaseException) -> int:
    """The Binance ``code`` of the error body ccxt quotes in its exception (``"binance {...}"``)."""
    return int(json.loads(str(error).split(" ", 1)[1])["code"])


def filling(venue: FakeBinanceExchange, spec: VenueSpec) -> tuple[D, D]:
    """A quantity the best ask covers, above the minimums, and that ask."""
    ask, qty = at_ask(venue, spec, D(0))
    return qty, ask


async def place(
    exchange: Any, spec: VenueSpec, qty: D, price: D, client_id: str, *, kind: str = "limit", tif: str | None = "IOC"
) -> dict[str, Any]:
    """``create_order_ws``: a buy of type ``kind`` (time in force ``tif``) as ``client_id``.

    The id goes as Binance's own ``newClientOrderId``: ccxt 4.5.90's ``create_order_ws`` sends the
    caller's params on top of the request it builds, so a ``clientOrderId`` would go out too (and be
    refused, see :func:`test_ccxts_client_order_id_param_goes_out_as_is_and_is_refused`)."""
    params = {"newClientOrderId": client_id, **({"timeInForce": tif} if tif else {})}
    async with asyncio.timeout(BOUND_S):
        order: dict[str, Any] = await exchange.create_order_ws(
            symbol_of(spec), kind, "buy", float(qty), float(price), params
        )
    return order


def answers(venue: FakeBinanceExchange, method: str) -> list[int]:
    """The codes (0: success) the WebSocket API answered ``method`` with."""
    return [a.code for a in venue.ws_api_log if a.method == method]


async def by_client_id(exchange: Any, spec: VenueSpec, client_id: str) -> dict[str, Any]:
    """The order ``client_id`` as REST's ``GET /order?origClientOrderId=`` shows it (through ccxt)."""
    async with asyncio.timeout(BOUND_S):
        order: dict[str, Any] = await exchange.fetch_order(None, symbol_of(spec), {"origClientOrderId": client_id})
    return order


# -- orders ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
async def test_an_ioc_over_websocket_fills_and_rest_shows_it_as_the_ledger_does(spec: VenueSpec) -> None:
    async with ws_rig(spec) as (venue, exchange):
        qty, ask = filling(venue, spec)
        placed = await place(exchange, spec, qty, ask, "ws-ioc-1")
        (ledger_order,) = account(venue).orders
        assert ledger_order.client_id == "ws-ioc-1" and ledger_order.status is OrderStatus.FILLED
        assert ledger_order.executed_qty == qty and placed["id"] == venue.order_id(ledger_order)
        # ccxt sends spot FULL and USD-M RESULT: the answer carries the final state
        assert placed["status"] == "closed" and placed["filled"] == float(qty) and placed["average"] == float(ask)
        if spec.market == "spot":
            assert [(f["tradeId"], f["qty"]) for f in placed["info"]["fills"]] == [
                (t.trade_id, f"{t.qty:.8f}") for t in account(venue).trades
            ]  # fmt: skip
        fetched = await exchange.fetch_order(placed["id"], symbol_of(spec))
        assert (fetched["status"], fetched["filled"], fetched["clientOrderId"]) == ("closed", float(qty), "ws-ioc-1")
        async with asyncio.timeout(BOUND_S):
            status = await exchange.fetch_order_ws(placed["id"], symbol_of(spec))
        assert status["info"] == fetched["info"]  # order.status answers GET /order's body
        assert answers(venue, "order.place") == [0] and answers(venue, "order.status") == [0]
        assert not [r for r in venue.stats.rest_requests if r.method == "POST" and r.path.endswith("/order")]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
async def test_a_post_only_rests_holds_its_client_id_then_is_cancelled_over_websocket(spec: VenueSpec) -> None:
    spot = spec.market == "spot"
    async with ws_rig(spec) as (venue, exchange):
        watch = asyncio.create_task(exchange.watch_orders(symbol_of(spec)))
        async with asyncio.timeout(BOUND_S):
            await venue.wait_until(lambda: venue.user_stream_count() == 1)
        bid, _, _, _ = best(venue, spec)
        rules = spec.rules
        price = bid - rules.tick_size * 10
        qty = max(rules.min_qty, (rules.min_notional / price).quantize(rules.step_size) * 2)
        maker = {"kind": "LIMIT_MAKER", "tif": None} if spot else {"tif": "GTX"}  # spot's and USD-M's post-only
        placed = await place(exchange, spec, qty, price, "ws-maker-1", **maker)
        assert placed["status"] == "open" and placed["clientOrderId"] == "ws-maker-1"
        (resting,) = await exchange.fetch_open_orders(symbol_of(spec))
        assert resting["id"] == placed["id"] and resting["postOnly"] is True
        # its client id is taken while it rests, over REST as over the WebSocket
        taken = (-2010, "Duplicate order sent.") if spot else (-4116, "ClientOrderId is duplicated.")
        with pytest.raises(ccxt.ExchangeError, match=taken[1]):
            await exchange.create_order(symbol_of(spec), "limit", "buy", float(qty), float(price),
                                        {"timeInForce": "GTC", "clientOrderId": "ws-maker-1"})  # fmt: skip
        with pytest.raises(ccxt.ExchangeError, match=taken[1]):
            await place(exchange, spec, qty, price, "ws-maker-1", tif="GTC")
        async with asyncio.timeout(BOUND_S):
            cancelled = await exchange.cancel_order_ws(placed["id"], symbol_of(spec))
            with pytest.raises(ccxt.OrderNotFound, match="-2011"):
                await exchange.cancel_order_ws(placed["id"], symbol_of(spec))
            with pytest.raises(ccxt.OrderNotFound, match="-2013"):
                await exchange.fetch_order_ws("1", symbol_of(spec))
        assert cancelled["id"] == placed["id"] and cancelled["status"] == "canceled"
        assert account(venue).orders[0].status is OrderStatus.CANCELED
        assert (await by_client_id(exchange, spec, "ws-maker-1"))["status"] == "canceled"
        async with asyncio.timeout(BOUND_S):
            await watch
            while exchange.orders[-1]["status"] != "canceled":
                await exchange.watch_orders(symbol_of(spec))
        event = "executionReport" if spot else "ORDER_TRADE_UPDATE"
        streamed = [json.loads(m.text) for m in venue.user_stream_log if m.event == event]
        states = [(e["event"] if spot else e["o"])["X"] for e in streamed]
        assert states == ["NEW", "CANCELED"]
        assert [o.client_id for o in account(venue).orders] == ["ws-maker-1"]
        assert answers(venue, "order.place") == [0, taken[0]] and answers(venue, "order.cancel") == [0, -2011]
        assert answers(venue, "order.status") == [-2013]


# -- rejections ----------------------------------------------------------------------------------------

REJECTS: dict[str, list[tuple[str, D, int, type[Exception], str]]] = {
    "spot": [
        # ccxt matches this message before the code, and then quotes the message alone
        ("balance", D("10"), -2010, ccxt.InsufficientFunds, "binance Account has insufficient balance"),
        ("client-id", D("0.001"), -1100, ccxt.BadRequest, '"code":-1100'),
    ],
    "linear": [
        # USD-M's table is consulted by REST URL only: over WS -2019 falls back to ExchangeError, -4015 is top-level
        ("margin", D("100"), -2019, ccxt.ExchangeError, '"code":-2019'),
        ("client-id", D("0.002"), -4015, ccxt.BadRequest, '"code":-4015'),
    ],
}
"""Per market: ``(case, quantity, Binance code, ccxt's exception class, text of its message)``."""


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
async def test_rejections_over_websocket_carry_the_venues_code(spec: VenueSpec) -> None:
    async with ws_rig(spec) as (venue, exchange):
        _, _, ask, _ = best(venue, spec)
        for case, qty, _, error, text in REJECTS[spec.market]:
            with pytest.raises(error) as caught:
                await place(exchange, spec, qty, ask, "no spaces allowed" if case == "client-id" else f"rej-{case}")
            assert type(caught.value) is error and text in str(caught.value), case
        assert account(venue).orders == []
        assert answers(venue, "order.place") == [code for _, _, code, _, _ in REJECTS[spec.market]]


POST_ONLY_TAKES = {
    "spot": (-2010, "Order would immediately match and take."),
    "linear": (-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected."),
}
"""Per market: Binance's refusal of a post-only order that would take (HTTP 400). ccxt's class of it varies by
path (USD-M's table is consulted by REST URL only), so arb reads the code, not the class."""


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
async def test_a_post_only_that_would_take_is_refused_over_rest_and_websocket_and_never_recorded(
    spec: VenueSpec,
) -> None:
    # Spot's LIMIT_MAKER and USD-M's GTX at the ask: refused at once, HTTP 400 with the venue's code, no
    # user-stream event, no order to query; the client id stays free.
    spot = spec.market == "spot"
    code, msg = POST_ONLY_TAKES[spec.market]
    async with ws_rig(spec) as (venue, exchange):
        watch = asyncio.create_task(exchange.watch_orders(symbol_of(spec)))
        try:
            async with asyncio.timeout(BOUND_S):
                await venue.wait_until(lambda: venue.user_stream_count() == 1)
            qty, ask = filling(venue, spec)
            with pytest.raises(ccxt.InvalidOrder) as over_ws:
                await place(exchange, spec, qty, ask, "po-ws", **({"kind": "LIMIT_MAKER", "tif": None} if spot
                                                                   else {"tif": "GTX"}))  # fmt: skip
            assert msg in str(over_ws.value)  # (ccxt quotes spot's message alone: it matches it exactly)
            with pytest.raises(ccxt.InvalidOrder) as over_rest:
                async with asyncio.timeout(BOUND_S):
                    await exchange.create_order(symbol_of(spec), "limit", "buy", float(qty), float(ask),
                                                {"timeInForce": "PO", "newClientOrderId": "po-rest"})  # fmt: skip
            assert msg in str(over_rest.value)  # the code: see test_live_executor_quotes (arb reads the wire)
            (create,) = [r for r in venue.stats.rest_requests if r.method == "POST" and r.path.endswith("/order")]
            assert create.status == 400
            assert [a.status for a in venue.ws_api_log if a.method == "order.place"] == [400]
            assert answers(venue, "order.place") == [code]
            assert account(venue).orders == [] and venue.user_stream_log == []
            assert venue.ledger.order_requests == [("arb", "po-ws"), ("arb", "po-rest")]
            with pytest.raises(ccxt.OrderNotFound, match="-2013"):
                await by_client_id(exchange, spec, "po-rest")
            # a price a tick behind the touch rests, under the refused id
            bid, _, _, _ = best(venue, spec)
            resting = await place(exchange, spec, qty, bid, "po-rest", **({"kind": "LIMIT_MAKER", "tif": None}
                                                                         if spot else {"tif": "GTX"}))  # fmt: skip
            assert resting["status"] == "open" and [o.client_id for o in account(venue).orders] == ["po-rest"]
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, ccxt.BaseError):
                await watch


async def test_ccxts_client_order_id_param_goes_out_as_is_and_is_refused() -> None:
    spec = BINANCE_SPOT
    async with ws_rig(spec) as (venue, exchange):
        qty, ask = filling(venue, spec)
        with pytest.raises(ccxt.BadRequest) as caught:
            async with asyncio.timeout(BOUND_S):
                await exchange.create_order_ws(symbol_of(spec), "limit", "buy", float(qty), float(ask),
                                               {"timeInForce": "IOC", "clientOrderId": "unified"})  # fmt: skip
        assert code_of(caught.value) == -1104 and "clientOrderId" in str(caught.value)
        assert account(venue).orders == []


# -- authentication ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "secret", "code"), [(KEY, "not-the-secret", -1022), ("nobodysKey", SECRET, -2015)])
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
async def test_a_wrong_secret_or_key_is_refused_with_the_venues_code(
    spec: VenueSpec, key: str, secret: str, code: int
) -> None:
    async with ws_rig(spec, key=key, secret=secret) as (venue, exchange):
        qty, ask = filling(venue, spec)
        with pytest.raises(ccxt.AuthenticationError) as caught:
            await place(exchange, spec, qty, ask, "never")
        assert code_of(caught.value) == code and account(venue).orders == []


async def test_a_timestamp_outside_the_window_is_refused_1021() -> None:
    spec = BINANCE_LINEAR
    async with ws_rig(spec, options=VenueOptions(clock=lambda: time.time() + 10)) as (venue, exchange):
        qty, ask = filling(venue, spec)
        with pytest.raises(ccxt.InvalidNonce) as caught:
            await place(exchange, spec, qty, ask, "late")
        assert code_of(caught.value) == -1021 and "outside of the recvWindow" in str(caught.value)
        assert account(venue).orders == []


# -- faults -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
async def test_a_socket_dropped_after_placing_leaves_the_outcome_to_a_rest_query(spec: VenueSpec) -> None:
    async with ws_rig(spec) as (venue, exchange):
        qty, ask = filling(venue, spec)
        venue.faults.order_drop(processed=True)
        with pytest.raises(ccxt.NetworkError) as caught:
            await place(exchange, spec, qty, ask, "dropped-1")
        assert "closing code 1006" in str(caught.value)  # the outcome is unknown to the client
        found = await by_client_id(exchange, spec, "dropped-1")
        assert found["status"] == "closed" and found["filled"] == float(qty)
        assert [o.client_id for o in account(venue).orders] == ["dropped-1"]
        (applied,) = [a for a in venue.faults.applied if a.kind is FaultKind.ORDER_DROP]
        assert applied.detail.endswith("order.place processed=True") and applied.connection is not None
        # the next request opens a new connection
        again = await place(exchange, spec, qty, ask, "after-drop")
        assert again["clientOrderId"] == "after-drop"
        assert [o.client_id for o in account(venue).orders] == ["dropped-1", "after-drop"]
        assert answers(venue, "order.place") == [0]  # the dropped request was never answered


async def test_a_socket_dropped_before_placing_leaves_nothing_on_the_ledger() -> None:
    spec = BINANCE_LINEAR
    async with ws_rig(spec) as (venue, exchange):
        qty, ask = filling(venue, spec)
        venue.faults.order_drop(processed=False)
        with pytest.raises(ccxt.NetworkError):
            await place(exchange, spec, qty, ask, "lost-1")
        with pytest.raises(ccxt.OrderNotFound):
            await by_client_id(exchange, spec, "lost-1")
        assert account(venue).orders == [] and venue.faults.count(FaultKind.ORDER_DROP) == 1


@pytest.mark.parametrize("processed", [True, False], ids=["placed", "not-placed"])
async def test_a_held_answer_times_out_the_client_and_comes_after_later_answers(processed: bool) -> None:
    spec = BINANCE_SPOT
    async with ws_rig(spec) as (venue, exchange):
        qty, ask = filling(venue, spec)
        venue.faults.order_timeout(processed=processed)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):  # ccxt sets no timeout of its own on a WebSocket request
                await place(exchange, spec, qty, ask, "held-1")
        # meanwhile the same connection answers an order.status: the order is there, or not yet
        async with asyncio.timeout(BOUND_S):
            if processed:
                found = await exchange.fetch_order_ws(None, symbol_of(spec), {"origClientOrderId": "held-1"})
                assert found["status"] == "closed" and found["clientOrderId"] == "held-1"
            else:
                with pytest.raises(ccxt.OrderNotFound):
                    await exchange.fetch_order_ws(None, symbol_of(spec), {"origClientOrderId": "held-1"})
        venue.faults.release_orders()
        async with asyncio.timeout(BOUND_S):
            await venue.wait_until(lambda: len(venue.ws_api_log) == 2)
        # answers by request id: the status ("2") went out before the held place ("1"), placed once
        assert [(a.request_id, a.method, a.code) for a in venue.ws_api_log] == [
            ("2", "order.status", 0 if processed else -2013), ("1", "order.place", 0)
        ]  # fmt: skip
        assert [o.client_id for o in account(venue).orders] == ["held-1"]
        assert venue.faults.count(FaultKind.ORDER_TIMEOUT) == 1


async def test_a_1007_answer_for_an_order_that_exists_then_a_busy_one_for_an_order_that_does_not() -> None:
    spec = BINANCE_LINEAR
    async with ws_rig(spec) as (venue, exchange):
        qty, ask = filling(venue, spec)
        venue.faults.order_error(503, processed=True)
        with pytest.raises(ccxt.RequestTimeout) as caught:  # ccxt's class for -1007: a NetworkError
            await place(exchange, spec, qty, ask, "exists")
        assert code_of(caught.value) == -1007 and "execution status unknown" in str(caught.value)
        venue.faults.order_error(503, -1008)
        with pytest.raises(ccxt.ExchangeError) as caught:
            await place(exchange, spec, qty, ask, "never")
        assert code_of(caught.value) == -1008
        assert (await by_client_id(exchange, spec, "exists"))["status"] == "closed"
        assert [o.client_id for o in account(venue).orders] == ["exists"]
        assert venue.faults.count(FaultKind.ORDER_ERROR) == 2
        assert [(a.status, a.code) for a in venue.ws_api_log] == [(503, -1007), (503, -1008)]


async def test_a_delayed_way_in_delays_the_answer_and_a_ban_refuses_418() -> None:
    spec = BINANCE_SPOT
    async with ws_rig(spec) as (venue, exchange):
        qty, ask = filling(venue, spec)
        await place(exchange, spec, qty, ask, "warm")  # connects
        venue.faults.delay_orders(0.3)
        started = time.monotonic()
        await place(exchange, spec, qty, ask, "slow")
        assert time.monotonic() - started >= 0.3
        venue.faults.delay_orders(0)
        venue.ban(30)
        with pytest.raises(ccxt.RateLimitExceeded) as caught:
            await place(exchange, spec, qty, ask, "banned")
        assert code_of(caught.value) == -1003 and "IP banned until" in str(caught.value)
        assert [o.client_id for o in account(venue).orders] == ["warm", "slow"]
        assert venue.ws_api_log[-1].status == 418


# -- the wire --------------------------------------------------------------------------------------------


def signed(params: dict[str, Any], *, secret: str = SECRET, late_ms: int = 0) -> dict[str, Any]:
    """``params`` with ``apiKey``, ``timestamp`` and their ``signature``, as Binance documents the payload."""
    params = {**params, "apiKey": KEY, "timestamp": int(time.time() * 1000) - late_ms}
    return {**params, "signature": signature(secret, ws_payload(params))}


async def ask(ws: aiohttp.ClientWebSocketResponse, request: dict[str, Any]) -> dict[str, Any]:
    await ws.send_str(json.dumps(request))
    async with asyncio.timeout(BOUND_S):
        answer: dict[str, Any] = json.loads(await ws.receive_str())
    return answer


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
async def test_the_wire_answers_rate_limits_and_refusals(spec: VenueSpec) -> None:
    spot = spec.market == "spot"
    async with fake_venue(spec) as venue, aiohttp.ClientSession() as http, http.ws_connect(venue.ws_api_url) as ws:
        qty, ask_price = filling(venue, spec)
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "IOC", "quantity": str(qty),
                 "price": str(ask_price), "newOrderRespType": "ACK"}  # fmt: skip
        answer = await ask(
            ws, {"id": "a1", "method": "order.place", "params": signed({**order, "newClientOrderId": "w1"})}
        )
        assert list(answer) == ["id", "status", "result", "rateLimits"] and answer["status"] == 200
        (placed,) = account(venue).orders
        assert answer["result"]["orderId"] == placed.order_id and answer["result"]["clientOrderId"] == "w1"
        assert "executedQty" not in answer["result"] if spot else answer["result"]["executedQty"] == "0.000"
        kinds = [
            (r["rateLimitType"], r["interval"], r["intervalNum"], r["limit"], r["count"]) for r in answer["rateLimits"]
        ]
        if spot:
            assert kinds[:2] == [("ORDERS", "SECOND", 10, 50, 1), ("ORDERS", "DAY", 1, 160_000, 1)]
        else:
            assert kinds[1:] == [("ORDERS", "SECOND", 10, 300, 1), ("ORDERS", "MINUTE", 1, 1200, 1)]
        assert ("REQUEST_WEIGHT", "MINUTE", 1, 6000 if spot else 2400) in [k[:4] for k in kinds]
        query = signed({"symbol": "BTCUSDT", "origClientOrderId": "w1", "returnRateLimits": False})
        quiet = await ask(ws, {"id": 7, "method": "order.status", "params": query})
        assert list(quiet) == ["id", "status", "result"] and quiet["id"] == 7 and quiet["result"]["status"] == "FILLED"
        refusals = [
            (signed({"symbol": "BTCUSDT", "orderId": placed.order_id}, secret="wrong"), 400, -1022),
            ({**signed({"symbol": "BTCUSDT", "orderId": placed.order_id}), "apiKey": "nobody"}, 401, -2015),
            (signed({"symbol": "BTCUSDT", "orderId": placed.order_id}, late_ms=6000), 400, -1021),
            (signed({"symbol": "BTCUSDT", "orderId": [placed.order_id]}), 400, -1100),
            (signed({"symbol": "BTCUSDT", "orderId": placed.order_id}), 400, -2011),
        ]
        for params, status, code in refusals:
            refused = await ask(ws, {"id": None, "method": "order.cancel", "params": params})
            assert (refused["status"], refused["error"]["code"]) == (status, code) and refused["id"] is None
        other = await ask(ws, {"id": "u", "method": "userDataStream.subscribe.signature", "params": signed({})})
        unknown = {"code": -1000, "msg": "Unknown method 'userDataStream.subscribe.signature'."}
        assert ("result" in other) if spot else other["error"] == unknown  # USD-M's user stream is the listen key's
        assert [o.client_id for o in account(venue).orders] == ["w1"]
        assert [(a.method, a.code) for a in venue.ws_api_log] == [("order.place", 0), ("order.status", 0)] + [
            ("order.cancel", code) for _, _, code in refusals
        ]  # fmt: skip


async def test_a_connection_opened_with_return_rate_limits_false_leaves_them_out() -> None:
    spec = BINANCE_LINEAR
    async with (
        fake_venue(spec) as venue,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{venue.ws_api_url}?returnRateLimits=false") as ws,
    ):
        query = {"symbol": "BTCUSDT", "origClientOrderId": "none"}
        hidden = await ask(ws, {"id": 1, "method": "order.status", "params": signed(query)})
        assert list(hidden) == ["id", "status", "error"] and hidden["error"]["code"] == -2013
        shown = await ask(
            ws, {"id": 2, "method": "order.status", "params": signed({**query, "returnRateLimits": True})}
        )
        assert shown["error"]["code"] == -2013 and shown["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"


async def test_requests_over_the_weight_limit_get_429_with_retry_after() -> None:
    spec = BINANCE_LINEAR
    fake = FakeBinanceExchange(spec.recording, market="linear", rules=[spec.rules], weight_limit=2,
                               options=VenueOptions(ping_interval=None))  # fmt: skip
    async with fake as venue, aiohttp.ClientSession() as http, http.ws_connect(venue.ws_api_url) as ws:
        venue.add_account("arb", api_key=KEY, api_secret=SECRET, balances=spec.balances)
        query = {"symbol": "BTCUSDT", "origClientOrderId": "none"}
        codes = [(await ask(ws, {"id": n, "method": "order.status", "params": signed(query)})) for n in range(3)]
        assert [c["error"]["code"] for c in codes] == [-2013, -2013, -1003] and codes[2]["status"] == 429
        assert codes[2]["error"]["msg"].startswith("Too many requests; current limit is 2")  # REST's words
        assert codes[2]["error"]["data"]["retryAfter"] > int(time.time() * 1000)
        assert [r["count"] for c in codes[:2] for r in c["rateLimits"]] == [1, 2]
