"""What Tardis.dev makes of a Binance recording (spot or USD-M), row by row, as its own Binance mapper does
(``tardis-node``, ``src/mappers/binance.ts``), for the test kit's history files
(:func:`arb.testing.history_files.tardis_from`): ``incremental_book_L2`` and ``trades`` (and, from USD-M's
``markPrice`` frames when it has them, ``derivative_ticker``: a row at each change of the mark, index, rate or
funding time, ``timestamp`` = ``E``). Diffs received before the REST snapshot are buffered, those the
snapshot does not cover (spot: ``u`` above ``lastUpdateId``; USD-M: ``u`` at or above) are merged into its
levels, and the result is written as one run of ``is_snapshot=true`` rows at the snapshot's receive time
(``timestamp`` the snapshot's ``T`` where it has one, else the receive time); later diffs are written with
``timestamp`` = the event time ``E``, those the snapshot covers dropped; trades with ``timestamp`` = ``T``,
``side`` the taker's (``m`` true: ``sell``), USD-M insurance-fund and ADL trades dropped. A day that does not
start with the snapshot starts with a snapshot of the book as it stands (Tardis snapshots the book at 00:00
UTC)."""

from __future__ import annotations

__all__ = ["tardis_rows"]

import datetime as dt
from collections.abc import Iterable
from typing import Any

import msgspec

from arb.sim.history_rows import BOOK, DAY_MS, TICKER, TRADES, US, Rows, TextBook, day_of, js_number, level_rows


def tardis_rows(
    lines: Iterable[tuple[int, bytes]], *, market: str, exchange: str, symbol: str | None, move_days: int
) -> tuple[Rows, str]:
    """The Tardis rows of a Binance session's ``lines`` (``(local ns, payload)``, already moved by
    ``move_days``) by (data type, day), every row of Tardis's ``exchange`` and of ``symbol`` when given (else
    the recording's), and the symbol."""
    moved = move_days * DAY_MS  # ms

    def us(ms: Any) -> int:  # an exchange time in ms, moved, as Tardis's us
        return (int(ms) + moved) * US

    rows: Rows = {}
    book = TextBook()
    buffered: list[dict[str, Any]] = []
    last_id: int | None = None  # the snapshot's lastUpdateId while the first diff is looked for
    synced = False
    current: dt.date | None = None
    sym = symbol.upper() if symbol else ""
    ticker_state: tuple[str, str, str, int] | None = None

    def add(kind: str, when: int, row: bytes) -> None:
        rows.setdefault((kind, day_of(when)), []).append(row)

    for local_ns, payload in lines:
        local = local_ns // US
        day = day_of(local_ns)
        msg = msgspec.json.decode(payload)
        if not isinstance(msg, dict):
            continue
        data = msg.get("data", msg)
        stream = msg.get("stream", "")
        if "@markPrice" in stream:
            state = (data["p"], data.get("i", ""), data.get("r", ""), int(data.get("T", 0)))
            if state != ticker_state:  # Tardis writes a row when something changed
                ticker_state = state
                funding = str(us(data["T"])) if data.get("r", "") != "" and data.get("T") else ""
                rate = js_number(data["r"]) if funding else ""
                index = js_number(data["i"]) if data.get("i") else ""
                row = f"{exchange},{sym or data['s']},{us(data['E'])},{local},{funding},{rate},,,,{index},"
                row += js_number(data["p"])
                add(TICKER, local_ns, row.encode() + b"\n")
            continue
        if not ("@depth" in stream or stream.endswith("@trade") or "lastUpdateId" in msg):
            continue  # bookTicker and replies: not in these data types
        if synced and current is not None and day != current:
            # 00:00 UTC: the new day's file starts with the book as it stands
            add(BOOK, local_ns, level_rows(exchange, sym, local, local, True, book.bids.items(), book.asks.items()))
        current = day
        if "lastUpdateId" in msg:
            if synced:
                continue  # Tardis's mapper takes one snapshot per connection
            last_id = int(msg["lastUpdateId"])
            snap = TextBook()
            snap.bids = {p: q for p, q in msg["bids"]}
            snap.asks = {p: q for p, q in msg["asks"]}
            for diff in buffered:
                if _newer(diff, last_id, market):
                    for side, levels in ((snap.bids, diff["b"]), (snap.asks, diff["a"])):
                        for p, q in levels:
                            side[p] = q  # Tardis merges by replacing or appending (a size of 0 stays a row)
            buffered.clear()
            ts = us(msg["T"]) if "T" in msg else local
            add(BOOK, local_ns, level_rows(exchange, sym, ts, local, True, snap.bids.items(), snap.asks.items()))
            book.bids = {p: q for p, q in snap.bids.items() if float(q)}
            book.asks = {p: q for p, q in snap.asks.items() if float(q)}
            synced = True
            continue
        if "@depth" in stream:
            sym = sym or data["s"]
            if not synced:
                buffered.append(data)
                continue
            if last_id is not None and not _newer(data, last_id, market):
                continue
            last_id = None
            ts = us(data["E"])
            add(BOOK, local_ns, level_rows(exchange, sym, ts, local, False, data["b"], data["a"]))
            book.apply(data["b"], data["a"])
        elif stream.endswith("@trade"):
            sym = sym or data["s"]
            if data.get("X") in ("INSURANCE_FUND", "ADL"):
                continue
            taker = "sell" if data["m"] else "buy"
            row = f"{exchange},{sym},{us(data['T'])},{local},{data['t']},{taker},"
            add(TRADES, local_ns, (row + f"{js_number(data['p'])},{js_number(data['q'])}\n").encode())
    return rows, sym


def _newer(diff: dict[str, Any], last_id: int, market: str) -> bool:
    # Whether the snapshot does not cover the diff (Tardis: spot drops u <= lastUpdateId, USD-M u < it).
    u = int(diff["u"])
    return u > last_id if market == "spot" else u >= last_id
