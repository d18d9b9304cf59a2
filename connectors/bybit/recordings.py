"""Bybit's recorded frames read back (:class:`~connectors.common.recordings.RecordingFormat`).

Every v5 public frame carries ``"topic"`` (``orderbook.50.BTCUSDT``: the symbol last). Depth frames do not
tell spot from linear: tickers do (linear ones carry ``fundingRate``, spot ones ``usdIndexPrice``), else
the market is read from the recording's path.
"""

from __future__ import annotations

__all__ = ["RECORDINGS"]

from typing import Any

from connectors.bybit.normalize import BybitNormalizer
from connectors.common.recordings import RecordingFormat, between


def _is_bybit(head: bytes) -> bool:
    return b'"topic"' in head


def _details(payload: bytes, head: bytes) -> tuple[str | None, str | None]:
    topic = between(payload, b'"topic":"', b'"')
    symbol = topic.rsplit(".", 1)[-1].upper() or None if topic and "." in topic else None
    market = None
    if b'"tickers.' in head:
        if b'"fundingRate"' in payload:
            market = "linear"
        elif b'"usdIndexPrice"' in payload:
            market = "spot"
    return symbol, market


def _exchange_ms(msg: dict[str, Any], market: str) -> object:
    # Every v5 public frame is stamped on its envelope: ``ts``.
    return msg.get("ts")


def _scanners() -> list[object]:
    from connectors.bybit import fastscan

    return [fastscan.scan_frame, fastscan.scan_trades]


RECORDINGS = RecordingFormat(
    name="bybit",
    normalizer=BybitNormalizer,
    scanner="the Bybit scanner",
    scanners=_scanners,
    scan_compile_s=5.0,
    bulk_scan=False,
    recognise=_is_bybit,
    details=_details,
    market_from_path=True,
    exchange_ms=_exchange_ms,
)
