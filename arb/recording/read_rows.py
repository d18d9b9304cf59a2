"""A day's event rows, handed over chunk by chunk as they are read, for readers that keep far less than a
conversion (the scan).

The rows are exactly the ones :func:`~arb.recording.convert.convert_to_parts` converts: the same sources
(arb's recordings, Tardis's CSV datasets, a venue's archive), the same normalizers and book sync, the same
handling of damaged files. They come in the order they were received, before hftbacktest's corrections of
time and order (a reader that follows receive times needs none).
"""

from __future__ import annotations

__all__ = ["RowsReceiver", "read_rows"]

from collections.abc import Callable, Sequence
from pathlib import Path

from arb.events import EventArray
from arb.recording.convert import DEFAULT_CHUNK_ROWS, ReadChunk, read_inputs
from arb.recording.imports import import_of
from arb.recording.inputs import prepare_inputs
from connectors.common.findings import Findings

RowsReceiver = Callable[[], Callable[[EventArray], None]]
"""Makes the receiver of one read's rows: called again when a damaged file makes the inputs be read twice (the
rows of the first read are then not the day's), so each read starts afresh."""


def read_rows(
    inputs: Sequence[Path],
    receiver: RowsReceiver,
    *,
    venue: str,
    market: str,
    symbol: str,
    fmt: str | None = None,
    feed_latency_ns: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    allow_damaged: bool = False,
    compiled: bool = True,
    read_chunk: ReadChunk | None = None,
) -> Findings:
    """Read ``inputs`` (one venue, market and symbol; consecutive files of one session in time order, or one
    day's files of another source ``fmt``) and call ``receiver()``'s function with every chunk of about
    ``chunk_rows`` rows, in receive order (a view the reader reuses: copy what is kept). Returns what reading
    found (``book_synced`` False when the book never synced: the rows then hold no book).

    Raises :class:`~arb.errors.RecordingError` naming the file for input that is missing, of another venue
    or symbol, or damaged (unless ``allow_damaged``: the damage is skipped and the book marked out of sync
    there). ``compiled``: read with the venue's compiled bulk scanner where it has one (compiled once per
    machine, then the fastest read; False: message by message, nothing to compile). ``read_chunk``: what
    reads each buffer of arb's recorded lines into the normalizer (:func:`~arb.recording.convert.read_inputs`;
    the scan's read of a venue), its rows then handed over after each buffer (``chunk_rows`` unused).
    """
    paths = [Path(p) for p in inputs]
    source = None
    if paths and all(p.is_file() and p.stat().st_size for p in paths):
        source = import_of(paths, fmt, feed_latency_ns)
    paths, venue, market_, symbol_ = prepare_inputs(paths, venue, market, symbol, None, source)
    if source is not None:
        read_chunk = None  # another format's reader reads its own files
    _, findings, _ = read_inputs(
        paths, venue, market_, symbol_, None, False, None, allow_damaged, receiver,
        0 if read_chunk is not None else chunk_rows, scan=compiled, allow_unsynced=True, source=source,
        read_chunk=read_chunk,
    )  # fmt: skip
    return findings
