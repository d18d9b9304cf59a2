"""Bybit's public archive: where its files are, how they are fetched and recognised, and how they become
hftbacktest event rows through arb's own Bybit normalizer (``ARCHIVE``, a
:class:`~connectors.common.archive.VenueArchive`).

Bybit publishes, per market (``spot``, ``linear``), symbol and UTC day:

- the order book: one zip (``{YYYY-MM-DD}_{SYMBOL}_ob{500|200}.data.zip``) holding one file of JSON
  lines, each a message exactly as the v5 WebSocket sends it
  (``{"topic":"orderbook.500.XRPUSDT","type":"snapshot"|"delta","ts":...,"data":{"s","b","a","u","seq"},
  "cts":...}``), starting with a snapshot;
- the trades: one gzip CSV, ``timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,
  homeNotional,foreignNotional[,RPI]`` for linear (``timestamp`` in seconds with a fraction, ``side``
  the taker's ``Buy``/``Sell``) and ``id,timestamp,price,volume,side[,rpi]`` for spot (``timestamp`` in
  ms, ``side`` ``buy``/``sell``).

Neither says when a message reached anyone: the archive has the exchange's time only. Every row's local
time is therefore its exchange time plus a **feed latency** assumed by the user (``[history]
archive_feed_latency_ms``, ``arb convert --feed-latency-ms``): one constant, so hftbacktest's latency
correction never sees a local time before an exchange time, and a backtest's feed latency on this venue
is exactly that assumption (plus the venue's ``latency.feed_ms``).

The order book messages go through :class:`~connectors.bybit.normalize.BybitNormalizer`, the code the
live feed runs: a snapshot resets the book, ``u`` must be continuous (a gap clears the book and waits for
the next snapshot), and the rows are the live path's. A snapshot that leaves a side empty is a finding;
a crossed one too, and the book is then cleared and out of sync (``SyncReason.CROSSED``) until the next.
Trades are merged in by time (a trade before a book message of the same time). A trade file is held in
memory (25 bytes a trade) and sorted by time if it is not in order; the order book streams.
"""

from __future__ import annotations

__all__ = [
    "ARCHIVE",
    "DEFAULT_FEED_LATENCY_NS",
    "DEPTHS",
    "LINEAR_TRADES_HEADER",
    "SPOT_TRADES_HEADER",
    "ArchiveFile",
    "BybitArchive",
    "BybitArchiveReader",
    "inspect",
]

import datetime as dt
import functools
import logging
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arb.errors import RecordingError
from arb.events import NS_PER_MS, TRADE_BUY, TRADE_SELL, EventArray, SyncReason, event_dtype
from connectors.bybit.normalize import BybitNormalizer
from connectors.common.archive import ArchiveDay, ArchiveDownload
from connectors.common.findings import FileFindings, ProgressFn, at_time
from connectors.common.lazy import lazy_module
from connectors.common.normalizer import SyncState
from connectors.common.record_files import sample
from connectors.common.textfile import TextChunks, head

log = logging.getLogger(__name__)

DEFAULT_FEED_LATENCY_NS = 10 * NS_PER_MS
"""The feed latency assumed when none is configured: 10 ms (a machine near Bybit's servers sees a few ms;
one across the world, 150 ms or more: set your own)."""

LINEAR_TRADES_HEADER = b"timestamp,symbol,side,size,price"
"""How a linear trade file's header starts (columns after ``price`` vary between years)."""
SPOT_TRADES_HEADER = b"id,timestamp,price,volume,side"
"""How a spot trade file's header starts."""

BOOK = "orderbook"
TRADES = "trades"
_TOPIC = re.compile(rb'^\{"topic":"orderbook\.(\d+)\.([A-Z0-9]+)"')
_TS = re.compile(rb'"ts":(\d{1,17})[,}]')
_BEST = {side: re.compile(rb'"' + side + rb'":\[\["(-?[0-9.eE+-]+)"') for side in (b"b", b"a")}
_EMPTY = {side: b'"' + side + b'":[]' for side in (b"b", b"a")}
_SNAPSHOT = b'"type":"snapshot"'
_SAMPLES = 3
_READ = 1 << 20
_FROM_NORMALIZER = frozenset({"market", "symbol", "sink", "stats", "status", "transitions", "perp", "bad_payloads"})
"""What :class:`BybitArchiveReader` hands on from its normalizer: what the converter reads of one."""
SOURCE = "bybit-archive"
"""The source's name, and its folder under the recordings."""
DEPTHS = (500, 200, 1000)
"""Order book depths tried for a day, in this order (the archive moved from 500 to 200)."""
_BOOK_FILE = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})_(?P<symbol>[A-Z0-9]+)_ob(?P<depth>\d+)\.data\.zip$")


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    """One file of Bybit's archive: what its first line says."""

    path: Path
    kind: str
    """``orderbook`` or ``trades``."""
    symbol: str
    """The symbol of its first message or row ("" when unknown)."""
    market: str | None
    """``linear``/``spot`` when the file tells (a trade file's header), None for an order book."""
    depth: int = 0
    """The order book's depth (500, 200, ...), 0 for trades."""


