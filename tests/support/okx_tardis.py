"""Tardis.dev's ``okex`` and ``okex-swap`` CSV datasets made from an OKX capture, as Tardis makes them.

Following Tardis's OKX v5 mappers (``tardis-node``, ``src/mappers/okex.ts``): each ``books`` message is one
run of ``incremental_book_L2`` rows at its receive time (microseconds), ``is_snapshot`` its ``action ==
"snapshot"``, ``timestamp`` its ``ts``, bids then asks, an update with no levels (OKX's heartbeat) left
out; each trade is a ``trades`` row (``id`` the ``tradeId``, ``side`` OKX's, the taker's). The instrument is
named by OKX's id, and amounts are OKX's ``sz`` as sent. Each UTC day of the receive time is a file of its
own, and a day that does not start with a snapshot starts with one of the book as it stands (Tardis
snapshots the book at 00:00 UTC).

There is no swap capture: ``swap=True`` writes the spot capture as ``okex-swap``'s ``BTC-USDT-SWAP``, every
amount in contracts of :data:`CONTRACT_VALUE` BTC (the size / 0.01, exact in decimal), and a
``derivative_ticker`` made up from the book: a row a minute, the mark the mid price, funding every 8 hours.
So a swap day converted to base currency must hold the spot day's sizes, to float rounding.
"""

from __future__ import annotations

__all__ = ["CONTRACT_VALUE", "tardis_from_okx"]

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from arb.recording.sources import tardis_path
from arb.recording.tardis import BOOK, HEADERS, TICKER, TRADES
from arb.sim.history_rows import level_rows
from arb.testing.history_files import js_number, write_gzip
from connectors.common.record_files import LineReader

CONTRACT_VALUE = Decimal("0.01")
"""BTC per ``BTC-USDT-SWAP`` contract (OKX's ``ctVal``)."""
_MINUTE_US = 60_000_000
_FUNDING_US = 8 * 3600 * 1_000_000


def _contracts(size: str) -> str:
    # A base-currency size as the swap's contracts, exactly: "1.43251053" -> "143.251053".
    return format((Decimal(size) / CONTRACT_VALUE).normalize(), "f")


def tardis_from_okx(recordings: Sequence[Path], out: Path, *, swap: bool = False) -> dict[tuple[str, dt.date], Path]:
    """Write ``recordings`` (one OKX spot session, in order) as Tardis's files under ``out`` (Tardis's own
    client's names, as ``arb fetch`` writes them); returns {(data type, day): path}."""
    exchange, symbol = ("okex-swap", "BTC-USDT-SWAP") if swap else ("okex", "BTC-USDT")

    def size(text: str) -> str:
        return _contracts(text) if swap else text

    lines: dict[tuple[str, dt.date], list[bytes]] = {}
    bids: dict[str, str] = {}
    asks: dict[str, str] = {}
    current: dt.date | None = None
    next_ticker = 0
    for path in recordings:
        for local_ns, payload in LineReader(path):
            if not payload.startswith(b'{"arg":{"channel":"'):
                continue
            msg: dict[str, Any] = msgspec.json.decode(payload)
            channel = msg["arg"]["channel"]
            local = local_ns // 1_000
            day = dt.datetime.fromtimestamp(local_ns / 1e9, dt.UTC).date()
            if channel == "books":
                for data in msg["data"]:
                    snapshot = msg["action"] == "snapshot"
                    if not snapshot and not data["bids"] and not data["asks"]:
                        continue  # a heartbeat: Tardis's mapper writes nothing
                    if snapshot:
                        bids, asks = {}, {}
                    elif current is not None and day != current:  # 00:00 UTC: the day starts with the book
                        now_bids = sorted(bids.items(), key=lambda kv: -float(kv[0]))
                        now_asks = sorted(asks.items(), key=lambda kv: float(kv[0]))
                        lines.setdefault((BOOK, day), []).append(
                            level_rows(exchange, symbol, local, local, True, now_bids, now_asks)
                        )
                    current = day
                    levels = []
                    for side, book in ((data["bids"], bids), (data["asks"], asks)):
                        kept = [(level[0], size(level[1])) for level in side]
                        for px, qty in kept:
                            if Decimal(qty) == 0:
                                book.pop(px, None)
                            else:
                                book[px] = qty
                        levels.append(kept)
                    ts = int(data["ts"]) * 1_000
                    lines.setdefault((BOOK, day), []).append(level_rows(exchange, symbol, ts, local, snapshot, *levels))
                if swap and bids and asks and local >= next_ticker:
                    next_ticker = local - local % _MINUTE_US + _MINUTE_US
                    mid = (max(float(p) for p in bids) + min(float(p) for p in asks)) / 2
                    funding = local - local % _FUNDING_US + _FUNDING_US
                    row = f"{exchange},{symbol},{local},{local},{funding},0.0001,0.00012,,,{js_number(round(mid, 2))},"
                    lines.setdefault((TICKER, day), []).append(f"{row}{js_number(round(mid, 1))}\n".encode())
            elif channel == "trades":
                for t in msg["data"]:
                    row = f"{exchange},{symbol},{int(t['ts']) * 1_000},{local},{t['tradeId']},{t['side']},"
                    lines.setdefault((TRADES, day), []).append(
                        f"{row}{js_number(t['px'])},{js_number(size(t['sz']))}\n".encode()
                    )
    return {
        (kind, day): write_gzip(tardis_path(out, exchange, kind, day, symbol), HEADERS[kind] + b"\n" + b"".join(rows))
        for (kind, day), rows in sorted(lines.items())
    }
