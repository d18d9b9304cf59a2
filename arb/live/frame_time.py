"""A raw market-data frame's exchange time, read the way its venue stamps it.

Where a venue stamps a frame is the venue's wire format, so the reader is the venue's: its connector's
recordings format (``connectors/<venue>/recordings.py``'s ``RECORDINGS``, found through
:mod:`connectors.registry`) gives it as ``exchange_ms``, a function of the decoded frame and the market
that returns the time in ms as the venue wrote it (None where the frame carries none). A caller asks
:func:`exchange_ns` and never names a venue.
"""

from __future__ import annotations

__all__ = ["exchange_ns"]

import msgspec

from connectors.registry import venue as connector


def exchange_ns(raw: bytes, venue: str, market: str) -> int | None:
    """The exchange time (int ns) of ``raw``, one frame of ``venue``'s ``market`` stream, or None when it
    carries none (a REST snapshot, a control message) or is not a JSON object."""
    try:
        msg = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    if not isinstance(msg, dict):
        return None
    ts = connector(venue).recordings.exchange_ms(msg, market)
    return int(ts) * 1_000_000 if isinstance(ts, int | str) and str(ts).isdigit() else None
