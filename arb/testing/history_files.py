"""Tardis.dev CSV datasets and Bybit archive files made from real captures, as those sources make theirs.

The files arb fetches from Tardis and Bybit cannot ship with the tests (they are large, and not ours to
hand out), so tests, the fake archive server (:mod:`arb.testing.fake_archive`) and the benchmark
make them from the real captures (collector-format recordings) the way each source documents building
its own:

- :func:`tardis_from_binance`: a Binance recording (spot or USD-M) as Tardis's ``incremental_book_L2``
  and ``trades`` CSVs (and, from USD-M's ``markPrice`` frames when it has them, ``derivative_ticker``:
  a row at each change of the mark, index, rate or funding time, ``timestamp`` = ``E``), following
  Tardis's own Binance mapper (``tardis-node``, ``src/mappers/binance.ts``):
  diffs received before the REST snapshot are buffered, those the snapshot does not cover (spot: ``u``
  above ``lastUpdateId``; USD-M: ``u`` at or above) are merged into its levels, and the result is
  written as one run of ``is_snapshot=true`` rows at the snapshot's receive time (``timestamp`` the
  snapshot's ``T`` where it has one, else the receive time); later diffs are written with
  ``timestamp`` = the event time ``E``, those the snapshot covers dropped; trades with ``timestamp`` =
  ``T``, ``side`` the taker's (``m`` true: ``sell``), USD-M insurance-fund and ADL trades dropped. Each
  UTC day (of the receive time) is a file of its own, and a day that does not start with the snapshot
  starts with a snapshot of the book as it stands (Tardis snapshots the book at 00:00 UTC). Times are
  microseconds (the ns receive time floored), numbers as JavaScript prints them (``1e-7``, ``0.001``);
- :func:`tardis_snapshots_from_binance`: the same as Tardis's ``book_snapshot_25`` (or ``_<N>``): the top N
  levels a side after each message that changed them, rebuilt from the ``incremental_book_L2`` rows above
  as Tardis rebuilds its snapshots from the same stream (``tardis-node``, ``src/computable/booksnapshot.ts``);
- :func:`tardis_from_bybit`: a Bybit recording (spot or linear) as Tardis's ``bybit-spot`` or ``bybit``
  ``incremental_book_L2`` and ``trades``, following Tardis's Bybit v5 mappers (``src/mappers/bybitv5.ts``):
  each order book message is one run of rows at its receive time, ``is_snapshot`` its ``type ==
  "snapshot"``, ``timestamp`` its ``ts``; a trade's ``id`` is ``i``, ``side`` ``S`` lower-cased,
  ``timestamp`` ``T``. Days split and start with a snapshot as above;
- :func:`archive_from_bybit`: a Bybit recording as Bybit's archive: the order book messages, without the
  receive time, in one zip per UTC day of the exchange time (``orderbook.<depth>`` topic), each day
  starting with a snapshot (one of the book as it stands, when the recording's day does not start with
  one), and the trades as Bybit's linear or spot trade CSV.

``move_days`` (Tardis's files) moves every time (receive and exchange) by whole days, so the captures can stand for any
day a test asks ``arb fetch`` for (2024-08-08 - 220 days is 2024-01-01).
"""

from __future__ import annotations

__all__ = [
    "archive_from_bybit",
    "js_number",
    "tardis_from_binance",
    "tardis_from_bybit",
    "tardis_snapshots_from_binance",
    "write_gzip",
]

import bisect
import datetime as dt
import gzip
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from arb.recording.sources import tardis_path
from arb.recording.tardis import BOOK, HEADERS, TICKER, TRADES
from arb.recording.tardis_snapshots import snapshot_header
from connectors.bybit.archive import ARCHIVE
from connectors.common.record_files import LineReader

_US = 1_000
_DAY_MS = 86_400_000


def js_number(text: str | float) -> str:
    """A number as JavaScript's ``String(Number(text))`` prints it (what Tardis's CSVs hold)."""
    value = float(text)
    if value == 0:
        return "0"
    if 1e-4 <= abs(value) < 1e16:  # where Python's repr is positional too, the same shortest digits
        shortest = repr(value)
        return shortest[:-2] if shortest.endswith(".0") else shortest
    if 1e-6 <= abs(value) < 1e21:
        return str(np.format_float_positional(value, trim="-"))
    mantissa, _, exp = repr(value).partition("e")
    mantissa = mantissa[:-2] if mantissa.endswith(".0") else mantissa
    sign = "-" if exp.startswith("-") else "+"
    return f"{mantissa}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"