def inspect(path: str | Path) -> ArchiveFile | None:
    """What a file of Bybit's archive holds, or None when it is not one (an order book zip, or its
    unzipped ``.data`` file, or a trade file)."""
    path = Path(path)
    first = _book_head(path)
    if first is not None:
        m = _TOPIC.match(first)
        if m is None:
            return None
        return ArchiveFile(path, BOOK, m.group(2).decode(), None, int(m.group(1)))
    text = head(path, 4096)
    lines = text.split(b"\n")
    header = lines[0].rstrip(b"\r")
    row = lines[1].split(b",") if len(lines) > 1 else []
    if header.startswith(LINEAR_TRADES_HEADER):
        return ArchiveFile(path, TRADES, row[1].decode() if len(row) > 1 else "", "linear")
    if header.startswith(SPOT_TRADES_HEADER):
        return ArchiveFile(path, TRADES, "", "spot")
    return None


def _book_head(path: Path) -> bytes | None:
    # The first line of an order book file (zipped or not), None when the file is not one.
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                if not names:
                    return None
                with z.open(names[0]) as f:
                    return f.read(512)
        except (zipfile.BadZipFile, OSError, EOFError):
            return None
    text = head(path, 512)
    return text if text.startswith(b'{"topic":"orderbook.') else None


# -- trades ------------------------------------------------------------------------------------------

_LINEAR, _SPOT = 0, 1
_T_DONE, _T_FULL, _T_BAD = 0, 1, 2


_scan = lazy_module("connectors.common.scan")


@functools.cache
def _compiled_parse_trades() -> Callable[..., tuple[int, int, int, int]]:
    # _parse_trades compiled (loaded from Numba's cache) when an archive's trades are first read: looking
    # at a file to tell its format imports this module, which must not import Numba.
    from arb._jit import njit

    return njit(cache=True, nogil=True)(_parse_trades)


