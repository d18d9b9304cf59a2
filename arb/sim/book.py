"""A plain price-level book for the fake venue: the venue's own truth, independent of arb's book.

The fake venue must be a peer of arb's connectors, not a mirror of them, so it keeps its own book
and never imports ``arb.book`` or any normalizer. Prices and quantities are kept as the exact strings
the exchange sent (``"61837.63000000"``), so a REST snapshot or a Bybit snapshot built from this book
is spelled the way the venue spells it. Ordering uses :class:`decimal.Decimal` keys.
"""

from __future__ import annotations

__all__ = ["Level", "PriceLevelBook"]

import bisect
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

Level = tuple[str, str]
"""One price level as the wire spells it: ``(price, quantity)``."""


class _BookSide:
    """One side: a dict from price to the wire strings, plus the prices in ascending order.

    The order is brought up to date when a side is read, not at every update: a replayed day moves
    the book at every frame and reads it seldom (a REST snapshot, an order to match), and keeping a
    list of thousands of prices sorted through each level that comes or goes is most of what the
    book would cost. The prices whose presence changed since the last read are noted instead.
    """

    __slots__ = ("_keys", "_levels", "_moved")

    def __init__(self) -> None:
        self._levels: dict[Decimal, Level] = {}
        self._keys: list[Decimal] = []
        """The prices in ascending order as of the last read."""
        self._moved: dict[Decimal, None] = {}
        """Prices added or removed since the last read (in ``_levels`` now or not)."""

    def clear(self) -> None:
        self._levels.clear()
        self._keys.clear()
        self._moved.clear()

    def update(self, levels: Iterable[Sequence[str]]) -> None:
        """Set each ``(price, qty)`` in order; a zero quantity removes the level.

        The loop of a replayed day (millions of levels), so it is written out with local names: a
        price is looked up among those already parsed, and only noted as moved when its level comes
        or goes. A quantity spelled as plain ASCII digits with at most one point (``"0"``,
        ``"0.00000000"``, ``"1.5"``) is zero when all its digits are; any other spelling (``"0E-8"``,
        ``"-0"``, a malformed one) is read as a :class:`~decimal.Decimal`, which decides or refuses it.
        """
        store, moved, parsed = self._levels, self._moved, _KEYS.get
        for price, qty in levels:
            key = parsed(price)
            if key is None:
                key = _key(price)
            digits = qty.replace(".", "", 1)
            if digits.isdigit() and digits.isascii():
                zero = not digits.strip("0")
            else:
                zero = _decimal(qty).is_zero()
            if zero:
                if key in store:
                    del store[key]
                    moved[key] = None
            else:
                if key not in store:
                    moved[key] = None
                store[key] = (price, qty)

    def _sorted(self) -> list[Decimal]:
        # The prices in ascending order: the last read's, with the moved ones taken out or put in (one
        # by one when few moved, as a book read at every frame has; else by filtering and sorting).
        moved = self._moved
        if not moved:
            return self._keys
        store, keys = self._levels, self._keys
        if len(moved) <= _FEW_MOVED:
            for key in moved:
                index = bisect.bisect_left(keys, key)
                listed = index < len(keys) and keys[index] == key
                if key in store:
                    if not listed:
                        keys.insert(index, key)
                elif listed:
                    del keys[index]
        else:
            keys = [k for k in keys if k not in moved]
            keys.extend(k for k in moved if k in store)
            keys.sort()
            self._keys = keys
        moved.clear()
        return keys

    def ascending(self, n: int | None) -> list[Level]:
        ordered = self._sorted()
        keys = ordered if n is None else ordered[: max(n, 0)]
        return [self._levels[k] for k in keys]

    def descending(self, n: int | None) -> list[Level]:
        ordered = self._sorted()
        keys = ordered if n is None else ordered[max(len(ordered) - max(n, 0), 0) :]
        return [self._levels[k] for k in reversed(keys)]

    def __len__(self) -> int:
        return len(self._levels)


_FEW_MOVED = 32
"""Up to this many moved prices, a read puts each in its place by bisection; past it, it sorts."""


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise ValueError(f"not a decimal number: {text!r}") from error


_KEYS: dict[str, Decimal] = {}
_KEYS_MAX = 1 << 16
"""Prices already read (a replayed day sets the same ones again and again): looked up instead
of parsed, a million times in a parity run; emptied when it holds ``_KEYS_MAX``."""


def _key(text: str) -> Decimal:
    key = _KEYS.get(text)
    if key is None:
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        key = _KEYS[text] = _decimal(text)
    return key


class PriceLevelBook:
    """An L2 book of absolute quantities per price; a quantity of zero removes the level.

    This is the update rule of the diff streams: Binance's diff depth ("the quantity is absolute; a
    quantity of 0 means remove the price level") and Bybit's delta ("if you receive an amount
    that is 0, delete the entry").
    """

    __slots__ = ("_asks", "_bids")

    def __init__(self) -> None:
        self._bids = _BookSide()
        self._asks = _BookSide()

    def clear(self) -> None:
        """Remove every level from both sides."""
        self._bids.clear()
        self._asks.clear()

    def reset(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        """Replace the whole book with ``bids`` and ``asks`` (each ``[price, qty]`` as strings)."""
        self.clear()
        self.apply(bids, asks)

    def apply(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        """Set each listed level to its absolute quantity; zero removes it."""
        self._bids.update(bids)
        self._asks.update(asks)

    def bids(self, n: int | None = None) -> list[Level]:
        """The best ``n`` bids (all when ``None``), best (highest) first."""
        return self._bids.descending(n)

    def asks(self, n: int | None = None) -> list[Level]:
        """The best ``n`` asks (all when ``None``), best (lowest) first."""
        return self._asks.ascending(n)
