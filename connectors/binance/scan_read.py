"""Binance recordings in bulk for the scan.

Binance's normalizer reads a buffer of recorded lines in one compiled pass already
(:meth:`connectors.binance.normalize.BinanceNormalizer.on_chunk`, with ``connectors.binance.fastscan``): the scan
reads with it as the conversion does. What the scan saves on a Binance day is what it does with the rows
(``arb.scan.tops``).
"""

from __future__ import annotations

__all__ = ["read_chunk", "warm_up"]

from collections.abc import Callable

from connectors.binance.normalize import BinanceNormalizer


def read_chunk(
    normalizer: BinanceNormalizer, chunk: bytes | memoryview, on_bad_line: Callable[[bytes], None]
) -> int:  # fmt: skip
    """``normalizer.on_chunk(chunk, on_bad_line)``: the rows of ``chunk``'s lines in its sink; returns the number
    of non-empty lines (good and bad)."""
    return normalizer.on_chunk(chunk, on_bad_line)


def warm_up() -> None:
    """Nothing to load beyond what the normalizer loads when it is made."""
