"""Hyperliquid's perpetuals as Tardis.dev's ``hyperliquid`` datasets hold them (since 2024-10-29).

Tardis names Hyperliquid's instruments by the venue's coin (``BTC``; its Hyperliquid mapper copies the
messages' ``coin``), and copies each ``sz`` as the ``amount``: the coin's own units, arb's base units, so
nothing is scaled. Every book row Tardis writes for Hyperliquid is a snapshot row (each ``l2Book`` message is
a whole book); docs/hyperliquid.md says what that means for ``arb convert``.
"""

from __future__ import annotations

__all__ = ["TARDIS", "HyperliquidTardisNames"]

from dataclasses import dataclass

from connectors.common.tardis import TardisNames
from connectors.hyperliquid.urls import QUOTES, coin_of, symbol_of


@dataclass(frozen=True, slots=True)
class HyperliquidTardisNames(TardisNames):
    """``BTCUSDT`` is ``BTC`` in ``hyperliquid``; amounts are base units."""

    venue: str = "hyperliquid"

    def symbol(self, symbol: str, market: str) -> str:
        """The coin (:func:`~connectors.hyperliquid.urls.coin_of`); ``ValueError`` for a symbol that ends in
        neither quote."""
        try:
            return coin_of(symbol)
        except ValueError:
            raise ValueError(
                f"a symbol ending in {' or '.join(QUOTES)}, Hyperliquid's coin before it (e.g. BTCUSDT), "
                f"got {symbol.upper()}"
            ) from None

    def arb_symbol(self, name: str, market: str) -> str:
        """``BTC`` -> ``BTCUSDT``."""
        return symbol_of(name)


TARDIS = HyperliquidTardisNames()