def _parse_trades(buf: Any, start: int, layout: int, columns: Any, fill: int, pow10: Any) -> tuple[int, int, int, int]:
    # The trade lines of ``buf`` from ``start`` into the arrays ``columns = (ts, px, qty, buy)`` from
    # ``fill`` on. linear: timestamp in seconds (fraction up to ns), side, size, price in columns 0, 2,
    # 3, 4; spot: timestamp in ms, price, volume, side in columns 1, 2, 3, 4. Returns (status, next
    # index, fill, lines).
    ts, px, qty, buy = columns
    n = buf.shape[0]
    cap = ts.shape[0]
    i = start
    lines = 0
    while i < n:
        if buf[i] == 10 or buf[i] == 13:
            i += 1
            continue
        if fill >= cap:
            return _T_FULL, i, fill, lines
        line = i
        col = 0
        t = -1
        p = -1.0
        q = -1.0
        side = -1
        while i < n and buf[i] != 10:
            j = i
            while j < n and buf[j] != 44 and buf[j] != 10 and buf[j] != 13:
                j += 1
            # the field is buf[i:j]
            if (layout == _LINEAR and col == 0) or (layout == _SPOT and col == 1):
                whole = 0
                frac = 0
                digits = 0
                k = i
                while k < j and 48 <= buf[k] <= 57:
                    whole = whole * 10 + (buf[k] - 48)
                    k += 1
                if k < j and buf[k] == 46:
                    k += 1
                    while k < j and 48 <= buf[k] <= 57:
                        if digits < 9:
                            frac = frac * 10 + (buf[k] - 48)
                            digits += 1
                        k += 1
                if k != j or j == i or whole > 9_000_000_000_000:
                    return _T_BAD, line, fill, lines
                if layout == _LINEAR:
                    scale = 1
                    for _ in range(9 - digits):
                        scale *= 10
                    t = whole * 1_000_000_000 + frac * scale
                else:
                    t = whole * 1_000_000
            elif (layout == _LINEAR and col == 2) or (layout == _SPOT and col == 4):
                if j - i == 3 and (buf[i] == 66 or buf[i] == 98) and buf[i + 1] == 117 and buf[i + 2] == 121:
                    side = 1
                elif (j - i == 4 and (buf[i] == 83 or buf[i] == 115) and buf[i + 1] == 101 and buf[i + 2] == 108
                      and buf[i + 3] == 108):  # fmt: skip
                    side = 0
                else:
                    return _T_BAD, line, fill, lines
            elif (layout == _LINEAR and (col == 3 or col == 4)) or (layout == _SPOT and (col == 2 or col == 3)):
                mant = 0
                scale = 0
                k = i
                seen = False
                while k < j and 48 <= buf[k] <= 57:
                    mant = mant * 10 + (buf[k] - 48)
                    k += 1
                    seen = True
                if k < j and buf[k] == 46:
                    k += 1
                    while k < j and 48 <= buf[k] <= 57:
                        mant = mant * 10 + (buf[k] - 48)
                        scale += 1
                        k += 1
                        seen = True
                if k != j or not seen or mant >= (1 << 53) or scale > 22:
                    return _T_BAD, line, fill, lines
                value = mant / pow10[scale]
                if (layout == _LINEAR and col == 4) or (layout == _SPOT and col == 2):
                    p = value
                else:
                    q = value
            col += 1
            i = j
            if i < n and buf[i] == 13:
                i += 1
            if i < n and buf[i] == 44:
                i += 1
        if i < n:
            i += 1  # the newline
        if t < 0 or p < 0 or q < 0 or side < 0:
            return _T_BAD, line, fill, lines
        ts[fill] = t
        px[fill] = p
        qty[fill] = q
        buy[fill] = side
        fill += 1
        lines += 1
    return _T_DONE, i, fill, lines


@dataclass(slots=True)
class _Trades:
    ts: np.ndarray[Any, np.dtype[np.int64]]
    px: np.ndarray[Any, np.dtype[np.float64]]
    qty: np.ndarray[Any, np.dtype[np.float64]]
    buy: np.ndarray[Any, np.dtype[np.int8]]


def _read_trades(f: ArchiveFile, symbol: str) -> tuple[_Trades, FileFindings]:
    # A whole trade file into arrays, sorted by time, and what it held.
    path = f.path
    found = FileFindings(path=str(path), size=path.stat().st_size)
    layout = _LINEAR if f.market == "linear" else _SPOT
    cap = 1 << 16
    parts: list[tuple[Any, ...]] = []
    arrays = (np.empty(cap, np.int64), np.empty(cap, np.float64), np.empty(cap, np.float64), np.empty(cap, np.int8))
    fill = 0
    header = True
    bad_samples: list[tuple[int, str]] = []
    bad = 0
    reader = TextChunks(path)
    for chunk in reader:
        buf = np.frombuffer(chunk, np.uint8)
        pos = 0
        if header:
            header = False
            end = bytes(buf[:4096]).find(b"\n")
            pos = buf.shape[0] if end < 0 else end + 1
        while pos < buf.shape[0]:
            status, pos, fill, lines = _compiled_parse_trades()(buf, pos, layout, arrays, fill, _scan.POW10)
            found.lines += lines
            if status == _T_FULL:
                parts.append(tuple(a[:fill].copy() for a in arrays))
                fill = 0
            elif status == _T_BAD:
                end = pos
                while end < buf.shape[0] and buf[end] != 10:
                    end += 1
                line = bytes(buf[pos:end]).rstrip(b"\r")
                pos = end + 1
                found.lines += 1
                bad += 1
                if len(bad_samples) < _SAMPLES:
                    bad_samples.append((found.lines + 1, sample(line)))
    parts.append(tuple(a[:fill].copy() for a in arrays))
    ts, px, qty, buy = (np.concatenate([p[k] for p in parts]) for k in range(4))
    found.download_problems(reader.damage, reader.truncated)
    if bad:
        text = found.bad_rows(bad, bad_samples, "Bybit trade")
        if bad * 2 > max(found.lines, 1):
            found.fatal = text
        else:
            found.problems.append(text)
    if f.symbol and symbol and f.symbol != symbol:
        found.fatal = f"{path}: holds {f.symbol} trades, not {symbol}"
    if len(ts) > 1 and np.any(np.diff(ts) < 0):
        order = np.argsort(ts, kind="stable")
        ts, px, qty, buy = ts[order], px[order], qty[order], buy[order]
        found.notes.append(f"{path}: the trades are not in time order in the file: sorted by time")
    if found.lines == 0 and not found.fatal and not found.problems:
        found.fatal = f"{path}: no trades after the header (an empty trade file)"
    found.usable = found.messages = len(ts)
    return _Trades(ts, px, qty, buy), found


