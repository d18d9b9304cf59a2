"""arb: cross-exchange spread arbitrage between Binance and Bybit on hftbacktest."""

__all__ = ["__version__"]

from arb._numba_cache import validate_numba_cache

__version__ = "0.1.0"

validate_numba_cache()  # before any compiled function loads from Numba's cache (see arb._numba_cache)
