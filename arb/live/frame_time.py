"""A raw market-data frame's exchange time, read the way its venue stamps it.

Bybit stamps the envelope (``ts``, ms); Binance stamps the event (``E``, ms; on USD-M the transaction time
``T`` where the event has one, a combined stream's event under ``data``). Each venue's reader sits in
:data:`EXCHANGE_MS` by venue name, so a caller asks :func:`exchange_ns` and never names a venue.
"""

from __future__ import annotations

__all__ = ["EXCHANGE_MS", "exchange_ns"]

from collections.abc import Callable, Mapping
from typing import Any

import msgspec


def _bybit_ms(msg: dict[str, Any], market: str) -> object:
    return msg.get("ts")


def _binance_ms(msg: dict[str, Any], market: str) -> object:
    data = msg.get("data", msg)
    if not isinstance(data, dict):
        return None
    ts = data.get("T") if market == "linear" else None
    return ts if ts is not None else data.get("E")


EXCHANGE_MS: Mapping[str, Callable[[dict[str, Any], str], object]] = {"binance": _binance_ms, "bybit": _bybit_ms}
"""Venue name -> the reader of a decoded frame's exchange time (ms, as the venue wrote it) on ``market``."""


def exchange_ns(raw: bytes, venue: str, market: str) -> int | None:
    """The exchange time (int ns) of ``raw``, one frame of ``venue``'s ``market`` stream, or None when it
    carries none (a REST snapshot, a control message) or is not a JSON object."""
    try:
        msg = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    if not isinstance(msg, dict):
        return None
    ts = EXCHANGE_MS[venue](msg, market)
    return int(ts) * 1_000_000 if isinstance(ts, int) else None
