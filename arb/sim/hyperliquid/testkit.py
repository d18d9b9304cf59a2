"""Hyperliquid's test kit (:class:`arb.sim.testkit.VenueTestKit`): what the rigs, the configuration writers and
the fault campaign know of the fake Hyperliquid. It has no exchange yet (the campaign draws only venues arb
live trades); the answers below are the venue's own, for the day it has one."""

from __future__ import annotations

__all__ = ["TESTKIT", "HyperliquidTestKit"]

from typing import Any

from arb.sim.testkit import VenueTestKit, rules_of


class HyperliquidTestKit(VenueTestKit):
    """Hyperliquid names a perpetual by its coin (``BTC``), its book stream ``l2Book:<coin>``."""

    def book_stream(self, fake: Any, symbol: str) -> str:
        return f"l2Book:{symbol.upper().removesuffix('USDT')}"

    def ledger_symbol(self, fake: Any, symbol: str) -> str:
        return symbol.upper().removesuffix("USDT")


TESTKIT = HyperliquidTestKit(
    name="hyperliquid",
    rules={
        # BTC perpetual: szDecimals 5, five significant figures (tick 1 from 10,000 to 99,999), 10 USDC minimum
        ("linear", "BTCUSDT"): rules_of("BTCUSDT", "1 0.00001 0.00001 1000 10 1 1000000"),
        # UBTC/USDC spot (not read by arb yet): szDecimals 5, five significant figures, 10 USDC minimum
        ("spot", "BTCUSDT"): rules_of("BTCUSDT", "1 0.00001 0.00001 1000 10 1 1000000"),
    },
    no_balance=(200, "PerpMargin", "Insufficient margin to place order."),  # an HTTP 200 whose status says error
    post_only_codes=("BadAloPx",),
    cancel_requests=("POST /exchange",),
)
"""Hyperliquid's test kit."""
