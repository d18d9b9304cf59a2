"""Hyperliquid's funding history and instrument list over its info endpoint, against the fake Hyperliquid: the
history paged forward by time (each reply oldest first), a coin ``meta`` does not list refused first, and
``arb scan``'s list read from ``metaAndAssetCtxs`` (a POST, the seam's request body)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from arb.events import NS_PER_MS
from arb.scan.instruments import ListTarget, fetch_instruments
from arb.sim.hyperliquid.public import FakeHyperliquidVenue
from connectors.common.history import HistoryGetter
from connectors.hyperliquid.history import HyperliquidFundingHistoryClient
from tests.integration.test_feeds_hyperliquid import START_MS, hyperliquid_recording
from tests.support.feed_rig import TIMEOUT_S, Waits

HOUR_MS = 3_600_000
FIRST = (START_MS // HOUR_MS) * HOUR_MS - 5 * HOUR_MS
FUNDINGS = [(FIRST + k * HOUR_MS, f"0.0000{k + 1}") for k in range(5)]


async def test_the_history_is_paged_forward_and_an_unlisted_coin_is_refused(tmp_path: Path) -> None:
    recording = hyperliquid_recording(tmp_path / "btc.gz")
    waits = Waits()
    async with (
        asyncio.timeout(TIMEOUT_S),
        FakeHyperliquidVenue(recording, fundings={"BTC": FUNDINGS}, page=2) as venue,
        aiohttp.ClientSession() as http,
    ):
        getter = HistoryGetter("hyperliquid", http, min_interval_ns=2_500_000_000, sleep=waits, clock=lambda: 0)
        client = HyperliquidFundingHistoryClient(venue.rest_url, getter)
        client.page = 2
        assert await client.unlisted("BTCUSDT") is None
        assert "does not list the ETH perpetual" in str(await client.unlisted("ETHUSDT"))
        # the span leaves out the first funding time and takes the other four
        records = await client.fetch("BTCUSDT", (FIRST + 1) * NS_PER_MS, (FIRST + 5 * HOUR_MS) * NS_PER_MS)
        assert [(r.time_ns // NS_PER_MS, r.rate) for r in records] == FUNDINGS[1:]
        assert venue.info_requests == ["meta", "meta", "fundingHistory", "fundingHistory", "fundingHistory"]
        assert waits.seconds and all(w == 2.5 for w in waits.seconds)  # paced: one request every 2.5 s

        await venue.drain()  # the contexts released: each coin's mark price
        (listed,) = await fetch_instruments([ListTarget("hyperliquid", "linear", venue.rest_url)])  # arb scan's way
        assert listed.problem == "" and venue.info_requests[-1] == "metaAndAssetCtxs"
    (btc,) = listed.instruments
    assert (btc.symbol, btc.name, str(btc.lot), str(btc.min_notional)) == ("BTCUSDT", "BTC", "0.00001", "10")
    assert str(btc.tick) == "1"  # BTC's book is near 60,000: five significant figures leave no decimal
