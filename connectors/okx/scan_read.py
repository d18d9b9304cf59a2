"""OKX recordings in bulk for the scan: one compiled pass over a buffer of recorded lines, Python only where it
must.

A conversion reads an OKX recording line by line: :class:`connectors.okx.normalize.OkxNormalizer` decodes each
in Python and hands its common frames to one compiled call each (``connectors.okx.fastscan``).
:func:`read_chunk` walks the whole buffer in one compiled call (:func:`scan_lines`) instead, and settles there
the frames those calls settle, with the same functions on the same terms:

- a ``books`` (``books-l2-tbt``, ``books50-l2-tbt``) update of the normalizer's instrument that chains on a
  synced book (``fastscan.scan_book``: the book of wire strings updated and its checksum checked, in place);
- a ``trades`` frame of the instrument (``fastscan.scan_trades``).

Every other line stops the pass (:data:`DECLINED`: a snapshot, a checksum that does not match, another channel
or instrument, a line without the time prefix) and goes through the normalizer's own code, which decides,
counts and logs as always; the pass then goes on from the next line with the state the normalizer now has. So
the rows, their order and every counter are those of ``on_lines`` over the same lines
(``tests/unit/test_scan_read.py`` compares them on the recordings); only the per-line Python is gone.

State crosses the boundary in one int64 array (indices ``S_*``), filled from the normalizer before each call
and copied back after it.
"""

from __future__ import annotations

__all__ = ["DECLINED", "DONE", "NEEDS_ROOM", "read_chunk", "scan_lines"]

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from arb._jit import njit
from arb.events import empty_events
from connectors.common.normalizer import SyncState
from connectors.common.scan import INT64_MAX, INT64_MIN, MIN_LEVEL_BYTES, read_local_ts, symbol_bytes
from connectors.okx import fastscan
from connectors.okx.checksum import LevelBook
from connectors.okx.normalize import OkxNormalizer

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
S_CHAINED = 3
"""In: 1 when an update may be applied here (the book synced, chained by ``seqId``, not bridging)."""
S_LAST_SEQ = 4
"""In/out: the sync machine's last ``seqId``."""
S_CLOCK_OFFSET = 5
"""In/out: the normalizer's ``exchange - local`` offset (ns)."""
S_APPLIED = 6
"""Out: updates applied here (the last one's ``seqId`` is S_LAST_SEQ, its times the next two)."""
S_APPLIED_LOCAL_TS = 7
"""Out: local time of the last update applied here."""
S_APPLIED_EXCH_TS = 8
"""Out: exchange time of the last update applied here."""
S_MESSAGES = 9
"""Out: lines handled here, added to ``stats.messages``."""
S_DEPTH = 10
"""Out: added to ``stats.depth_messages``."""
S_TRADES = 11
"""Out: added to ``stats.trade_messages``."""
S_VERIFIED = 12
"""Out: added to ``checksums.verified``."""
S_ABSENT = 13
"""Out: added to ``checksums.absent``."""
S_UNVERIFIED = 14
"""Out: added to ``checksums.unverified``."""
S_LINES = 15
"""Out: non-empty lines passed (handled or declined), for the reader's report."""
STATE_SIZE = 16

_ARG_PREFIX = np.frombuffer(b'{"arg":{"channel":"', np.uint8)
_BOOKS = np.frombuffer(b"books", np.uint8)
_BOOKS_TBT = np.frombuffer(b"books-l2-tbt", np.uint8)
_BOOKS50_TBT = np.frombuffer(b"books50-l2-tbt", np.uint8)
"""The channels the normalizer reads as its book (its ``_CHANNELS``)."""
_TRADES = np.frombuffer(b"trades", np.uint8)
_NO_BYTES = np.zeros(0, np.uint8)
_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)
_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)
"""Eight '\\n's, eight ones, eight high bits: a word holds a '\\n' when ``(x - ONES) & ~x & HIGHS`` is not 0, x the
word with eight '\\n's xor'ed away."""
_ROOM = 1 << 16
"""Rows reserved in the sink before each pass (it asks for more when a line needs them)."""
_MIN_TRADE_BYTES = 40
"""As the normalizer reserves for a trade frame: no frame of n bytes holds more than ``n // 40`` trades."""


