"""OKX's order-book checksum and the book of wire strings it is computed over. Pure: no I/O, no rows.

OKX docs v5 ("WS / Order book channel", Checksum): take the best 25 bids and the best 25 asks of the
whole book, join ``price:size`` of each level alternately (``bid1:ask1:bid2:ask2...``), skipping a level
that one side lacks, with the strings exactly as received, and compare the CRC32 of that text, read
as a signed 32-bit integer, with the message's ``checksum``. The docs' example::

    bids [["3366.1","7",...],["3366","6",...]], asks [["3366.8","9",...],["3368","8",...]]
    -> "3366.1:7:3366.8:9:3366:6:3368:8" -> CRC32 2413953002 -> signed -1881014294

Because the strings matter (``"3366"`` and ``"3366.0"`` give different checksums), the book kept here
stores each level's text as OKX sent it, beside a float key that orders it: in the arrays of
:mod:`connectors.okx.book`, which the per-message code (:class:`LevelBook`) and the compiled frame scan
(:mod:`connectors.okx.fastscan`) share. :func:`checksum` is the plain Python reference of the rule.
"""

from __future__ import annotations

__all__ = ["CHECKSUM_LEVELS", "LevelBook", "SideInput", "checksum", "checksum_text", "read_side", "side_input"]

import math
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from connectors.common.rows import LevelArray
from connectors.okx.book import (
    CHECKSUM_LEVELS,
    META,
    SLOTS,
    TLEN,
    Book,
    apply_side,
    book_checksum,
    clear,
    grow,
    has_room,
    new_book,
)


def checksum_text(bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]) -> bytes:
    """The text OKX's checksum covers: ``bid_px:bid_sz:ask_px:ask_sz:...`` over the first 25 levels of
    ``bids`` (best first) and ``asks`` (best first), a side's missing levels skipped."""
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    return ":".join(parts).encode()


def checksum(bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]) -> int:
    """OKX's checksum of a book (levels best first, wire strings): the CRC32 of :func:`checksum_text` as a
    signed int32, as the ``checksum`` field carries it."""
    value = zlib.crc32(checksum_text(bids, asks))
    return value - (1 << 32) if value >= 1 << 31 else value


class SideInput(NamedTuple):
    """One side's levels of a message as :func:`connectors.okx.book.apply_side` takes them."""

    keys: np.ndarray[Any, np.dtype[np.float64]]
    """The prices, negated for bids."""
    spans: np.ndarray[Any, np.dtype[np.int64]]
    """``(start, end, zero)`` per level: its ``price:size`` text in ``blob``, and 1 when the size is 0."""
    blob: np.ndarray[Any, np.dtype[np.uint8]]
    """The levels' texts, UTF-8, one after the other."""
    width: int
    """The longest text, bytes."""


_NO_SPANS = np.zeros((0, 3), np.int64)
_NO_BYTES = np.zeros(0, np.uint8)
_NO_LEVELS = SideInput(np.zeros(0, np.float64), _NO_SPANS, _NO_BYTES, 0)


def read_side(raw: Sequence[Sequence[str]], sign: float, scale: float = 1.0) -> tuple[LevelArray, SideInput]:
    """One side's levels as received (``[px, sz, ...]`` strings) read once for both uses: the rows'
    ``(n, 2)`` float64 of (price, size x ``scale``) and the book's :class:`SideInput` (``sign`` -1 for bids,
    1 for asks). ``ValueError`` for a price or size that is not a finite number or a negative size."""
    if not raw:
        return np.empty((0, 2), np.float64), _NO_LEVELS
    m = len(raw)
    rows = np.empty((m, 2), np.float64)
    rows[:, 0] = px = np.array([float(level[0]) for level in raw])
    sz = np.array([float(level[1]) for level in raw])
    if not (np.isfinite(px).all() and np.isfinite(sz).all() and (sz >= 0).all()):
        bad = next(i for i in range(m) if not (math.isfinite(px[i]) and math.isfinite(sz[i]) and sz[i] >= 0))
        raise ValueError(f"not a price level: {raw[bad]!r}")
    rows[:, 1] = sz * scale
    texts = [f"{level[0]}:{level[1]}" for level in raw]
    joined = "".join(texts)
    if joined.isascii():
        blob = np.frombuffer(joined.encode(), np.uint8)
    else:
        texts = [t.encode() for t in texts]  # type: ignore[misc]
        blob = np.frombuffer(b"".join(texts), np.uint8)  # type: ignore[arg-type]
    spans = np.empty((m, 3), np.int64)
    ends = spans[:, 1]
    ends[:] = np.fromiter(map(len, texts), np.int64, m)
    width = int(ends.max())
    np.cumsum(ends, out=ends)
    spans[:, 0] = ends
    spans[1:, 0] = ends[:-1]
    spans[0, 0] = 0
    spans[:, 2] = sz == 0.0
    return rows, SideInput(px * sign, spans, blob, width)


