"""Convert recordings to hftbacktest ``.npz`` files with the connectors' own normalizers.

One call converts one or more consecutive files of one venue and symbol (a session split at UTC
midnight, say): the normalizer and its book-sync state carry from file to file. The rows then go
through hftbacktest's ``correct_local_timestamp``, ``correct_event_order`` and
``validate_event_order``, exactly as hftbacktest's own converters do.

Besides the rows, a conversion yields the end-of-day snapshot: the book at the end of the last file
as ``DEPTH_SNAPSHOT_EVENT`` rows (what hftbacktest's ``initial_snapshot`` takes to start the next
day), with the venue's last update id so the next day's conversion can check continuity from it.

Outputs are written to a temporary file beside the target and renamed into place, so an error or
Ctrl-C never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hftbacktest.data.validation import (
    correct_event_order,
    correct_local_timestamp,
    validate_event_order,
)

from arb.book import OrderBook
from arb.errors import RecordingError
from arb.events import LOCAL_EVENT, EventArray, event_dtype
from arb.recording.format import LineReader, ReadReport
from connectors.binance.normalize import BinanceNormalizer
from connectors.bybit.normalize import BybitNormalizer
from connectors.common.normalizer import NormalizerStats, SyncState, SyncTransition

__all__ = [
    "ConversionResult",
    "EodSnapshot",
    "convert_files",
    "infer_venue",
    "load_eod",
    "make_normalizer",
    "save_eod",
    "write_npz",
]

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
"""Called with (compressed bytes read so far, total compressed bytes)."""

VENUES = ("binance", "bybit")

_SCAN_CHUNK = 1 << 16
"""Compressed bytes read at a time for the bulk scan: ~0.5 MB inflated stays in cache while scanned."""
_PREFETCH = 8
"""Reads inflated ahead on a helper thread while the scan runs (both release the GIL)."""
_INFER_CHUNK = 1 << 14
_BYTES_PER_ROW_HINT = 40
"""Inflated bytes per row to expect (Binance captures run 50-60): sizes the sink once, generously."""


@dataclass(frozen=True, slots=True)
class EodSnapshot:
    """The book at the end of a conversion, to start the next file from."""

    rows: EventArray
    """``DEPTH_SNAPSHOT_EVENT`` rows, bids then asks, best first (hftbacktest's initial_snapshot)."""
    venue: str
    market: str
    symbol: str
    update_id: int
    """The venue's update id of the book in ``rows``."""
    synced: bool
    """False when the stream ended out of sync: the next file must resync from its own snapshot."""
    exch_ts: int
    local_ts: int


@dataclass(slots=True)
class ConversionResult:
    """What :func:`convert_files` produced."""

    rows: EventArray
    eod: EodSnapshot
    venue: str
    market: str
    symbol: str
    stats: NormalizerStats
    reads: list[ReadReport]
    transitions: list[SyncTransition] = field(default_factory=list)
    local_offset_ns: int = 0
    """What was added to every ``local_ts`` (hftbacktest's correction, or the offset asked for)."""

    @property
    def truncated(self) -> list[ReadReport]:
        """The inputs whose gzip stream ended early."""
        return [r for r in self.reads if r.truncated]


def make_normalizer(
    venue: str,
    market: str | None = None,
    symbol: str | None = None,
    *,
    include_bbo: bool = False,
) -> BinanceNormalizer | BybitNormalizer:
    """The normalizer for ``venue`` (``"binance"`` or ``"bybit"``)."""
    if venue == "binance":
        return BinanceNormalizer(symbol, market, include_bbo=include_bbo)
    if venue == "bybit":
        return BybitNormalizer(symbol, market, include_bbo=include_bbo)
    raise RecordingError(f"unknown venue {venue!r}: expected one of {', '.join(VENUES)}")


def infer_venue(path: str | Path, max_lines: int = 200) -> tuple[str, str | None]:
    """Guess ``(venue, market)`` from a recording's first lines (market ``None`` if undecided).

    Binance frames carry ``"stream"`` (or ``"e"``/``"lastUpdateId"``); its market is decided by the
    normalizer from the first depth diff (``pu`` means USD-M). Bybit frames carry ``"topic"``; linear
    tickers carry ``fundingRate``, spot tickers ``usdIndexPrice``; otherwise the path is consulted
    (a folder or file name containing ``spot`` or ``linear``).
    """
    venue: str | None = None
    market: str | None = None
    # Small reads: the first lines are all it needs, and inflating a whole 1 MB read costs ~10 ms.
    for i, (_, payload) in enumerate(LineReader(path, _INFER_CHUNK)):
        if i >= max_lines:
            break
        head = payload[:40]
        if venue is None:
            if b'"topic"' in head:
                venue = "bybit"
            elif b'"stream"' in head or b'"lastUpdateId"' in head or b'"e":"depthUpdate"' in head:
                venue = "binance"
        if venue == "bybit" and b'"tickers.' in head:
            if b'"fundingRate"' in payload:
                market = "linear"
            elif b'"usdIndexPrice"' in payload:
                market = "spot"
        if venue == "binance" or (venue == "bybit" and market is not None):
            break
    if venue is None:
        raise RecordingError(
            f"{path}: cannot tell the venue from the first {max_lines} lines; pass --venue binance|bybit"
        )
    if venue == "bybit" and market is None:
        parts = {p.lower() for p in Path(path).parts}
        text = " ".join(parts)
        if "linear" in text:
            market = "linear"
        elif "spot" in text:
            market = "spot"
    return venue, market


def _feed(
    normalizer: BinanceNormalizer | BybitNormalizer,
    paths: Sequence[Path],
    progress: ProgressFn | None,
) -> list[ReadReport]:
    # Push every line of every file through the normalizer, in order, reporting progress per block.
    total = sum(p.stat().st_size for p in paths)
    done = 0
    reads: list[ReadReport] = []
    for path in paths:
        reader = LineReader(path, _SCAN_CHUNK)
        reads.append(reader.report)
        if isinstance(normalizer, BinanceNormalizer):
            # Rows go straight into the sink's bulk array: size it once from the stated inflated size.
            normalizer.sink.reserve(reader.size_hint() // _BYTES_PER_ROW_HINT)
            for chunk in reader.chunks(prefetch=_PREFETCH):
                reader.add_lines(normalizer.on_chunk(chunk, reader.bad_line))
                if progress is not None:
                    progress(done + reader.report.bytes_read, total)
        else:
            for block in reader.blocks():
                normalizer.on_lines(block, reader.bad_line)
                if progress is not None:
                    progress(done + reader.report.bytes_read, total)
        done += reader.report.bytes_read
    return reads


def convert_files(
    inputs: Sequence[str | Path],
    *,
    venue: str | None = None,
    market: str | None = None,
    symbol: str | None = None,
    initial: EodSnapshot | None = None,
    include_bbo: bool = False,
    base_latency_ns: int = 0,
    local_offset_ns: int | None = None,
    progress: ProgressFn | None = None,
    with_eod: bool = True,
) -> ConversionResult:
    """Convert consecutive recording files of one venue and symbol into event rows.

    ``initial`` is the previous file's end-of-day snapshot: the book starts from it, synced at its
    update id. ``local_offset_ns`` adds a fixed offset to every local time (use one offset for both
    venues of a session, since they share the recorder's clock); ``None`` applies hftbacktest's
    ``correct_local_timestamp(rows, base_latency_ns)``, which shifts local times only when some are
    earlier than the exchange times. ``with_eod=False`` skips rebuilding the end-of-day book (its
    ``rows`` are then empty; the sync state is still reported). Raises :class:`RecordingError` when
    an input is missing or empty, or the venue cannot be inferred.
    """
    paths = [Path(p) for p in inputs]
    if not paths:
        raise RecordingError("no input files given")
    for path in paths:
        if not path.is_file():
            raise RecordingError(f"{path}: no such recording file")
    if venue is None:
        venue, guessed = infer_venue(paths[0])
        market = market or guessed
    if initial is not None:
        if initial.venue != venue:
            raise RecordingError(f"initial snapshot is for {initial.venue}, the recording is {venue}")
        market = market or initial.market
        symbol = symbol or initial.symbol
    normalizer = make_normalizer(venue, market, symbol, include_bbo=include_bbo)
    if initial is not None and initial.synced:
        normalizer.resume(initial.update_id, initial.market, initial.symbol)

    reads = _feed(normalizer, paths, progress)
    if sum(r.lines - r.bad_lines for r in reads) == 0:
        raise RecordingError(f"{', '.join(map(str, paths))}: no messages (empty or not the collector format)")

    raw = normalizer.sink.take()
    rows, offset = _correct(raw, base_latency_ns, local_offset_ns)
    eod = _end_of_day(rows if with_eod else rows[:0], initial if with_eod else None, normalizer)
    return ConversionResult(
        rows=rows,
        eod=eod,
        venue=venue,
        market=normalizer.market,
        symbol=normalizer.symbol,
        stats=normalizer.stats,
        reads=reads,
        transitions=list(normalizer.transitions),
        local_offset_ns=offset,
    )


def _correct(rows: EventArray, base_latency_ns: int, local_offset_ns: int | None) -> tuple[EventArray, int]:
    # hftbacktest's own corrections, in the order its converters apply them.
    if len(rows) == 0:
        return rows, 0
    before = int(rows["local_ts"][0])
    if local_offset_ns is None:
        with _quiet_native_stdout():
            rows = correct_local_timestamp(rows, base_latency_ns)
        offset = int(rows["local_ts"][0]) - before
    else:
        rows["local_ts"] += local_offset_ns
        offset = local_offset_ns
    if offset:
        log.info("shifted local timestamps by %+.3f ms (recorder clock behind the venue's)", offset / 1e6)
    ordered = correct_event_order(
        rows,
        np.argsort(rows["exch_ts"], kind="mergesort"),
        np.argsort(rows["local_ts"], kind="mergesort"),
    )
    validate_event_order(ordered)
    return np.ascontiguousarray(ordered), offset


def _end_of_day(
    rows: EventArray, initial: EodSnapshot | None, normalizer: BinanceNormalizer | BybitNormalizer
) -> EodSnapshot:
    # Rebuild the book from the local-side rows (the order a live strategy saw them) and dump it.
    book = OrderBook()
    if initial is not None and initial.synced:
        book.apply(initial.rows)
    local = rows[(rows["ev"] & LOCAL_EVENT) != 0]
    book.apply(local)
    exch_ts = int(rows["exch_ts"].max()) if len(rows) else (initial.exch_ts if initial else 0)
    local_ts = int(rows["local_ts"].max()) if len(rows) else (initial.local_ts if initial else 0)
    synced = normalizer.status.state is SyncState.SYNCED
    return EodSnapshot(
        rows=book.snapshot_rows(exch_ts, local_ts),
        venue=normalizer.venue,
        market=normalizer.market,
        symbol=normalizer.symbol,
        update_id=normalizer.status.update_id,
        synced=synced,
        exch_ts=exch_ts,
        local_ts=local_ts,
    )


@contextlib.contextmanager
def _quiet_native_stdout() -> Iterator[None]:
    # hftbacktest's compiled correct_local_timestamp prints its shift; arb logs the shift itself.
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        yield


@contextlib.contextmanager
def _atomic_target(path: Path) -> Iterator[Any]:
    # Write to a temporary file in the target's folder, then rename: never a half-written output.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_npz(path: str | Path, rows: EventArray, **extra: Any) -> Path:
    """Save rows as ``.npz`` with key ``data`` (plus any ``extra`` arrays), atomically."""
    path = Path(path)
    if rows.dtype != event_dtype:
        raise TypeError(f"rows must be event_dtype, got {rows.dtype}")
    with _atomic_target(path) as f:
        np.savez_compressed(f, data=rows, **extra)
    return path


def save_eod(path: str | Path, eod: EodSnapshot) -> Path:
    """Save an end-of-day snapshot (``data`` = snapshot rows; metadata alongside), atomically."""
    return write_npz(
        path,
        eod.rows,
        venue=np.array(eod.venue),
        market=np.array(eod.market),
        symbol=np.array(eod.symbol),
        update_id=np.array(eod.update_id, np.int64),
        synced=np.array(eod.synced),
        exch_ts=np.array(eod.exch_ts, np.int64),
        local_ts=np.array(eod.local_ts, np.int64),
    )


def load_eod(path: str | Path) -> EodSnapshot:
    """Load a snapshot written by :func:`save_eod`."""
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such snapshot file")
    try:
        with np.load(path, allow_pickle=False) as z:
            return EodSnapshot(
                rows=np.ascontiguousarray(z["data"]),
                venue=str(z["venue"]),
                market=str(z["market"]),
                symbol=str(z["symbol"]),
                update_id=int(z["update_id"]),
                synced=bool(z["synced"]),
                exch_ts=int(z["exch_ts"]),
                local_ts=int(z["local_ts"]),
            )
    except (KeyError, ValueError, OSError) as exc:
        raise RecordingError(f"{path}: not an arb end-of-day snapshot ({exc})") from exc
