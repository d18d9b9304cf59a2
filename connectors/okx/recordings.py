"""OKX's recorded frames read back (:class:`~connectors.common.recordings.RecordingFormat`).

A recording keeps what the feed received, one ``<ns> <raw payload>`` line each, gzip: pushes, which begin
``{"arg":{"channel":"books","instId":"BTC-USDT"}`` (the instrument names the symbol, and ``-SWAP`` the
linear market), the venue's events (``{"event":"subscribe",...}``) and ``pong``, and the REST answers the
feed fetched into the stream (``{"code":"0","msg":"","data":[...]}``: a book, or the instruments list).
A file whose first lines are only events and REST answers takes its market from its path.
"""

from __future__ import annotations

__all__ = ["RECORDINGS"]

from typing import Any

from connectors.common.recordings import RecordingFormat, between
from connectors.okx.normalize import OkxNormalizer
from connectors.okx.urls import symbol_of

_PUSH = b'{"arg":{"channel":"'
_EVENT = b'{"event":"'


def _is_okx(head: bytes) -> bool:
    return head.startswith(_PUSH) or (head.startswith(_EVENT) and b'"arg":{"channel"' in head)


def _details(payload: bytes, head: bytes) -> tuple[str | None, str | None]:
    instrument = between(payload, b'"instId":"', b'"')
    if not instrument:
        return None, None
    return symbol_of(instrument), "linear" if instrument.endswith("-SWAP") else "spot"


def _exchange_ms(msg: dict[str, Any], market: str) -> object:
    # A push stamps each entry of ``data`` (``"ts":"1597026383085"``, ms as a string): the first one's.
    data = msg.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return data[0].get("ts")
    return None


def _scanners() -> list[object]:
    return []  # no compiled scanner yet: every line takes the normalizer's per-message path


RECORDINGS = RecordingFormat(
    name="okx",
    normalizer=OkxNormalizer,
    scanner="the OKX scanner",
    scanners=_scanners,
    scan_compile_s=0.0,
    bulk_scan=False,
    recognise=_is_okx,
    details=_details,
    market_from_path=True,
    exchange_ms=_exchange_ms,
)
