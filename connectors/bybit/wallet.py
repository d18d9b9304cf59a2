"""Bybit's wallets through ccxt (:class:`~connectors.common.wallet.WalletVenue`): v5 ``/v5/asset``
endpoints for terms, addresses, withdrawals, deposits and transfers between wallets.

Wallets: ``unified`` (``UNIFIED``: where the account trades and withdrawals leave, ccxt's ``UTA``) and
``funding`` (``FUND``: where deposits land). ``requestId`` is idempotent (a used one is refused with
``10014``), so an unanswered withdrawal may be sent again with the same id; the history does not show it,
so the withdrawal is then found by its address, amount and time.
"""

from __future__ import annotations

__all__ = ["WALLET", "BybitWallet"]

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from connectors.common.wallet import NetworkTerm, Sought, WalletRecord, WalletVenue, venue_answer

_ACCOUNT_TYPES = {"unified": "UNIFIED", "funding": "FUND"}


class BybitWallet(WalletVenue):
    """Bybit's :class:`~connectors.common.wallet.WalletVenue`."""

    name = "bybit"
    resend_is_safe = True
    fee_inside = False  # feeType 0: the address receives the amount, the fee is debited beside it

    def trading_wallet(self, market: str) -> str:
        return "unified"

    def withdraw_wallet(self, market: str) -> str:
        return "unified"

    def deposit_wallet(self, market: str) -> str:
        return "funding"

    async def balances(self, client: Any, market: str, asset: str) -> dict[str, Decimal]:
        out = {}
        for wallet, account_type in _ACCOUNT_TYPES.items():
            # {"result":{"accountType":"FUND","balance":[{"coin":"USDT","walletBalance":"200",
            #   "transferBalance":"200"}]}}
            answer = await client.private_get_v5_asset_transfer_query_account_coins_balance(
                {"accountType": account_type, "coin": asset})  # fmt: skip
            rows = answer["result"]["balance"]
            out[wallet] = sum((Decimal(r["transferBalance"] or "0") for r in rows if r["coin"] == asset), Decimal(0))
        return out

    async def networks(self, client: Any, assets: Sequence[str]) -> dict[str, list[NetworkTerm]]:
        # a chain: {"chain":"TRX","confirmation":"20","withdrawFee":"1","withdrawMin":"10","withdrawMax":"9999999",
        # "chainDeposit":"1","chainWithdraw":"1",...}
        answer = await client.private_get_v5_asset_coin_query_info()  # every coin: one request (5 a second)
        out: dict[str, list[NetworkTerm]] = {asset: [] for asset in assets}
        for row in answer["result"]["rows"]:
            asset = row["coin"]
            for c in row["chains"] if asset in out else []:
                out[asset].append(NetworkTerm(
                    asset, client.network_id_to_code(c["chain"], asset), c["chain"], Decimal(c["withdrawFee"] or "0"),
                    Decimal(c["withdrawMin"] or "0"), Decimal(c["withdrawMax"] or "0") or Decimal("Infinity"),
                    c["chainWithdraw"] == "1", c["chainDeposit"] == "1", int(c["confirmation"] or 0), None,
                ))  # fmt: skip
        return out

    async def withdraw(self, client: Any, asset: str, amount: Decimal, address: str, network: str,
                       client_id: str) -> str:  # fmt: skip
        params = {"network": network, "requestId": client_id, "accountType": "UTA"}
        return str((await client.withdraw(asset, float(amount), address, params))["id"])

    def sent(self, row: dict[str, Any], found: WalletRecord, sought: Sought) -> bool:
        # the history does not show requestId: the same address and amount, since the request, not one known
        return (found.id not in sought.known and found.address == sought.address and found.amount == sought.amount
                and found.time_ms >= sought.since_ms)  # fmt: skip

    async def transfer(self, client: Any, asset: str, amount: Decimal, from_wallet: str, to_wallet: str,
                       client_id: str) -> str:  # fmt: skip
        transfer_id = str(uuid.uuid5(uuid.NAMESPACE_OID, client_id))  # Bybit wants a UUID, idempotent (131214)
        # the endpoint itself: ccxt's transfer rounds the amount to its idea of the coin's precision (0.1 USDT)
        await client.private_post_v5_asset_transfer_inter_transfer({
            "transferId": transfer_id, "coin": asset, "amount": f"{amount.normalize():f}",
            "fromAccountType": _ACCOUNT_TYPES[from_wallet], "toAccountType": _ACCOUNT_TYPES[to_wallet]})  # fmt: skip
        return transfer_id

    def refusal(self, error: BaseException) -> tuple[str, str] | None:
        body = venue_answer(error)  # {"retCode":131093,"retMsg":"The withdrawal address is not in the whitelist",...}
        if body is None or not body.get("retCode"):
            return None
        return str(body["retCode"]), str(body.get("retMsg", ""))

    def already_done(self, code: str) -> bool:
        return code in ("10014", "131214")  # a requestId / transferId used before: it ran


WALLET = BybitWallet()
"""Bybit's wallet operations."""
