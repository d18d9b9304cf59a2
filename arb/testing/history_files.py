"""Tardis.dev CSV datasets and a venue's own archive files made from real captures, as those sources make theirs.

The files arb fetches from Tardis and a venue's archive cannot ship with the tests (they are large, and not
ours to hand out), so tests, the fake archive server (:mod:`arb.testing.fake_archive`) and the benchmark
make them from the real captures (collector-format recordings) the way each source documents building
its own. What a source makes of a venue's messages is the venue's folder's (``arb/sim/<venue>/history_rows.py``,
:mod:`arb.sim.history_rows`); the files, their names and their days are written here:

- :func:`tardis_from`: a venue's recording as Tardis's ``incremental_book_L2`` and ``trades`` CSVs (and
  ``derivative_ticker`` where the venue's rows have it), under Tardis's exchange id of the market (the
  venue's ``venue.toml``). Each UTC day (of the receive time) is a file of its own, and a day that does not
  start with a snapshot starts with one of the book as it stands (Tardis snapshots the book at 00:00 UTC).
  Times are microseconds (the ns receive time floored), numbers as JavaScript prints them (``1e-7``, ``0.001``);
- :func:`tardis_snapshots_from`: the same as Tardis's ``book_snapshot_25`` (or ``_<N>``): the top N
  levels a side after each message that changed them, rebuilt from the ``incremental_book_L2`` rows
  as Tardis rebuilds its snapshots from the same stream (``tardis-node``, ``src/computable/booksnapshot.ts``);
- :func:`archive_from`: a recording as the venue's own archive (a venue with one): the order book messages, in
  one zip per UTC day, and the trades as the venue's trade CSV, at the paths ``arb fetch`` writes them.

``move_days`` (Tardis's files) moves every time (receive and exchange) by whole days, so the captures can stand for any
day a test asks ``arb fetch`` for (2024-08-08 - 220 days is 2024-01-01).
"""

from __future__ import annotations

__all__ = [
    "archive_from",
    "js_number",
    "tardis_from",
    "tardis_snapshots_from",
    "write_gzip",
]

import bisect
import datetime as dt
import gzip
import io
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from arb.catalog import venue_facts
from arb.recording.sources import tardis_path
from arb.recording.tardis import BOOK, HEADERS
from arb.recording.tardis_snapshots import snapshot_header
from arb.sim.history_rows import DAY_MS, history_rows, js_number
from connectors.common.record_files import LineReader
from connectors.registry import venue

TEST_LEVEL = 1
"""The deflate level of the files written here (``level``'s default): the fastest. The tests read what is in
them, not their size; a benchmark that wants files as big as the venues' passes 6, zlib's default."""


def write_gzip(path: Path, text: bytes, level: int = TEST_LEVEL) -> Path:
    """``text`` gzipped into ``path`` (folders made; no file name or time in the header: reproducible)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=level, mtime=0, filename="") as f:
        f.write(text)
    return path


def tardis_from(
    name: str,
    recordings: Sequence[Path],
    out: Path,
    *,
    market: str,
    symbol: str | None = None,
    level: int = TEST_LEVEL,
    move_days: int = 0,
) -> dict[tuple[str, dt.date], Path]:
    """Write ``recordings`` (one session of venue ``name``, in order) as Tardis files under ``out`` (Tardis's own
    client's names, as ``arb fetch`` writes them), every row and name of ``symbol`` when given (default: the
    recording's); returns {(data type, day): path}."""
    exchange = venue_facts(name).tardis[market]
    rows, sym = history_rows(name).tardis_rows(
        _lines(recordings, move_days), market=market, exchange=exchange, symbol=symbol, move_days=move_days
    )
    return _write_tardis(rows, out, exchange, sym, level)


def tardis_snapshots_from(
    name: str,
    recordings: Sequence[Path],
    out: Path,
    *,
    market: str,
    depth: int = 25,
    data_types: Sequence[str] = (),
    symbol: str | None = None,
    level: int = TEST_LEVEL,
    move_days: int = 0,
) -> dict[tuple[str, dt.date], Path]:
    """Write ``recordings`` (one session of venue ``name``, in order) as Tardis's ``book_snapshot_<depth>`` files
    under ``out``, and the files of ``data_types`` (``incremental_book_L2``, ``trades``, ``derivative_ticker``)
    as :func:`tardis_from` writes them, from the same pass; returns {(data type, day): path}.

    Tardis builds its book snapshots from the stream its ``incremental_book_L2`` holds (``tardis-node``,
    ``src/computable/booksnapshot.ts`` with ``interval`` 0): each message (the rows of one receive time and
    kind) updates the book (a snapshot clears it first; updates before the first snapshot are ignored),
    and a row is written, at the message's ``local_timestamp`` and ``timestamp``, whenever a price or
    amount of the top ``depth`` levels differs from the last row's. Each day's file is built on its own,
    from its 00:00 UTC snapshot, so it starts with a row. Levels a side lacks are empty fields."""
    exchange = venue_facts(name).tardis[market]
    lines, sym = history_rows(name).tardis_rows(
        _lines(recordings, move_days), market=market, exchange=exchange, symbol=symbol, move_days=move_days
    )
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


def _lines(recordings: Sequence[Path], move_days: int = 0) -> Iterator[tuple[int, bytes]]:
    moved = move_days * DAY_MS * 1_000_000
    for path in recordings:
        for local_ns, payload in LineReader(path):
            yield local_ns + moved, payload


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


def archive_from(
    name: str,
    recordings: Sequence[Path],
    out: Path,
    *,
    market: str,
    depth: int = 200,
    symbol: str | None = None,
    level: int = TEST_LEVEL,
) -> dict[tuple[str, dt.date], Path]:
    """Write ``recordings`` (one session of venue ``name``, in order) as the venue's own archive under ``out``
    (the layout ``arb fetch`` writes); returns {("orderbook"|"archive_trades", day): path}."""
    books, trades, sym = history_rows(name).archive_rows(_lines(recordings), market=market, depth=depth, symbol=symbol)
    paths: Any = venue(name).archive  # where arb fetch puts the archive's files
    written: dict[tuple[str, dt.date], Path] = {}
    for day, text in books.items():
        path = paths.book_path(out, market, sym, day, depth)
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
            info = zipfile.ZipInfo(path.name[: -len(".zip")], date_time=(day.year, day.month, day.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
        path.write_bytes(buf.getvalue())
        written[("orderbook", day)] = path
    for day, csv in trades.items():
        written[("archive_trades", day)] = write_gzip(paths.trades_path(out, market, sym, day), csv, level)
    return written
