"""A venue's compiled pass over a buffer of recorded lines, and the Python around it.

A venue whose normalizer reads a recording line by line (decoding each in Python and handing its common frames
to its compiled frame scanners, one call each) can read a whole buffer of lines in one compiled call instead:
the venue's pass walks the buffer with the helpers here (:func:`next_frame`, :func:`end_pass`) and settles the
frames its frame scanners settle, on the same terms. The first line it cannot settle stops the pass
(:data:`DECLINED`) and goes through the normalizer's own code, which decides, counts and logs as always; the
pass then goes on from the line after it with the state the normalizer now has (:func:`read_buffer`). So the
rows, their order and every counter are those of the normalizer's ``on_lines`` over the same lines.

A venue's pass is ``scan_lines(lines, end, out, state, *its own arguments) -> code``: it handles the lines of
``buf[state[S_POS]:end]`` (``lines`` is ``(buf, words)``: the ``uint8`` buffer, ``\\n``-separated, empty lines
skipped, and its whole eight-byte words as ``uint64``, for :func:`line_end`) until one must go through the
normalizer's own code, writing rows into ``out`` (an ``event_dtype`` array) after the ``state[S_FILL]`` in use.
It returns :data:`DONE`, :data:`DECLINED` (the line at ``state[S_POS]``, ending at ``state[S_LINE_END]``, was
not counted: run it through the normalizer, then call again from the line after it) or :data:`NEEDS_ROOM`
(grow ``out``, call again); whichever it returns, the state and ``out`` hold the effect of exactly the lines
before ``state[S_POS]``.

State crosses the boundary in that one int64 array: the slots ``S_*`` here, which every pass shares (where it
is, the book's chaining, the counters a normalizer keeps for every venue), then the venue's own from
:data:`S_VENUE` on. :func:`read_buffer` fills it from the normalizer before each call and copies it back after.
Binance's bulk scan (``connectors.binance.fastscan.scan_lines``, which its normalizer runs itself) shares the
codes and the first three slots.
"""

from __future__ import annotations

__all__ = [
    "DECLINED",
    "DONE",
    "NEEDS_ROOM",
    "STATE_SIZE",
    "S_APPLIED",
    "S_APPLIED_EXCH_TS",
    "S_APPLIED_LOCAL_TS",
    "S_CLOCK_OFFSET",
    "S_DEPTH",
    "S_FILL",
    "S_LAST_ID",
    "S_LINES",
    "S_LINE_END",
    "S_MESSAGES",
    "S_POS",
    "S_STEADY",
    "S_TRADES",
    "S_VENUE",
    "OwnChunks",
    "ScanRead",
    "VenuePass",
    "applied",
    "end_pass",
    "has_room",
    "line_end",
    "name_bytes",
    "next_frame",
    "read_buffer",
    "traded",
]

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from arb._jit import njit
from arb.events import empty_events
from connectors.common.normalizer import BookSync, VenueNormalizer
from connectors.common.scan import FAIL, INT64_MAX, INT64_MIN, read_local_ts

N = TypeVar("N", bound=VenueNormalizer[Any])

DONE = 0
"""Every line up to ``end`` was handled."""
DECLINED = 1
"""The line ``buf[S_POS:S_LINE_END]`` needs the normalizer's own code; nothing of it counts."""
NEEDS_ROOM = 2
"""``out`` has too little room for the line at ``S_POS``: grow it and call again."""

