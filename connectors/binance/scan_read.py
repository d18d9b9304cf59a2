"""Binance recordings in bulk for the scan.

Binance's normalizer reads a buffer of recorded lines in one compiled pass already
(:meth:`connectors.binance.normalize.BinanceNormalizer.on_chunk`, with ``connectors.binance.fastscan``): the scan
reads with it as the conversion does. What the scan saves on a Binance day is what it does with the rows
(``arb.scan.tops``).
"""

from __future__ import annotations

__all__ = ["SCAN_READ"]

from connectors.common.scan_pass import OwnChunks

SCAN_READ = OwnChunks()
"""The scan's read of a buffer of Binance's recorded lines: its normalizer's own (``on_chunk``)."""
