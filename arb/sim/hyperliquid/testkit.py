"""Hyperliquid's test kit (:class:`arb.sim.testkit.VenueTestKit`): what the rigs, the configuration writers and
the fault campaign know of the fake Hyperliquid. Its exchange (:mod:`arb.sim.hyperliquid.exchange`) has no API
key: an account is an address, and the key the rigs hand over is its private key (or the address itself). arb
trades it live through ccxt, but the fault campaign's rigs do not run it end to end yet (``in_campaign``); the
answers below are the venue's own."""

from __future__ import annotations

__all__ = ["TESTKIT", "HyperliquidTestKit"]

from collections.abc import Mapping
from typing import Any

from arb.sim.testkit import VenueTestKit, rules_of


class HyperliquidTestKit(VenueTestKit):
    """Hyperliquid names a perpetual by its coin (``BTC``), its book stream ``l2Book:<coin>``."""

    def book_stream(self, fake: Any, symbol: str) -> str:
        return f"l2Book:{symbol.upper().removesuffix('USDT')}"

    def ledger_symbol(self, fake: Any, symbol: str) -> str:
        return symbol.upper().removesuffix("USDT")

    def open_account(self, fake: Any, name: str, *, key: str, secret: str, passphrase: str,
                     balances: Mapping[str, str]) -> Any:  # fmt: skip
        """Add account ``name`` at the address of ``key`` (a private key, ``0x`` and 64 hex digits, or an address),
        its ``USDT`` balance as USDC (the venue's collateral); ``secret`` and ``passphrase`` are not used."""
        address = key
        if len(key.removeprefix("0x")) == 64:
            from eth_account import Account  # the test extra's, imported when first used

            address = str(Account.from_key(key).address)
        usdc = {("USDC" if asset == "USDT" else asset): amount for asset, amount in balances.items()}
        return fake.add_account(name, address=address, balances=usdc)


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
    in_campaign=False,
)
"""Hyperliquid's test kit."""