def _trade_rows(t: _Trades, lo: int, hi: int, latency_ns: int) -> EventArray:
    rows = np.zeros(hi - lo, event_dtype)
    rows["ev"] = np.where(t.buy[lo:hi] == 1, TRADE_BUY, TRADE_SELL)
    rows["exch_ts"] = t.ts[lo:hi]
    rows["local_ts"] = t.ts[lo:hi] + latency_ns
    rows["px"] = t.px[lo:hi]
    rows["qty"] = t.qty[lo:hi]
    return rows


# -- the reader ----------------------------------------------------------------------------------------


class BybitArchiveReader:
    """Reads Bybit archive files of one market and symbol (order books and trades, one or several UTC
    days, in day order) into event rows, for :mod:`arb.recording.convert`: the normalizer's attributes
    the converter uses are those of the :class:`BybitNormalizer` inside; :meth:`feed` reads the files."""

    venue = "bybit"

    def __init__(
        self,
        market: str,
        symbol: str,
        files: Sequence[ArchiveFile],
        feed_latency_ns: int = DEFAULT_FEED_LATENCY_NS,
        *,
        scan: bool = True,
    ) -> None:
        if feed_latency_ns < 0:
            raise ValueError(f"feed_latency_ns must be >= 0, got {feed_latency_ns}")
        self.files = list(files)
        self.feed_latency_ns = feed_latency_ns
        self.inner = BybitNormalizer(symbol, market, echo=False, frame_scan=scan)

    def __getattr__(self, name: str) -> Any:
        # What the converter reads of a normalizer is the BybitNormalizer's inside.
        if name in _FROM_NORMALIZER:
            return getattr(self.inner, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def resume(self, last_update_id: int, market: str, symbol: str) -> None:
        """Continue from the previous day's synced end-of-day book (the day's first snapshot replaces it)."""
        self.inner.resume(last_update_id, market, symbol)

    def feed(
        self, progress: ProgressFn | None, on_rows: Callable[[EventArray], None] | None, chunk_rows: int
    ) -> list[FileFindings]:
        """Read the trade files whole, then the order book files one by one, the trades merged in by
        exchange time; the contract: :data:`~arb.recording.imports.ImportReader`."""
        symbol = self.inner.symbol
        books = [f for f in self.files if f.kind == BOOK]
        trade_files = [f for f in self.files if f.kind == TRADES]
        found: dict[Path, FileFindings] = {}
        loaded = []
        for f in trade_files:
            t, ff = _read_trades(f, symbol)
            loaded.append(t)
            found[f.path] = ff
            self.inner.stats.trade_messages += len(t.ts)
            self.inner.stats.messages += len(t.ts)
        if loaded:
            trades = _Trades(*(np.concatenate([getattr(t, k) for t in loaded]) for k in ("ts", "px", "qty", "buy")))
        else:
            trades = _Trades(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int8))
        if len(trades.ts) > 1 and np.any(np.diff(trades.ts) < 0):  # files given out of day order
            order = np.argsort(trades.ts, kind="stable")
            trades = _Trades(trades.ts[order], trades.px[order], trades.qty[order], trades.buy[order])
        local = trades.ts + self.feed_latency_ns
        tp = 0
        n_trades = len(local)
        sink = self.inner.sink
        latency = self.feed_latency_ns
        total = sum(f.path.stat().st_size for f in books) or 1
        done = 0

        def hand_over(at_least: int) -> None:
            if on_rows is not None and sink.rows >= at_least and sink.rows:
                on_rows(sink.take())

        for f in books:
            ff = FileFindings(path=str(f.path), size=f.path.stat().st_size)
            before = self.inner.stats.as_dict()
            self.inner.bad_payloads.samples = []
            snapshots: list[int] = []
            empty: list[int] = []
            crossed: list[int] = []
            no_ts = 0
            decode = self.inner.decode
            last = 0
            try:
                for lines, read in _book_lines(f.path):
                    for line in lines:
                        if not line:
                            continue
                        ff.lines += 1
                        m = _TS.search(line, 0, 160)
                        if m is None:
                            no_ts += 1
                            ts = last  # the normalizer decides what it is; it keeps its place in time
                        else:
                            ts = int(m.group(1)) * NS_PER_MS + latency
                            last = ts
                        if tp < n_trades and local[tp] <= ts:
                            k = int(np.searchsorted(local, ts, side="right"))
                            sink.extend(_trade_rows(trades, tp, k, latency))
                            tp = k
                        snapshot = _SNAPSHOT in line[:96]
                        decode(line, ts)
                        if snapshot:
                            snapshots.append(ts)
                            self._check_snapshot(line, ts, empty, crossed)
                        if on_rows is not None and sink.rows >= chunk_rows:
                            hand_over(chunk_rows)
                    if progress is not None:
                        progress(done + read, total)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                ff.problems.append(
                    f"{f.path}: the archive is damaged ({exc}): its rows after line {ff.lines:,} are lost"
                )
            except _NotAZipError as exc:
                ff.fatal = str(exc)
            done += ff.size
            self._book_findings(ff, before, snapshots, empty, crossed, no_ts)
            found[f.path] = ff
        if tp < n_trades:
            sink.extend(_trade_rows(trades, tp, n_trades, latency))
        hand_over(0)
        return [found[f.path] for f in self.files]

    def _check_snapshot(self, line: bytes, ts: int, empty: list[int], crossed: list[int]) -> None:
        # The book a snapshot left: a side empty is a finding; crossed, a finding and out of sync.
        best = {}
        for side in (b"b", b"a"):
            if _EMPTY[side] in line:
                empty.append(ts)
                return
            m = _BEST[side].search(line)
            if m is None:
                return
            best[side] = float(m.group(1))
        if best[b"b"] >= best[b"a"]:
            crossed.append(ts)
            if self.inner.status.state is SyncState.SYNCED:
                self.inner.lose_sync(SyncReason.CROSSED, ts)

    def _book_findings(
        self,
        ff: FileFindings,
        before: dict[str, int],
        snapshots: list[int],
        empty: list[int],
        crossed: list[int],
        no_ts: int,
    ) -> None:
        delta = ff.count(self.inner, before)
        ff.usable = delta["depth_messages"] - delta["other_symbols"]
        path = ff.path
        if no_ts:
            ff.notes.append(f'{path}: {no_ts:,} lines without an exchange time "ts"')
        if len(snapshots) > 1:
            times = ", ".join(at_time(t) for t in snapshots[1:4]) + (" ..." if len(snapshots) > 4 else "")
            ff.notes.append(
                f"{path}: Bybit sent {len(snapshots) - 1} snapshots after the first (at {times}, local time = "
                "exchange time + the assumed feed latency): the book was replaced at each"
            )
        if empty:
            ff.notes.append(
                f"{path}: {len(empty)} snapshots left a side of the book empty (first at {at_time(empty[0])})"
            )
        if crossed:
            ff.notes.append(
                f"{path}: {len(crossed)} snapshots were crossed (best bid >= best ask; first at "
                f"{at_time(crossed[0])}): the book is out of sync from each until the next snapshot"
            )
        if ff.lines == 0 and not ff.fatal and not ff.problems:
            ff.fatal = f"{path}: no order book message in it (an empty archive)"


