"""arb: cross-exchange spread arbitrage between Binance and Bybit on hftbacktest."""

__all__ = ["__version__"]

__version__ = "0.1.0"
