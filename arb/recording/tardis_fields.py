"""The fields of a Tardis CSV line, read in compiled code from the file's bytes.

Every Tardis line starts ``exchange,symbol,timestamp,local_timestamp,``; the data types' own fields follow
(:mod:`arb.recording.tardis_rows` for ``incremental_book_L2`` and ``trades``,
:mod:`arb.recording.tardis_snapshots` for ``book_snapshot_25`` and ``book_snapshot_5``). Each reader takes
``buf`` (a 1-d ``uint8`` array), the index ``i`` where its field starts and the end ``n`` of the readable
bytes, and returns the index after what it read, or -1 for anything but its exact form: the parser then
declines the line (``P_DECLINED``), which Python reads or counts as bad. Numbers are read exactly as
Python's ``float`` reads them, or declined.
"""

from __future__ import annotations

__all__ = [
    "P_DECLINED",
    "P_DONE",
    "P_FULL",
    "TS_MAX_US",
    "line_done",
    "read_number",
    "read_time",
    "skip_field",
    "symbol_field",
    "word",
    "words",
]

from typing import Any

import numpy as np

from arb._jit import njit
from connectors.common.levels_jit import json_number

# Parser results.
P_DONE, P_FULL, P_DECLINED = 0, 1, 2
TS_MAX_US = 9_000_000_000_000_000  # microseconds: x1000 stays below 2**63


def words(*texts: bytes) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The words as the rows of a uint8 array, each padded with zeros (what :func:`word` reads)."""
    out = np.zeros((len(texts), max(map(len, texts))), np.uint8)
    for k, text in enumerate(texts):
        out[k, : len(text)] = np.frombuffer(text, np.uint8)
    return out


@njit(cache=True, nogil=True)
def skip_field(buf: Any, i: int, n: int) -> int:
    """Past the next comma (-1 if the line ends first)."""
    while i < n:
        c = buf[i]
        if c == 44:
            return i + 1
        if c == 10:
            return -1
        i += 1
    return -1


@njit(cache=True, nogil=True)
def word(buf: Any, i: int, n: int, table: Any) -> tuple[int, int]:
    """Which row of ``table`` (:func:`words`) stands at i: (its row, the index after it); (-1, i) if none."""
    for w in range(table.shape[0]):
        k = 0
        while k < table.shape[1] and table[w, k] != 0 and i + k < n and buf[i + k] == table[w, k]:
            k += 1
        if k == table.shape[1] or table[w, k] == 0:
            return w, i + k
    return -1, i


@njit(cache=True, nogil=True)
def symbol_field(buf: Any, i: int, n: int, sym: Any) -> tuple[int, bool]:
    """Past the symbol field and its comma (-1 if the line ends first); whether it equals ``sym``."""
    start = i
    while i < n and buf[i] != 44:
        if buf[i] == 10:
            return -1, False
        i += 1
    if i >= n:
        return -1, False
    same = i - start == sym.shape[0]
    if same:
        for k in range(sym.shape[0]):
            if buf[start + k] != sym[k]:
                same = False
                break
    return i + 1, same


@njit(cache=True, nogil=True)
def read_time(buf: Any, i: int, n: int) -> tuple[int, int]:
    """A microsecond time (digits) followed by a comma: (ns, index after the comma); -1 if anything else."""
    value = 0
    start = i
    while i < n and 48 <= buf[i] <= 57:
        value = value * 10 + (buf[i] - 48)
        i += 1
        if i - start > 17:
            return 0, -1
    if i == start or i >= n or buf[i] != 44 or value >= TS_MAX_US:
        return 0, -1
    return value * 1000, i + 1


@njit(cache=True, nogil=True)
def read_number(buf: Any, i: int, n: int, pow10: Any) -> tuple[float, int]:
    """A decimal number (``-?digits(.digits)?([eE][+-]?digits)?``) up to a comma, ``\\r`` or newline:
    (value, index of that byte). Exactly Python's float(text) when the mantissa has at most 15 significant
    digits and the power of ten is within 10**22; -1 otherwise (Python parses it then)."""
    if i < n and buf[i] == 34:  # a quoted field is no number here
        return 0.0, -1
    value, i = json_number(buf, i, n, pow10)
    if i < 0 or (i < n and not (buf[i] == 44 or buf[i] == 10 or buf[i] == 13)):
        return 0.0, -1
    return value, i


@njit(cache=True, nogil=True)
def line_done(buf: Any, i: int, n: int) -> int:
    """At the end of a line (``\\n``, ``\\r\\n`` or the end of the buffer): the next line's index; -1 if not."""
    if i < n and buf[i] == 13:
        i += 1
    if i >= n:
        return n
    if buf[i] == 10:
        return i + 1
    return -1
