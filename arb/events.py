"""The one event vocabulary of arb.

Every market-data message becomes rows of hftbacktest's ``event_dtype``
(``ev, exch_ts, local_ts, px, qty, order_id, ival, fval``). This module is the only place that
states hftbacktest's flags (its values, which the tests check against hftbacktest's own) and the only
place that names arb's own event ids; no other module writes a bare ``1``, ``2``
or ``200`` for them.

Times are int64 nanoseconds since the Unix epoch: ``exch_ts`` is the venue's stamp, ``local_ts`` the
moment this machine received the frame.
"""

from __future__ import annotations

__all__ = [
    "BBO_ASK",
    "BBO_BID",
    "BUY_EVENT",
    "CLEAR_ALL",
    "DEPTH_ASK",
    "DEPTH_BBO_EVENT",
    "DEPTH_BID",
    "DEPTH_CLEAR_EVENT",
    "DEPTH_EVENT",
    "DEPTH_SNAPSHOT_EVENT",
    "EVENT_KIND_MASK",
    "EXCH_EVENT",
    "FUNDING_RATE_EVENT",
    "FUNDING_SETTLED_EVENT",
    "LOCAL_EVENT",
    "MARK_PRICE_EVENT",
    "MAX_VENUES",
    "NS_PER_MS",
    "NS_PER_S",
    "NS_PER_US",
    "SELL_EVENT",
    "SNAPSHOT_ASK",
    "SNAPSHOT_BID",
    "SYNC_LOST_EVENT",
    "SYNC_RESTORED_EVENT",
    "TRADE_BUY",
    "TRADE_EVENT",
    "TRADE_SELL",
    "EventArray",
    "SyncReason",
    "empty_events",
    "event_dtype",
    "snapshot_rows",
]

from enum import IntEnum
from typing import Any

import numpy as np

# hftbacktest 2.4.4's flags and row layout (``hftbacktest.types``), stated here rather than imported:
# importing hftbacktest loads its whole package (cffi bindings, jitclasses, ~45 ms), which a process that
# only converts or replays rows never uses. tests/unit/test_events.py checks each against hftbacktest's.
DEPTH_EVENT = 1
TRADE_EVENT = 2
DEPTH_CLEAR_EVENT = 3
DEPTH_SNAPSHOT_EVENT = 4
DEPTH_BBO_EVENT = 5
EXCH_EVENT = 1 << 31
LOCAL_EVENT = 1 << 30
BUY_EVENT = 1 << 29
SELL_EVENT = 1 << 28
event_dtype = np.dtype(
    [
        ("ev", "u8"),
        ("exch_ts", "i8"),
        ("local_ts", "i8"),
        ("px", "f8"),
        ("qty", "f8"),
        ("order_id", "u8"),
        ("ival", "i8"),
        ("fval", "f8"),
    ],
    align=True,
)

EventArray = np.ndarray[Any, np.dtype[Any]]
"""A 1-d array of ``event_dtype`` rows."""

MAX_VENUES = 8
"""The most venues one run trades (``[strategy] venues``): the capacity of every per-venue field of the
compiled records, the same for every run so that runs of 2 to 8 venues share one compiled variant of the
kernel, the gate and the backtest loop (docs/architecture.md, "The venue count"); a venue is its number
there, its place in the run's list, and the compiled loops go over the run's venues only (the view's
length), never the capacity."""

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000

# The low byte of ``ev`` is the event kind; the high bits are side and processor flags.
EVENT_KIND_MASK = 0xFF

# Composite ``ev`` values that the normalizers write (EXCH/LOCAL flags are added by
# hftbacktest's correct_event_order at conversion time, or by the live driver).
DEPTH_BID = DEPTH_EVENT | BUY_EVENT
DEPTH_ASK = DEPTH_EVENT | SELL_EVENT
SNAPSHOT_BID = DEPTH_SNAPSHOT_EVENT | BUY_EVENT
SNAPSHOT_ASK = DEPTH_SNAPSHOT_EVENT | SELL_EVENT
BBO_BID = DEPTH_BBO_EVENT | BUY_EVENT
BBO_ASK = DEPTH_BBO_EVENT | SELL_EVENT
# A DEPTH_CLEAR_EVENT with neither side flag clears the whole book in hftbacktest's depth.
CLEAR_ALL = DEPTH_CLEAR_EVENT
# The side of a trade is the taker's (initiator's) side, as hftbacktest expects.
TRADE_BUY = TRADE_EVENT | BUY_EVENT
TRADE_SELL = TRADE_EVENT | SELL_EVENT

