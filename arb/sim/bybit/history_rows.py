"""What Tardis.dev and Bybit's own archive make of a Bybit recording, row by row, for the test kit's history
files (:mod:`arb.testing.history_files`):

- :func:`tardis_rows`: Tardis's ``bybit-spot`` or ``bybit`` ``incremental_book_L2`` and ``trades``, following
  Tardis's Bybit v5 mappers (``src/mappers/bybitv5.ts``): each order book message is one run of rows at its
  receive time, ``is_snapshot`` its ``type == "snapshot"``, ``timestamp`` its ``ts``; a trade's ``id`` is
  ``i``, ``side`` ``S`` lower-cased, ``timestamp`` ``T``; a day that does not start with a snapshot starts
  with one of the book as it stands;
- :func:`archive_rows`: Bybit's archive: the order book messages, without the receive time, per UTC day of
  the exchange time (``orderbook.<depth>`` topic), each day starting with a snapshot (one of the book as it
  stands, when the recording's day does not start with one), and the trades as Bybit's linear or spot
  trade CSV.
"""

from __future__ import annotations

__all__ = ["archive_rows", "tardis_rows"]

import datetime as dt
from collections.abc import Iterable
from typing import Any

import msgspec

from arb.sim.history_rows import BOOK, DAY_MS, TRADES, US, Rows, TextBook, day_of, js_number, level_rows, sorted_levels


def tardis_rows(
    lines: Iterable[tuple[int, bytes]], *, market: str, exchange: str, symbol: str | None, move_days: int
) -> tuple[Rows, str]:
    """The Tardis rows of a Bybit session's ``lines`` (``(local ns, payload)``, already moved by ``move_days``)
    by (data type, day), every row of Tardis's ``exchange`` and of ``symbol`` when given (else the
    recording's), and the symbol. The deepest order book topic recorded is the one written (Tardis records
    one depth)."""
    moved = move_days * DAY_MS
    rows: Rows = {}
    book = TextBook()
    sym = symbol.upper() if symbol else ""
    current: dt.date | None = None
    depth = 0
    for local_ns, payload in lines:
        if not payload.startswith(b'{"topic":"'):
            continue
        msg = msgspec.json.decode(payload)
        topic: str = msg["topic"]
        local, day = local_ns // US, day_of(local_ns)
        if topic.startswith("orderbook."):
            depth = max(depth, int(topic.split(".")[1]))
            if int(topic.split(".")[1]) != depth:
                continue
            data = msg["data"]
            sym = sym or data["s"]
            snapshot = msg["type"] == "snapshot"
            if snapshot:
                book = TextBook()
            elif current is not None and day != current:  # 00:00 UTC: the new day starts with the book
                rows.setdefault((BOOK, day), []).append(
                    level_rows(
                        exchange,
                        sym,
                        local,
                        local,
                        True,
                        sorted_levels(book.bids, True),
                        sorted_levels(book.asks, False),
                    )
                )
            current = day
            book.apply(data["b"], data["a"])
            ts = (int(msg["ts"]) + moved) * US
            rows.setdefault((BOOK, day), []).append(
                level_rows(exchange, sym, ts, local, snapshot, data["b"], data["a"])
            )
        elif topic.startswith("publicTrade."):
            for t in msg["data"]:
                side = {"Buy": "buy", "Sell": "sell"}.get(t["S"], "unknown")
                row = f"{exchange},{sym or t['s']},{(int(t['T']) + moved) * US},{local},{t['i']},{side},"
                rows.setdefault((TRADES, day), []).append(f"{row}{js_number(t['p'])},{js_number(t['v'])}\n".encode())
    return rows, sym


def archive_rows(
    lines: Iterable[tuple[int, bytes]], *, market: str, depth: int, symbol: str | None
) -> tuple[dict[dt.date, bytes], dict[dt.date, bytes], str]:
    """A Bybit session's ``lines`` as Bybit's archive: each day's order book file (its messages, a line each)
    and trade CSV, and the symbol."""
    books: dict[dt.date, list[bytes]] = {}
    trades: dict[dt.date, list[dict[str, Any]]] = {}
    book = TextBook()
    last_u = last_seq = 0
    current: dt.date | None = None
    sym = symbol.upper() if symbol else ""
    for _, payload in lines:
        if not payload.startswith(b'{"topic":"'):
            continue
        msg = msgspec.json.decode(payload)
        topic: str = msg["topic"]
        if topic.startswith("orderbook."):
            if topic.split(".")[1] == "1" and depth != 1:
                continue
            data = msg["data"]
            sym = sym or data["s"]
            day = day_of(int(msg["ts"]) * 1_000_000)
            if msg["type"] == "snapshot":
                book = TextBook()
            elif current is not None and day != current:
                snap = {
                    "topic": f"orderbook.{depth}.{sym}", "type": "snapshot", "ts": msg["ts"],
                    "data": {"s": sym, "b": [[p, q] for p, q in sorted_levels(book.bids, True)],
                             "a": [[p, q] for p, q in sorted_levels(book.asks, False)], "u": last_u, "seq": last_seq},
                    "cts": msg.get("cts", msg["ts"]),
                }  # fmt: skip
                books.setdefault(day, []).append(msgspec.json.encode(snap))
            book.apply(data["b"], data["a"])
            last_u, last_seq = int(data["u"]), int(data.get("seq", 0))
            current = day
            msg["topic"] = f"orderbook.{depth}.{sym}"
            books.setdefault(day, []).append(msgspec.json.encode(msg))
        elif topic.startswith("publicTrade."):
            for trade in msg["data"]:
                trades.setdefault(day_of(int(trade["T"]) * 1_000_000), []).append(trade)
    book_files = {day: b"\n".join(day_lines) + b"\n" for day, day_lines in sorted(books.items())}
    trade_files = {day: _trade_csv(day_rows, market, sym) for day, day_rows in sorted(trades.items())}
    return book_files, trade_files, sym


def _trade_csv(rows: list[dict[str, Any]], market: str, symbol: str) -> bytes:
    if market == "spot":
        out = [b"id,timestamp,price,volume,side,rpi"]
        for n, t in enumerate(rows, start=1):
            out.append(f"{n},{t['T']},{t['p']},{t['v']},{t['S'].lower()},0".encode())
    else:
        out = [b"timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional"]
        for t in rows:
            ms = int(t["T"])
            px, qty = float(t["p"]), float(t["v"])
            out.append(
                f"{ms // 1000}.{ms % 1000:03d}0,{symbol},{t['S']},{t['v']},{t['p']},{t.get('L', 'ZeroPlusTick')},"
                f"{t['i']},{js_number(px * qty * 1e8)},{t['v']},{js_number(round(px * qty, 8))}".encode()
            )
    return b"\n".join(out) + b"\n"
