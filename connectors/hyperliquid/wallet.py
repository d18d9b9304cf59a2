"""Hyperliquid's wallets (:class:`~connectors.common.wallet.WalletVenue`): the perpetuals' USDC margin alone.

An account is an address: its USDC margin (``clearinghouseState``) is where orders trade and where a deposit
through the bridge lands. A withdrawal, a transfer between the perpetuals and spot, and the withdrawal terms are
user-signed actions (``withdraw3``, ``usdClassTransfer``) arb does not send yet: asked for, they say so.
"""

from __future__ import annotations

__all__ = ["WALLET", "HyperliquidWallet"]

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from connectors.common.wallet import NetworkTerm, WalletVenue, venue_answer
from connectors.hyperliquid.private import read_answer

_NOT_YET = "hyperliquid: withdrawals and transfers are not sent by arb yet (user-signed actions)"


class HyperliquidWallet(WalletVenue):
    """Hyperliquid's :class:`~connectors.common.wallet.WalletVenue`: balances; no networks, withdrawals or
    transfers yet."""

    name = "hyperliquid"
    resend_is_safe = False
    fee_inside = True  # a withdrawal's 1 USDC fee is taken from the amount

    def trading_wallet(self, market: str) -> str:
        return "linear"

    def withdraw_wallet(self, market: str) -> str:
        return "linear"

    def deposit_wallet(self, market: str) -> str:
        return "linear"

    async def balances(self, client: Any, market: str, asset: str) -> dict[str, Decimal]:
        # {"marginSummary":{"accountValue":"100000.0",...},"withdrawable":"99000.0",...}
        state = await client.public_post_info({"type": "clearinghouseState", "user": client.walletAddress})
        usdc = Decimal(str((state.get("marginSummary") or {}).get("accountValue") or 0)) if asset == "USDC" else 0
        return {"linear": Decimal(usdc)}

    async def networks(self, client: Any, assets: Sequence[str]) -> dict[str, list[NetworkTerm]]:
        return {asset: [] for asset in assets}  # no withdrawal arb sends yet: no terms to offer

    async def withdraw(self, client: Any, asset: str, amount: Decimal, address: str, network: str,
                       client_id: str) -> str:  # fmt: skip
        raise NotImplementedError(_NOT_YET)

    def withdrawals_query(self, client_id: str, venue_id: str) -> dict[str, Any] | None:
        raise NotImplementedError(_NOT_YET)  # no withdrawal sent: none to look for

    async def transfer(self, client: Any, asset: str, amount: Decimal, from_wallet: str, to_wallet: str,
                       client_id: str) -> str:  # fmt: skip
        raise NotImplementedError(_NOT_YET)

    def refusal(self, error: BaseException) -> tuple[str, str] | None:
        body = venue_answer(error)  # {"status":"err","response":"User or API Wallet 0x... does not exist."}
        if body is None:
            return None
        code, text = read_answer(body)
        return None if code == "ok" else (code, text)

    def already_done(self, code: str) -> bool:
        return False


WALLET = HyperliquidWallet()
"""Hyperliquid's wallet operations."""
