"""What a fake venue counts and logs for its tests (:attr:`arb.sim.venue.FakeVenue.stats`): the REST requests
it served, the subscriptions it took, its counters."""

from __future__ import annotations

__all__ = ["RestRequest", "SubscriptionEvent", "VenueStats"]

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RestRequest:
    """One REST request the venue served (or refused)."""

    endpoint: int
    method: str
    path: str
    params: dict[str, str]
    status: int
    weight: int
    clock_position: int
    """Frames released when the answer was built."""
    time: float = 0.0
    """The venue's clock when it answered, seconds: a test counts requests inside a window with it."""
    sent_ms: int | None = None
    """The client's own stamp of the request, ms (Binance's ``timestamp`` in the query, Bybit's
    ``X-BAPI-TIMESTAMP``; None: unsigned, or signed in a body): when the client signed it, so a test can
    tell a request sent after the client learned something from one already on its way."""


@dataclass(frozen=True, slots=True)
class SubscriptionEvent:
    """One subscribe or unsubscribe, from the URL or from a control message."""

    connection: int
    op: str
    streams: tuple[str, ...]
    ok: bool
    clock_position: int


@dataclass
class VenueStats:
    """Counters and logs a test asserts on."""

    frames_released: int = 0
    connections_accepted: int = 0
    connections_refused: int = 0
    control_messages: int = 0
    """Text messages received from clients (subscribe, ping, ...)."""
    ignored_messages: int = 0
    """Client messages the venue could not understand and did not answer."""
    rest_held: int = 0
    """REST requests waiting right now for :meth:`FaultPlan.rest_release`."""
    rest_requests: list[RestRequest] = field(default_factory=list)
    subscriptions: list[SubscriptionEvent] = field(default_factory=list)
