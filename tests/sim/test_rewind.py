"""A fake venue played again from its start (``FakeVenue.rewind``): what a soak run replays for days."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.bybit.public import FakeBybitVenue

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SPOT = FIXTURES / "binance_spot_btcusdt_20240808_head3000.gz"
BYBIT = FIXTURES / "bybit_linear_xrpusdt_ob500_20241201.data"
DEPTH = "btcusdt@depth@100ms"
TIMEOUT_S = 60.0
"""A bound on a test that hangs, not on its speed."""


async def _depth(venue: FakeBinanceVenue) -> dict[str, object]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{venue.rest_url}/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "5"}) as response,
    ):
        return dict(await response.json())


async def test_rewind_closes_every_connection_forgets_the_logs_and_plays_the_same_frames_again() -> None:
    async with asyncio.timeout(TIMEOUT_S), FakeBinanceVenue(SPOT, market="spot") as venue:
        first_snapshot = await _depth(venue)  # before the recording's snapshot line: that snapshot
        async with connect(f"{venue.ws_urls[0]}?streams={DEPTH}") as client:
            await venue.advance_until(lambda frame: frame.stream == DEPTH)
            first = await client.recv()
            await venue.advance(50)
            assert venue.position > 50 and len(venue.stats.rest_requests) == 1
            assert await venue.rewind() == 1
            try:
                while True:  # the frames sent before the close, then the close
                    await client.recv()
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1001
        assert venue.position == 0 and venue.connections == [] and venue.all_connections == []
        assert venue.stats.rest_requests == [] and venue.stats.subscriptions == []
        assert venue.book("BTCUSDT").update_id is None  # the books start again with the recording
        assert await _depth(venue) == first_snapshot
        async with connect(f"{venue.ws_urls[0]}?streams={DEPTH}") as client:
            await venue.advance_until(lambda frame: frame.stream == DEPTH)
            assert await client.recv() == first
        assert venue.stats.connections_accepted == 2


async def test_a_rewound_bybit_sends_the_book_again_from_the_recordings_snapshot() -> None:
    topic = "orderbook.500.XRPUSDT"
    async with asyncio.timeout(TIMEOUT_S), FakeBybitVenue(BYBIT, market="linear") as venue:
        await venue.advance(200)
        await venue.rewind()
        assert venue.book("XRPUSDT").bids == []
        async with connect(venue.ws_urls[0]) as client:
            await client.send(json.dumps({"op": "subscribe", "args": [topic]}))
            await venue.wait_for_subscription(topic)
            await venue.advance_until(lambda frame: frame.stream == topic)
            messages = [json.loads(await client.recv()) for _ in range(2)]
        book = [m for m in messages if m.get("topic") == topic]
        assert book and book[0]["type"] == "snapshot"
