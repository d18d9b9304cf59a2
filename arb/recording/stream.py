"""hftbacktest's event-order correction done in bounded memory, for days too large to hold at once.

hftbacktest's ``correct_event_order(rows, sorted_exch_index, sorted_local_index)`` merges two
orderings of the whole day: ``E``, the rows stably sorted by ``exch_ts``, and ``L``, the rows stably
sorted by ``local_ts``. At each step it compares the heads of the two and writes one row: the head of
``E`` with ``EXCH_EVENT``, the head of ``L`` with ``LOCAL_EVENT``, or, when both heads have the same
exchange and local time, one row with both flags. A row whose two times disagree with the order of
its neighbours is thereby written twice, once per side. ``correct_local_timestamp`` adds one offset to
every local time: the smallest latency of the whole day decides it.

Both therefore look at the whole day, and :class:`OrderStream` gives the same rows without holding
it, from two reads of the recording (the normalizer is deterministic, so both reads give the same
rows in the same order):

1. :class:`Bounds` sees every row once and keeps, per block of ``step`` rows, the smallest exchange
   and local time (and the smallest latency, which settles the local-time offset).
2. :class:`OrderStream` gets the rows again, ``step`` at a time. Once the rows up to a block boundary
   are in, the smallest exchange time of every row still to come is known from the first read
   (``lo_exch``), and so is the smallest local time (``lo_local``). A pending row with
   ``exch_ts <= lo_exch`` is then settled in ``E``: no later row can sort before it (a later row with
   the same time sorts after it, the sort being stable). The same holds for ``L``. The merge runs,
   step for step exactly as hftbacktest's, while both heads are settled, and stops when either runs
   out; rows not yet written to both sides are carried into the next block. At the end every row is
   settled and the merge runs to its end, as hftbacktest's does.

What is carried is the rows of about one feed latency (a row waits in ``E`` until no later row can be
older on the exchange's clock) plus one block: memory is bounded by ``step``, not by the day, unless
a row far ahead carries an exchange time far in the past (then every row between waits for it).
"""

from __future__ import annotations

__all__ = ["Bounds", "OrderStream"]

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from arb.events import EXCH_EVENT, LOCAL_EVENT, EventArray, event_dtype

_INT64_MAX = np.iinfo(np.int64).max
_MERGE_MISMATCH = -1