# arb's own event kinds. hftbacktest's processors ignore kinds they do not know, so these rows can
# travel inside the same arrays: the backtest driver reads them to know when a venue's book was not
# trustworthy. ``ival`` holds a SyncReason, ``order_id`` the venue's last good update id.
SYNC_LOST_EVENT = 200
SYNC_RESTORED_EVENT = 201

# Perpetuals: mark price and funding, from Binance USD-M ``<symbol>@markPrice@1s`` and Bybit v5 linear
# ``tickers.<SYMBOL>``. No side flag is set. ``exch_ts`` is the venue's time of the message (Binance
# ``E``, Bybit ``ts``), ``local_ts`` its receive time, like every other row of the message; the
# funding times these rows announce are values (``ival``), never row times. hftbacktest's
# processors leave them alone (tests/unit/test_perp_events.py runs them through a backtest); the
# book ignores them; only code that asks for these kinds reads them.

MARK_PRICE_EVENT = 202
"""The venue's mark price changed or was restated.

``px``: mark price (quote currency per unit of base, as the venue quotes the contract);
``qty``: index price, same unit (NaN until the venue has said it);
``fval``: Binance's estimated settle price ``P`` (NaN from Bybit, which publishes none);
``order_id``, ``ival``: 0."""

FUNDING_RATE_EVENT = 203
"""The funding rate the venue announces for its next settlement (each row carries the whole state).

``px``: funding rate, a fraction of the position's notional per funding interval (``0.0001`` is
0.01 %; positive: longs pay shorts), the venue's current estimate until the settlement fixes it;
``ival``: the next funding time, int64 ns since the epoch (0 when the venue announces none);
``order_id``: the symbol's funding interval, int64 ns (0 while unknown: as the venue reported it,
then as the rollovers show it, see :mod:`connectors.common.funding`);
``qty``, ``fval``: 0."""

FUNDING_SETTLED_EVENT = 204
"""A funding time passed: the announced next funding time moved forward (the rollover).

Written once per funding time, before the rows of the message that showed the rollover.
``ival``: the funding time that passed, int64 ns since the epoch;
``px``: the rate that applied, i.e. the last rate the stream announced for that funding time (a
fraction per interval, as in ``FUNDING_RATE_EVENT``; the venue's own figure, which can differ in a
late update, is in the funding-history file ``arb funding-history`` writes);
``qty``: the last mark price the stream showed before the rollover (NaN if none was seen);
``order_id``: the exchange time (int64 ns) of the last mark-price message before the rollover, when
that rate was still the announced one (a Bybit delta leaves out what did not change), so
``ival - order_id`` says how long before the funding time it was last seen (a reconnection across a
funding time makes it large);
``fval``: 0."""


class SyncReason(IntEnum):
    """Why a venue's book left the synced state (``ival`` of a ``SYNC_LOST_EVENT`` row)."""

    GAP = 1
    """An update id is missing between two messages."""
    SNAPSHOT_TOO_OLD = 2
    """The REST snapshot ended before the first buffered diff began."""
    DISCONNECT = 3
    """The connection dropped; the book cannot be trusted until resynced."""
    STALE = 4
    """No depth update arrived for the configured time while connected."""
    CROSSED = 5
    """The rebuilt book showed best bid >= best ask."""
    BUFFER_OVERFLOW = 6
    """Too many diffs were buffered while waiting for a snapshot."""
    DAMAGED = 7
    """A span of the recording was lost to damage (``--allow-damaged``); nothing is known until a resync."""
    CHECKSUM = 8
    """The book's checksum (one the venue sends with a message) disagreed with the book rebuilt."""


def empty_events(n: int = 0) -> EventArray:
    """Return a zeroed array of ``n`` event rows."""
    return np.zeros(n, dtype=event_dtype)


def snapshot_rows(bids: tuple[Any, Any], asks: tuple[Any, Any], exch_ts: int, local_ts: int) -> EventArray:
    """A book as ``DEPTH_SNAPSHOT_EVENT`` rows: ``bids`` then ``asks``, each (prices, quantities) best first,
    every row with both EXCH and LOCAL flags (ready for hftbacktest's ``initial_snapshot``) and the times."""
    (bid_px, bid_qty), (ask_px, ask_qty) = bids, asks
    nb = len(bid_px)
    out = empty_events(nb + len(ask_px))
    out["ev"][:nb] = SNAPSHOT_BID | EXCH_EVENT | LOCAL_EVENT
    out["ev"][nb:] = SNAPSHOT_ASK | EXCH_EVENT | LOCAL_EVENT
    out["px"][:nb] = bid_px
    out["qty"][:nb] = bid_qty
    out["px"][nb:] = ask_px
    out["qty"][nb:] = ask_qty
    out["exch_ts"] = exch_ts
    out["local_ts"] = local_ts
    return out
