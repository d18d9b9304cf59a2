"""Convert recordings to hftbacktest ``.npz`` files with the connectors' own normalizers.

One call converts one or more consecutive files of one venue and symbol (a session split at UTC
midnight, say): the normalizer and its book-sync state carry from file to file. The rows then go
through hftbacktest's ``correct_local_timestamp``, ``correct_event_order`` and
``validate_event_order``, exactly as hftbacktest's own converters do.

Besides the rows, a conversion yields the end-of-day snapshot: the book at the end of the last file
as ``DEPTH_SNAPSHOT_EVENT`` rows (what hftbacktest's ``initial_snapshot`` takes to start the next
day), with the venue's last update id so the next day's conversion can check continuity from it,
and the mark and funding state of a perpetual (so the next day sees the funding at 00:00 UTC pass).

Outputs are written to a temporary file beside the target and renamed into place, so an error or
Ctrl-C never leaves a half-written file.

Inputs that would give a useless file are refused: an ``.npz`` given as a recording, the same file
twice, files out of time order (told by their lines' receive times, not their names: a file may not
begin before the one given before it ends), and a conversion whose book never synced (no snapshot in
the inputs and no synced book to start from: trades without a book) unless ``allow_unsynced``.

Damaged input (see :mod:`connectors.common.findings` for what is an error and what a warning): a file of
another venue, market or symbol than the one asked for is refused from its first lines
(:func:`sniff`). Corrupt gzip data is refused, or with ``allow_damaged`` skipped: the inflater
notices corruption only after it has passed some garbled lines on, so a damaged file is read a
second time with the damage found the first time skipped, and the book is marked out of sync
(``SyncReason.DAMAGED``) where lines were lost. The normalizers run with ``echo`` off: what they
meet is counted and summarised in the findings, never logged line by line.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "ConversionResult",
    "PartsResult",
    "ReadChunk",
    "convert_files",
    "convert_to_parts",
    "read_inputs",
]

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from arb.events import LOCAL_EVENT, EventArray, SyncReason, event_dtype
from arb.recording import plain as _plain
from arb.recording.imports import Import, ImportReader, import_of
from arb.recording.inputs import prepare_inputs
from arb.recording.npz import (
    EodSnapshot,
    PartWriter,
    Worker,
    add_arrays,
    part_path,
    remove_parts_after,
)
from arb.recording.stream import Bounds, OrderStream
from arb.recording.venues import (
    make_normalizer,
    merge_pays,
    plain_pays,
    say_converter_compiling,
    scan_pays,
)
from connectors.common.findings import FileFindings, Findings, ProgressFn
from connectors.common.lazy import lazy_module
from connectors.common.normalizer import NormalizerStats, SyncState, SyncTransition, VenueNormalizer
from connectors.common.record_files import Cut, LineReader, Mark
from connectors.registry import venue as venue_connector

if TYPE_CHECKING:
    from arb import book as _book
    from arb.recording import corrections as _corrections
else:  # compiled: loaded by a conversion that uses them (not the Numba-free one)
    _book = lazy_module("arb.book")
    _corrections = lazy_module("arb.recording.corrections")

log = logging.getLogger(__name__)

ReadChunk: TypeAlias = Callable[[VenueNormalizer[Any], bytes | memoryview, Callable[[bytes], None]], int]
"""Reads a buffer of whole recorded lines into a normalizer as its ``on_chunk`` does: ``(normalizer, buffer,
on_bad_line) -> non-empty lines`` (:func:`read_inputs`'s ``read_chunk``)."""

_SCAN_CHUNK = 1 << 16
"""Compressed bytes read at a time for the bulk scan: ~0.5 MB inflated stays in cache while scanned."""
_PLAIN_CHUNK = 1 << 18
"""The same for the bulk read without Numba, whose array operations cost more per call than per byte."""
_PREFETCH = 8
"""Reads inflated ahead on a helper thread while the scan runs (both release the GIL)."""
_BYTES_PER_ROW_HINT = 40
"""Inflated bytes per row to expect (Binance captures run 50-60): sizes the sink once, generously."""
_CHUNK_SLACK = 1 << 16
"""Rows of room beyond a chunk in the sink: one read's rows arrive before the chunk is handed over."""
DEFAULT_CHUNK_ROWS = 1_000_000
"""Rows :func:`convert_to_parts` converts and writes at a time: 64 MB of event rows (64 bytes each);
a conversion holds about five chunks besides the interpreter (~550 MB in all, measured)."""
_NO_ROWS = np.zeros(0, event_dtype)

_Reader: TypeAlias = "VenueNormalizer[Any] | ImportReader"
"""What a conversion reads with: a venue's normalizer (recordings) or another format's reader."""


@dataclass(slots=True, kw_only=True)
class _Conversion:
    # What both conversion results say: the venue, the end-of-day state and what the inputs held.
    eod: EodSnapshot
    venue: str
    market: str
    symbol: str
    stats: NormalizerStats
    findings: Findings
    """What reading and converting found (warnings to print; errors were raised)."""
    transitions: list[SyncTransition] = field(default_factory=list)
    local_offset_ns: int = 0
    """What was added to every ``local_ts`` (hftbacktest's correction, or the offset asked for)."""

    @property
    def reads(self) -> list[FileFindings]:
        """What was found in each input, in order."""
        return self.findings.files

    @property
    def truncated(self) -> list[FileFindings]:
        """The inputs whose gzip stream ended early."""
        return [f for f in self.findings.files if f.truncated]


def _said(venue: str, normalizer: _Reader, findings: Findings, offset: int) -> dict[str, Any]:
    # The keywords of _Conversion but eod, from the conversion's reader
    return {
        "venue": venue,
        "market": normalizer.market,
        "symbol": normalizer.symbol,
        "stats": normalizer.stats,
        "findings": findings,
        "transitions": list(normalizer.transitions),
        "local_offset_ns": offset,
    }


@dataclass(slots=True, kw_only=True)
class ConversionResult(_Conversion):
    """What :func:`convert_files` produced."""

    rows: EventArray


def _feed(
    normalizer: _Reader,
    paths: Sequence[Path],
    progress: ProgressFn | None,
    plan: dict[Path, list[Mark]],
    keep_going: bool,
    on_rows: Callable[[EventArray], None] | None = None,
    chunk_rows: int = 0,
    scan: bool = True,
    read_chunk: ReadChunk | None = None,
) -> list[FileFindings]:
    # Push every line of every file through the normalizer, in order, reporting progress per block,
    # and say what each file held. With ``on_rows``, the rows are handed over as they come, whenever
    # ``chunk_rows`` or more are held and at the end, instead of staying in the sink. ``scan``: a venue
    # whose recordings have a bulk scan gets whole buffers (on_chunk), the others line by line (on_lines); so
    # does a normalizer without compiled code whose venue reads whole buffers without it (plain_chunks).
    # ``read_chunk``: whole buffers, read by it instead of on_chunk.
    if not isinstance(normalizer, VenueNormalizer):  # another format reads its files itself
        return normalizer.feed(progress, on_rows, chunk_rows)
    on_chunk = normalizer.on_chunk if read_chunk is None else partial(read_chunk, normalizer)
    if read_chunk is not None:
        bulk = True
    elif normalizer.compiled:
        bulk = scan and venue_connector(normalizer.venue).recordings.bulk_scan
    else:  # a venue whose whole buffers are read in bulk without Numba too (wanted bookTickers: not in bulk)
        bulk = normalizer.plain_chunks and not normalizer.include_bbo
    total = sum(p.stat().st_size for p in paths)
    done = 0
    found: list[FileFindings] = []
    sink = normalizer.sink

    def hand_over(at_least: int) -> None:
        if on_rows is not None and sink.rows >= at_least and sink.rows:
            on_rows(sink.take())

    def lost(mark: Mark) -> None:
        # Lines were lost here: nothing is known of the book until it resyncs.
        reason = SyncReason.DISCONNECT if isinstance(mark, Cut) else SyncReason.DAMAGED
        ts = mark.last_ts if isinstance(mark, Cut) else mark.last_good_ts
        normalizer.lose_sync(reason, ts or normalizer.status.last_depth_local_ts)

    for path in paths:
        size = _SCAN_CHUNK if normalizer.compiled else _PLAIN_CHUNK
        reader = LineReader(path, size, skip=plan.get(path, ()), keep_going=keep_going, on_lost=lost)
        before = normalizer.stats.as_dict()
        names_before = set(normalizer.stats.unknown_stream_names)
        normalizer.bad_payloads.samples = []
        if bulk:
            # Rows go straight into the sink's bulk array: size it once from the stated inflated size
            # (or for a chunk, when they are handed over in chunks).
            room = reader.size_hint() // _BYTES_PER_ROW_HINT
            normalizer.sink.reserve(min(room, chunk_rows + _CHUNK_SLACK) if on_rows is not None else room)
            for chunk in reader.chunks(prefetch=_PREFETCH):
                reader.add_lines(on_chunk(chunk, reader.bad_line))
                if on_rows is not None and sink.rows >= chunk_rows:
                    hand_over(chunk_rows)
                    sink.reserve(chunk_rows + _CHUNK_SLACK)
                if progress is not None:
                    progress(done + reader.report.bytes_read, total)
        else:
            for block in reader.blocks():
                normalizer.on_lines(block, reader.bad_line)
                hand_over(chunk_rows)
                if progress is not None:
                    progress(done + reader.report.bytes_read, total)
        done += reader.report.size
        found.append(_file_findings(reader, normalizer, before, names_before))
    hand_over(0)
    return found


def _file_findings(
    reader: LineReader,
    normalizer: VenueNormalizer[Any],
    before: dict[str, int],
    names_before: set[str],
) -> FileFindings:
    names = sorted(normalizer.stats.unknown_stream_names - names_before)
    found = FileFindings.of_read(reader.report)
    delta = found.count(normalizer, before)
    found.usable = delta["depth_messages"] + delta["trade_messages"] - delta["other_symbols"]
    found.unknown_names = names[:3]
    found.unknown_name_count = len(names)
    return found


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
    allow_damaged: bool = False,
    scan: bool | None = True,
    merge: bool | None = True,
    allow_unsynced: bool = False,
    fmt: str | None = None,
    feed_latency_ns: int | None = None,
    plain: bool | None = False,
) -> ConversionResult:
    """Convert consecutive recording files of one venue and symbol into event rows.

    ``initial`` is the previous file's end-of-day snapshot: the book starts from it, synced at its
    update id. ``local_offset_ns`` adds a fixed offset to every local time (use one offset for both
    venues of a session, since they share the recorder's clock); ``None`` applies hftbacktest's
    ``correct_local_timestamp(rows, base_latency_ns)``, which shifts local times only when some are
    earlier than the exchange times. ``with_eod=False`` skips rebuilding the end-of-day book (its
    ``rows`` are then empty; the sync state is still reported). ``allow_damaged`` keeps what can be
    read of a damaged file instead of refusing it. ``allow_unsynced`` converts inputs whose book never
    syncs (no snapshot in them, and no synced ``initial``): trades without a book, refused otherwise.

    ``scan`` chooses how messages are decoded, never what comes out: True (the default) through the
    venue's compiled scanners (``connectors.*.fastscan``: several times faster, compiled once, a few
    seconds, the first time they are used after an install); False message by message; None the
    scanners when :func:`scan_pays` says so for these inputs. ``merge`` likewise chooses how the
    end-of-day book applies its rows (True: merging runs; None: as :func:`merge_pays` says).

    ``fmt``: the inputs' format (``recording``, ``tardis``, a venue's archive: :mod:`arb.recording.imports`);
    None tells it from the files. ``feed_latency_ns``: for a venue's archive, which has no receive time,
    local time = exchange time + this (None: the default, 10 ms).

    ``plain=True`` converts without any compiled code, never importing Numba (``scan`` and ``merge`` are
    then moot): each venue's per-message code, hftbacktest's corrections and the end-of-day book in NumPy
    (:mod:`arb.recording.plain`); None: so when :func:`plain_pays` says so for these inputs. The same
    rows, counters and findings either way.

    Every row is held in memory; :func:`convert_to_parts` converts a day of any size into files,
    holding a chunk at a time, with the same rows.

    Raises :class:`RecordingError` when an input is missing, empty, an ``.npz`` rather than a
    recording, of another venue, market or symbol than asked for, damaged, or out of time order (a
    file that begins before the one given before it ends), and
    :class:`~connectors.common.findings.UnsyncedBookError` when the book never synced (the first
    problem, worded by :class:`Findings`); what is only worth a warning is in ``result.findings``,
    for the caller to print.
    """
    source = _import_of(inputs, fmt, feed_latency_ns)
    paths, venue, market, symbol = prepare_inputs(inputs, venue, market, symbol, initial, source)
    size = sum(p.stat().st_size for p in paths)
    plain = plain_pays(size) if plain is None else plain
    if plain:
        scan, merge = False, False
    elif merge is None:
        merge = merge_pays(size)
    normalizer, findings, _ = read_inputs(
        paths, venue, market, symbol, initial, include_bbo, progress, allow_damaged, scan=scan, merge=merge,
        allow_unsynced=allow_unsynced, source=source, shift=local_offset_ns is None, plain=plain,
    )  # fmt: skip
    raw = normalizer.sink.take()
    rows, offset = _correct(raw, base_latency_ns, local_offset_ns, plain)
    eod = _end_of_day(rows if with_eod else rows[:0], initial if with_eod else None, normalizer, merge, plain)
    return ConversionResult(rows=rows, eod=eod, **_said(venue, normalizer, findings, offset))