def write_gzip(path: Path, text: bytes, level: int = 6) -> Path:
    """``text`` gzipped into ``path`` (folders made; no file name or time in the header: reproducible)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=level, mtime=0, filename="") as f:
        f.write(text)
    return path


def _day(ns: int) -> dt.date:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).date()


class _Book:
    # One side-keyed book of price text -> size text, in arrival order (as Tardis's mapper keeps levels).
    def __init__(self) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}

    def apply(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for px, qty in levels:
                if float(qty) == 0:
                    side.pop(px, None)
                else:
                    side[px] = qty


def tardis_from_binance(
    recordings: Sequence[Path],
    out: Path,
    *,
    market: str,
    symbol: str | None = None,
    level: int = 6,
    move_days: int = 0,
) -> dict[tuple[str, dt.date], Path]:
    """Write ``recordings`` (one Binance session, in order) as Tardis files under ``out`` (Tardis's own
    client's names, as ``arb fetch`` writes them), every row and name of ``symbol`` when given (default: the
    recording's); returns {(data type, day): path}."""
    lines, exchange, sym = _binance_lines(recordings, market, symbol, move_days)
    return _write_tardis(lines, out, exchange, sym, level)


def tardis_snapshots_from_binance(
    recordings: Sequence[Path],
    out: Path,
    *,
    market: str,
    depth: int = 25,
    data_types: Sequence[str] = (),
    symbol: str | None = None,
    level: int = 6,
    move_days: int = 0,
) -> dict[tuple[str, dt.date], Path]:
    """Write ``recordings`` (one Binance session, in order) as Tardis's ``book_snapshot_<depth>`` files under
    ``out``, and the files of ``data_types`` (``incremental_book_L2``, ``trades``, ``derivative_ticker``) as
    :func:`tardis_from_binance` writes them, from the same pass; returns {(data type, day): path}.

    Tardis builds its book snapshots from the stream its ``incremental_book_L2`` holds (``tardis-node``,
    ``src/computable/booksnapshot.ts`` with ``interval`` 0): each message (the rows of one receive time and
    kind) updates the book (a snapshot clears it first; updates before the first snapshot are ignored),
    and a row is written, at the message's ``local_timestamp`` and ``timestamp``, whenever a price or
    amount of the top ``depth`` levels differs from the last row's. Each day's file is built on its own,
    from its 00:00 UTC snapshot, so it starts with a row. Levels a side lacks are empty fields."""
    lines, exchange, sym = _binance_lines(recordings, market, symbol, move_days)
    kind = f"book_snapshot_{depth}"
    for day in sorted({day for k, day in lines if k == BOOK}):
        lines[(kind, day)] = _snapshot_rows(lines[(BOOK, day)], depth)
    kept = {key: rows for key, rows in lines.items() if key[0] == kind or key[0] in data_types}
    return _write_tardis(kept, out, exchange, sym, level)


def _snapshot_rows(book_lines: list[bytes], depth: int) -> list[bytes]:
    # A day's incremental_book_L2 rows (each item one message's rows) as book_snapshot_<depth> rows.
    prices: tuple[list[float], list[float]] = ([], [])  # bids, asks: ascending (bids: best last)
    sizes: tuple[dict[float, str], dict[float, str]] = ({}, {})  # price -> amount text
    last: tuple[object, ...] | None = None
    out: list[bytes] = []
    synced = False
    for message in _messages(book_lines):
        if message[0][4] == "true":
            for side in (0, 1):
                prices[side].clear()
                sizes[side].clear()
            synced = True
        if not synced:
            continue  # Tardis's book ignores updates before its first snapshot
        for fields in message:
            side = 0 if fields[5] == "bid" else 1
            px = float(fields[6])
            there = px in sizes[side]
            if float(fields[7]) == 0:
                if there:
                    del sizes[side][px]
                    del prices[side][bisect.bisect_left(prices[side], px)]
                continue
            if not there:
                bisect.insort(prices[side], px)
            sizes[side][px] = fields[7]
        top = (prices[0][: -depth - 1 : -1], prices[1][:depth])
        now = tuple((p, sizes[side][p]) for side in (0, 1) for p in top[side]), len(top[0])
        if now == last:
            continue
        last = now
        cells = list(message[0][:4])
        for k in range(depth):
            for side in (1, 0):  # asks[k] then bids[k]
                cells += [js_number(top[side][k]), sizes[side][top[side][k]]] if k < len(top[side]) else ["", ""]
        out.append((",".join(cells) + "\n").encode())
    return out


def _messages(book_lines: list[bytes]) -> Iterator[list[list[str]]]:
    # The incremental_book_L2 rows as messages: runs of rows of one receive time and kind (snapshot or not).
    message: list[list[str]] = []
    for chunk in book_lines:
        for line in chunk.decode().splitlines():
            fields = line.split(",")
            if message and (fields[3], fields[4]) != (message[0][3], message[0][4]):
                yield message
                message = []
            message.append(fields)
    if message:
        yield message


def _binance_lines(
    recordings: Sequence[Path], market: str, symbol: str | None, move_days: int
) -> tuple[dict[tuple[str, dt.date], list[bytes]], str, str]:
    # The Tardis rows of a Binance session by (data type, day), Tardis's exchange id and the symbol.
    moved = move_days * _DAY_MS  # ms

    def us(ms: Any) -> int:  # an exchange time in ms, moved, as Tardis's us
        return (int(ms) + moved) * _US

    exchange = "binance" if market == "spot" else "binance-futures"
    lines: dict[tuple[str, dt.date], list[bytes]] = {}
    book = _Book()
    buffered: list[dict[str, Any]] = []
    last_id: int | None = None  # the snapshot's lastUpdateId while the first diff is looked for
    synced = False
    current: dt.date | None = None
    sym = symbol.upper() if symbol else ""
    ticker_state: tuple[str, str, str, int] | None = None

    def add(kind: str, when: int, row: bytes) -> None:
        lines.setdefault((kind, _day(when)), []).append(row)

    for local_ns, payload in _lines(recordings, move_days):
        local = local_ns // _US
        day = _day(local_ns)
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
            add(BOOK, local_ns, _level_rows(exchange, sym, local, local, True, book.bids.items(), book.asks.items()))
        current = day
        if "lastUpdateId" in msg:
            if synced:
                continue  # Tardis's mapper takes one snapshot per connection
            last_id = int(msg["lastUpdateId"])
            snap = _Book()
            snap.bids = {p: q for p, q in msg["bids"]}
            snap.asks = {p: q for p, q in msg["asks"]}
            for diff in buffered:
                if _newer(diff, last_id, market):
                    for side, levels in ((snap.bids, diff["b"]), (snap.asks, diff["a"])):
                        for p, q in levels:
                            side[p] = q  # Tardis merges by replacing or appending (a size of 0 stays a row)
            buffered.clear()
            ts = us(msg["T"]) if "T" in msg else local
            add(BOOK, local_ns, _level_rows(exchange, sym, ts, local, True, snap.bids.items(), snap.asks.items()))
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
            add(BOOK, local_ns, _level_rows(exchange, sym, ts, local, False, data["b"], data["a"]))
            book.apply(data["b"], data["a"])
        elif stream.endswith("@trade"):
            sym = sym or data["s"]
            if data.get("X") in ("INSURANCE_FUND", "ADL"):
                continue
            taker = "sell" if data["m"] else "buy"
            row = f"{exchange},{sym},{us(data['T'])},{local},{data['t']},{taker},"
            add(TRADES, local_ns, (row + f"{js_number(data['p'])},{js_number(data['q'])}\n").encode())
    return lines, exchange, sym


def _newer(diff: dict[str, Any], last_id: int, market: str) -> bool:
    # Whether the snapshot does not cover the diff (Tardis: spot drops u <= lastUpdateId, USD-M u < it).
    u = int(diff["u"])
    return u > last_id if market == "spot" else u >= last_id


def _lines(recordings: Sequence[Path], move_days: int = 0) -> Iterator[tuple[int, bytes]]:
    moved = move_days * _DAY_MS * 1_000_000
    for path in recordings:
        for local_ns, payload in LineReader(path):
            yield local_ns + moved, payload


def tardis_from_bybit(
    recordings: Sequence[Path],
    out: Path,
    *,
    market: str,
    symbol: str | None = None,
    level: int = 6,
    move_days: int = 0,
) -> dict[tuple[str, dt.date], Path]:
    """Write ``recordings`` (one Bybit session, in order) as Tardis files under ``out`` (``bybit-spot`` or
    ``bybit``, Tardis's own client's names), every row and name of ``symbol`` when given (default: the
    recording's); returns {(data type, day): path}. The deepest order book topic recorded is the one written
    (Tardis records one depth)."""
    exchange = "bybit-spot" if market == "spot" else "bybit"
    moved = move_days * _DAY_MS
    lines: dict[tuple[str, dt.date], list[bytes]] = {}
    book = _Book()
    sym = symbol.upper() if symbol else ""
    current: dt.date | None = None
    depth = 0
    for local_ns, payload in _lines(recordings, move_days):
        if not payload.startswith(b'{"topic":"'):
            continue
        msg = msgspec.json.decode(payload)
        topic: str = msg["topic"]
        local, day = local_ns // _US, _day(local_ns)
        if topic.startswith("orderbook."):
            depth = max(depth, int(topic.split(".")[1]))
            if int(topic.split(".")[1]) != depth:
                continue
            data = msg["data"]
            sym = sym or data["s"]
            snapshot = msg["type"] == "snapshot"
            if snapshot:
                book = _Book()
            elif current is not None and day != current:  # 00:00 UTC: the new day starts with the book
                lines.setdefault((BOOK, day), []).append(
                    _level_rows(exchange, sym, local, local, True, _sorted(book.bids, True), _sorted(book.asks, False))
                )
            current = day
            book.apply(data["b"], data["a"])
            ts = (int(msg["ts"]) + moved) * _US
            lines.setdefault((BOOK, day), []).append(
                _level_rows(exchange, sym, ts, local, snapshot, data["b"], data["a"])
            )
        elif topic.startswith("publicTrade."):
            for t in msg["data"]:
                side = {"Buy": "buy", "Sell": "sell"}.get(t["S"], "unknown")
                row = f"{exchange},{sym or t['s']},{(int(t['T']) + moved) * _US},{local},{t['i']},{side},"
                lines.setdefault((TRADES, day), []).append(f"{row}{js_number(t['p'])},{js_number(t['v'])}\n".encode())
    return _write_tardis(lines, out, exchange, sym, level)


def _write_tardis(
    lines: dict[tuple[str, dt.date], list[bytes]], out: Path, exchange: str, symbol: str, level: int
) -> dict[tuple[str, dt.date], Path]:
    # Each (data type, day)'s rows as its gzipped CSV, under its header.
    return {
        (kind, day): write_gzip(
            tardis_path(out, exchange, kind, day, symbol), _header(kind) + b"\n" + b"".join(rows), level
        )
        for (kind, day), rows in sorted(lines.items())
    }


def _header(kind: str) -> bytes:
    # A data type's header line: a book_snapshot_<N> of any depth N, or one of those arb reads.
    if kind.startswith("book_snapshot_"):
        return snapshot_header(int(kind.rsplit("_", 1)[1]))
    return HEADERS[kind]


def _level_rows(exchange: str, symbol: str, ts: int, local: int, snapshot: bool,
                bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> bytes:  # fmt: skip
    # One message's levels as incremental_book_L2 rows (bids first, as Tardis's mappers list them).
    flag = "true" if snapshot else "false"
    rows = [f"{exchange},{symbol},{ts},{local},{flag},bid,{js_number(p)},{js_number(q)}\n" for p, q in bids]
    rows += [f"{exchange},{symbol},{ts},{local},{flag},ask,{js_number(p)},{js_number(q)}\n" for p, q in asks]
    return "".join(rows).encode()


def archive_from_bybit(
    recordings: Sequence[Path],
    out: Path,
    *,
    market: str,
    depth: int = 200,
    symbol: str | None = None,
    level: int = 6,
) -> dict[tuple[str, dt.date], Path]:
    """Write ``recordings`` (one Bybit session, in order) as Bybit's archive under ``out`` (the layout
    ``arb fetch`` writes); returns {("orderbook"|"archive_trades", day): path}."""
    books: dict[dt.date, list[bytes]] = {}
    trades: dict[dt.date, list[dict[str, Any]]] = {}
    book = _Book()
    last_u = last_seq = 0
    current: dt.date | None = None
    sym = symbol.upper() if symbol else ""
    for _, payload in _lines(recordings):
        if not payload.startswith(b'{"topic":"'):
            continue
        msg = msgspec.json.decode(payload)
        topic: str = msg["topic"]
        if topic.startswith("orderbook."):
            if topic.split(".")[1] == "1" and depth != 1:
                continue
            data = msg["data"]
            sym = sym or data["s"]
            day = _day(int(msg["ts"]) * 1_000_000)
            if msg["type"] == "snapshot":
                book = _Book()
            elif current is not None and day != current:
                snap = {
                    "topic": f"orderbook.{depth}.{sym}", "type": "snapshot", "ts": msg["ts"],
                    "data": {"s": sym, "b": [[p, q] for p, q in _sorted(book.bids, True)],
                             "a": [[p, q] for p, q in _sorted(book.asks, False)], "u": last_u, "seq": last_seq},
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
                trades.setdefault(_day(int(trade["T"]) * 1_000_000), []).append(trade)
    written: dict[tuple[str, dt.date], Path] = {}
    for day, lines in sorted(books.items()):
        path = ARCHIVE.book_path(out, market, sym, day, depth)
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
            info = zipfile.ZipInfo(path.name[: -len(".zip")], date_time=(day.year, day.month, day.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, b"\n".join(lines) + b"\n")
        path.write_bytes(buf.getvalue())
        written[("orderbook", day)] = path
    for day, rows in sorted(trades.items()):
        path = ARCHIVE.trades_path(out, market, sym, day)
        written[("archive_trades", day)] = write_gzip(path, _trade_csv(rows, market, sym), level)
    return written


def _sorted(side: dict[str, str], bids: bool) -> list[tuple[str, str]]:
    return sorted(side.items(), key=lambda kv: float(kv[0]), reverse=bids)


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
