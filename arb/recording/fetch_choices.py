"""What ``arb fetch`` offers on its command line, apart from the downloads themselves.

The command's parser names these choices; :mod:`arb.recording.fetch` (aiohttp, the Tardis reader, Numba) is
loaded only when a fetch runs, so ``arb fetch --help`` and a mistyped option answer at once.
"""

from __future__ import annotations

__all__ = ["KEY_VARIABLE", "SOURCES", "VENUES"]

SOURCES = ("tardis", "bybit-archive")
"""The history sources, the default first."""
VENUES = ("binance", "bybit")
KEY_VARIABLE = "TARDIS_API_KEY"
"""The environment variable that holds a Tardis.dev API key (only the first day of each month is free)."""
