"""Binance's test kit (:class:`arb.sim.testkit.VenueTestKit`): what the rigs, the configuration writers and the
fault campaign know of the fake Binance."""

from __future__ import annotations

__all__ = ["TESTKIT", "BinanceTestKit"]

from typing import Any

from arb.sim.testkit import VenueTestKit, rules_of


class BinanceTestKit(VenueTestKit):
    """Binance's books are ``<symbol>@depth@100ms`` on spot and ``@0ms`` on USD-M, as ``arb live`` subscribes."""

    def book_stream(self, fake: Any, symbol: str) -> str:
        return f"{symbol.lower()}@depth@{'0ms' if fake.market == 'linear' else '100ms'}"


TESTKIT = BinanceTestKit(
    name="binance",
    rules={
        ("spot", "BTCUSDT"): rules_of("BTCUSDT", "0.01 0.00001 0.00001 9000 5 0.01 1000000"),
        # PRICE_FILTER 0.01, LOT_SIZE 0.0001, NOTIONAL 5
        ("spot", "ETHUSDT"): rules_of("ETHUSDT", "0.01 0.0001 0.0001 9000 5 0.01 1000000"),
        # USD-M's filters: PRICE_FILTER 0.1, LOT_SIZE 0.001, MIN_NOTIONAL 100
        ("linear", "BTCUSDT"): rules_of("BTCUSDT", "0.1 0.001 0.001 1000 100 556.8 4529764"),
        # PRICE_FILTER 0.01, LOT_SIZE 0.001, MIN_NOTIONAL 20
        ("linear", "ETHUSDT"): rules_of("ETHUSDT", "0.01 0.001 0.001 10000 20 39.86 306177"),
    },
    no_balance=(400, -2010, "Account has insufficient balance for requested action."),
    # spot LIMIT_MAKER's refusal, USD-M GTX's
    post_only_codes=("-2010", "-5022"),
    cancel_requests=("DELETE /api/v3/order", "WS order.cancel"),
    ban_ends=True,  # its 418 says when the ban ends (Retry-After)
    order_socket="ws_api_url",
    socket_logs=(("ws_api_log", "method"),),
)
"""Binance's test kit."""
