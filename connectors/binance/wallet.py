"""Binance's wallets through ccxt (:class:`~connectors.common.wallet.WalletVenue`): ``/sapi`` capital
endpoints for terms, addresses, withdrawals and deposits, ``/sapi/v1/asset/transfer`` between wallets.

Wallets: ``spot`` (``MAIN``: where deposits land and withdrawals leave) and, for a USD-M account,
``linear`` (``UMFUTURE``: where it trades). ``withdrawOrderId`` is a key to find a withdrawal by, not a
guard: Binance runs a second request with the same id again, so an unanswered one is looked up first.
"""

from __future__ import annotations

__all__ = ["WALLET", "BinanceWallet"]

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from connectors.common.wallet import NetworkTerm, Sought, WalletRecord, WalletVenue, venue_answer


class BinanceWallet(WalletVenue):
    """Binance's :class:`~connectors.common.wallet.WalletVenue`."""

    name = "binance"
    resend_is_safe = False
    fee_inside = True  # withdraw/apply: the fee comes out of ``amount``

    def trading_wallet(self, market: str) -> str:
        return "linear" if market == "linear" else "spot"

    def withdraw_wallet(self, market: str) -> str:
        return "spot"

    def deposit_wallet(self, market: str) -> str:
        return "spot"

    async def _coin(self, client: Any, asset: str) -> dict[str, Any]:
        # GET /sapi/v1/capital/config/getall: one row per coin, {"coin","free",...,"networkList":[...]}
        rows = await client.sapi_get_capital_config_getall()
        return next((r for r in rows if r.get("coin") == asset), {})

    async def balances(self, client: Any, market: str, asset: str) -> dict[str, Decimal]:
        out = {"spot": Decimal(str((await self._coin(client, asset)).get("free") or 0))}
        if market == "linear":
            held = (await client.fetch_balance()).get(asset) or {}
            out["linear"] = Decimal(str(held.get("free") or 0))
        return out

    async def networks(self, client: Any, assets: Sequence[str]) -> dict[str, list[NetworkTerm]]:
        # a networkList entry: {"network":"TRX","depositEnable":true,"withdrawEnable":true,"withdrawFee":"1",
        # "withdrawMin":"10","withdrawMax":"9999999","minConfirm":20,"estimatedArrivalTime":2,"busy":false,...}
        rows = {r.get("coin"): r for r in await client.sapi_get_capital_config_getall()}
        return {asset: self._terms(client, asset, rows.get(asset) or {}) for asset in assets}

    @staticmethod
    def _terms(client: Any, asset: str, row: dict[str, Any]) -> list[NetworkTerm]:
        out = []
        for n in row.get("networkList") or []:
            arrival = n.get("estimatedArrivalTime")
            out.append(NetworkTerm(
                asset, client.network_id_to_code(n["network"], asset), n["network"], Decimal(str(n["withdrawFee"])),
                Decimal(str(n["withdrawMin"])), Decimal(str(n["withdrawMax"])),
                bool(n["withdrawEnable"]) and not n.get("busy"), bool(n["depositEnable"]),
                int(n.get("minConfirm") or 0),
                None if arrival is None else int(arrival) * 60,
            ))  # fmt: skip
        return out

    async def withdraw(self, client: Any, asset: str, amount: Decimal, address: str, network: str,
                       client_id: str) -> str:  # fmt: skip
        sent = await client.withdraw(asset, float(amount), address, {"network": network, "withdrawOrderId": client_id})
        return str(sent["id"])

    def withdrawals_query(self, client_id: str, venue_id: str) -> dict[str, Any] | None:
        return {} if venue_id else {"withdrawOrderId": client_id}

    def sent(self, row: dict[str, Any], found: WalletRecord, sought: Sought) -> bool:
        return bool(row["info"].get("withdrawOrderId") == sought.client_id)

    async def transfer(self, client: Any, asset: str, amount: Decimal, from_wallet: str, to_wallet: str,
                       client_id: str) -> str:  # fmt: skip
        return str((await client.transfer(asset, float(amount), from_wallet, to_wallet))["id"])

    def refusal(self, error: BaseException) -> tuple[str, str] | None:
        body = venue_answer(error)  # {"code":-4035,"msg":"This address is not on the whitelist. ..."}
        if body is None or "code" not in body:
            return None
        return str(body["code"]), str(body.get("msg", ""))

    def already_done(self, code: str) -> bool:
        return False  # Binance has no duplicate-id answer for withdrawals or transfers


WALLET = BinanceWallet()
"""Binance's wallet operations."""
