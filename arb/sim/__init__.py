"""The venue simulator: each venue arb knows on 127.0.0.1, in its own wire format (``arb.sim.<venue>``).

A simulated venue replays recorded market data on one market clock and serves it over WebSocket and
REST on loopback (port 0); the trading venues add the private side (signed REST, the user stream) on a
ledger of their own whose orders match against the book being replayed. arb's connectors and executors
reach it through their configured URLs, exactly as they reach the real venues, so ``arb parity
--live`` and a user rehearsing ``arb live`` run the real code against it; tests do the same, with the
fault switches (:class:`FaultPlan`) to make a venue misbehave on purpose.

Nothing here imports the rest of arb but its errors: the simulator is an independent peer, so a bug in arb's book or
executors cannot hide itself in it. The test-only parts (rigs, fault campaigns, configuration writers,
waiting helpers) are in the ``testing`` package beside this one, which production code never
imports. Each venue's fakes are in its own package, ``arb.sim.<venue>``: its public market
(``public.py``'s ``VENUE``) and its whole exchange, public and private (``exchange.py``'s ``EXCHANGE``),
found by name with :func:`fake_venue` and :func:`fake_exchange`. See ``docs/fake-venue.md``::

    from arb.sim import fake_venue

    async with fake_venue(name)(recording) as venue:   # a venue's name, one of its recordings
        url = venue.ws_urls[0]                          # ws://127.0.0.1:PORT/...
        await venue.wait_for_subscription(stream)       # a stream as the venue names it
        venue.faults.drop(stream, at=10)
        await venue.advance(100)                    # release 100 recorded frames
"""

from __future__ import annotations

__all__ = [
    "MANUAL",
    "AppliedFault",
    "BookView",
    "Chain",
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
    "VenueConnection",
    "VenueOptions",
    "VenueStats",
    "fake_exchange",
    "fake_venue",
]

import importlib
from typing import Any

from arb.sim.book import PriceLevelBook
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


def fake_venue(name: str) -> type[Any]:
    """Venue ``name``'s fake public market (``arb.sim.<name>.public``'s ``VENUE``: WebSocket and REST market
    data replayed from a recording)."""
    found: type[Any] = importlib.import_module(f"arb.sim.{name}.public").VENUE
    return found


def fake_exchange(name: str) -> type[Any]:
    """Venue ``name``'s whole fake exchange (``arb.sim.<name>.exchange``'s ``EXCHANGE``: its public market and
    its private side, signed REST and user streams on a ledger of its own)."""
    found: type[Any] = importlib.import_module(f"arb.sim.{name}.exchange").EXCHANGE
    return found
