"""The fake venue against real clients on loopback, replaying the real captures in tests/fixtures.

Clients are ``websockets.asyncio.client.connect`` and ``aiohttp.ClientSession``; expectations are read
from the fixture files by this module's own reader, not by the venue's. Every await is bounded, and no
test sleeps to wait: they await the venue's conditions (``wait_for_subscription`` ...) or messages.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import itertools
import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from arb.sim import FaultKind, FrameKind
from arb.sim.binance.public import FakeBinanceVenue, depth_weight
from arb.sim.bybit.public import FakeBybitVenue
from arb.sim.options import VenueOptions

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SPOT = FIXTURES / "binance_spot_btcusdt_20240808_head3000.gz"
SPOT_ETH = FIXTURES / "binance_spot_ethusdt_20240808_head2000.gz"
USDM = FIXTURES / "binance_usdm_btcusdt_20240808.gz"
BYBIT = FIXTURES / "bybit_linear_xrpusdt_ob500_20241201.data"

DEPTH = "btcusdt@depth@100ms"
TRADE = "btcusdt@trade"
TICKER = "btcusdt@bookTicker"
USDM_DEPTH = "btcusdt@depth@0ms"
OB500 = "orderbook.500.XRPUSDT"
OB50 = "orderbook.50.XRPUSDT"

TIMEOUT_S = 60.0
"""A bound on a test that hangs, not on its speed: a busy machine runs these several times slower."""


# -- an independent reader of the fixtures ----------------------------------------------------------


def recorded(path: Path, limit: int | None = None) -> list[bytes]:
    """The payload of each recorded line (time prefix and line end removed), in order."""
    opener = gzip.open if path.name.endswith(".gz") else open
    payloads: list[bytes] = []
    with opener(path, "rb") as handle:
        for line in handle:
            if limit is not None and len(payloads) >= limit:
                break
            line = line.rstrip(b"\r\n")
            head, _, rest = line.partition(b" ")
            payloads.append(rest if head.isdigit() else line)
    return payloads


def stream_of(payload: bytes) -> str:
    """The Binance stream of a recorded frame, or "" for an inline REST snapshot."""
    return str(json.loads(payload).get("stream", ""))


def data_part(payload: bytes, stream: str) -> bytes:
    """The raw-stream payload of a combined frame, cut from the recorded bytes."""
    prefix = b'{"stream":"' + stream.encode() + b'","data":'
    assert payload.startswith(prefix) and payload.endswith(b"}")
    return payload[len(prefix) : -1]


async def recv_json(ws: ClientConnection) -> Any:
    return json.loads(await ws.recv())


async def recv_n(ws: ClientConnection, n: int) -> list[str]:
    return [str(await ws.recv()) for _ in range(n)]


def apply_levels(book: dict[str, str], levels: list[list[str]]) -> None:
    for price, qty in levels:
        if Decimal(qty) == 0:
            book.pop(price, None)
        else:
            book[price] = qty


def sorted_levels(book: dict[str, str], *, descending: bool) -> list[tuple[str, str]]:
    return sorted(book.items(), key=lambda level: Decimal(level[0]), reverse=descending)


@asynccontextmanager
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# -- Binance: streams ---------------------------------------------------------------------------------


async def test_combined_stream_frames_are_byte_identical_for_subscribed_streams_only() -> None:
    lines = recorded(SPOT, 400)
    expected = [p.decode() for p in lines if stream_of(p) in (DEPTH, TRADE)]
    async with asyncio.timeout(TIMEOUT_S), FakeBinanceVenue(SPOT) as venue:
        async with connect(f"{venue.ws_urls[0]}?streams={DEPTH}/{TRADE}") as ws:
            assert await venue.advance(400) == 400
            got = await recv_n(ws, len(expected))
            assert got == expected
            # nothing else is queued: the next thing the client reads is the reply to its request
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 7}))
            assert await ws.recv() == f'{{"result":["{DEPTH}","{TRADE}"],"id":7}}'
        assert venue.stats.frames_released == 400
        assert venue.all_connections[0].frames_sent == len(expected)
        assert venue.all_connections[0].frames_sent_by_stream[TICKER] == 0


async def test_raw_ws_subscribe_list_unsubscribe_and_errors_have_binance_shapes() -> None:
    lines = recorded(SPOT, 300)
    async with asyncio.timeout(TIMEOUT_S), FakeBinanceVenue(SPOT) as venue:
        async with connect(venue.raw_ws_urls[0]) as ws:
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": [TRADE, TICKER], "id": 1}))
            assert await ws.recv() == '{"result":null,"id":1}'
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 3}))
            assert await ws.recv() == f'{{"result":["{TRADE}","{TICKER}"],"id":3}}'

            await venue.advance(100)
            want = [data_part(p, stream_of(p)).decode() for p in lines[:100] if stream_of(p) in (TRADE, TICKER)]
            assert await recv_n(ws, len(want)) == want

            await ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": [TICKER], "id": 312}))
            assert await ws.recv() == '{"result":null,"id":312}'
            await venue.advance(200)
            want = [data_part(p, TRADE).decode() for p in lines[100:300] if stream_of(p) == TRADE]
            assert await recv_n(ws, len(want)) == want

            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["not a stream"], "id": 4}))
            assert await recv_json(ws) == {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 4}
            await ws.send(json.dumps({"method": "SUBSCRIB", "params": [TRADE], "id": 5}))
            error = await recv_json(ws)
            assert error["error"]["code"] == 2 and "unknown variant `SUBSCRIB`" in error["error"]["msg"]
            await ws.send("{not json")
            assert (await recv_json(ws))["error"]["code"] == 3
            await ws.send(json.dumps({"method": "GET_PROPERTY", "params": ["combined"], "id": 2}))
            assert await ws.recv() == '{"result":false,"id":2}'
        assert [e.op for e in venue.stats.subscriptions] == ["subscribe", "unsubscribe", "subscribe"]


async def test_combined_path_accepts_subscribe_on_the_open_connection() -> None:
    lines = recorded(SPOT, 60)
    async with asyncio.timeout(TIMEOUT_S), FakeBinanceVenue(SPOT) as venue, connect(venue.ws_urls[0]) as ws:
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": [TICKER], "id": 9}))
        assert await ws.recv() == '{"result":null,"id":9}'
        await venue.wait_for_subscription(TICKER)
        await venue.advance(60)
        want = [p.decode() for p in lines if stream_of(p) == TICKER]
        assert await recv_n(ws, len(want)) == want


async def test_server_pings_and_closes_a_client_that_does_not_answer() -> None:
    async with (
        asyncio.timeout(TIMEOUT_S),
        FakeBinanceVenue(SPOT, options=VenueOptions(ping_interval=0.02, pong_timeout=0.5)) as venue,
        http() as session,
    ):
        # websockets answers pings by itself: the connection stays up across several pings
        async with connect(f"{venue.ws_urls[0]}?streams={DEPTH}") as ws:
            answering = venue.connections[0]
            await venue.wait_until(lambda: answering.pongs_received >= 3)
            assert answering.open
            await venue.advance(1)
            assert json.loads(await ws.recv())["stream"] == DEPTH
        # a client that reads pings but never answers them is closed after pong_timeout
        async with session.ws_connect(f"{venue.ws_urls[0]}?streams={DEPTH}", autoping=False) as silent:
            kinds = []
            while (message := await silent.receive()).type is aiohttp.WSMsgType.PING:
                kinds.append(message.type)
            assert kinds, "the venue sent no ping"
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert venue.all_connections[1].close_code == 1008


# -- Binance: REST ------------------------------------------------------------------------------------


async def test_rest_depth_before_the_recorded_snapshot_serves_that_snapshot_verbatim() -> None:
    snapshot = next(p for p in recorded(SPOT, 20) if p.startswith(b'{"lastUpdateId"'))
    async with asyncio.timeout(TIMEOUT_S), FakeBinanceVenue(SPOT) as venue, http() as session:
        async with session.get(f"{venue.rest_url}/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "1000"}) as r:
            assert r.status == 200
            assert await r.read() == snapshot
            assert r.headers["x-mbx-used-weight-1m"] == str(depth_weight("spot", 1000)) == "50"
        assert venue.position == 0
        request = venue.stats.rest_requests[0]
        assert (request.path, request.params, request.weight) == (
            "/api/v3/depth",
            {"symbol": "BTCUSDT", "limit": "1000"},
            50,
        )


async def test_reaching_the_snapshot_applies_the_bridging_diff_that_arrived_before_it() -> None:
    async with asyncio.timeout(TIMEOUT_S), FakeBinanceVenue(SPOT) as venue, http() as session:
        lines = recorded(SPOT, 20)
        snapshot_line = next(i for i, p in enumerate(lines, 1) if p.startswith(b'{"lastUpdateId"'))
        bridge = json.loads(lines[5])["data"]
        assert (bridge["U"], bridge["u"]) == (50093239208, 50093239224)  # line 6, before the snapshot
        released = await venue.advance_until(lambda frame: frame.kind is FrameKind.REST_SNAPSHOT)
        assert released == snapshot_line
        async with session.get(f"{venue.rest_url}/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "5"}) as r:
            body = await r.json()
        assert body["lastUpdateId"] == 50093239224
        assert list(body) == ["lastUpdateId", "bids", "asks"] and len(body["bids"]) == 5


async def test_rest_snapshot_plus_later_diffs_equals_the_venues_book() -> None:
    lines = recorded(SPOT, 1200)
    async with (
        asyncio.timeout(TIMEOUT_S),
        FakeBinanceVenue(SPOT) as venue,
        http() as session,
        connect(f"{venue.ws_urls[0]}?streams={DEPTH}") as ws,
    ):
        await venue.advance(500)
        early = [json.loads(m)["data"] for m in await recv_n(ws, sum(stream_of(p) == DEPTH for p in lines[:500]))]
        async with session.get(f"{venue.rest_url}/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "5000"}) as r:
            snap = await r.json()
            assert r.headers["x-mbx-used-weight"] == "250"
        assert snap["lastUpdateId"] == early[-1]["u"]  # the u of the last diff released
        assert len(snap["bids"]) < 5000 and len(snap["asks"]) < 5000  # so this is the whole book

        await venue.advance(700)
        later = [json.loads(m)["data"] for m in await recv_n(ws, sum(stream_of(p) == DEPTH for p in lines[500:]))]
        bids, asks = dict(map(tuple, snap["bids"])), dict(map(tuple, snap["asks"]))
        previous = snap["lastUpdateId"]
        for diff in later:
            assert diff["U"] == previous + 1
            apply_levels(bids, diff["b"])
            apply_levels(asks, diff["a"])
            previous = diff["u"]
        book = venue.book("BTCUSDT")
        assert book.update_id == previous
        assert sorted_levels(bids, descending=True) == book.bids
        assert sorted_levels(asks, descending=False) == book.asks


def _held() -> float:
    return 1000.0  # a venue clock that does not move


async def test_usdm_depth_has_event_and_transaction_times_and_diffs_chain_on_pu() -> None:
    lines = recorded(USDM, 200)
    snapshot = next(p for p in lines if p.startswith(b'{"lastUpdateId"'))
    async with (
        asyncio.timeout(TIMEOUT_S),
        # the venue's clock held: both requests fall in one weight window, however slow a busy machine is
        # between them (on the wall clock a minute could turn in between)
        FakeBinanceVenue(
            USDM, market="linear", tick_size="0.10", lot_size="0.001", options=VenueOptions(max_frames=200, clock=_held)
        ) as venue,
        http() as session,
        connect(f"{venue.ws_urls[0]}?streams={USDM_DEPTH}") as ws,
    ):
        url = f"{venue.rest_url}/fapi/v1/depth"
        async with session.get(url, params={"symbol": "BTCUSDT", "limit": "1000"}) as r:
            assert await r.read() == snapshot  # before line 54: the recorded snapshot, E and T included
            assert r.headers["x-mbx-used-weight-1m"] == "20"
        assert await venue.drain() == 200
        diffs = [json.loads(m)["data"] for m in await recv_n(ws, sum(stream_of(p) == USDM_DEPTH for p in lines))]
        assert all(d["pu"] == p["u"] for p, d in itertools.pairwise(diffs))
        async with session.get(url, params={"symbol": "BTCUSDT", "limit": "50"}) as r:
            body = await r.json()
            assert r.headers["x-mbx-used-weight-1m"] == "22"  # 20 + 2: the weight window accumulates
        assert list(body) == ["lastUpdateId", "E", "T", "bids", "asks"]
        assert (body["lastUpdateId"], body["E"], body["T"]) == (diffs[-1]["u"], diffs[-1]["E"], diffs[-1]["T"])
        assert body["bids"][0] == list(venue.book("BTCUSDT", 1).bids[0])
        assert venue.exhausted


async def test_exchange_info_reports_the_constructor_filters() -> None:
    async with asyncio.timeout(TIMEOUT_S), http() as session:
        async with FakeBinanceVenue(SPOT, tick_size="0.01", lot_size="0.00001", min_notional="5") as venue:
            url = f"{venue.rest_url}/api/v3/exchangeInfo"
            async with session.get(url, params={"symbol": "BTCUSDT"}) as r:
                info = await r.json()
                assert r.headers["x-mbx-used-weight-1m"] == "20"
            (symbol,) = info["symbols"]
            filters = {f["filterType"]: f for f in symbol["filters"]}
            assert (symbol["symbol"], symbol["baseAsset"], symbol["quoteAsset"]) == ("BTCUSDT", "BTC", "USDT")
            assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
            assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
            assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
            async with session.get(url, params={"symbol": "NOPEUSDT"}) as r:
                assert r.status == 400 and await r.json() == {"code": -1121, "msg": "Invalid symbol."}
        async with FakeBinanceVenue(
            USDM, market="linear", tick_size="0.10", lot_size="0.001", options=VenueOptions(max_frames=5)
        ) as venue:
            async with session.get(f"{venue.rest_url}/fapi/v1/exchangeInfo") as r:
                info = await r.json()
            (symbol,) = info["symbols"]
            filters = {f["filterType"]: f for f in symbol["filters"]}
            assert filters["PRICE_FILTER"]["tickSize"] == "0.10"
            assert filters["LOT_SIZE"]["stepSize"] == "0.001"
            assert filters["MIN_NOTIONAL"] == {"filterType": "MIN_NOTIONAL", "notional": "5"}
            assert (symbol["pricePrecision"], symbol["quantityPrecision"]) == (1, 3)


# -- Bybit ----------------------------------------------------------------------------------------------


async def subscribe_and_ping(ws: ClientConnection, topic: str, req_id: str) -> tuple[str | bytes, str | bytes]:
    """Bybit: the answers, as sent, to a subscribe to ``topic`` with ``req_id`` and to the ping after it."""
    await ws.send(json.dumps({"op": "subscribe", "args": [topic], "req_id": req_id}))
    ack = await ws.recv()
    await ws.send(json.dumps({"op": "ping"}))
    return ack, await ws.recv()


async def test_bybit_linear_acks_pongs_and_failures_have_bybit_shapes() -> None:
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT, market="linear") as venue:
        async with connect(venue.ws_urls[0]) as ws:
            ack, pong = await subscribe_and_ping(ws, "publicTrade.XRPUSDT", "r1")
            conn_id = venue.connections[0].conn_id
            assert ack == f'{{"success":true,"ret_msg":"","conn_id":"{conn_id}","req_id":"r1","op":"subscribe"}}'
            assert pong == f'{{"success":true,"ret_msg":"pong","conn_id":"{conn_id}","req_id":"","op":"ping"}}'
            await ws.send(json.dumps({"op": "subscribe", "args": ["orderbook.50.NOPEUSDT"], "req_id": "r2"}))
            assert await recv_json(ws) == {
                "success": False,
                "ret_msg": "error:handler not found,topic:orderbook.50.NOPEUSDT",
                "conn_id": conn_id,
                "req_id": "r2",
                "op": "subscribe",
            }
            await ws.send(json.dumps({"op": "unsubscribe", "args": ["publicTrade.XRPUSDT"]}))
            assert await recv_json(ws) == {
                "success": True,
                "ret_msg": "",
                "conn_id": conn_id,
                "req_id": "",
                "op": "unsubscribe",
            }
        assert venue.path == "/v5/public/linear"


async def test_bybit_spot_acks_and_pongs_have_the_spot_shapes() -> None:
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT, market="spot") as venue:
        assert venue.ws_urls[0].endswith("/v5/public/spot")
        async with connect(venue.ws_urls[0]) as ws:
            ack, pong = await subscribe_and_ping(ws, "orderbook.50.XRPUSDT", "10001")
            conn_id = venue.connections[0].conn_id
            assert ack == (
                f'{{"success":true,"ret_msg":"subscribe","conn_id":"{conn_id}","req_id":"10001","op":"subscribe"}}'
            )
            assert pong == f'{{"success":true,"ret_msg":"pong","conn_id":"{conn_id}","op":"ping"}}'
            await ws.send(json.dumps({"op": "subscribe", "args": ["orderbook.500.XRPUSDT"]}))  # 500: linear only
            assert await recv_json(ws) == {
                "success": False,
                "ret_msg": "Invalid symbol :[orderbook.500.XRPUSDT]",
                "conn_id": conn_id,
                "op": "subscribe",
            }
            await ws.send(json.dumps({"op": "subscribe", "args": [f"tickers.XRPUSDT{i}" for i in range(11)]}))
            assert (await recv_json(ws))["ret_msg"] == "args size >10"


async def test_bybit_frames_before_any_book_are_the_recording_byte_for_byte() -> None:
    lines = recorded(BYBIT)
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT) as venue, connect(venue.ws_urls[0]) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": [OB500]}))
        assert (await recv_json(ws))["success"] is True  # no snapshot yet: nothing has been released
        await venue.advance(10)
        assert await recv_n(ws, 10) == [p.decode() for p in lines[:10]]


async def test_bybit_snapshot_on_subscribe_is_the_book_and_deltas_continue_after_resubscribe() -> None:
    lines = recorded(BYBIT)
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT) as venue, connect(venue.ws_urls[0]) as ws:
        await venue.advance(10)
        await ws.send(json.dumps({"op": "subscribe", "args": [OB500], "req_id": "a"}))
        assert (await recv_json(ws))["op"] == "subscribe"
        snapshot = await recv_json(ws)
        book = venue.book("XRPUSDT", 500)
        assert (snapshot["topic"], snapshot["type"]) == (OB500, "snapshot")
        assert list(snapshot) == ["topic", "type", "ts", "data", "cts"]
        assert list(snapshot["data"]) == ["s", "b", "a", "u", "seq"]
        assert [tuple(level) for level in snapshot["data"]["b"]] == book.bids
        assert [tuple(level) for level in snapshot["data"]["a"]] == book.asks
        assert snapshot["data"]["u"] == book.update_id == json.loads(lines[9])["data"]["u"]
        await venue.advance(5)
        assert await recv_n(ws, 5) == [p.decode() for p in lines[10:15]]

        await ws.send(json.dumps({"op": "unsubscribe", "args": [OB500]}))
        assert (await recv_json(ws))["op"] == "unsubscribe"
        await venue.advance(5)  # released while unsubscribed: this client never sees them
        await ws.send(json.dumps({"op": "subscribe", "args": [OB500]}))
        assert (await recv_json(ws))["op"] == "subscribe"  # not a frame from those five
        fresh = await recv_json(ws)
        assert fresh["type"] == "snapshot" and fresh["data"]["u"] == json.loads(lines[19])["data"]["u"]
        await venue.advance(3)
        deltas = [json.loads(m) for m in await recv_n(ws, 3)]
        assert [d["data"]["u"] for d in deltas] == [fresh["data"]["u"] + i for i in (1, 2, 3)]


async def test_bybit_derived_depth_follows_the_venue_book() -> None:
    lines = recorded(BYBIT)
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT) as venue, connect(venue.ws_urls[0]) as ws:
        await venue.advance(5)
        await ws.send(json.dumps({"op": "subscribe", "args": [OB50]}))
        assert (await recv_json(ws))["success"] is True
        snapshot = await recv_json(ws)
        assert (snapshot["type"], len(snapshot["data"]["b"]), len(snapshot["data"]["a"])) == ("snapshot", 50, 50)
        bids, asks = dict(map(tuple, snapshot["data"]["b"])), dict(map(tuple, snapshot["data"]["a"]))
        await venue.drain()
        for message in [json.loads(m) for m in await recv_n(ws, len(lines) - 5)]:
            assert message["topic"] == OB50 and message["type"] == "delta"
            apply_levels(bids, message["data"]["b"])
            apply_levels(asks, message["data"]["a"])
        assert message["data"]["u"] == json.loads(lines[-1])["data"]["u"]
        book = venue.book("XRPUSDT", 50)
        assert sorted_levels(bids, descending=True) == book.bids
        assert sorted_levels(asks, descending=False) == book.asks


# -- faults -------------------------------------------------------------------------------------------


@asynccontextmanager
async def spot_depth_client(**venue_kwargs: Any) -> AsyncIterator[tuple[FakeBinanceVenue, ClientConnection]]:
    async with FakeBinanceVenue(SPOT, **venue_kwargs) as venue, connect(f"{venue.ws_urls[0]}?streams={DEPTH}") as ws:
        yield venue, ws


async def test_drop_shows_the_client_a_gap() -> None:
    async with asyncio.timeout(TIMEOUT_S), spot_depth_client() as (venue, ws):
        venue.faults.drop(DEPTH, at=5)
        await venue.advance(300)
        total = sum(stream_of(p) == DEPTH for p in recorded(SPOT, 300))
        diffs = [json.loads(m)["data"] for m in await recv_n(ws, total - 1)]
        gaps = [(a["u"], b["U"]) for a, b in itertools.pairwise(diffs) if b["U"] != a["u"] + 1]
        assert len(gaps) == 1
        assert venue.faults.count(FaultKind.DROP) == 1
        assert venue.connections[0].sent_log[5] == (DEPTH, 6)


async def test_duplicate_swap_and_delay_reorder_exactly_the_named_frames() -> None:
    depth_lines = [p.decode() for p in recorded(SPOT, 900) if stream_of(p) == DEPTH]
    async with asyncio.timeout(TIMEOUT_S), spot_depth_client() as (venue, ws):
        venue.faults.duplicate(DEPTH, at=1)
        venue.faults.swap(DEPTH, at=3)
        venue.faults.delay(DEPTH, at=6, frames=2)
        await venue.advance(900)
        got = await recv_n(ws, len(depth_lines) + 1)
        d = depth_lines
        assert got[:11] == [d[0], d[1], d[1], d[2], d[4], d[3], d[5], d[7], d[8], d[6], d[9]]
        assert got[11:] == d[10:]
        kinds = [a.kind for a in venue.faults.applied]
        assert kinds == [FaultKind.DUPLICATE, FaultKind.SWAP, FaultKind.DELAY]


async def test_stall_withholds_frames_but_pings_and_requests_are_still_answered() -> None:
    lines = recorded(SPOT, 600)
    async with asyncio.timeout(TIMEOUT_S), spot_depth_client() as (venue, ws):
        venue.faults.stall(after=99)  # frames at clock positions 0..99 go out, later ones do not
        await venue.advance(400)
        before = [p.decode() for p in lines[:100] if stream_of(p) == DEPTH]
        assert await recv_n(ws, len(before)) == before
        pong = await ws.ping()
        await pong  # the WebSocket ping is answered during the stall
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
        assert await ws.recv() == f'{{"result":["{DEPTH}"],"id":1}}'  # no data frame came before it
        assert venue.connections[0].pings_answered >= 1

        venue.faults.resume()
        await venue.advance(200)
        after = [p.decode() for p in lines[400:600] if stream_of(p) == DEPTH]
        assert await recv_n(ws, len(after)) == after
        assert venue.faults.count(FaultKind.STALL) > 1  # started, each withheld frame, resumed


async def test_close_after_a_frame_uses_the_given_code_and_abrupt_close_is_1006() -> None:
    depth_lines = [p.decode() for p in recorded(SPOT, 200) if stream_of(p) == DEPTH]
    async with asyncio.timeout(TIMEOUT_S), spot_depth_client() as (venue, ws):
        venue.faults.close(DEPTH, at=2, code=1001, reason="maintenance")
        await venue.advance(200)
        assert await recv_n(ws, 3) == depth_lines[:3]
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert (ws.close_code, ws.close_reason) == (1001, "maintenance")
        async with connect(f"{venue.ws_urls[0]}?streams={DEPTH}") as second:
            venue.faults.close(DEPTH, at=20, abrupt=True)
            await venue.advance(300)
            index_of_20 = 20 - sum(1 for p in recorded(SPOT, 200) if stream_of(p) == DEPTH)
            await recv_n(second, index_of_20 + 1)
            with pytest.raises(ConnectionClosed):
                await second.recv()
            assert second.close_code == 1006
        await venue.wait_for_disconnects(2)


async def test_malformed_and_unknown_stream_frames() -> None:
    depth_lines = [p for p in recorded(SPOT, 200) if stream_of(p) == DEPTH]
    async with asyncio.timeout(TIMEOUT_S), spot_depth_client() as (venue, ws):
        venue.faults.malformed(DEPTH, at=1)
        venue.faults.unknown_stream(DEPTH, at=3)
        await venue.advance(200)
        got = await recv_n(ws, len(depth_lines) + 1)
        assert got[1] == '{"stream":"btcusdt@depth@100ms","data":{'
        with pytest.raises(json.JSONDecodeError):
            json.loads(got[1])
        injected = json.loads(got[3])
        assert injected["stream"] == "xyzusdt@depth@100ms"
        assert injected["data"] == json.loads(depth_lines[3])["data"]
        assert got[4] == depth_lines[3].decode()


async def test_refused_endpoint_fails_while_the_other_port_works() -> None:
    async with asyncio.timeout(TIMEOUT_S), FakeBinanceVenue(SPOT, options=VenueOptions(endpoints=2)) as venue:
        assert len(set(venue.ports)) == 2
        venue.faults.refuse(1)
        with pytest.raises(InvalidStatus) as refused:
            await connect(venue.ws_urls[1])
        assert refused.value.response.status_code == 503
        venue.faults.refuse(1, mode="drop")
        with pytest.raises((InvalidHandshake, OSError)):
            await connect(venue.ws_urls[1])
        async with connect(f"{venue.ws_urls[0]}?streams={DEPTH}") as ws:
            await venue.advance(1)
            assert json.loads(await ws.recv())["stream"] == DEPTH
        venue.faults.accept(1)
        async with connect(venue.ws_urls[1]):
            pass
        assert venue.stats.connections_refused == 2
        assert venue.stats.connections_accepted == 2


async def test_rest_429_418_5xx_malformed_and_weight_limit() -> None:
    params = {"symbol": "BTCUSDT", "limit": "1000"}
    async with (
        asyncio.timeout(TIMEOUT_S),
        FakeBinanceVenue(SPOT, weight_limit=160, options=VenueOptions(clock=lambda: 1000.0)) as venue,
        http() as session,
    ):
        url = f"{venue.rest_url}/api/v3/depth"
        venue.faults.rest_error(429, retry_after=7)
        async with session.get(url, params=params) as r:
            assert r.status == 429 and r.headers["Retry-After"] == "7"
            body = await r.json()
            assert body["code"] == -1003 and body["msg"].startswith("Too many requests;")
        venue.faults.rest_error(418, retry_after=120)
        async with session.get(url, params=params) as r:
            assert r.status == 418 and r.headers["Retry-After"] == "120"
            body = await r.json()
            assert body["code"] == -1003 and "banned until 1120000." in body["msg"]
        venue.faults.rest_error(502, body=b"<html><body>502 Bad Gateway</body></html>")
        async with session.get(url, params=params) as r:
            assert r.status == 502 and r.content_type == "text/html"
        venue.faults.rest_malformed()
        async with session.get(f"{venue.rest_url}/api/v3/ping") as r:
            assert r.status == 200 and await r.read() == b"{"  # half of "{}"
        # 50 + 50 + 50 + 1 used so far in this minute; the next 50 passes the limit of 160
        async with session.get(url, params=params) as r:
            assert r.status == 429
            assert r.headers["Retry-After"] == "20"  # 1000 s is 40 s into its minute
            assert r.headers["x-mbx-used-weight-1m"] == "201"
        assert [q.status for q in venue.stats.rest_requests] == [429, 418, 502, 200, 429]
        assert venue.faults.count("rest_error") == 3


async def test_rest_hold_answers_from_the_book_at_release_time() -> None:
    async with asyncio.timeout(TIMEOUT_S), FakeBinanceVenue(SPOT) as venue, http() as session:
        await venue.advance(7)
        venue.faults.rest_hold()
        url = f"{venue.rest_url}/api/v3/depth?symbol=BTCUSDT&limit=5"
        held = asyncio.create_task(session.get(url))
        await venue.wait_for_rest_held(1)
        await venue.advance(500)
        assert not held.done()
        venue.faults.rest_release()
        async with await held as r:
            body = await r.json()
        assert body["lastUpdateId"] == venue.book("BTCUSDT").update_id != 50093239224
        assert venue.stats.rest_requests[0].clock_position == 507


# -- replay, timing, lifecycle ------------------------------------------------------------------------


async def test_consecutive_files_of_a_session_are_one_stream(tmp_path: Path) -> None:
    lines = recorded(SPOT, 1000)
    with gzip.open(SPOT, "rb") as handle:
        raw_lines = [next(handle) for _ in range(1000)]
    first, second = tmp_path / "btcusdt_20240808.gz", tmp_path / "btcusdt_20240809"
    with gzip.open(first, "wb") as handle:
        handle.writelines(raw_lines[:600])
    second.write_bytes(b"".join(raw_lines[600:]))  # plain text: the name does not end in .gz
    async with (
        asyncio.timeout(TIMEOUT_S),
        FakeBinanceVenue([[first, second]]) as venue,
        connect(f"{venue.ws_urls[0]}?streams={DEPTH}") as ws,
    ):
        assert await venue.drain() == 1000
        want = [p.decode() for p in lines if stream_of(p) == DEPTH]
        assert await recv_n(ws, len(want)) == want


async def test_two_sessions_merge_on_one_clock_in_local_time_order() -> None:
    async with (
        asyncio.timeout(TIMEOUT_S),
        FakeBinanceVenue([SPOT, SPOT_ETH], options=VenueOptions(max_frames=400)) as venue,
    ):
        first = venue.peek()
        assert first is not None
        cutoff = first.local_ts + 200_000_000  # the first 200 ms of the merged recording
        released = await venue.advance_until(cutoff)
        upcoming = venue.peek()
        assert released == venue.position > 0 and upcoming is not None and upcoming.local_ts > cutoff
        seen: list[tuple[int, str]] = []
        while (frame := venue.peek()) is not None:
            seen.append((frame.local_ts, frame.symbol))
            assert await venue.advance(1) == 1
        assert [ts for ts, _ in seen] == sorted(ts for ts, _ in seen)
        assert {symbol for _, symbol in seen} == {"BTCUSDT", "ETHUSDT"}
        assert venue.position == 400
        assert venue.book("ETHUSDT").update_id is not None and venue.book("BTCUSDT").update_id is not None


async def test_timed_playback_flat_out_and_at_speed() -> None:
    lines = recorded(BYBIT)
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT) as venue, connect(venue.ws_urls[0]) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": [OB500]}))
        await recv_json(ws)
        venue.play("max")
        await venue.wait_played()
        assert await recv_n(ws, len(lines)) == [p.decode() for p in lines]
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT) as venue, connect(venue.ws_urls[0]) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": [OB500]}))
        await recv_json(ws)
        loop = asyncio.get_running_loop()
        started = loop.time()
        venue.play(1000.0)  # the 4.8 s recording in about 5 ms
        await venue.wait_played()
        assert await recv_n(ws, len(lines)) == [p.decode() for p in lines]
        assert loop.time() - started >= 4.7 / 1000


async def test_timed_playback_holds_at_its_gate_until_the_gate_moves() -> None:
    n = len(recorded(BYBIT))
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT) as venue:
        first = venue.peek()
        assert first is not None
        gate = first.local_ts + 1_000_000_000  # the first second of the 4.8 s recording
        venue.play("max", gate_ns=gate)
        await venue.wait_until(lambda: (f := venue.peek()) is not None and f.local_ts > gate)
        held = venue.position
        for _ in range(50):  # loop turns (not time): flat out, playback would release a frame in each
            await asyncio.sleep(0)
        assert 0 < held == venue.position < n
        venue.gate(None)
        await venue.wait_played()
        assert venue.position == n


async def test_timed_playback_goes_on_at_its_pace_from_where_it_skipped_to() -> None:
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT) as venue:
        first = venue.peek()
        assert first is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        venue.play(1.0)  # 4.8 s at the recorded pace
        await venue.wait_until(lambda: venue.position > 0)  # playing: its pace counts from the first frame
        skip = first.local_ts + 4_500_000_000
        await venue.skip_to(skip)
        skipped = loop.time()
        after = venue.peek()
        assert after is not None and after.local_ts > skip
        await venue.wait_played()
        assert venue.exhausted
        # the frames after the skip kept their pace, counted from the skip; those before it did not wait
        assert loop.time() - skipped >= (after.local_ts - skip) / 1e9
        assert loop.time() - started < 4.5


async def test_aligned_playback_refuses_a_gate_and_an_origin_it_could_not_keep() -> None:
    # the venue's clock paces aligned playback: a gate or an origin would be silently ignored
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT) as venue:
        first = venue.peek()
        assert first is not None
        for held in ({"gate_ns": first.local_ts}, {"origin_ns": first.local_ts}):
            with pytest.raises(ValueError, match="aligned playback follows the venue's clock"):
                venue.play(aligned=True, **held)
        assert venue.position == 0  # nothing started
        venue.play(aligned=True)  # a recording of the past: every frame is due at once
        with pytest.raises(RuntimeError, match="has no gate"):
            venue.gate(first.local_ts)
        await venue.wait_played()


async def test_speed_at_construction_plays_from_start() -> None:
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT, options=VenueOptions(speed=None)) as venue:
        await venue.wait_played()
        assert venue.exhausted and venue.stats.frames_released == len(recorded(BYBIT))


async def test_a_client_that_stops_reading_is_dropped_instead_of_stalling_the_clock() -> None:
    venue = FakeBinanceVenue(
        USDM, market="linear", options=VenueOptions(max_frames=3000, write_timeout=0.2, send_buffer=4096)
    )
    async with asyncio.timeout(TIMEOUT_S), venue:
        _reader, writer = await asyncio.open_connection("127.0.0.1", venue.ports[0])
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /stream?streams={USDM_DEPTH}/btcusdt@bookTicker/btcusdt@trade HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        await writer.drain()
        await venue.wait_for_connections(1)
        assert await venue.drain() == 3000  # the clock ran to the end although the client never read
        (stuck,) = venue.all_connections
        assert not stuck.open and stuck.close_code == 1006
        assert 0 < stuck.frames_sent < 3000
        writer.close()
        await writer.wait_closed()


async def test_exit_closes_every_port_and_leaves_no_task_behind() -> None:
    before = asyncio.all_tasks()
    async with asyncio.timeout(TIMEOUT_S):
        async with FakeBinanceVenue(SPOT, options=VenueOptions(endpoints=2, ping_interval=0.05)) as venue:
            ws_urls, rest_url = venue.ws_urls, venue.rest_url
            client = await connect(f"{ws_urls[0]}?streams={DEPTH}")
            await venue.advance(10)
        with pytest.raises(ConnectionClosed):
            while True:
                await client.recv()
        assert client.close_code == 1001
        for url in ws_urls:
            with pytest.raises(OSError):
                await connect(url)
        async with http() as session:
            with pytest.raises(aiohttp.ClientConnectionError):
                await session.get(f"{rest_url}/api/v3/ping")
    assert asyncio.all_tasks() == before