class _NotAZipError(Exception):
    pass


def _book_lines(path: Path) -> Iterator[tuple[list[bytes], int]]:
    # The order book file's lines, a list per read, with the compressed bytes read so far.
    if path.suffix == ".zip" or zipfile.is_zipfile(path):
        try:
            z = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            why = f"{path}: not a whole zip archive ({exc}): an incomplete download? fetch it again"
            raise _NotAZipError(why) from None
        with z:
            names = z.namelist()
            if len(names) != 1:
                raise _NotAZipError(f"{path}: expected one file in the archive, found {len(names)}")
            info = z.getinfo(names[0])
            with z.open(info) as f:
                tail = b""
                while data := f.read(_READ):
                    lines = (tail + data).split(b"\n")
                    tail = lines.pop()
                    read = int(info.compress_size * min(1.0, f.tell() / max(info.file_size, 1)))
                    yield lines, read
                if tail:
                    yield [tail], info.compress_size
        return
    reader = TextChunks(path)
    for chunk in reader:
        yield bytes(chunk).split(b"\n"), reader.bytes_read
    if reader.damage or reader.truncated:
        raise OSError(reader.damage or "truncated")


# -- the archive: layout, fetching, recognising ---------------------------------------------------------


def _book_rel(market: str, symbol: str, day: dt.date, depth: int) -> str:
    return f"orderbook/{market}/{symbol.upper()}/{day:%Y-%m-%d}_{symbol.upper()}_ob{depth}.data.zip"