# The state array. In: read by the pass. In/out: read and updated. Out: counters, added to.
S_POS = 0
"""In/out: where the next line starts."""
S_LINE_END = 1
"""Out, with DECLINED: the index of the declined line's ``\\n`` (or ``end``)."""
S_FILL = 2
"""In/out: rows of ``out`` in use."""
S_STEADY = 3
"""In: 1 when a book update may be applied here (the book synced, and chained as the venue chains it)."""
S_LAST_ID = 4
"""In/out: the sync machine's last update id."""
S_CLOCK_OFFSET = 5
"""In/out: the normalizer's ``exchange - local`` offset (ns)."""
S_APPLIED = 6
"""Out: book updates applied here (the last one's id is S_LAST_ID, its times the next two)."""
S_APPLIED_LOCAL_TS = 7
"""Out: local time of the last book update applied here."""
S_APPLIED_EXCH_TS = 8
"""Out: exchange time of the last book update applied here."""
S_DEPTH = 9
"""Out: added to ``stats.depth_messages``."""
S_TRADES = 10
"""Out: added to ``stats.trade_messages``."""
S_LINES = 11
"""Out: non-empty lines passed (handled or declined), for the reader's report."""
S_MESSAGES = 12
"""Out: lines handled here, added to ``stats.messages``."""
S_VENUE = 13
"""The first slot of the venue's own."""
STATE_SIZE = S_VENUE
"""Slots of a pass that has none of its own."""

_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)
_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)
"""Eight '\\n's, eight ones, eight high bits: a word holds a '\\n' when ``(x - ONES) & ~x & HIGHS`` is not 0, x the
word with eight '\\n's xor'ed away."""
_ROOM = 1 << 16
"""Rows reserved in the sink before each pass (it asks for more when a line needs them)."""


@njit(cache=True, nogil=True, internal=True)
def line_end(lines: Any, i: int, n: int) -> int:
    """``connectors.common.scan.line_end`` (the first ``\\n`` at or after ``i``, or ``n``) eight bytes at a time:
    ``lines`` is ``(buf, words)``, ``words`` the buffer's whole eight-byte words (``words[w]`` is
    ``buf[8w:8w + 8]``). A book frame is kilobytes long: its end was a pass's dearest search."""
    buf, words = lines
    while i < n and i & 7:
        if buf[i] == 10:
            return i
        i += 1
    w = i >> 3
    last = min(n >> 3, words.shape[0])
    while w < last:
        x = words[w] ^ _NEWLINES
        if (x - _ONES) & ~x & _HIGHS:  # a zero byte: a '\n' in this word
            break
        w += 1
    i = max(i, w << 3)
    while i < n and buf[i] != 10:
        i += 1
    return i


@njit(cache=True, nogil=True, internal=True)
def next_frame(lines: Any, pos: int, end: int, prefix: Any, state: Any) -> tuple[int, int, int, int, int]:
    """The next non-empty line of ``lines`` (``(buf, words)``) from ``pos`` on, counted in ``S_LINES``:
    ``(start, stop, local_ts, p, b)``: it is ``buf[start:stop]``, received at ``local_ts``, its payload from
    ``p`` on starts with ``prefix`` and a name that ends at ``b`` (its closing quote). ``p`` is :data:`FAIL`
    when the line has no time prefix or its payload no such start; ``start == end`` when no line is left."""
    buf = lines[0]
    while pos < end and buf[pos] == 10:  # an empty line: not a message, not counted
        pos += 1
    if pos >= end:
        return end, end, 0, FAIL, FAIL
    state[S_LINES] += 1
    stop = line_end(lines, pos, end)
    local_ts, p = read_local_ts(buf, pos, stop)
    m = prefix.shape[0]
    if p < 0 or stop - p < m:
        return pos, stop, local_ts, FAIL, FAIL
    for k in range(m):
        if buf[p + k] != prefix[k]:
            return pos, stop, local_ts, FAIL, FAIL
    b = p + m
    while b < stop and buf[b] != 34:  # the name's closing '"'
        b += 1
    if b >= stop:
        return pos, stop, local_ts, FAIL, FAIL
    return pos, stop, local_ts, p, b


@njit(cache=True, nogil=True, internal=True)
def end_pass(state: Any, code: int, start: int, stop: int, end: int, fill: int) -> int:
    """Close a pass that stopped with ``code`` at the line ``buf[start:stop]`` (``code`` :data:`DONE`: at
    ``end``, every line handled) with ``fill`` rows of ``out`` in use: its position, the declined line's end,
    the lines it handled. Returns ``code``."""
    if code == NEEDS_ROOM:
        state[S_LINES] -= 1  # passed again on the next call
    state[S_MESSAGES] = state[S_LINES] - (code == DECLINED)
    state[S_POS] = end if code == DONE else start
    state[S_LINE_END] = stop
    state[S_FILL] = fill
    return code