@njit(cache=True, nogil=True)
def _same(buf: Any, a: int, b: int, name: Any) -> bool:
    # Whether buf[a:b] is exactly the bytes of name.
    m = name.shape[0]
    if b - a != m:
        return False
    for k in range(m):  # noqa: SIM110 - Numba compiles loops, not generator expressions
        if buf[a + k] != name[k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _line_end(buf: Any, words: Any, i: int, n: int) -> int:
    # connectors.common.scan.line_end (the first '\n' at or after i, or n), eight bytes at a time: words holds
    # buf's whole eight-byte words (words[w] is buf[8w:8w + 8]). A book frame is kilobytes long: its end was
    # the pass's dearest search.
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


@njit(cache=True, nogil=True)
def scan_lines(lines: Any, end: int, out: Any, state: Any, instrument: Any, scale: float, book: Any) -> int:
    """Handle the lines of ``buf[state[S_POS]:end]`` (``lines`` is ``(buf, words)``: the ``uint8`` buffer,
    ``\\n``-separated, empty lines skipped, and its whole eight-byte words as ``uint64``) until one must go
    through the normalizer's own code.

    ``out`` is an ``event_dtype`` array with ``state[S_FILL]`` rows in use; rows are written after them.
    ``instrument`` is ``(inst, tail)``: the normalizer's instrument id as ASCII bytes (empty: nothing is settled
    here) and what a frame of it has after its channel's name (``","instId":"BTC-USDT"},``); ``scale`` the base
    currency per size unit, ``book`` the normalizer's book of wire strings (``LevelBook.state``, updated in place).

    Returns :data:`DONE`, :data:`DECLINED` (the line at ``state[S_POS]``, ending at ``state[S_LINE_END]``, was
    not counted: run it through the normalizer, then call again from the line after it; its book frame may have
    left the book of wire strings updated, which the normalizer's code applies again, as after its own frame
    scan) or :data:`NEEDS_ROOM` (grow ``out``, call again). Whatever it returns, the state and ``out`` hold the
    effect of exactly the lines before ``state[S_POS]``.
    """
    buf, words = lines
    inst, tail = instrument
    keys, ints, text = book
    chained = state[S_CHAINED] == 1
    last_seq = state[S_LAST_SEQ]
    clock_offset = state[S_CLOCK_OFFSET]
    fill = state[S_FILL]
    cap = out.shape[0]
    prefix = _ARG_PREFIX.shape[0]
    known = inst.shape[0] > 0
    pos = state[S_POS]
    start = pos
    code = DONE
    while pos < end:
        if buf[pos] == 10:  # an empty line: not a message, not counted
            pos += 1
            continue
        start = pos
        stop = _line_end(buf, words, pos, end)
        local_ts, p = read_local_ts(buf, pos, stop)
        code = DECLINED
        if p < 0 or not known or stop - p < prefix:
            break
        for k in range(prefix):
            if buf[p + k] != _ARG_PREFIX[k]:
                p = -1
                break
        if p < 0:
            break
        a = p + prefix
        b = a
        while b < stop and buf[b] != 34:  # the channel's closing '"'
            b += 1
        if b >= stop:
            break
        frame = buf[p:stop]
        if _same(buf, a, b, _TRADES):
            if fill + (stop - p) // _MIN_TRADE_BYTES + 4 > cap:
                code = NEEDS_ROOM
                break
            code, new_fill, exch_ts = fastscan.scan_trades(frame, local_ts, out, fill, inst, scale)
            if code != fastscan.DONE:
                code = DECLINED
                break
            if new_fill > fill:
                clock_offset = exch_ts - local_ts
            fill = new_fill
            state[S_TRADES] += 1
        else:
            channel = _same(buf, a, b, _BOOKS) or _same(buf, a, b, _BOOKS_TBT) or _same(buf, a, b, _BOOKS50_TBT)
            if not (channel and chained and _same(buf, b, min(b + tail.shape[0], stop), tail)):
                break
            if fill + (stop - p) // MIN_LEVEL_BYTES + 4 > cap:
                code = NEEDS_ROOM
                break
            code, rows, seq, exch_ts, outcome = fastscan.scan_book(
                frame, local_ts, out[fill:], keys, ints, text, last_seq, scale
            )
            if code != fastscan.DONE:
                code = DECLINED
                break
            fill += rows
            clock_offset = exch_ts - local_ts
            last_seq = seq
            state[S_DEPTH] += 1
            state[S_APPLIED] += 1
            state[S_APPLIED_LOCAL_TS] = local_ts
            state[S_APPLIED_EXCH_TS] = exch_ts
            if outcome == fastscan.VERIFIED:
                state[S_VERIFIED] += 1
            elif outcome == fastscan.ABSENT:
                state[S_ABSENT] += 1
            else:
                state[S_UNVERIFIED] += 1
        code = DONE
        state[S_MESSAGES] += 1
        state[S_LINES] += 1
        pos = stop + 1
    if code == DECLINED:
        state[S_LINE_END] = _line_end(buf, words, start, end)
        state[S_LINES] += 1
    state[S_POS] = pos if code == DONE else start
    state[S_FILL] = fill
    state[S_LAST_SEQ] = last_seq
    state[S_CLOCK_OFFSET] = clock_offset
    return code


def _load(normalizer: OkxNormalizer, state: npt.NDArray[np.int64]) -> bool:
    # Fill the state from the normalizer, counters zeroed; False when a value does not fit the pass's int64.
    sync = normalizer.sync
    offset = normalizer._clock_offset  # the venue's own normalizer, read as its frame scan reads it
    last = sync.last_update_id
    if not (type(last) is int and type(offset) is int and INT64_MIN <= last <= INT64_MAX
            and INT64_MIN <= offset <= INT64_MAX):  # fmt: skip
        return False
    state[:] = 0
    state[S_CHAINED] = sync.state is SyncState.SYNCED and sync.sequenced and not sync.bridging
    state[S_LAST_SEQ] = last
    state[S_CLOCK_OFFSET] = offset
    return True


def _store(normalizer: OkxNormalizer, state: npt.NDArray[np.int64]) -> int:
    # Copy the pass's effect back into the normalizer; returns the lines it passed.
    applied, local_ts, exch_ts, messages, depth, trades, verified, absent, unverified, lines = state[
        S_APPLIED:STATE_SIZE
    ].tolist()
    if applied:
        normalizer.sync.last_update_id = int(state[S_LAST_SEQ])
        normalizer.status.applied(normalizer.sync.last_update_id, local_ts, exch_ts)
    normalizer._clock_offset = int(state[S_CLOCK_OFFSET])  # as its frame scans set it
    stats = normalizer.stats
    stats.messages += messages
    stats.depth_messages += depth
    stats.trade_messages += trades
    checksums = normalizer.checksums
    checksums.verified += verified
    checksums.absent += absent
    checksums.unverified += unverified
    return int(lines)


def read_chunk(normalizer: OkxNormalizer, chunk: bytes | memoryview, on_bad_line: Callable[[bytes], None]) -> int:
    """What ``normalizer.on_lines`` does with the non-empty lines of ``chunk`` (whole ``\\n``-separated recorded
    lines), the common frames settled in one compiled pass (module docstring): the same rows in its sink, in the
    same order, the same counters, checksums and transitions. Lines without the time prefix go to
    ``on_bad_line``. Returns the number of non-empty lines (good and bad)."""
    buf = np.frombuffer(chunk, np.uint8)
    end = buf.shape[0]
    lines_of = (buf, np.frombuffer(chunk, np.uint64, count=end // 8))
    state = np.zeros(STATE_SIZE, np.int64)
    sink = normalizer.sink
    room = _ROOM
    lines = 0
    pos = 0
    while True:
        if not _load(normalizer, state):  # the rest line by line
            rest = [line for line in bytes(buf[pos:]).split(b"\n") if line]
            normalizer.on_lines(rest, on_bad_line)
            return lines + len(rest)
        found = normalizer._scan_settings()  # what its own frame scans compare and scale with
        inst, tail, scale = (_NO_BYTES, _NO_BYTES, 1.0) if found is None else (found[0], found[1], found[2])
        state[S_POS] = pos
        out, fill = sink.reserve(room)
        state[S_FILL] = fill
        instrument = (inst, np.frombuffer(tail, np.uint8))
        code = scan_lines(lines_of, end, out, state, instrument, scale, normalizer.levels.state)
        sink.commit(int(state[S_FILL]))
        lines += _store(normalizer, state)
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


def warm_up() -> None:
    """Load the compiled pass (from Numba's cache, or compile it) for the argument types :func:`read_chunk`
    gives it."""
    state = np.zeros(STATE_SIZE, np.int64)
    chunk = b""
    lines = (np.frombuffer(chunk, np.uint8), np.frombuffer(chunk, np.uint64, count=0))
    scan_lines(lines, 0, empty_events(1), state, (symbol_bytes("X"), _NO_BYTES), 1.0, LevelBook().state)
