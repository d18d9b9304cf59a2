"""arb: cross-exchange spread arbitrage between Binance and Bybit on hftbacktest."""

from arb._numba_cache import validate_numba_cache

__all__ = ["__version__"]

__version__ = "0.1.0"

validate_numba_cache()  # before any compiled function loads from Numba's cache (see arb._numba_cache)
