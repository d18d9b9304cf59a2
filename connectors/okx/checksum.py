"""OKX's order-book checksum and the book of wire strings it is computed over. Pure: no I/O, no rows.

OKX docs v5 ("WS / Order book channel", Checksum): take the best 25 bids and the best 25 asks of the
whole book, join ``price:size`` of each level alternately (``bid1:ask1:bid2:ask2...``), skipping a level
that one side lacks, with the strings exactly as received, and compare the CRC32 of that text, read
as a signed 32-bit integer, with the message's ``checksum``. The docs' example::

    bids [["3366.1","7",...],["3366","6",...]], asks [["3366.8","9",...],["3368","8",...]]
    -> "3366.1:7:3366.8:9:3366:6:3368:8" -> CRC32 2413953002 -> signed -1881014294

Because the strings matter (``"3366"`` and ``"3366.0"`` give different checksums), the book kept here
stores each level's text as OKX sent it, beside a float key that orders it.
"""

from __future__ import annotations

__all__ = ["CHECKSUM_LEVELS", "LevelBook", "checksum", "checksum_text"]

import bisect
import zlib
from collections.abc import Iterable, Sequence
from typing import Final

CHECKSUM_LEVELS: Final = 25
"""Levels of each side the checksum covers."""


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


class _Side:
    """One side: price key -> (price text, size text), and the keys sorted ascending. Bids are keyed by
    the negated price, so both sides list their best level first."""

    __slots__ = ("_keys", "_levels", "_sign")

    def __init__(self, sign: float) -> None:
        self._sign = sign
        self._levels: dict[float, tuple[str, str]] = {}
        self._keys: list[float] = []

    def clear(self) -> None:
        self._levels.clear()
        self._keys.clear()

    def set(self, price: str, size: str) -> None:
        key = self._sign * float(price)
        if float(size) == 0.0:
            if self._levels.pop(key, None) is not None:
                del self._keys[bisect.bisect_left(self._keys, key)]
            return
        if key not in self._levels:
            bisect.insort(self._keys, key)
        self._levels[key] = (price, size)

    def best(self, n: int) -> list[tuple[str, str]]:
        levels = self._levels
        return [levels[k] for k in self._keys[:n]]

    def __len__(self) -> int:
        return len(self._keys)


class LevelBook:
    """Both sides of one instrument's book as OKX spelled them, for the checksum.

    ``known`` is False until a snapshot set it (and after :meth:`clear`): a checksum cannot be checked
    against a book that was not built from a snapshot (a converter resuming a day from the previous
    day's end has the book's numbers, not OKX's strings).
    """

    __slots__ = ("_asks", "_bids", "known")

    def __init__(self) -> None:
        self._bids = _Side(-1.0)
        self._asks = _Side(1.0)
        self.known = False

    def clear(self) -> None:
        """Forget both sides; the book is unknown until the next :meth:`reset`."""
        self._bids.clear()
        self._asks.clear()
        self.known = False

    def reset(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        """Replace the book with a snapshot's levels (each ``[px, sz, ...]`` as strings)."""
        self._bids.clear()
        self._asks.clear()
        self.apply(bids, asks)
        self.known = True

    def apply(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        """Set each listed level to its absolute size; a size of zero removes it. ``ValueError`` for a
        price or size that is not a number (the book may then hold part of the message: clear it)."""
        for level in bids:
            self._bids.set(level[0], level[1])
        for level in asks:
            self._asks.set(level[0], level[1])

    def checksum(self) -> int:
        """OKX's checksum of the book as it stands (:func:`checksum`)."""
        return checksum(self._bids.best(CHECKSUM_LEVELS), self._asks.best(CHECKSUM_LEVELS))

    def bids(self, n: int) -> list[tuple[str, str]]:
        """The best ``n`` bids, highest first, as ``(price, size)`` strings."""
        return self._bids.best(n)

    def asks(self, n: int) -> list[tuple[str, str]]:
        """The best ``n`` asks, lowest first, as ``(price, size)`` strings."""
        return self._asks.best(n)

    @property
    def depth(self) -> tuple[int, int]:
        """Levels held: ``(bids, asks)``."""
        return len(self._bids), len(self._asks)