@njit(cache=True, nogil=True, internal=True)
def applied(state: Any, update_id: int, local_ts: int, exch_ts: int) -> None:
    """Count a book update applied by the pass: its id, its times, the clock's offset."""
    state[S_LAST_ID] = update_id
    state[S_CLOCK_OFFSET] = exch_ts - local_ts
    state[S_APPLIED] += 1
    state[S_APPLIED_LOCAL_TS] = local_ts
    state[S_APPLIED_EXCH_TS] = exch_ts
    state[S_DEPTH] += 1


@njit(cache=True, nogil=True, internal=True)
def has_room(out: Any, fill: int, frame_bytes: int, row_bytes: int) -> bool:
    """Whether ``out``, ``fill`` rows of it in use, has room for the rows of a frame of ``frame_bytes`` whose
    rows take at least ``row_bytes`` each."""
    room: bool = fill + frame_bytes // row_bytes + 4 <= out.shape[0]
    return room


@njit(cache=True, nogil=True, internal=True)
def traded(state: Any, done: bool, fill: int, new_fill: int, local_ts: int, exch_ts: int) -> tuple[int, int]:
    """A trade frame the venue's scanner settled (``done``: its rows are ``out[fill:new_fill]``, the last one's
    exchange time ``exch_ts``), counted: ``(code, rows of out in use)``; else declined."""
    if not done:
        return DECLINED, fill
    if new_fill > fill:
        state[S_CLOCK_OFFSET] = exch_ts - local_ts
    state[S_TRADES] += 1
    return DONE, new_fill


def name_bytes(name: str | bytes) -> npt.NDArray[np.uint8]:
    """A name a pass compares a frame's with, as its bytes in an array of its own (a writable one, as
    ``connectors.common.scan.symbol_bytes`` gives: a pass's arguments keep one type, so it compiles once)."""
    return np.frombuffer(name.encode() if isinstance(name, str) else name, np.uint8).copy()


class ScanRead(Protocol):
    """What a venue's ``connectors/<venue>/scan_read.py`` holds as ``SCAN_READ``: how the scan reads a buffer of
    the venue's recorded lines into its normalizer."""

    def read_chunk(self, normalizer: Any, chunk: bytes | memoryview, on_bad_line: Callable[[bytes], None]) -> int:
        """What ``normalizer.on_lines`` does with the non-empty lines of ``chunk`` (whole ``\\n``-separated
        recorded lines): the same rows in its sink, in the same order, the same counters and transitions. Lines
        without the time prefix go to ``on_bad_line``. Returns the number of non-empty lines (good and bad)."""
        ...

    def warm_up(self) -> None:
        """Load the compiled code it runs (from Numba's cache, or compile it)."""
        ...


class OwnChunks:
    """The :class:`ScanRead` of a venue whose normalizer reads a buffer of lines in one compiled pass itself
    (``on_chunk``), as a conversion reads it."""

    def read_chunk(self, normalizer: Any, chunk: bytes | memoryview, on_bad_line: Callable[[bytes], None]) -> int:
        """``normalizer.on_chunk(chunk, on_bad_line)``."""
        lines: int = normalizer.on_chunk(chunk, on_bad_line)
        return lines

    def warm_up(self) -> None:
        """Nothing to load beyond what the normalizer loads when it is made."""


