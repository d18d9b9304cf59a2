"""OKX recordings in bulk for the scan: one compiled pass over a buffer of recorded lines, Python only where it
must (``connectors.common.scan_pass``).

A conversion reads an OKX recording line by line: :class:`connectors.okx.normalize.OkxNormalizer` decodes each
in Python and hands its common frames to one compiled call each (``connectors.okx.fastscan``).
:data:`SCAN_READ` walks the whole buffer in one compiled call (:func:`scan_lines`) instead, and settles there
the frames those calls settle, with the same functions on the same terms:

- a ``books`` (``books-l2-tbt``, ``books50-l2-tbt``) update of the normalizer's instrument that chains on a
  synced book (``fastscan.scan_book``: the book of wire strings updated and its checksum checked, in place);
- a ``trades`` frame of the instrument (``fastscan.scan_trades``).

Every other line stops the pass (a snapshot, a checksum that does not match, another channel or instrument, a
line without the time prefix) and goes through the normalizer's own code, which decides, counts and logs as
always; the pass then goes on from the next line with the state the normalizer now has. So the rows, their
order and every counter are those of ``on_lines`` over the same lines (``tests/unit/test_scan_read.py``
compares them on the recordings); only the per-line Python is gone.
"""

from __future__ import annotations

__all__ = ["SCAN_READ", "STATE_SIZE", "S_ABSENT", "S_UNVERIFIED", "S_VERIFIED", "scan_lines"]

from typing import Any

import numpy as np
import numpy.typing as npt

from arb._jit import njit
from connectors.common import scan_pass as sp
from connectors.common.normalizer import BookSync, SyncState
from connectors.common.scan import MIN_LEVEL_BYTES, same_bytes, symbol_bytes
from connectors.okx import fastscan
from connectors.okx.checksum import LevelBook
from connectors.okx.normalize import OkxNormalizer

S_VERIFIED = sp.S_VENUE
"""Out: added to ``checksums.verified``."""
S_ABSENT = sp.S_VENUE + 1
"""Out: added to ``checksums.absent``."""
S_UNVERIFIED = sp.S_VENUE + 2
"""Out: added to ``checksums.unverified``."""
STATE_SIZE = sp.S_VENUE + 3

_ARG_PREFIX = np.frombuffer(b'{"arg":{"channel":"', np.uint8)
_BOOKS = sp.name_bytes("books")
_BOOKS_TBT = sp.name_bytes("books-l2-tbt")
_BOOKS50_TBT = sp.name_bytes("books50-l2-tbt")
"""The channels the normalizer reads as its book (its ``_CHANNELS``)."""
_TRADES = sp.name_bytes("trades")
_NO_BYTES = np.zeros(0, np.uint8)
_MIN_TRADE_BYTES = 40
"""As the normalizer reserves for a trade frame: no frame of n bytes holds more than ``n // 40`` trades."""


@njit(cache=True, nogil=True, internal=True)
def _frame(buf: Any, line: Any, out: Any, fill: int, state: Any, instrument: Any, book: Any,
           scale: float) -> tuple[int, int]:  # fmt: skip
    # One line (next_frame's (start, stop, local_ts, p, b)) settled: (code, rows of out now in use).
    _, stop, local_ts, p, b = line
    inst, tail = instrument
    if p < 0 or inst.shape[0] == 0:
        return sp.DECLINED, fill
    a = p + _ARG_PREFIX.shape[0]
    frame = buf[p:stop]
    if same_bytes(buf, a, b, _TRADES):
        if not sp.has_room(out, fill, stop - p, _MIN_TRADE_BYTES):
            return sp.NEEDS_ROOM, fill
        code, new_fill, exch_ts = fastscan.scan_trades(frame, local_ts, out, fill, inst, scale)
        return sp.traded(state, code == fastscan.DONE, fill, new_fill, local_ts, exch_ts)
    channel = same_bytes(buf, a, b, _BOOKS) or same_bytes(buf, a, b, _BOOKS_TBT) or same_bytes(buf, a, b, _BOOKS50_TBT)
    if not (channel and state[sp.S_STEADY] == 1 and same_bytes(buf, b, min(b + tail.shape[0], stop), tail)):
        return sp.DECLINED, fill
    if not sp.has_room(out, fill, stop - p, MIN_LEVEL_BYTES):
        return sp.NEEDS_ROOM, fill
    keys, ints, text = book
    code, rows, seq, exch_ts, outcome = fastscan.scan_book(frame, local_ts, out[fill:], keys, ints, text,
                                                           state[sp.S_LAST_ID], scale)  # fmt: skip
    if code != fastscan.DONE:
        return sp.DECLINED, fill
    sp.applied(state, seq, local_ts, exch_ts)
    if outcome == fastscan.VERIFIED:
        state[S_VERIFIED] += 1
    elif outcome == fastscan.ABSENT:
        state[S_ABSENT] += 1
    else:
        state[S_UNVERIFIED] += 1
    return sp.DONE, fill + rows


@njit(cache=True, nogil=True)
def scan_lines(lines: Any, end: int, out: Any, state: Any, instrument: Any, scale: float, book: Any) -> int:
    """OKX's pass over the lines of ``buf[state[S_POS]:end]`` (``connectors.common.scan_pass``: ``lines``,
    ``end``, ``out``, ``state`` and the code returned are as it says). ``instrument`` is ``(inst, tail)``: the
    normalizer's instrument id as ASCII bytes (empty: nothing is settled here) and what a frame of it has after
    its channel's name (``","instId":"BTC-USDT"},``); ``scale`` the base currency per size unit, ``book`` the
    normalizer's book of wire strings (``LevelBook.state``, updated in place: a declined book frame may have
    left it updated, which the normalizer's code applies again, as after its own frame scan)."""
    code, fill, pos = sp.DONE, state[sp.S_FILL], state[sp.S_POS]
    line = (pos, pos, 0, 0, 0)
    while code == sp.DONE and line[0] < end:
        line = sp.next_frame(lines, pos, end, _ARG_PREFIX, state)
        if line[0] < end:
            code, fill = _frame(lines[0], line, out, fill, state, instrument, book, scale)
        pos = line[1] + 1
    return sp.end_pass(state, code, line[0], line[1], end, fill)


def _load(normalizer: OkxNormalizer, state: npt.NDArray[np.int64]) -> BookSync:
    sync = normalizer.sync
    state[sp.S_STEADY] = sync.state is SyncState.SYNCED and sync.sequenced and not sync.bridging
    return sync


def _args(normalizer: OkxNormalizer) -> tuple[Any, ...]:
    found = normalizer._scan_settings()  # what its own frame scans compare and scale with
    if found is None:
        return ((_NO_BYTES, _NO_BYTES), 1.0, normalizer.levels.state)
    inst, tail, scale = found
    return ((inst, sp.name_bytes(tail)), scale, normalizer.levels.state)


def _store(normalizer: OkxNormalizer, state: npt.NDArray[np.int64]) -> None:
    verified, absent, unverified = state[sp.S_VENUE : STATE_SIZE].tolist()
    checksums = normalizer.checksums
    checksums.verified += verified
    checksums.absent += absent
    checksums.unverified += unverified


SCAN_READ = sp.VenuePass(scan_lines, STATE_SIZE, _load, _args, _store,
                         warm=((symbol_bytes("X"), _NO_BYTES), 1.0, LevelBook().state))  # fmt: skip
"""The scan's read of a buffer of OKX's recorded lines (``connectors.common.scan_pass.ScanRead``)."""
