"""Binance's recorded frames read back (:class:`~connectors.common.recordings.RecordingFormat`).

Combined-stream frames carry ``"stream"`` (``btcusdt@depth@100ms``: the symbol first); raw frames carry
``"e"`` (a depth diff) or ``"lastUpdateId"`` (a snapshot). A depth diff with ``"pu"`` is USD-M, one without
is spot.
"""

from __future__ import annotations

__all__ = ["RECORDINGS"]

from typing import Any

from connectors.binance.normalize import BinanceNormalizer
from connectors.common.recordings import RecordingFormat, between


def _is_binance(head: bytes) -> bool:
    return b'"stream"' in head or b'"lastUpdateId"' in head or b'"e":"depthUpdate"' in head


def _details(payload: bytes, head: bytes) -> tuple[str | None, str | None]:
    name = between(payload, b'"stream":"', b'"')
    symbol = name.split("@", 1)[0].upper() or None if name else None
    market = None
    if b'"e":"depthUpdate"' in payload:
        market = "linear" if b'"pu":' in payload else "spot"
    return symbol, market


def _exchange_ms(msg: dict[str, Any], market: str) -> object:
    # The event's time: ``E`` (on USD-M the transaction time ``T`` where the event has one), the event under
    # ``data`` in a combined stream's frame.
    data = msg.get("data", msg)
    if not isinstance(data, dict):
        return None
    ts = data.get("T") if market == "linear" else None
    return ts if ts is not None else data.get("E")


def _scanners() -> list[object]:
    from connectors.binance import fastscan

    return [fastscan.scan_lines]


RECORDINGS = RecordingFormat(
    name="binance",
    normalizer=BinanceNormalizer,
    scanner="the Binance scanner",
    scanners=_scanners,
    scan_compile_s=8.0,
    bulk_scan=True,
    recognise=_is_binance,
    details=_details,
    market_from_path=False,
    exchange_ms=_exchange_ms,
)
