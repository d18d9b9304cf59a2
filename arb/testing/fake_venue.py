"""A fake exchange venue on loopback for tests and demos: Binance and Bybit, real wire formats.

The venue replays collector recordings on one market clock and serves them over WebSocket (and, for
Binance, REST) on 127.0.0.1, port 0. Connectors are pointed at it through their configured URLs,
never patched. Everything a test needs is here::

    from arb.testing.fake_venue import FakeBinanceVenue

    async with FakeBinanceVenue("tests/fixtures/binance_spot_btcusdt_20240808_head3000.gz") as venue:
        url = venue.ws_urls[0]                      # ws://127.0.0.1:PORT/stream
        ...                                         # connect a feed, subscribe
        await venue.wait_for_subscription("btcusdt@depth@100ms")
        venue.faults.drop("btcusdt@depth@100ms", at=10)
        await venue.advance(100)                    # release 100 recorded frames

See ``docs/fake-venue.md`` for the whole API and what the venue does not model.
"""

from __future__ import annotations

from arb.testing.fake_binance import BinanceMarket, FakeBinanceVenue, SymbolSpec, depth_weight
from arb.testing.fake_book import PriceLevelBook
from arb.testing.fake_bybit import BybitMarket, FakeBybitVenue
from arb.testing.faults import AppliedFault, FaultKind, FaultPlan, RefuseMode
from arb.testing.replay import FrameKind, ReplayFrame
from arb.testing.venue_core import (
    MANUAL,
    BookView,
    FakeVenue,
    OutFrame,
    RestRequest,
    Speed,
    SubscriptionEvent,
    VenueConnection,
    VenueStats,
)

__all__ = [
    "MANUAL",
    "AppliedFault",
    "BinanceMarket",
    "BookView",
    "BybitMarket",
    "FakeBinanceVenue",
    "FakeBybitVenue",
    "FakeVenue",
    "FaultKind",
    "FaultPlan",
    "FrameKind",
    "OutFrame",
    "PriceLevelBook",
    "RefuseMode",
    "ReplayFrame",
    "RestRequest",
    "Speed",
    "SubscriptionEvent",
    "SymbolSpec",
    "VenueConnection",
    "VenueStats",
    "depth_weight",
]
