"""What a venue may be sent now, from what its answers said about our usage: the rule that keeps a key
from being banned.

Every answer is read (REST headers, and the order WebSocket's own fields, which the adapters turn into
the same headers): Binance ``X-MBX-USED-WEIGHT-1M`` and ``X-MBX-ORDER-COUNT-10S/1D/1M`` (the WebSocket
API's ``rateLimits``), Bybit ``X-Bapi-Limit`` / ``X-Bapi-Limit-Status`` / ``X-Bapi-Limit-Reset-Timestamp``
(``/v5/trade``'s ``header``), ``Retry-After``, and the rate-limit and ban answers themselves
(:meth:`~connectors.common.private.PrivateVenue.rate_use` says what the headers mean). Each request is
of one kind of :class:`Traffic`, and the rule is:

==========================================  ==========  ==========  ===================================
the venue's state                           optional    needed      urgent
==========================================  ==========  ==========  ===================================
banned (Binance 418, Bybit 403)             held        held        held: nothing at all until the ban
                                                                    ends, logged as an error
a ``Retry-After`` window (429, a rate-      held        held        a cancel of a resting order, once per
limit code with its time, a count at                                order and window; no create
100 %)
a rate limit that names no time             creates     sent        no create for 60 s (but a reduce-only
(Binance ``-1008``: the server overloaded)  held                    one on Binance USD-M, which exempts it)
a count past ``headroom`` of its limit      held        sent        sent
otherwise                                   sent        sent        sent
==========================================  ==========  ==========  ===================================

A held request is not sent: a create is refused locally (journaled as rejected), any other request
raises :class:`~arb.errors.VenueError` with code ``"held"`` before anything leaves, and its caller
asks again later (the resolver waits for the window's end). While optional traffic is held the engine
is told the venue is blocked (``on_block``): the kernel opens no pair and rests no quote there, and a
hedge or an unwind goes to the other venue (a hedge waits only if both are blocked). A count that
concerns orders alone (Binance's order counts) holds only creates. A count the venue keeps per endpoint
(Bybit's ``X-Bapi-Limit-Status``) opens no window for the venue: it holds its own kind of request alone,
a create endpoint's the creates and any other endpoint's the other requests, so a query endpoint at its
limit never holds a hedge.
"""

from __future__ import annotations

__all__ = ["RateGuard", "Traffic", "traffic_of_kind"]

import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass, field
from enum import IntEnum

from arb.execution.outcome import Answer
from connectors.common.private import RateCount, RateUse

log = logging.getLogger(__name__)

NS_PER_S = 1_000_000_000
_DEFAULT_WAIT_S = 60.0
"""A rate limit that names no wait: held this long (Binance's own default ``Retry-After``)."""
_DEFAULT_BAN_S = 120.0
"""A ban that names no end: Binance's shortest ban."""


class Traffic(IntEnum):
    """How much a request matters, lowest first."""

    OPTIONAL = 0
    """New pair legs, new quotes, routine checks of resting quotes: the first to stop."""
    NEEDED = 1
    """Finding out (queries of orders in flight, trade sweeps), the account, the dead-man's switch,
    orders placed by hand."""
    URGENT = 2
    """A hedge, an unwind, a flatten, a cancel of a resting order: what reduces exposure."""


_INTENT_OPEN, _INTENT_HEDGE, _INTENT_UNWIND, _INTENT_QUOTE, _KIND_FLATTEN = 1, 2, 3, 4, 8
"""The intent kinds of :mod:`arb.strategy.types` and the kill switch's (``arb.live.trading_session``)."""


def traffic_of_kind(kind: int) -> Traffic:
    """The traffic kind of a create of intent ``kind``: hedges, unwinds and flattens are urgent, pair legs
    and quotes optional, anything else (an order by hand) needed."""
    if kind in (_INTENT_HEDGE, _INTENT_UNWIND, _KIND_FLATTEN):
        return Traffic.URGENT
    if kind in (_INTENT_OPEN, _INTENT_QUOTE):
        return Traffic.OPTIONAL
    return Traffic.NEEDED


_CURRENT: contextvars.ContextVar[tuple[Traffic, str]] = contextvars.ContextVar(
    "arb_traffic", default=(Traffic.NEEDED, "")
)


def _nothing(headers: Mapping[str, str], now_ns: int, limits: Mapping[str, int]) -> RateUse:
    return RateUse()


RateReader = Callable[[Mapping[str, str], int, Mapping[str, int]], RateUse]
"""An adapter's :meth:`~connectors.common.private.PrivateVenue.rate_use`."""


