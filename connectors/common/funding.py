"""Mark price and funding of one perpetual symbol: the state every venue's normalizer keeps, and the rows.

Binance USD-M's ``markPriceUpdate`` restates everything each second; Bybit v5 linear ``tickers``
sends a snapshot and then deltas that carry only the fields that changed. :class:`PerpState` merges
what each message says into the full picture and appends, for one message (``arb.events`` names):

1. ``FUNDING_SETTLED_EVENT`` when the announced next funding time moved forward: the funding time
   that passed, with the last rate and mark price announced before it (the rollover);
2. ``MARK_PRICE_EVENT`` when the message spoke of the mark, index or estimated settle price;
3. ``FUNDING_RATE_EVENT`` when it spoke of the funding rate or the next funding time.

The funding interval of the symbol is what the venue said (:meth:`PerpState.set_interval`: Binance
USD-M ``fundingInfo``, Bybit ``instruments-info``), and from then on what the rollovers show: when the
announced next funding time moves forward from ``t0`` to ``t1`` less than half of ``t1 - t0`` after
``t0`` (the rollover seen in time, not after a reconnection that missed funding times), ``t1 - t0``
is the interval, so a venue that changes a symbol's interval is followed from its next funding time on.

Each row carries the whole state after the message, so a consumer never merges deltas itself. Pure:
values and times in, rows out; the caller decodes the venue's message and passes the clock reading.
The state crosses day files through the end-of-day snapshot (:meth:`PerpState.saved`,
:meth:`PerpState.restore`), so the funding at 00:00 UTC, which the first message of a day reveals,
is seen when the days are converted one at a time.
"""

from __future__ import annotations

__all__ = ["NAN", "PerpSnapshot", "PerpState", "parse_decimal", "parse_ms"]

import math
from dataclasses import dataclass, replace

from arb.events import FUNDING_RATE_EVENT, FUNDING_SETTLED_EVENT, MARK_PRICE_EVENT, NS_PER_MS
from connectors.common.rows import RowSink

NAN = math.nan


@dataclass(frozen=True, slots=True)
class PerpSnapshot:
    """What :class:`PerpState` knows at one moment (saved at the end of a day, restored the next)."""

    mark_price: float = NAN
    """Mark price (quote per base), NaN when unknown."""
    index_price: float = NAN
    settle_estimate: float = NAN
    """Binance's estimated settle price ``P``; NaN elsewhere."""
    funding_rate: float = NAN
    """The announced rate for ``next_funding_ns``, a fraction per funding interval; NaN when unknown."""
    next_funding_ns: int = 0
    """The announced next funding time, int64 ns since the epoch; 0 when none was announced."""
    last_exch_ts: int = 0
    """Exchange time (ns) of the last message applied; 0 before the first."""
    funding_interval_ns: int = 0
    """The time between two funding times, int64 ns; 0 while unknown."""

    @property
    def known(self) -> bool:
        """True once any message was applied."""
        return self.last_exch_ts != 0


def parse_decimal(text: str | None) -> float | None:
    """A venue's decimal string: ``None`` when absent, NaN for ``""`` (the venue has no value), else
    the float (``ValueError`` for anything that is not a finite number)."""
    if text is None:
        return None
    if text == "":
        return NAN
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    return value


def parse_ms(value: str | int | None) -> int | None:
    """A venue time in ms (integer or decimal string) -> int ns; ``None`` when absent, 0 for ``""``/0
    (the venue announces none). ``ValueError`` for anything else or a negative time."""
    if value is None:
        return None
    if value == "":
        return 0
    ms = value if isinstance(value, int) else int(value, 10)
    if ms < 0 or ms > 9_000_000_000_000:
        raise ValueError(f"not a time in ms: {value!r}")
    return ms * NS_PER_MS


class PerpState:
    """Mark and funding state of one symbol, and the rows each message adds (see the module docstring)."""

    __slots__ = ("_now", "rollovers")

    def __init__(self) -> None:
        self.rollovers = 0
        """Funding times that passed (``FUNDING_SETTLED_EVENT`` rows written)."""
        self._now = PerpSnapshot()

    def saved(self) -> PerpSnapshot:
        """The state as it stands."""
        return self._now

    def restore(self, snapshot: PerpSnapshot) -> None:
        """Continue from a saved state (the previous day's end)."""
        self._now = snapshot

    def set_interval(self, interval_ns: int) -> None:
        """Take the funding interval the venue reports for the symbol (ns; ignored unless positive): the
        next ``FUNDING_RATE_EVENT`` row carries it."""
        if interval_ns > 0:
            self._now = replace(self._now, funding_interval_ns=interval_ns)

    def apply(
        self,
        sink: RowSink,
        exch_ts: int,
        local_ts: int,
        *,
        mark_price: float | None = None,
        index_price: float | None = None,
        settle_estimate: float | None = None,
        funding_rate: float | None = None,
        next_funding_ns: int | None = None,
        replace: bool = False,
    ) -> int:
        """Merge one message's values (``None``: not in the message) and append its rows to ``sink``;
        returns the funding times it saw pass (1 with a ``FUNDING_SETTLED_EVENT`` row, else 0).

        ``replace`` (a Bybit snapshot): values the message does not give become unknown, instead of
        keeping what the previous messages said; the rollover is still judged against them.
        """
        was = self._now
        settled = 0
        interval = was.funding_interval_ns
        if next_funding_ns is not None and 0 < was.next_funding_ns < next_funding_ns:
            sink.one(FUNDING_SETTLED_EVENT, exch_ts, local_ts, was.funding_rate, was.mark_price,
                     order_id=was.last_exch_ts, ival=was.next_funding_ns)  # fmt: skip
            self.rollovers += 1
            settled = 1
            spacing = next_funding_ns - was.next_funding_ns
            if 2 * (exch_ts - was.next_funding_ns) < spacing:
                interval = spacing
        if replace:
            was = PerpSnapshot(funding_interval_ns=interval)
        now = self._now = PerpSnapshot(
            mark_price=was.mark_price if mark_price is None else mark_price,
            index_price=was.index_price if index_price is None else index_price,
            settle_estimate=was.settle_estimate if settle_estimate is None else settle_estimate,
            funding_rate=was.funding_rate if funding_rate is None else funding_rate,
            next_funding_ns=was.next_funding_ns if next_funding_ns is None else next_funding_ns,
            funding_interval_ns=interval,
            last_exch_ts=exch_ts,
        )
        marks = mark_price is not None or index_price is not None or settle_estimate is not None
        if marks and not math.isnan(now.mark_price):
            sink.one(MARK_PRICE_EVENT, exch_ts, local_ts, now.mark_price, now.index_price, fval=now.settle_estimate)
        if (funding_rate is not None or next_funding_ns is not None) and not math.isnan(now.funding_rate):
            sink.one(FUNDING_RATE_EVENT, exch_ts, local_ts, now.funding_rate, 0.0,
                     order_id=now.funding_interval_ns, ival=now.next_funding_ns)  # fmt: skip
        return settled
