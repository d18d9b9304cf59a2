"""OKX's wallets through ccxt (:class:`~connectors.common.wallet.WalletVenue`): the v5 ``/api/v5/asset``
endpoints for terms, addresses, withdrawals, deposits and transfers between the account's two wallets.

Wallets: ``trading`` (account type ``18``: where orders trade) and ``funding`` (``6``: where deposits land
and withdrawals leave, to whitelisted addresses only). A withdrawal carries ``clientId`` (at most 32 letters
and digits); OKX does not say it refuses a used one, so an unanswered withdrawal is found in the history by
that id, never sent again. The fee is paid beside the amount (``amt`` excludes it). A transfer's ``clientId``
is found again with ``GET /api/v5/asset/transfer-state``. Demo trading has no deposits or withdrawals.
"""

from __future__ import annotations

__all__ = ["WALLET", "OkxWallet"]

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from connectors.common.wallet import NetworkTerm, Sought, WalletRecord, WalletVenue, venue_answer

_ACCOUNTS = {"trading": "18", "funding": "6"}


def _wire_id(client_id: str) -> str:
    # OKX's clientId: letters and digits, at most 32 (arb's ids carry dashes)
    return "".join(c for c in client_id if c.isalnum())[-32:]


def _text(amount: Decimal) -> str:
    return f"{amount.normalize():f}"


class OkxWallet(WalletVenue):
    """OKX's :class:`~connectors.common.wallet.WalletVenue`."""

    name = "okx"
    resend_is_safe = False
    fee_inside = False  # amt is what the address receives; the fee is debited beside it

    def trading_wallet(self, market: str) -> str:
        return "trading"

    def withdraw_wallet(self, market: str) -> str:
        return "funding"

    def deposit_wallet(self, market: str) -> str:
        return "funding"

    async def balances(self, client: Any, market: str, asset: str) -> dict[str, Decimal]:
        # trading: {"data":[{"details":[{"ccy":"USDT","availBal":"200",...}]}]}; funding:
        # {"data":[{"ccy":"USDT","availBal":"50","bal":"50","frozenBal":"0"}]}
        trading = await client.private_get_account_balance({"ccy": asset})
        details = [d for row in trading.get("data") or [] for d in row.get("details") or []]
        funding = await client.private_get_asset_balances({"ccy": asset})
        return {
            "trading": sum((Decimal(d.get("availBal") or "0") for d in details if d.get("ccy") == asset), Decimal(0)),
            "funding": sum(
                (Decimal(r.get("availBal") or "0") for r in funding.get("data") or [] if r.get("ccy") == asset),
                Decimal(0),
            ),
        }

    async def networks(self, client: Any, assets: Sequence[str]) -> dict[str, list[NetworkTerm]]:
        # one row per currency and chain: {"ccy":"USDT","chain":"USDT-TRC20","canWd":true,"canDep":true,
        # "fee":"1","minWd":"0.1","maxWd":"10000000","minDepArrivalConfirm":"20",...}
        answer = await client.private_get_asset_currencies({"ccy": ",".join(assets)})
        out: dict[str, list[NetworkTerm]] = {asset: [] for asset in assets}
        for row in answer.get("data") or []:
            asset = str(row.get("ccy", ""))
            if asset not in out:
                continue
            chain = str(row.get("chain", ""))
            network = chain.split("-", 1)[1] if "-" in chain else chain
            out[asset].append(NetworkTerm(
                asset, network, chain, Decimal(row.get("fee") or row.get("minFee") or "0"),
                Decimal(row.get("minWd") or "0"), Decimal(row.get("maxWd") or "0") or Decimal("Infinity"),
                bool(row.get("canWd")), bool(row.get("canDep")), int(row.get("minDepArrivalConfirm") or 0), None,
            ))  # fmt: skip
        return out

    async def deposit_address(self, client: Any, asset: str, network: str) -> str:
        answer = await client.private_get_asset_deposit_address({"ccy": asset})
        for row in answer.get("data") or []:
            if str(row.get("chain", "")).endswith(f"-{network}") or row.get("chain") == network:
                return str(row["addr"])
        raise ValueError(f"okx: no {asset} deposit address on {network}")

    async def withdraw(self, client: Any, asset: str, amount: Decimal, address: str, network: str,
                       client_id: str) -> str:  # fmt: skip
        request = {"ccy": asset, "amt": _text(amount), "dest": "4", "toAddr": address, "chain": f"{asset}-{network}",
                   "clientId": _wire_id(client_id)}  # fmt: skip
        answer = await client.private_post_asset_withdrawal(request)
        return str(answer["data"][0]["wdId"])

    def sent(self, row: dict[str, Any], found: WalletRecord, sought: Sought) -> bool:
        return bool((row.get("info") or {}).get("clientId") == _wire_id(sought.client_id))

    async def transfer(self, client: Any, asset: str, amount: Decimal, from_wallet: str, to_wallet: str,
                       client_id: str) -> str:  # fmt: skip
        request = {"ccy": asset, "amt": _text(amount), "from": _ACCOUNTS[from_wallet], "to": _ACCOUNTS[to_wallet],
                   "type": "0", "clientId": _wire_id(client_id)}  # fmt: skip
        answer = await client.private_post_asset_transfer(request)
        return str(answer["data"][0]["transId"])

    def refusal(self, error: BaseException) -> tuple[str, str] | None:
        body = venue_answer(error)  # {"code":"58207","msg":"Withdrawal address is not whitelisted...","data":[]}
        if body is None or str(body.get("code", "0")) == "0":
            return None
        data = body.get("data")
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        if first.get("sCode") not in (None, "", "0"):
            return str(first["sCode"]), str(first.get("sMsg", ""))
        return str(body["code"]), str(body.get("msg", ""))

    def already_done(self, code: str) -> bool:
        return False  # OKX documents no refusal of a used clientId: an unanswered request is looked for instead


WALLET = OkxWallet()
"""OKX's wallet operations."""
