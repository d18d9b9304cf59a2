"""Whether a venue may get a new order now, from what its answers said about our usage.

The venues' weight headers (Binance ``X-MBX-USED-WEIGHT-1M``, Bybit ``X-Bapi-Limit-Status``, read by
the venue's adapter: :meth:`~connectors.common.private.PrivateVenue.rate_use`) and ``Retry-After``
block new orders on that venue until the window resets; a ban (Binance 418, Bybit 403) blocks it until
the ban ends and is reported loudly. Blocked orders are refused locally, journaled as rejected, never
sent.
"""

from __future__ import annotations

__all__ = ["RateGuard"]

import logging
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field

from arb.execution.outcome import Answer
from connectors.common.private import RateUse

log = logging.getLogger(__name__)

NS_PER_S = 1_000_000_000

RateReader = Callable[[Mapping[str, str], int, "int | None"], RateUse]
"""An adapter's :meth:`~connectors.common.private.PrivateVenue.rate_use`."""


def _nothing(headers: Mapping[str, str], now_ns: int, weight_limit: int | None) -> RateUse:
    return RateUse()


@dataclass(eq=False)
class RateGuard:
    """Whether a venue may get a new order now, from what its answers said about our usage.

    ``venue`` names the venue in the log. ``rate_use`` reads one response's headers (the venue
    adapter's). ``weight_limit`` is the venue's published per-minute request weight (Binance
    exchangeInfo ``rateLimits``); at or above it, orders wait for the next minute. ``Retry-After`` and
    bans block until the time they give. ``on_block(until_ns)`` is called whenever the block is
    extended (the live executor keeps the engine's ``blocked_until_ns`` with it).
    """

    venue: str
    clock: Callable[[], int]
    weight_limit: int | None = None
    _: KW_ONLY
    rate_use: RateReader = _nothing
    on_block: Callable[[int], None] | None = None
    used_weight: int = field(default=0, init=False)
    blocked_until_ns: int = field(default=0, init=False)
    banned: bool = field(default=False, init=False)
    reason: str = field(default="", init=False)
    rate_limited: int = field(default=0, init=False)
    """How many answers were rate limits or bans."""

    def blocked(self) -> str | None:
        """Why no order may go out now, or None."""
        if self.clock() < self.blocked_until_ns:
            return self.reason
        if self.banned:
            log.warning("%s: the ban has ended; orders may go out again", self.venue)
        self.banned = False
        return None

    def observe(self, headers: Mapping[str, str], answer: Answer | None = None) -> None:
        """Take one response's headers (and its classified answer) into account."""
        now = self.clock()
        use = self.rate_use({k.lower(): v for k, v in headers.items()}, now, self.weight_limit)
        if use.used_weight is not None:
            self.used_weight = use.used_weight
        if use.block_until_ns:
            self._block(use.block_until_ns, use.reason)
        if answer is not None and answer.rate_limited:
            self.rate_limited += 1
            wait = answer.retry_after_s if answer.retry_after_s is not None else (120.0 if answer.banned else 60.0)
            what = "BANNED" if answer.banned else "rate limited"
            self._block(now + int(wait * NS_PER_S), f"{what} ({answer.code} {answer.message})".strip())
            if answer.banned:
                self.banned = True
                log.error("%s: %s for %.0f s: no new orders on this venue until then", self.venue, what, wait)

    def _block(self, until_ns: int, reason: str) -> None:
        if until_ns > self.blocked_until_ns:
            self.blocked_until_ns = until_ns
            self.reason = reason
            if self.on_block is not None:
                self.on_block(until_ns)