@dataclass(eq=False)
class RateGuard:
    """What a venue may be sent now (see the module docstring).

    ``venue`` names the venue in the log. ``rate_use`` reads one response's headers (the venue
    adapter's); ``limits`` are the venue's published limits by count name (Binance exchangeInfo's
    ``rateLimits``, set at market load). ``headroom``: the share of a limit at which optional traffic
    stops (1.0: only at the limit). ``on_block(until_ns)`` is called whenever the time until which the
    engine must not choose the venue is extended.
    """

    venue: str
    clock: Callable[[], int]
    _: KW_ONLY
    rate_use: RateReader = _nothing
    limits: Mapping[str, int] = field(default_factory=dict)
    headroom: float = 0.8
    on_block: Callable[[int], None] | None = None
    reduce_only_past_throttle: bool = False
    """The venue takes a reduce-only order through the throttle that names no time (Binance USD-M's
    ``-1008``): such a create is not held by it."""
    retry_until_ns: int = field(default=0, init=False)
    """End of the current Retry-After window (a past time: none)."""
    banned_until_ns: int = field(default=0, init=False)
    """End of the current ban (a past time: none)."""
    orders_until_ns: int = field(default=0, init=False)
    """End of a hold of creates alone: a rate limit that named no time (a past time: none)."""
    blocked_until_ns: int = field(default=0, init=False)
    """Until when the engine must not choose this venue: a window, a ban or the headroom."""
    counts: dict[str, RateCount] = field(default_factory=dict, init=False)
    """The last reading of each count, by name."""
    rate_limited: int = field(default=0, init=False)
    """How many answers were rate limits or bans."""
    limited_ns: int = field(default=0, init=False)
    """When the last of them was read (0: never)."""
    held: int = field(default=0, init=False)
    """How many requests were held (never sent)."""
    _urgent_sent: set[str] = field(default_factory=set, init=False)
    _banned: bool = field(default=False, init=False)
    _ban_reason: str = field(default="", init=False)
    _window_reason: str = field(default="", init=False)
    _orders_reason: str = field(default="", init=False)

    # -- what may go ---------------------------------------------------------------------------------

    @property
    def banned(self) -> bool:
        """Whether a ban is on now."""
        return self.clock() < self.banned_until_ns

    @property
    def held_until_ns(self) -> int:
        """Until when a rate limit holds this venue's optional traffic (a Retry-After window, or a rate
        limit that named no time holding creates); a past time: none. A ban is :attr:`banned_until_ns`."""
        return max(self.retry_until_ns, self.orders_until_ns)

    @property
    def reason(self) -> str:
        """What the venue said that holds requests now: the ban's answer, else the window's, else the
        rate limit's that named no time ("": nothing holds them, but perhaps the headroom)."""
        now = self.clock()
        if now < self.banned_until_ns:
            return self._ban_reason
        if now < self.retry_until_ns:
            return self._window_reason
        return self._orders_reason if now < self.orders_until_ns else ""

    @property
    def used_weight(self) -> int:
        """The request weight used in the current minute as last read (0: unknown)."""
        count = self.counts.get("weight-1m")
        return count.used if count is not None else 0

    def blocked(
        self, traffic: Traffic = Traffic.URGENT, *, create: bool = True, reduce_only: bool = False
    ) -> str | None:
        """Why a request of ``traffic`` (a create unless ``create`` is False; ``reduce_only``: a reduce-only
        create) may not go out now, or None."""
        now = self.clock()
        if now < self.banned_until_ns:
            return self._ban_reason
        if self._banned:
            self._banned = False
            log.warning("%s: the ban has ended; requests may go out again", self.venue)
        if now < self.retry_until_ns and not (traffic is Traffic.URGENT and not create):
            return self._window_reason
        if create and now < self.orders_until_ns and not (reduce_only and self.reduce_only_past_throttle):
            return self._orders_reason
        for count in self.counts.values():
            if now >= count.reset_ns or count.limit is None or (count.orders_only and not create):
                continue
            if count.per_endpoint and create and not count.orders_only:
                continue  # another endpoint's count (Bybit's per endpoint): creates go to their own
            if count.used >= count.limit and not (traffic is Traffic.URGENT and not create):
                return f"{count.name} {count.used} of {count.limit} used"
            if traffic is Traffic.OPTIONAL and count.used >= self.headroom * count.limit:
                return f"{count.name} {count.used} of {count.limit} used (headroom: {self.headroom:g})"
        return None

    def admit(self, traffic: Traffic, key: str = "", *, create: bool = False, reduce_only: bool = False) -> str | None:
        """Whether a request of ``traffic`` may go out now: None (it may: it is counted as sent), or why
        not. ``key`` names what an urgent cancel is about: inside a Retry-After window each key gets one."""
        reason = self.blocked(traffic, create=create, reduce_only=reduce_only)
        if reason is None and traffic is Traffic.URGENT and not create and self.clock() < self.retry_until_ns:
            if key in self._urgent_sent:
                reason = f"{self._window_reason}: its one cancel of the window went out already"
            else:
                self._urgent_sent.add(key)
        if reason is not None:
            self.held += 1
        return reason

    @staticmethod
    @contextlib.contextmanager
    def traffic(kind: Traffic, key: str = "") -> Iterator[None]:
        """Requests made inside the block (this task's) are of ``kind`` (``key``: see :meth:`admit`)."""
        token = _CURRENT.set((kind, key))
        try:
            yield
        finally:
            _CURRENT.reset(token)

    @staticmethod
    def current() -> tuple[Traffic, str]:
        """The traffic kind and key of this task's requests now (needed, by default)."""
        return _CURRENT.get()

    # -- what the venue said ---------------------------------------------------------------------------

    def observe(
        self, headers: Mapping[str, str], answer: Answer | None = None, *, request: str = "", create: bool = False
    ) -> None:
        """Take one response's headers (and its classified answer) into account; ``request`` names it
        (``"POST /v5/order/create"``: a count the venue keeps per endpoint is kept per request), ``create``:
        it was an order's create. A count kept per endpoint holds only that endpoint's kind of request (a
        create's holds creates, any other's the other requests): a query endpoint at its limit never holds
        a hedge."""
        now = self.clock()
        use = self.rate_use({k.lower(): v for k, v in headers.items()}, now, self.limits)
        full_until = use.block_until_ns  # when a count used up lets requests through again
        endpoint_until = 0  # the same, for a count of this request's endpoint alone
        for count in use.counts:
            orders_only = count.orders_only or (count.per_endpoint and create)
            name = f"{count.name} {request}".rstrip() if count.per_endpoint else count.name
            self.counts[name] = RateCount(name, count.used, count.limit, count.reset_ns, orders_only,
                                          count.per_endpoint)  # fmt: skip
            if count.limit is None:
                continue
            if count.used >= self.headroom * count.limit and (orders_only or not count.per_endpoint):
                self._extend(count.reset_ns)  # the engine opens nothing here until then
            if count.used >= count.limit and count.per_endpoint:
                endpoint_until = max(endpoint_until, count.reset_ns)  # the count itself holds its kind
            elif count.used >= count.limit and not orders_only:
                self._window(count.reset_ns, f"{name} {count.used} of {count.limit} used")
                full_until = max(full_until, count.reset_ns)
        if use.block_until_ns:
            self._window(use.block_until_ns, use.reason)
        if answer is not None and answer.rate_limited:
            self.rate_limited += 1
            self.limited_ns = now
            scoped = answer.endpoint_limit and answer.retry_after_s is None and not answer.banned
            if scoped and full_until <= now and endpoint_until > now:
                wait_s = (endpoint_until - now) / NS_PER_S
                log.warning("%s: rate limited (%s %s) at the limit of %s: its kind of request waits %.1f s, the "
                            "rest goes on", self.venue, answer.code, answer.message, request or "an endpoint", wait_s,
                            extra={"event": "rate_limit", "venue": self.venue})  # fmt: skip
                return
            self._limited(answer, now, max(full_until, endpoint_until))

    def _limited(self, answer: Answer, now: int, full_until: int) -> None:
        what = "BANNED" if answer.banned else "rate limited"
        reason = f"{what} ({answer.code} {answer.message})".strip()
        if answer.retry_after_s is not None:
            until = now + int(answer.retry_after_s * NS_PER_S)
        elif full_until > now:
            until = full_until
        else:
            until = now + int((_DEFAULT_BAN_S if answer.banned else _DEFAULT_WAIT_S) * NS_PER_S)
            if not answer.banned:
                # no time named (Binance -1008 "server overloaded"): the venue said nothing of our usage,
                # so new orders wait the default, and the rest goes on
                if until > self.orders_until_ns:
                    self.orders_until_ns, self._orders_reason = until, reason
                self._extend(until)
                log.warning("%s: %s: no new orders to this venue for %.0f s", self.venue, reason,
                            _DEFAULT_WAIT_S, extra={"event": "rate_limit", "venue": self.venue})  # fmt: skip
                return
        if answer.banned:
            self._banned = True
            if until > self.banned_until_ns:
                self.banned_until_ns = until
            self._ban_reason = reason
            self._extend(until)
            log.error(
                "%s: %s for %.0f s: NOTHING goes to this venue until then (hedges go to the other venue)",
                self.venue, what, (until - now) / NS_PER_S, extra={"event": "venue_ban", "venue": self.venue},
            )  # fmt: skip
            return
        self._window(until, reason)
        log.warning("%s: %s for %.1f s: only cancels of resting orders go to this venue until then", self.venue,
                    what, (until - now) / NS_PER_S, extra={"event": "rate_limit", "venue": self.venue})  # fmt: skip

    def _window(self, until_ns: int, reason: str) -> None:
        # a Retry-After window: everything but one cancel per resting order waits until it ends
        if until_ns > self.retry_until_ns:
            if self.retry_until_ns <= self.clock():
                self._urgent_sent.clear()  # a new window: each resting order may get its cancel again
            self.retry_until_ns = until_ns
            self._window_reason = reason
        self._extend(until_ns)

    def _extend(self, until_ns: int) -> None:
        # the engine must not choose the venue until then (it opens nothing there; hedges go elsewhere)
        if until_ns > self.blocked_until_ns:
            self.blocked_until_ns = until_ns
            if self.on_block is not None:
                self.on_block(until_ns)