def read_inputs(
    paths: list[Path],
    venue: str,
    market: str | None,
    symbol: str | None,
    initial: EodSnapshot | None,
    include_bbo: bool,
    progress: ProgressFn | None,
    allow_damaged: bool,
    on_rows: Callable[[], Callable[[EventArray], None]] | None = None,
    chunk_rows: int = 0,
    plan: dict[Path, list[Mark]] | None = None,
    *,
    scan: bool | None = True,
    merge: bool = False,
    allow_unsynced: bool = False,
    source: Import | None = None,
    shift: bool = True,
    plain: bool = False,
    read_chunk: ReadChunk | None = None,
) -> tuple[_Reader, Findings, dict[Path, list[Mark]]]:
    """Read every input (:func:`prepare_inputs`' paths) through a fresh normalizer; read again, skipping
    them, when garbled lines reached it; raise what the findings make an error. ``on_rows()`` gives each
    read's receiver of the rows in chunks of about ``chunk_rows`` (None: they stay in the sink); the rows
    are in the order the lines were received, before any correction of times or order. Returns the
    normalizer, the findings and the lines skipped (``plan``: give it back to read the same rows again).
    ``scan``: as convert_files takes it; ``merge``: whether the book will merge runs, ``shift``: whether
    the local times' shift is found rather than given (these two only to say what compiles). ``plain``: a
    normalizer without compiled code (nothing compiles: nothing is said, Numba's cache is not looked at).
    ``read_chunk``: what reads each buffer of a recording's lines into the normalizer instead of its
    ``on_chunk`` (the same rows and counts for less: the scan's read of a venue, :mod:`arb.scan.tops`)."""
    fixed = plan is not None
    plan = dict(plan or {})
    if plain:
        scan = False
    elif scan is None:
        scan = scan_pays(venue, sum(p.stat().st_size for p in paths))
    if not fixed and not plain:
        say_converter_compiling(venue, scan, merge, shift)
    while True:
        normalizer: _Reader
        if source is not None:
            normalizer = source.reader(paths, venue, market or "", symbol or "", scan=scan)
        else:
            normalizer = make_normalizer(
                venue, market, symbol, include_bbo=include_bbo, echo=False, bulk=True, scan=scan, compiled=not plain
            )
        if initial is not None and initial.synced:
            normalizer.resume(initial.update_id, initial.market, initial.symbol)
        if initial is not None and isinstance(normalizer, VenueNormalizer):
            normalizer.restore_state(initial.venue_state)
        if initial is not None:
            normalizer.perp.restore(initial.perp)
        receiver = on_rows() if on_rows is not None else None
        files = _feed(normalizer, paths, progress, plan, allow_damaged, receiver, chunk_rows, scan, read_chunk)
        resumed = initial is not None and initial.synced
        findings = Findings(
            venue, normalizer.market, normalizer.symbol, files, allow_damaged,
            book_synced=resumed or any(t.state is SyncState.SYNCED for t in normalizer.transitions),
            snapshots=normalizer.stats.snapshots,
            initial_synced=None if initial is None else initial.synced,
        )  # fmt: skip
        damaged = any(f.damage for f in files)
        if not fixed and not plan and any(f.tainted for f in files) and (allow_damaged or not damaged):
            # Garbled lines reached the normalizer before the inflater noticed: read again, skipping them.
            plan = {Path(f.path): [*f.damage, *f.cuts] for f in files}
            continue
        findings.check(allow_damaged, allow_unsynced)
        return normalizer, findings, plan


