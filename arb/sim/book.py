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
    """One side: a dict from price to the wire strings, plus the prices kept sorted ascending."""

    __slots__ = ("_keys", "_levels")

    def __init__(self) -> None:
        self._levels: dict[Decimal, Level] = {}
        self._keys: list[Decimal] = []

    def clear(self) -> None:
        self._levels.clear()
        self._keys.clear()

    def set(self, price: str, qty: str) -> None:
        key = _key(price)
        if _key(qty).is_zero():
            if key in self._levels:
                del self._levels[key]
                index = bisect.bisect_left(self._keys, key)
                del self._keys[index]
            return
        if key not in self._levels:
            bisect.insort(self._keys, key)
        self._levels[key] = (price, qty)

    def ascending(self, n: int | None) -> list[Level]:
        keys = self._keys if n is None else self._keys[: max(n, 0)]
        return [self._levels[k] for k in keys]

    def descending(self, n: int | None) -> list[Level]:
        keys = self._keys if n is None else self._keys[max(len(self._keys) - max(n, 0), 0) :]
        return [self._levels[k] for k in reversed(keys)]

    def __len__(self) -> int:
        return len(self._keys)


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise ValueError(f"not a decimal number: {text!r}") from error


_KEYS: dict[str, Decimal] = {}
_KEYS_MAX = 1 << 16
"""Prices and quantities already read (a replayed day sets the same ones again and again): looked up instead
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
        for price, qty in bids:
            self._bids.set(price, qty)
        for price, qty in asks:
            self._asks.set(price, qty)

    def bids(self, n: int | None = None) -> list[Level]:
        """The best ``n`` bids (all when ``None``), best (highest) first."""
        return self._bids.descending(n)

    def asks(self, n: int | None = None) -> list[Level]:
        """The best ``n`` asks (all when ``None``), best (lowest) first."""
        return self._asks.ascending(n)