def _trades_rel(market: str, symbol: str, day: dt.date) -> str:
    s = symbol.upper()
    return f"trading/{s}/{s}{day:%Y-%m-%d}.csv.gz" if market == "linear" else f"spot/{s}/{s}_{day:%Y-%m-%d}.csv.gz"


class BybitArchive:
    """Bybit's public archive (:class:`~connectors.common.archive.VenueArchive`): per market, symbol and UTC
    day an order book zip and a trade file, under ``<recordings>/bybit-archive/`` laid out as Bybit's URLs
    are (``orderbook/<market>/<SYMBOL>/<YYYY-MM-DD>_<SYMBOL>_ob<depth>.data.zip``; trades
    ``trading/<SYMBOL>/<SYMBOL><YYYY-MM-DD>.csv.gz`` on linear, ``spot/<SYMBOL>/<SYMBOL>_<YYYY-MM-DD>.csv.gz``
    on spot)."""

    venue = "bybit"
    source = SOURCE
    title = "Bybit's archive"
    describe_files = 'an order book zip starting with a {"topic":"orderbook.N.SYMBOL",...} line, or a trade file'
    default_feed_latency_ns = DEFAULT_FEED_LATENCY_NS

    def book_path(self, recordings: Path, market: str, symbol: str, day: dt.date, depth: int) -> Path:
        """Where ``arb fetch`` puts one order book zip."""
        return recordings / SOURCE / _book_rel(market, symbol, day, depth)

    def book_url(self, base: str, market: str, symbol: str, day: dt.date, depth: int) -> str:
        """Bybit's URL of one order book zip."""
        return f"{base.rstrip('/')}/{_book_rel(market, symbol, day, depth)}"

    def trades_path(self, recordings: Path, market: str, symbol: str, day: dt.date) -> Path:
        """Where ``arb fetch`` puts one trade file."""
        return recordings / SOURCE / _trades_rel(market, symbol, day)

    def trades_url(self, base: str, market: str, symbol: str, day: dt.date) -> str:
        """Bybit's URL of one trade file."""
        return f"{base.rstrip('/')}/{_trades_rel(market, symbol, day)}"

    def days(self, recordings: Path, market: str, symbol: str) -> dict[dt.date, ArchiveDay]:
        """Every day with an order book zip (the deepest when several), its trade file beside it when there."""
        out: dict[dt.date, ArchiveDay] = {}
        folder = recordings / SOURCE / "orderbook" / market / symbol.upper()
        if not folder.is_dir():
            return out
        books: dict[dt.date, tuple[int, Path]] = {}
        for path in folder.iterdir():
            m = _BOOK_FILE.match(path.name)
            if m and m["symbol"] == symbol.upper() and path.stat().st_size:
                day = dt.date.fromisoformat(m["day"])
                depth = int(m["depth"])
                if day not in books or depth > books[day][0]:  # the deepest book of the day
                    books[day] = (depth, path)
        for day, (_, book) in books.items():
            trades = self.trades_path(recordings, market, symbol, day)
            inputs = (book, trades) if trades.is_file() and trades.stat().st_size else (book,)
            out[day] = ArchiveDay(inputs, folder / f"{day:%Y-%m-%d}_{symbol.upper()}.npz")
        return out

    def downloads(
        self, recordings: Path, url: Callable[[str], str], market: str, symbol: str, day: dt.date
    ) -> list[ArchiveDownload]:
        """The day's order book zip (the first depth of :data:`DEPTHS` Bybit has) and its trade file."""
        book = tuple(
            (
                self.book_url(url("orderbook"), market, symbol, day, depth),
                self.book_path(recordings, market, symbol, day, depth),
            )
            for depth in DEPTHS
        )
        trades = (
            (self.trades_url(url("trades"), market, symbol, day), self.trades_path(recordings, market, symbol, day)),
        )
        return [
            ArchiveDownload(f"bybit {market} order book {symbol} {day:%Y-%m-%d}", book, "zip"),
            ArchiveDownload(f"bybit {market} trades {symbol} {day:%Y-%m-%d}", trades, "gzip"),
        ]

    def claims(self, path: Path, first_line: bytes, zipped: bool) -> bool:
        """A zip (its one member an order book's lines), a trade file's header, or an unzipped order book."""
        return zipped or first_line.startswith((LINEAR_TRADES_HEADER, SPOT_TRADES_HEADER, b'{"topic":"orderbook.'))

    def identity(
        self, paths: Sequence[Path], venue: str | None, market: str | None, symbol: str | None
    ) -> tuple[str, str, str]:
        """``("bybit", market, symbol)`` of the files: the symbol from their first lines, the market from a
        trade file's header, else from the path (Bybit's layout: ``linear``/``trading``, ``spot``)."""
        if venue is not None and venue != self.venue:
            raise RecordingError(f"{paths[0]}: Bybit's archive holds Bybit data, not {venue}")
        items = []
        for path in paths:
            f = inspect(path)
            if f is None:
                raise RecordingError(f"{path}: not a file of Bybit's archive ({self.describe_files})")
            items.append(f)
        symbols = {f.symbol for f in items if f.symbol}
        if len(symbols) > 1:
            raise RecordingError(
                f"the inputs hold several symbols ({', '.join(sorted(symbols))}): convert one at a time"
            )
        found_symbol = symbols.pop() if symbols else None
        if symbol is not None and found_symbol is not None and symbol.upper() != found_symbol:
            where = next(f.path for f in items if f.symbol == found_symbol)
            raise RecordingError(f"{where}: holds {found_symbol} data, not {symbol.upper()}")
        symbol = (symbol or found_symbol or "").upper()
        if not symbol:
            raise RecordingError(f"{paths[0]}: cannot tell the symbol; pass --symbol")
        market = _market_of(items, market)
        if not any(f.kind == BOOK for f in items):
            raise RecordingError(
                f"no order book file among the inputs ({', '.join(p.name for p in paths)}): the book needs one"
            )
        return self.venue, market, symbol

    def reader(
        self, paths: Sequence[Path], market: str, symbol: str, feed_latency_ns: int, *, scan: bool = True
    ) -> BybitArchiveReader:
        """A fresh :class:`BybitArchiveReader` of ``paths``."""
        items = [inspect(p) for p in paths]
        return BybitArchiveReader(market, symbol, [f for f in items if f is not None], feed_latency_ns, scan=scan)


