"""OKX v5 public wire formats for the fake venue: pushes, events, REST bodies and the book checksum.

Pure functions, no I/O: :mod:`arb.sim.okx.public` serves what they build. The shapes follow OKX's docs v5
("WS / Order book channel", "GET / Order book", "GET / Instruments", the WebSocket error codes) and the
February 2026 changelog (the ``seqId`` of a REST book). The checksum is computed here from the venue's own
book, independently of arb's connector, so a test of the one checks the other.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_INSTRUMENTS",
    "BookLevel",
    "book_message",
    "checksum",
    "error_event",
    "event",
    "instrument_entry",
    "rest_book",
    "rest_error",
]

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

_encode = msgspec.json.Encoder().encode

BookLevel = tuple[str, str, str]
"""One level as the venue keeps it: ``(price, size, number of orders)``, wire strings."""

DEFAULT_INSTRUMENTS: Mapping[str, Mapping[str, str]] = {
    "SPOT": {"tickSz": "0.1", "lotSz": "0.00000001", "minSz": "0.00001", "ctVal": "", "ctMult": ""},
    "SWAP": {"tickSz": "0.1", "lotSz": "0.01", "minSz": "0.01", "ctVal": "0.01", "ctMult": "1"},
}
"""Rules an instrument gets unless the venue is given its own: OKX's documented BTC-USDT example (spot) and
BTC-USDT-SWAP's values (contract value 0.01 BTC)."""


def checksum(bids: Sequence[BookLevel], asks: Sequence[BookLevel]) -> int:
    """OKX's checksum: CRC32 of ``bid_px:bid_sz:ask_px:ask_sz:...`` over the best 25 levels a side (a side's
    missing levels skipped), as a signed 32-bit integer."""
    parts: list[str] = []
    for i in range(25):
        if i < len(bids):
            parts += bids[i][:2]
        if i < len(asks):
            parts += asks[i][:2]
    value = zlib.crc32(":".join(parts).encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def _levels(levels: Sequence[BookLevel]) -> list[list[str]]:
    return [[price, size, "0", orders] for price, size, orders in levels]


def book_message(
    channel: str,
    inst_id: str,
    action: str,
    sides: tuple[Sequence[BookLevel], Sequence[BookLevel]],
    ids: tuple[int, int, int, int],
) -> str:
    """A ``books`` push: ``{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":
    [["8476.98","415","0","13"]],"bids":[...],"ts":"1597026383085","checksum":0,"prevSeqId":-1,
    "seqId":123456}]}``. ``sides`` is ``(bids, asks)``; ``ids`` is ``(ts ms, checksum, prevSeqId, seqId)``."""
    bids, asks = sides
    ts_ms, check, prev, seq = ids
    data = {"asks": _levels(asks), "bids": _levels(bids), "ts": str(ts_ms), "checksum": check,
            "prevSeqId": prev, "seqId": seq}  # fmt: skip
    message = {"arg": {"channel": channel, "instId": inst_id}, "action": action, "data": [data]}
    return _encode(message).decode()


def event(name: str, channel: str, inst_id: str, conn_id: str) -> str:
    """An ack: ``{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}``."""
    return _encode({"event": name, "arg": {"channel": channel, "instId": inst_id}, "connId": conn_id}).decode()


def error_event(code: str, msg: str, conn_id: str) -> str:
    """An error: ``{"event":"error","code":"60012","msg":"Invalid request: ...","connId":"a4d3ae55"}``."""
    return _encode({"event": "error", "code": code, "msg": msg, "connId": conn_id}).decode()


def rest_book(bids: Sequence[BookLevel], asks: Sequence[BookLevel], ts_ms: int, seq_id: int) -> bytes:
    """``GET /api/v5/market/books``: ``{"code":"0","msg":"","data":[{"asks":[...],"bids":[...],
    "ts":"1629966436396","seqId":9876}]}``."""
    data = {"asks": _levels(asks), "bids": _levels(bids), "ts": str(ts_ms), "seqId": seq_id}
    return _encode({"code": "0", "msg": "", "data": [data]})


def rest_error(code: str, msg: str) -> bytes:
    """An error answer: ``{"code":"51001","msg":"Instrument ID doesn't exist.","data":[]}``."""
    return _encode({"code": code, "msg": msg, "data": []})


def instrument_entry(inst_id: str, rules: Mapping[str, str]) -> dict[str, Any]:
    """One entry of ``GET /api/v5/public/instruments`` (the fields arb reads and their neighbours):
    ``instType`` from the id (``-SWAP``: a linear USDT swap), ``rules`` giving ``tickSz``, ``lotSz``,
    ``minSz``, ``ctVal``, ``ctMult``."""
    swap = inst_id.endswith("-SWAP")
    base, quote = inst_id.split("-")[:2]
    return {
        "instType": "SWAP" if swap else "SPOT",
        "instId": inst_id,
        "instFamily": f"{base}-{quote}" if swap else "",
        "uly": f"{base}-{quote}" if swap else "",
        "baseCcy": "" if swap else base,
        "quoteCcy": "" if swap else quote,
        "settleCcy": quote if swap else "",
        "ctType": "linear" if swap else "",
        "ctValCcy": base if swap else "",
        "ctVal": rules.get("ctVal", ""),
        "ctMult": rules.get("ctMult", ""),
        "tickSz": rules["tickSz"],
        "lotSz": rules["lotSz"],
        "minSz": rules["minSz"],
        "state": rules.get("state", "live"),
    }