def side_input(raw: Iterable[Sequence[str]], sign: float) -> SideInput:
    """:func:`read_side`'s book input alone."""
    return read_side(list(raw), sign)[1]


class LevelBook:
    """Both sides of one instrument's book as OKX spelled them, for the checksum: the arrays of
    :mod:`connectors.okx.book` (``state``, which the frame scan updates in place), grown as needed.

    ``known`` is False until a snapshot set it (and after :meth:`clear`): a checksum cannot be checked
    against a book that was not built from a snapshot (a converter resuming a day from the previous
    day's end has the book's numbers, not OKX's strings).
    """

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state: Book = new_book()
        """The arrays (:data:`connectors.okx.book.Book`); replaced by larger ones when they are full."""

    @property
    def known(self) -> bool:
        """Whether the book was built from a snapshot (and not cleared since)."""
        return bool(self.state[1][META, 3])

    @known.setter
    def known(self, value: bool) -> None:
        self.state[1][META, 3] = int(value)

    def clear(self) -> None:
        """Forget both sides; the book is unknown until the next :meth:`reset`."""
        clear(self.state)

    def reset(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        """Replace the book with a snapshot's levels (each ``[px, sz, ...]`` as strings)."""
        self.reset_sides(side_input(bids, -1.0), side_input(asks, 1.0))

    def apply(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        """Set each listed level to its absolute size; a size of zero removes it. ``ValueError`` for a
        price or size that is not a finite number, before anything changes."""
        self.apply_sides(side_input(bids, -1.0), side_input(asks, 1.0))

    def reset_sides(self, bids: SideInput, asks: SideInput) -> None:
        """:meth:`reset` with levels already read by :func:`side_input`."""
        clear(self.state)
        self.apply_sides(bids, asks)
        self.known = True

    def apply_sides(self, bids: SideInput, asks: SideInput) -> None:
        """:meth:`apply` with levels already read by :func:`side_input`."""
        width = max(bids.width, asks.width)
        n_bids, n_asks = len(bids.keys), len(asks.keys)
        state = self.state
        if not has_room(state, n_bids, n_asks, width):
            depth = self.depth
            state = self.state = grow(state, max(depth[0] + n_bids, depth[1] + n_asks), width)
        if n_bids:
            apply_side(state, 0, bids.keys, bids.spans, bids.blob)
        if n_asks:
            apply_side(state, 1, asks.keys, asks.spans, asks.blob)

    def checksum(self) -> int:
        """OKX's checksum of the book as it stands (:func:`checksum`)."""
        return book_checksum(self.state)

    def bids(self, n: int) -> list[tuple[str, str]]:
        """The best ``n`` bids, highest first, as ``(price, size)`` strings."""
        return self._best(0, n)

    def asks(self, n: int) -> list[tuple[str, str]]:
        """The best ``n`` asks, lowest first, as ``(price, size)`` strings."""
        return self._best(1, n)

    @property
    def depth(self) -> tuple[int, int]:
        """Levels held: ``(bids, asks)``."""
        meta = self.state[1][META]
        return int(meta[0]), int(meta[1])

    def _best(self, side: int, n: int) -> list[tuple[str, str]]:
        keys, ints, text = self.state
        cap = keys.shape[1]
        out = []
        for k in range(min(n, int(ints[META, side]))):
            slot = int(ints[SLOTS, side * cap + k])
            price, _, size = text[slot, : ints[TLEN, slot]].tobytes().decode().partition(":")
            out.append((price, size))
        return out
