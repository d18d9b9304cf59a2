"""The venue simulator: Binance and Bybit on 127.0.0.1, in their own wire formats.

A simulated venue replays recorded market data on one market clock and serves it over WebSocket and
REST on loopback (port 0); the trading venues add the private side (signed REST, the user stream) on a
ledger of their own whose orders match against the book being replayed. arb's connectors and executors
reach it through their configured URLs, exactly as they reach Binance and Bybit, so ``arb parity
--live`` and a user rehearsing ``arb live`` run the real code against it; tests do the same, with the
fault switches (:class:`FaultPlan`) to make a venue misbehave on purpose.

Nothing here imports the rest of arb but its errors: the simulator is an independent peer, so a bug in arb's book or
executors cannot hide itself in it. The test-only parts (rigs, fault campaigns, configuration writers,
waiting helpers) are in the ``testing`` package beside this one, which production code never
imports. See ``docs/fake-venue.md``::

    from arb.sim import FakeBinanceVenue

    async with FakeBinanceVenue("tests/fixtures/binance_spot_btcusdt_20240808_head3000.gz") as venue:
        url = venue.ws_urls[0]                      # ws://127.0.0.1:PORT/stream
        await venue.wait_for_subscription("btcusdt@depth@100ms")
        venue.faults.drop("btcusdt@depth@100ms", at=10)
        await venue.advance(100)                    # release 100 recorded frames
"""

from __future__ import annotations

__all__ = [
    "MANUAL",
    "AppliedFault",
    "BinanceMarket",
    "BookView",
    "BybitMarket",
    "Chain",
    "FakeBinanceExchange",
    "FakeBinanceVenue",
    "FakeBybitExchange",
    "FakeBybitVenue",
    "FakeVenue",
    "FaultKind",
    "FaultPlan",
    "FrameKind",
    "FundingSchedule",
    "NetworkTerms",
    "OutFrame",
    "Playback",
    "PriceLevelBook",
    "RefuseMode",
    "ReplayFrame",
    "RestRequest",
    "Speed",
    "SubscriptionEvent",
    "SymbolRules",
    "SymbolSpec",
    "VenueConnection",
    "VenueOptions",
    "VenueStats",
    "depth_weight",
]

from arb.sim.binance.exchange import FakeBinanceExchange
from arb.sim.binance.public import BinanceMarket, FakeBinanceVenue, SymbolSpec, depth_weight
from arb.sim.book import PriceLevelBook
from arb.sim.bybit.exchange import FakeBybitExchange
from arb.sim.bybit.public import BybitMarket, FakeBybitVenue
from arb.sim.faults import AppliedFault, FaultKind, FaultPlan, RefuseMode
from arb.sim.funding import FundingSchedule
from arb.sim.ledger import SymbolRules
from arb.sim.options import MANUAL, Speed, VenueOptions
from arb.sim.playback import Playback
from arb.sim.replay import FrameKind, ReplayFrame
from arb.sim.transfers import Chain, NetworkTerms
from arb.sim.venue import (
    BookView,
    FakeVenue,
    OutFrame,
    RestRequest,
    SubscriptionEvent,
    VenueConnection,
    VenueStats,
)
