"""Hyperliquid's test kit (:class:`arb.sim.testkit.VenueTestKit`): what the rigs, the configuration writers and
the fault campaign know of the fake Hyperliquid. Its exchange (:mod:`arb.sim.hyperliquid.exchange`) has no API
key: an account is an address, and what signs for it is a private key. A rig's keys (any strings) are made a
wallet so (:meth:`HyperliquidTestKit.credentials`): the private key a digest of the rig's secret, the account the
address of that key. Its orders' client ids are ``cloid``s, digests of arb's (:meth:`~HyperliquidTestKit.
venue_client_id`), so a checker finds arb's id of a ledger order among the ids it knows; its one path
``POST /exchange`` takes every action, so its log names each request by the action too."""

from __future__ import annotations

__all__ = ["TESTKIT", "HyperliquidTestKit", "cloid"]

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from arb.sim.testkit import VenueTestKit, rules_of

_PRIVATE_KEY = re.compile(r"(0x)?[0-9a-fA-F]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def cloid(client_id: str) -> str:
    """arb's ``client_id`` as the ``cloid`` arb sends Hyperliquid: ``0x`` and the first 32 hex digits of its
    SHA-256. The live adapter's derivation (``connectors.hyperliquid.private.cloid_of``) restated: the venue
    simulator imports no connector, and a digest is the same on both sides."""
    return "0x" + hashlib.sha256(client_id.encode()).hexdigest()[:32]


def _address_of(private_key: str) -> str:
    from eth_account import Account  # the test extra's, imported when first used

    return str(Account.from_key(private_key).address)


class HyperliquidTestKit(VenueTestKit):
    """Hyperliquid names a perpetual by its coin (``BTC``), its book stream ``l2Book:<coin>``."""

    def book_stream(self, fake: Any, symbol: str) -> str:
        return f"l2Book:{symbol.upper().removesuffix('USDT')}"

    def ledger_symbol(self, fake: Any, symbol: str) -> str:
        return symbol.upper().removesuffix("USDT")

    def venue_client_id(self, client_id: str) -> str:
        return cloid(client_id)

    def credentials(self, key: str, secret: str, passphrase: str) -> dict[str, str]:
        """``api_key`` the account's address, ``api_secret`` the private key that signs for it: ``key`` when it
        is a private key (``0x`` and 64 hex digits), else ``0x`` and the SHA-256 of ``secret``; no passphrase."""
        private = key if _PRIVATE_KEY.fullmatch(key) else "0x" + hashlib.sha256(secret.encode()).hexdigest()
        return {"api_key": _address_of(private), "api_secret": private, "api_passphrase": ""}

    def rest_request(self, request: Any) -> str:
        """``"POST /exchange <action type>"`` for an action, ``"POST /info <type>"`` for a query (the fake logs
        the type as the ``type`` parameter)."""
        kind = request.params.get("type")
        return f"{request.method} {request.path}" + (f" {kind}" if kind else "")

    def open_account(self, fake: Any, name: str, *, key: str, secret: str, passphrase: str,
                     balances: Mapping[str, str]) -> Any:  # fmt: skip
        """Add account ``name`` at ``key`` when it is an address, else at the address :meth:`credentials` makes of
        the keys; its ``USDT`` balance as USDC (the venue's collateral); ``passphrase`` is not used."""
        address = key if _ADDRESS.fullmatch(key) else self.credentials(key, secret, passphrase)["api_key"]
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
    cancel_requests=("POST /exchange cancelByCloid", "POST /exchange cancel"),
)
"""Hyperliquid's test kit."""
