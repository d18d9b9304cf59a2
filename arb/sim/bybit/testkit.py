"""Bybit's test kit (:class:`arb.sim.testkit.VenueTestKit`): what the rigs, the configuration writers and the
fault campaign know of the fake Bybit."""

from __future__ import annotations

__all__ = ["TESTKIT", "BybitTestKit"]

from typing import Any

from arb.sim.testkit import VenueTestKit, rules_of


class BybitTestKit(VenueTestKit):
    """Bybit's books are ``orderbook.50.<SYMBOL>`` on both markets, as ``arb live`` subscribes."""

    def book_stream(self, fake: Any, symbol: str) -> str:
        return f"orderbook.50.{symbol}"


TESTKIT = BybitTestKit(
    name="bybit",
    rules={
        ("spot", "BTCUSDT"): rules_of("BTCUSDT", "0.1 0.000001 0.000048 83 5 0.1 1999999.8"),
        # tickSize 0.01, basePrecision 0.00001, minOrderAmt 5
        ("spot", "ETHUSDT"): rules_of("ETHUSDT", "0.01 0.00001 0.00062 1229 5 0.01 1999999.98"),
        # linear instruments: tickSize 0.10, qtyStep 0.001, minNotionalValue 5
        ("linear", "BTCUSDT"): rules_of("BTCUSDT", "0.1 0.001 0.001 1190 5 0.1 1999999.8"),
        # tickSize 0.0001, qtyStep 1, minNotionalValue 5
        ("linear", "XRPUSDT"): rules_of("XRPUSDT", "0.0001 1 1 1000000 5 0.0001 199.9998"),
        # tickSize 0.01, qtyStep 0.01, minNotionalValue 5
        ("linear", "ETHUSDT"): rules_of("ETHUSDT", "0.01 0.01 0.01 7240 5 0.01 199999.98"),
    },
    no_balance=(200, 170131, "Insufficient balance."),
    post_only_expiry="EC_PostOnlyWillTakeLiquidity",
    cancel_requests=("POST /v5/order/cancel", "WS order.cancel"),
    # its 403 names no end (10 minutes or more): arb holds everything for its default, longer than a run
    ban_ends=False,
    order_socket="trade_ws_url",
    socket_logs=(("trade_log", "op"),),
)
"""Bybit's test kit."""
