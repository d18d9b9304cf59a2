"""Drivers: the backtest (hftbacktest), the live path (dry-run and live), and recording."""