def _market_of(items: Sequence[ArchiveFile], market: str | None) -> str:
    # The market the files say (trade files' headers), else their paths (Bybit's layout), checked against
    # the one asked for.
    told: dict[str, Path] = {}
    for f in items:
        if f.market is not None:
            told.setdefault(f.market, f.path)
    if not told and market is None:
        for f in items:
            said = _market_in_path(f.path)
            if said is not None:
                told.setdefault(said, f.path)
    if market is not None:
        other = next(((m, p) for m, p in told.items() if m != market), None)
        if other is not None:
            raise RecordingError(f"{other[1]}: looks like Bybit {other[0]} data, not {market}")
        return market
    if len(told) > 1:
        raise RecordingError(f"the inputs mix Bybit markets ({', '.join(f'{p.name}: {m}' for m, p in told.items())})")
    if told:
        return next(iter(told))
    raise RecordingError(
        f"{items[0].path}: cannot tell Bybit's market (an order book file does not say spot or linear); "
        "pass --market spot|linear"
    )


def _market_in_path(path: Path) -> str | None:
    # Bybit's own URL layout (orderbook/linear/..., trading/... for linear trades, spot/... for spot).
    parts = [p.lower() for p in path.parts[:-1]]
    if "linear" in parts or "trading" in parts:
        return "linear"
    if "spot" in parts:
        return "spot"
    name = path.name.lower()
    if "linear" in name:
        return "linear"
    if "spot" in name:
        return "spot"
    return None


ARCHIVE = BybitArchive()
"""Bybit's archive, as the registry hands it out."""
