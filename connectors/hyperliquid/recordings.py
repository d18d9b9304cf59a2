"""Hyperliquid's recorded frames read back (:class:`~connectors.common.recordings.RecordingFormat`).

A recording keeps what the feed received, one ``<ns> <raw payload>`` line each, gzip: pushes, which begin
``{"channel":"l2Book","data":{"coin":"BTC",...`` (``trades``: ``{"channel":"trades","data":[{"coin":"BTC",...``;
``activeAssetCtx``; the replies ``subscriptionResponse`` and ``pong``), and the info endpoint's book the feed
asked for at each connection (``{"coin":"BTC","time":...,"levels":[...]}``). The coin names the symbol
(``BTC`` is ``BTCUSDT``); every market is ``linear``, the perpetuals.
"""

from __future__ import annotations

__all__ = ["RECORDINGS"]

from typing import Any

from connectors.common.recordings import RecordingFormat, between
from connectors.hyperliquid.normalize import HyperliquidNormalizer
from connectors.hyperliquid.urls import symbol_of

_PUSH = b'{"channel":"'


def _is_hyperliquid(head: bytes) -> bool:
    return head.startswith(_PUSH)


def _details(payload: bytes, head: bytes) -> tuple[str | None, str | None]:
    coin = between(payload, b'"coin":"', b'"')
    return (symbol_of(coin) if coin else None), "linear"


def _exchange_ms(msg: dict[str, Any], market: str) -> object:
    # A book is stamped on its data (``time``), a trades push on each trade (the first one's); a context
    # carries no time.
    data = msg.get("data")
    if isinstance(data, dict):
        return data.get("time")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0].get("time")
    return msg.get("time")


def _scanners() -> list[object]:
    return []  # no compiled scanner: every line takes the normalizer's per-message path


RECORDINGS = RecordingFormat(
    name="hyperliquid",
    normalizer=HyperliquidNormalizer,
    scanner="the Hyperliquid scanner",
    scanners=_scanners,
    scan_compile_s=0.0,
    bulk_scan=False,
    recognise=_is_hyperliquid,
    details=_details,
    market_from_path=False,
    exchange_ms=_exchange_ms,
)