@dataclass(slots=True, kw_only=True)
class PartsResult(_Conversion):
    """What :func:`convert_to_parts` wrote and found."""

    parts: list[Path]
    """The part files in order: together they hold the rows :func:`convert_files` returns."""
    part_rows: list[int]
    """Rows in each part."""
    min_latency_ns: int = 0
    """Smallest ``local_ts - exch_ts`` of the rows written (0 without rows)."""
    first_local_ts: int = 0
    last_local_ts: int = 0
    first_exch_ts: int = 0
    last_exch_ts: int = 0
    """The smallest (``first_``) and largest (``last_``) ``local_ts`` and ``exch_ts`` written (0 without rows)."""
    single: EventArray | None = None
    """The rows, when they are one part (what was written to the target); None for several parts."""

    @property
    def rows(self) -> int:
        """Rows written in all."""
        return sum(self.part_rows)


def convert_to_parts(
    inputs: Sequence[str | Path],
    target: str | Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    venue: str | None = None,
    market: str | None = None,
    symbol: str | None = None,
    initial: EodSnapshot | None = None,
    include_bbo: bool = False,
    base_latency_ns: int = 0,
    local_offset_ns: int | None = None,
    progress: ProgressFn | None = None,
    allow_damaged: bool = False,
    index: Callable[[PartsResult], dict[str, Any]] | None = None,
    scan: bool | None = True,
    merge: bool | None = True,
    allow_unsynced: bool = False,
    fmt: str | None = None,
    feed_latency_ns: int | None = None,
    plain: bool | None = False,
) -> PartsResult:
    """Convert like :func:`convert_files`, holding about ``chunk_rows`` rows at a time, into files.

    The rows are written to ``target`` (part 0) and, when there are more than ``chunk_rows`` of them,
    to further parts beside it (:func:`part_path`); parts of an earlier, longer conversion to the
    same target are removed. Concatenated, the parts equal ``convert_files(...).rows`` row for row.
    Part 0 is written last, with the arrays ``index(result)`` gives beside its ``data``, so a
    complete ``target`` means complete parts. The end-of-day snapshot is in ``result.eod`` (save it
    with :func:`save_eod`).

    An input of at most ``chunk_rows`` rows is read once and converted in memory, exactly as
    :func:`convert_files` does, into ``target`` alone. A larger one is read twice: the first read
    settles the damage to skip, the findings, the local-time offset and, per chunk, the earliest
    times still to come; the second converts and writes chunk by chunk
    (:mod:`arb.recording.stream` has how hftbacktest's corrections are applied without the whole
    day). Memory is then a few chunks (each ``chunk_rows`` x 64 bytes) plus one feed latency's rows,
    whatever the size of the input.

    ``plain`` as :func:`convert_files` takes it (None: :func:`plain_pays`): the read, and for an input
    of at most ``chunk_rows`` rows the whole conversion, without Numba; a larger input's second read
    and its chunked corrections are compiled.

    Raises what :func:`convert_files` raises, and ``ValueError`` for ``chunk_rows < 1``.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    target = Path(target)
    source = _import_of(inputs, fmt, feed_latency_ns)
    paths, venue, market, symbol = prepare_inputs(inputs, venue, market, symbol, initial, source)
    total = [0]
    kept: list[EventArray] = []
    bounds: list[Bounds] = []

    def first_read() -> Callable[[EventArray], None]:
        # Keep the rows while they fit in one chunk; account for them in any case.
        total[0] = 0
        kept.clear()
        bounds[:] = [Bounds(chunk_rows)]

        def receive(rows: EventArray) -> None:
            bounds[0].add(rows)
            total[0] += len(rows)
            if total[0] <= chunk_rows:
                kept.append(rows.copy())
            else:
                kept.clear()

        return receive

    two_reads = _halves(progress)
    size = sum(p.stat().st_size for p in paths)
    plain = plain_pays(size) if plain is None else plain
    if plain:
        scan = False
    elif scan is None:
        scan = scan_pays(venue, size)
    if merge is None:
        merge = False if plain else merge_pays(size)
    normalizer, findings, plan = read_inputs(
        paths, venue, market, symbol, initial, include_bbo, two_reads[0], allow_damaged, first_read, chunk_rows,
        scan=scan, merge=merge, allow_unsynced=allow_unsynced, source=source, shift=local_offset_ns is None,
        plain=plain,
    )  # fmt: skip
    span = _Span()
    parts: list[Path] = []
    part_rows: list[int] = []
    first: list[EventArray] = []
    hidden = target.with_name(f".{target.name}.first")  # part 0 until the index is added (streaming)

    def write(rows: EventArray) -> None:
        # Account for a part and hand it to the writer (part 0 goes aside until the end), which
        # deflates it, and to the end-of-day book, each on a thread of its own (both release the GIL).
        i = len(parts)
        parts.append(part_path(target, i))
        part_rows.append(len(rows))
        if i == 0 and total[0] <= chunk_rows:
            first.append(rows)  # the whole input: nothing reuses these rows
            writer.put(hidden, rows)
        else:
            writer.put(hidden if i == 0 else parts[-1], rows.copy())  # the stream reuses its buffer
        if booker is not None:
            booker.put(rows[(rows["ev"] & LOCAL_EVENT) != 0])  # (a new array: the stream reuses its buffer)
        span.add(rows)

    booker: Worker | None = None
    eod_rows: EventArray | None = None
    if total[0] <= chunk_rows:
        rows, offset = _correct(np.concatenate(kept) if kept else _NO_ROWS, base_latency_ns, local_offset_ns, plain)
        kept.clear()
        writer = PartWriter()
        if plain:  # the book from the rows in NumPy while the writer deflates them
            with _writing(hidden, writer):
                write(rows)
                eod_rows = _eod_rows(rows, initial, _eod_times(span, initial), merge, plain)
        else:
            book = _initial_book(initial, merge)
            booker = Worker(partial(book.apply, merge=merge, final=True), "arb-eod-book", waiting=2)
            with _writing(hidden, writer, booker):
                write(rows)
            eod_rows = book.snapshot_rows(*_eod_times(span, initial))
        if progress is not None:  # the second half of the progress was not needed
            size = sum(path.stat().st_size for path in paths)
            progress(size, size)
    else:
        found = bounds[0]
        if local_offset_ns is None:
            latency = found.min_latency
            offset = -latency + base_latency_ns if latency < 0 else 0
        else:
            offset = local_offset_ns
        _say_shift(offset)
        stream = OrderStream(found, offset, chunk_rows, write)
        writer = PartWriter()
        book = _initial_book(initial, merge)
        booker = Worker(partial(book.apply, merge=merge, final=True), "arb-eod-book", waiting=2)
        with _writing(hidden, writer, booker):
            normalizer, _, _ = read_inputs(
                paths, venue, market, symbol, initial, include_bbo, two_reads[1], allow_damaged,
                lambda: stream.add, chunk_rows, plan, scan=scan, allow_unsynced=allow_unsynced, source=source,
            )  # fmt: skip
            stream.finish()
        eod_rows = book.snapshot_rows(*_eod_times(span, initial))
    result = PartsResult(
        parts=parts,
        part_rows=part_rows,
        eod=_book_snapshot(eod_rows, *_eod_times(span, initial), normalizer),
        **_said(venue, normalizer, findings, offset),
        min_latency_ns=span.min_latency,
        first_local_ts=span.first_local,
        last_local_ts=span.last_local,
        first_exch_ts=span.min_exch,
        last_exch_ts=span.max_exch,
        single=first[0] if len(parts) == 1 else None,
    )
    remove_parts_after(target, len(parts))
    extra = index(result) if index is not None else {}
    if extra:
        add_arrays(hidden, extra)
    os.replace(hidden, target)
    return result


class _Span:
    # Running extremes of the rows written: what the end-of-day snapshot and a day's index need.
    def __init__(self) -> None:
        self.rows = 0
        self.min_exch = 0
        self.max_exch = 0
        self.first_local = 0
        self.last_local = 0
        self.min_latency = 0

    def add(self, rows: EventArray) -> None:
        if not len(rows):
            return
        exch_lo = int(rows["exch_ts"].min())
        exch = int(rows["exch_ts"].max())
        lo = int(rows["local_ts"].min())
        hi = int(rows["local_ts"].max())
        lat = int((rows["local_ts"] - rows["exch_ts"]).min())
        if self.rows == 0:
            self.min_exch, self.max_exch, self.first_local, self.last_local = exch_lo, exch, lo, hi
            self.min_latency = lat
        else:
            self.min_exch = min(self.min_exch, exch_lo)
            self.max_exch = max(self.max_exch, exch)
            self.first_local = min(self.first_local, lo)
            self.last_local = max(self.last_local, hi)
            self.min_latency = min(self.min_latency, lat)
        self.rows += len(rows)


def _halves(progress: ProgressFn | None) -> tuple[ProgressFn | None, ProgressFn | None]:
    # Progress of a conversion that may read its inputs twice: the first read is the first half.
    if progress is None:
        return None, None
    report = progress

    def first(done: int, total: int) -> None:
        report(done, 2 * total)

    def second(done: int, total: int) -> None:
        report(total + done, 2 * total)

    return first, second


def _eod_times(span: _Span, initial: EodSnapshot | None) -> tuple[int, int]:
    # The end-of-day snapshot's exchange and local times: the last rows' (the initial snapshot's without rows).
    exch_ts = span.max_exch if span.rows else (initial.exch_ts if initial else 0)
    local_ts = span.last_local if span.rows else (initial.local_ts if initial else 0)
    return exch_ts, local_ts


def _initial_book(initial: EodSnapshot | None, merge: bool) -> _book.OrderBook:
    # A compiled book holding the initial snapshot's levels (empty without a synced one).
    book = _book.OrderBook()
    if initial is not None and initial.synced:
        book.apply(initial.rows, merge=merge)
    return book


def _eod_rows(
    rows: EventArray, initial: EodSnapshot | None, times: tuple[int, int], merge: bool, plain: bool
) -> EventArray:
    # The book after the initial snapshot's levels and the local-side ``rows`` (the order a live strategy
    # saw them), as snapshot rows at ``times``: in NumPy when ``plain`` (unless its prices are odd).
    mine = (rows["ev"] & LOCAL_EVENT) != 0
    if plain:  # the three columns the book reads, not whole rows
        start = initial.rows if initial is not None and initial.synced else _NO_ROWS
        ev, px, qty = (np.concatenate((start[name], rows[name][mine])) for name in ("ev", "px", "qty"))
        found = _plain.end_of_day_levels(ev, px, qty, *times)
        if found is not None:
            return found
    local = np.compress(mine, rows)  # (boolean indexing: 5x slower on these rows)
    book = _initial_book(initial, merge)
    book.apply(local, merge=merge, final=True)
    return book.snapshot_rows(*times)


def _book_snapshot(rows: EventArray, exch_ts: int, local_ts: int, normalizer: _Reader) -> EodSnapshot:
    # The end-of-day snapshot of the book's ``rows`` at these times, with the reader's sync and perpetual state.
    return EodSnapshot(
        rows=rows,
        venue=normalizer.venue,
        market=normalizer.market,
        symbol=normalizer.symbol,
        update_id=normalizer.status.update_id,
        synced=normalizer.status.state is SyncState.SYNCED,
        exch_ts=exch_ts,
        local_ts=local_ts,
        perp=normalizer.perp.saved(),
        venue_state=normalizer.saved_state() if isinstance(normalizer, VenueNormalizer) else "",
    )


def _correct(
    rows: EventArray, base_latency_ns: int, local_offset_ns: int | None, plain: bool = False
) -> tuple[EventArray, int]:
    # hftbacktest's own corrections, in the order its converters apply them (``plain``: in NumPy).
    if len(rows) == 0:
        return rows, 0
    fix = _plain if plain else _corrections
    before = int(rows["local_ts"][0])
    if local_offset_ns is None:
        with _quiet_native_stdout():
            rows = fix.correct_local_timestamp(rows, base_latency_ns)
        offset = int(rows["local_ts"][0]) - before
    else:
        rows["local_ts"] += local_offset_ns
        offset = local_offset_ns
    _say_shift(offset)
    ordered = fix.correct_event_order(
        rows,
        np.argsort(rows["exch_ts"], kind="mergesort"),
        np.argsort(rows["local_ts"], kind="mergesort"),
    )
    fix.validate_event_order(ordered)
    return np.ascontiguousarray(ordered), offset


def _end_of_day(
    rows: EventArray, initial: EodSnapshot | None, normalizer: _Reader, merge: bool, plain: bool = False
) -> EodSnapshot:
    # Rebuild the book from the local-side rows (the order a live strategy saw them) and dump it.
    exch_ts = int(rows["exch_ts"].max()) if len(rows) else (initial.exch_ts if initial else 0)
    local_ts = int(rows["local_ts"].max()) if len(rows) else (initial.local_ts if initial else 0)
    return _book_snapshot(_eod_rows(rows, initial, (exch_ts, local_ts), merge, plain), exch_ts, local_ts, normalizer)


def _say_shift(offset: int) -> None:
    if offset:
        log.info("shifted local timestamps by %+.3f ms (recorder clock behind the venue's)", offset / 1e6)


@contextlib.contextmanager
def _writing(hidden: Path, *workers: Worker) -> Iterator[None]:
    # Close the workers (the part writer, the end-of-day book) whatever happens, each once its work is
    # done, raising the first one's failure; on any error (Ctrl-C included) remove the hidden part 0.
    try:
        try:
            yield
        finally:
            failed: BaseException | None = None
            for worker in workers:
                try:
                    worker.close()
                except BaseException as exc:  # noqa: BLE001  # every worker is closed; the first failure is raised
                    failed = failed or exc
            if failed is not None:
                raise failed
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            hidden.unlink()
        raise


@contextlib.contextmanager
def _quiet_native_stdout() -> Iterator[None]:
    # hftbacktest's compiled correct_local_timestamp prints its shift; arb logs the shift itself.
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        yield


# -- other formats (arb.recording.imports) ---------------------------------------------------------------


def _import_of(inputs: Sequence[str | Path], fmt: str | None, feed_latency_ns: int | None) -> Import | None:
    # Tardis's CSV datasets and venues' archives go through their own readers (None: arb's recordings).
    paths = [Path(p) for p in inputs]
    if not paths or not all(p.is_file() and p.stat().st_size for p in paths):
        return None  # _prepare says what is missing or empty
    return import_of(paths, fmt, feed_latency_ns)