class Bounds:
    """The first read: per block of ``step`` rows, the smallest exchange and local times.

    Also the row count and the smallest ``local_ts - exch_ts`` (what ``correct_local_timestamp``
    shifts by). Feed rows in order with :meth:`add`.
    """

    def __init__(self, step: int) -> None:
        if step < 1:
            raise ValueError(f"step must be at least 1, got {step}")
        self.step = step
        self.rows = 0
        self.min_latency = _INT64_MAX
        """Smallest ``local_ts - exch_ts`` (int64 arithmetic, as hftbacktest's); INT64_MAX with no rows."""
        self._exch: list[int] = []
        self._local: list[int] = []

    def add(self, rows: EventArray) -> None:
        """Account for the next ``rows`` (in the order they will be fed to :class:`OrderStream`)."""
        n = len(rows)
        if n == 0:
            return
        exch = rows["exch_ts"]
        local = rows["local_ts"]
        self.min_latency = min(self.min_latency, int((local - exch).min()))
        at = 0
        while at < n:
            inside = self.rows % self.step  # rows already in the current block
            take = min(self.step - inside, n - at)
            e = int(exch[at : at + take].min())
            lo = int(local[at : at + take].min())
            if inside == 0:
                self._exch.append(e)
                self._local.append(lo)
            else:
                self._exch[-1] = min(self._exch[-1], e)
                self._local[-1] = min(self._local[-1], lo)
            self.rows += take
            at += take

    def suffix_minima(self, local_offset: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """``(exch, local)``: element ``k`` is the smallest time of the rows from block ``k`` on (with
        ``local_offset`` added to local times); the last element, past every block, is INT64_MAX."""
        exch = np.array([*self._exch, _INT64_MAX], np.int64)
        local = np.array([*self._local, _INT64_MAX], np.int64)
        local[:-1] += local_offset
        return np.minimum.accumulate(exch[::-1])[::-1], np.minimum.accumulate(local[::-1])[::-1]


def _merge(win: Any, e_side: Any, l_side: Any, at: Any, final: bool, out: Any, o: int) -> tuple[int, int, int]:
    # hftbacktest's correct_event_order, step for step, over the settled heads: E is
    # win[e_ord[e_pos:e_n]], L is win[l_ord[l_pos:l_n]], with ``e_side = (e_ord, e_done)``,
    # ``l_side = (l_ord, l_done)`` (the done flags set as rows are written) and ``at = (e_n, e_pos, l_n,
    # l_pos)``. Unless ``final``, it stops when either side has no settled row left (the next step needs
    # both heads). Returns (e_pos, l_pos, o), or (_MERGE_MISMATCH, e_pos, l_pos) where hftbacktest's
    # assertion would fail.
    e_ord, e_done = e_side
    l_ord, l_done = l_side
    e_n, e_pos, l_n, l_pos = at
    cap = out.shape[0]
    while o < cap:
        e_av = e_pos < e_n
        l_av = l_pos < l_n
        if not (e_av and l_av) and (not final or not (e_av or l_av)):
            break
        if e_av and l_av:
            e = e_ord[e_pos]
            lo = l_ord[l_pos]
            ex = win[e].exch_ts
            lx = win[lo].exch_ts
            el = win[e].local_ts
            ll = win[lo].local_ts
            if ex == lx and el == ll:
                a = win[e]
                b = win[lo]
                same_px = a.px == b.px or (np.isnan(a.px) and np.isnan(b.px))
                if a.ev != b.ev or not same_px or a.qty != b.qty:
                    return _MERGE_MISMATCH, e_pos, l_pos
                out[o] = a
                out[o].ev = out[o].ev | EXCH_EVENT | LOCAL_EVENT
                e_done[e] = True
                l_done[lo] = True
                e_pos += 1
                l_pos += 1
            elif ex < lx or (ex == lx and el < ll):
                out[o] = win[e]
                out[o].ev = out[o].ev | EXCH_EVENT
                e_done[e] = True
                e_pos += 1
            else:
                out[o] = win[lo]
                out[o].ev = out[o].ev | LOCAL_EVENT
                l_done[lo] = True
                l_pos += 1
        elif e_av:
            e = e_ord[e_pos]
            out[o] = win[e]
            out[o].ev = out[o].ev | EXCH_EVENT
            e_done[e] = True
            e_pos += 1
        else:
            lo = l_ord[l_pos]
            out[o] = win[lo]
            out[o].ev = out[o].ev | LOCAL_EVENT
            l_done[lo] = True
            l_pos += 1
        o += 1
    return e_pos, l_pos, o


@functools.cache
def _compiled_merge() -> Callable[..., tuple[int, int, int]]:
    # _merge compiled (loaded from Numba's cache) when the first stream merges: importing this module
    # (for Bounds, which every conversion's first read keeps) does not import Numba.
    from arb._jit import njit

    return njit(cache=True, nogil=True)(_merge)


class OrderStream:
    """The second read: rows in, hftbacktest's corrected rows out, ``part_rows`` at a time.

    ``bounds`` is the first read's :class:`Bounds`; ``local_offset`` what to add to every local time
    (hftbacktest's ``correct_local_timestamp`` offset, or the one asked for). Feed the same rows in the
    same order with :meth:`add`, then call :meth:`finish`. ``emit`` receives each part (``part_rows``
    rows, the last one shorter; a view of a buffer that is reused once ``emit`` returns, so copy what
    must be kept): the concatenation of the parts
    equals ``correct_event_order(rows, argsort(exch_ts), argsort(local_ts))`` of the whole input with
    the offset applied, and it passes ``validate_event_order`` (checked across parts too).

    Raises ``ValueError`` as ``validate_event_order`` would, ``AssertionError`` where
    ``correct_event_order``'s assertion would fail, and ``RuntimeError`` when the rows differ in
    number from the first read's.
    """

    def __init__(self, bounds: Bounds, local_offset: int, part_rows: int, emit: Callable[[EventArray], None]) -> None:
        if part_rows < 1:
            raise ValueError(f"part_rows must be at least 1, got {part_rows}")
        self.step = bounds.step
        self.expected = bounds.rows
        self.lo_exch, self.lo_local = bounds.suffix_minima(local_offset)
        self.offset = local_offset
        self.emit = emit
        self.seen = 0
        self._win: EventArray = np.zeros(0, event_dtype)
        self._e_done = np.zeros(0, np.bool_)
        self._l_done = np.zeros(0, np.bool_)
        self._pending: list[EventArray] = []
        self._pending_rows = 0
        self._out: EventArray = np.zeros(part_rows, event_dtype)
        self._o = 0
        self._last_exch = np.iinfo(np.int64).min
        self._last_local = np.iinfo(np.int64).min

    def add(self, rows: EventArray) -> None:
        """The next rows, in order (any number; they are worked through in blocks of ``step``). The
        stream takes them over: it shifts their local times in place and may keep views of them."""
        at = 0
        n = len(rows)
        while at < n:
            take = min(self.step - self._pending_rows, n - at)
            piece = rows[at : at + take]
            if self.offset:
                piece["local_ts"] += self.offset
            self._pending.append(piece)
            self._pending_rows += take
            at += take
            if self._pending_rows == self.step:
                self._block(final=False)

    def finish(self) -> None:
        """Settle and emit every row left (the end of the input)."""
        self._block(final=True)
        if self.seen != self.expected:
            raise RuntimeError(f"the second read gave {self.seen:,} rows, the first {self.expected:,}")
        if self._o:
            self._flush()

    def _block(self, final: bool) -> None:
        # Merge everything settled once the rows up to the next block boundary (or the end) are in.
        fresh = self._pending
        self._pending = []
        n_new = self._pending_rows
        self._pending_rows = 0
        self.seen += n_new
        if self.seen > self.expected:
            raise RuntimeError(f"the second read gave more rows than the first ({self.expected:,})")
        win = np.concatenate([self._win, *fresh]) if fresh else self._win
        e_done = np.concatenate([self._e_done, np.zeros(n_new, np.bool_)])
        l_done = np.concatenate([self._l_done, np.zeros(n_new, np.bool_)])
        k = self.seen // self.step if not final else len(self.lo_exch) - 1
        lo_e = int(self.lo_exch[k]) if not final else _INT64_MAX
        lo_l = int(self.lo_local[k]) if not final else _INT64_MAX
        e_ord, e_n = _settled(win["exch_ts"], e_done, lo_e)
        l_ord, l_n = _settled(win["local_ts"], l_done, lo_l)
        e_pos = l_pos = 0
        while True:
            at = (e_n, e_pos, l_n, l_pos)
            e_pos, l_pos, o = _compiled_merge()(win, (e_ord, e_done), (l_ord, l_done), at, final, self._out, self._o)
            if e_pos == _MERGE_MISMATCH:
                raise AssertionError("correct_event_order: rows with the same times differ (ev, px or qty)")
            self._o = o
            if o < len(self._out):
                break
            self._flush()
        keep = ~(e_done & l_done)
        self._win = np.ascontiguousarray(win[keep])
        self._e_done = e_done[keep]
        self._l_done = l_done[keep]
        if final and len(self._win):
            raise RuntimeError(f"{len(self._win)} rows left unmerged at the end")

    def _flush(self) -> None:
        part = self._out[: self._o]  # emit uses it before the buffer is written again
        self._o = 0
        # validate_event_order, carried across parts
        exch = part["exch_ts"][(part["ev"] & EXCH_EVENT) != 0]
        local = part["local_ts"][(part["ev"] & LOCAL_EVENT) != 0]
        if len(exch):
            if exch[0] < self._last_exch or np.any(np.diff(exch) < 0):
                raise ValueError("exchange events are out of order.")
            self._last_exch = int(exch[-1])
        if len(local):
            if local[0] < self._last_local or np.any(np.diff(local) < 0):
                raise ValueError("local events are out of order.")
            self._last_local = int(local[-1])
        self.emit(part)


def _settled(ts: np.ndarray[Any, Any], done: np.ndarray[Any, Any], lo: int) -> tuple[np.ndarray[Any, Any], int]:
    # The rows not yet written on this side, stably sorted by ``ts`` (indices into the window), and
    # how many of them come first for certain: no row still to come has a smaller time than ``lo``.
    cand = np.flatnonzero(~done)
    order = cand[np.argsort(ts[cand], kind="stable")]
    return np.ascontiguousarray(order), int(np.searchsorted(ts[order], lo, side="right"))
