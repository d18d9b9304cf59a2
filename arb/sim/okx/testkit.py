"""OKX's test kit (:class:`arb.sim.testkit.VenueTestKit`): what the rigs, the configuration writers and the
fault campaign know of the fake OKX."""

from __future__ import annotations

__all__ = ["TESTKIT", "OkxTestKit"]

from collections.abc import Mapping
from typing import Any

from arb.sim.okx.instruments import inst_id_of
from arb.sim.testkit import VenueTestKit, rules_of


class OkxTestKit(VenueTestKit):
    """OKX names an instrument by its id (``BTC-USDT``, the swap ``BTC-USDT-SWAP``), its books ``books:<id>``;
    its ``clOrdId`` is letters and digits (arb's dashes as ``X``); its keys have a passphrase."""

    def book_stream(self, fake: Any, symbol: str) -> str:
        return f"books:{inst_id_of(symbol, fake.market)}"

    def ledger_symbol(self, fake: Any, symbol: str) -> str:
        return inst_id_of(symbol, fake.market)

    def arb_client_id(self, client_id: str) -> str:
        return client_id.replace("X", "-")

    def open_account(self, fake: Any, name: str, *, key: str, secret: str, passphrase: str,
                     balances: Mapping[str, str]) -> Any:  # fmt: skip
        return fake.add_account(name, api_key=key, api_secret=secret, passphrase=passphrase, balances=dict(balances))


TESTKIT = OkxTestKit(
    name="okx",
    rules={
        # BTC-USDT: tickSz 0.1, lotSz 0.00000001, minSz 0.00001; no minimum value
        ("spot", "BTCUSDT"): rules_of("BTCUSDT", "0.1 0.00000001 0.00001 1000 0 0.1 1000000"),
        # BTC-USDT-SWAP in base units: ctVal 0.01 BTC, lotSz and minSz 0.01 contracts, tickSz 0.1
        ("linear", "BTCUSDT"): rules_of("BTCUSDT", "0.1 0.0001 0.0001 1000 0 0.1 1000000"),
    },
    no_balance=(200, 51008, "Order failed. Insufficient balance."),  # an HTTP 200 whose item's sCode refuses
    post_only_expiry="31",  # its cancelSource
    cancel_requests=("POST /api/v5/trade/cancel-order", "WS cancel-order"),
    socket_logs=(("op_log", "op"),),
)
"""OKX's test kit."""