@dataclass(frozen=True, slots=True)
class VenuePass(Generic[N]):
    """The :class:`ScanRead` of a venue's compiled pass (the module docstring) and what it needs of the venue."""

    scan: Callable[..., int]
    """The compiled pass: ``scan(lines, end, out, state, *args(normalizer))``."""
    state_size: int
    """Slots of its state array (:data:`S_VENUE` and the venue's own)."""
    load: Callable[[N, npt.NDArray[np.int64]], BookSync]
    """Fill :data:`S_STEADY` and the venue's own slots from the normalizer; returns its book's sync machine."""
    args: Callable[[N], tuple[Any, ...]]
    """The pass's own arguments, as the normalizer stands."""
    store: Callable[[N, npt.NDArray[np.int64]], None]
    """Add the venue's own counters to the normalizer's."""
    warm: tuple[Any, ...]
    """Arguments of the types :attr:`args` gives, for :meth:`warm_up`."""

    def read_chunk(self, normalizer: N, chunk: bytes | memoryview, on_bad_line: Callable[[bytes], None]) -> int:
        """:meth:`ScanRead.read_chunk`, the common frames settled by the venue's pass (:func:`read_buffer`)."""
        return read_buffer(self, normalizer, chunk, on_bad_line)

    def warm_up(self) -> None:
        """Load the pass (from Numba's cache, or compile it) for the argument types :func:`read_buffer` gives."""
        chunk = b""
        lines = (np.frombuffer(chunk, np.uint8), np.frombuffer(chunk, np.uint64, count=0))
        self.scan(lines, 0, empty_events(1), np.zeros(self.state_size, np.int64), *self.warm)


def _load(venue: VenuePass[N], normalizer: N, state: npt.NDArray[np.int64]) -> BookSync | None:
    # The state filled from the normalizer, counters zeroed; None when a value does not fit the pass's int64.
    state[:] = 0
    sync = venue.load(normalizer, state)
    offset = normalizer._clock_offset  # read as the venue's frame scans read it
    last_id = sync.last_update_id
    if not (type(last_id) is int and type(offset) is int and INT64_MIN <= last_id < INT64_MAX
            and INT64_MIN <= offset <= INT64_MAX):  # fmt: skip
        return None
    state[S_LAST_ID] = last_id
    state[S_CLOCK_OFFSET] = offset
    return sync


def _store(venue: VenuePass[N], normalizer: N, sync: BookSync, state: npt.NDArray[np.int64]) -> int:
    # Copy the pass's effect back into the normalizer; returns the lines it passed.
    applied, local_ts, exch_ts, depth, trades, lines, messages = state[S_APPLIED:S_VENUE].tolist()
    if applied:
        sync.last_update_id = int(state[S_LAST_ID])
        normalizer.status.applied(sync.last_update_id, local_ts, exch_ts)
    normalizer._clock_offset = int(state[S_CLOCK_OFFSET])  # as its frame scans set it
    stats = normalizer.stats
    stats.messages += messages
    stats.depth_messages += depth
    stats.trade_messages += trades
    venue.store(normalizer, state)
    return int(lines)


def read_buffer(venue: VenuePass[N], normalizer: N, chunk: bytes | memoryview,
                on_bad_line: Callable[[bytes], None]) -> int:  # fmt: skip
    """What ``normalizer.on_lines`` does with the non-empty lines of ``chunk`` (whole ``\\n``-separated recorded
    lines), the common frames settled by the venue's compiled pass (the module docstring): the same rows in its
    sink, in the same order, the same counters and transitions. Lines without the time prefix go to
    ``on_bad_line``. Returns the number of non-empty lines (good and bad)."""
    buf = np.frombuffer(chunk, np.uint8)
    end = buf.shape[0]
    lines_of = (buf, np.frombuffer(chunk, np.uint64, count=end // 8))
    state = np.zeros(venue.state_size, np.int64)
    sink = normalizer.sink
    room = _ROOM
    lines = 0
    pos = 0
    while True:
        sync = _load(venue, normalizer, state)
        if sync is None:  # the rest line by line
            rest = [line for line in bytes(buf[pos:]).split(b"\n") if line]
            normalizer.on_lines(rest, on_bad_line)
            return lines + len(rest)
        state[S_POS] = pos
        out, fill = sink.reserve(room)
        state[S_FILL] = fill
        code = venue.scan(lines_of, end, out, state, *venue.args(normalizer))
        sink.commit(int(state[S_FILL]))
        lines += _store(venue, normalizer, sync, state)
        pos = int(state[S_POS])
        if code == DONE:
            return lines
        if code == NEEDS_ROOM:
            room = 2 * out.shape[0]
            continue
        stop = int(state[S_LINE_END])
        normalizer.on_lines((bytes(buf[pos:stop]),), on_bad_line)
        pos = stop + 1
        room = _ROOM
