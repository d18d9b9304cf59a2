"""A raw market-data frame's exchange time, read the way its venue stamps it.

Where a venue stamps a frame is the venue's wire format, so the reader is the venue's: its connector's
recordings format (``connectors/<venue>/recordings.py``'s ``RECORDINGS``, found through
:mod:`connectors.registry`) names it as ``exchange_ms``, a function of the decoded frame and the market
that returns the time in ms as the venue wrote it (None where the frame carries none). A venue whose
format names none is read by :func:`stamped_ms`, the two ways venues stamp a frame: the envelope's ``ts``
(e.g. Bybit), else the event's ``E`` (its transaction time ``T`` on a linear market where the event has
one), the event under ``data`` in a combined stream (e.g. Binance). A caller asks :func:`exchange_ns` and
never names a venue.
"""

from __future__ import annotations

__all__ = ["FrameTimeReader", "exchange_ns", "frame_time_reader", "stamped_ms"]

import functools
from collections.abc import Callable
from typing import Any

import msgspec

FrameTimeReader = Callable[[dict[str, Any], str], object]
"""A decoded frame and its market -> its exchange time in ms as the venue wrote it (None: it has none)."""


def stamped_ms(msg: dict[str, Any], market: str) -> object:
    """The exchange time of a frame stamped on its envelope (``ts``) or on its event (``E``; ``T`` first on a
    linear market; the event under ``data`` when the frame is a combined stream's), ms; None when neither."""
    ts = msg.get("ts")
    if ts is not None:
        return ts
    data = msg.get("data", msg)
    if not isinstance(data, dict):
        return None
    ts = data.get("T") if market == "linear" else None
    return ts if ts is not None else data.get("E")


@functools.cache
def frame_time_reader(venue: str) -> FrameTimeReader:
    """Venue ``venue``'s reader of a frame's exchange time: its recordings format's ``exchange_ms`` where it
    names one, else :func:`stamped_ms`."""
    from connectors.registry import venue as connector

    reader: FrameTimeReader | None = getattr(connector(venue).recordings, "exchange_ms", None)
    return reader if reader is not None else stamped_ms


def exchange_ns(raw: bytes, venue: str, market: str) -> int | None:
    """The exchange time (int ns) of ``raw``, one frame of ``venue``'s ``market`` stream, or None when it
    carries none (a REST snapshot, a control message) or is not a JSON object."""
    try:
        msg = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    if not isinstance(msg, dict):
        return None
    ts = frame_time_reader(venue)(msg, market)
    return int(ts) * 1_000_000 if isinstance(ts, int) else None
