"""The fake private Binance's wallet endpoints (``/sapi``): coins and networks, deposit addresses, withdrawals,
deposits and the universal transfer, over the shared chain model (:mod:`arb.sim.transfers`).

:class:`BinanceTransfers` is a part of :class:`~arb.sim.binance.exchange.FakeBinanceExchange`, usable alone:
its handlers take a :class:`~arb.sim.binance.calls.Call` and return a :class:`~arb.sim.binance.calls.Reply`.
The account's wallets are ``MAIN`` (spot), ``UMFUTURE`` (USD-M) and ``FUNDING``; the venue's ledger is one of
the first two (its market's), the others are kept by :class:`~arb.sim.transfers.VenueWallets`. Deposits are
credited to ``MAIN`` and withdrawals leave ``MAIN`` (``walletType`` 0, the default) or ``FUNDING`` (1).
"""

from __future__ import annotations

__all__ = ["BinanceTransfers"]

import hashlib
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from arb.sim.binance.calls import Call, Endpoint, Reply, api_error, int_param, mandatory
from arb.sim.binance.symbols import BinanceMarket
from arb.sim.binance.wire import plain
from arb.sim.ledger import Ledger
from arb.sim.private import decimal_param
from arb.sim.transfers import (
    ChainDeposit,
    ChainWithdrawal,
    DepositState,
    NetworkTerms,
    Refusal,
    TransferRefusedError,
    VenueWallets,
    WithdrawalState,
    sequence_ids,
)

WITHDRAW_STATUS = {WithdrawalState.PROCESSING: 4, WithdrawalState.COMPLETED: 6, WithdrawalState.FAILED: 5}
"""``status`` of a withdrawal: 4 Processing, 6 Completed, 5 Failure (0 Email Sent, 1 Cancelled, 2 Awaiting
Approval and 3 Rejected are not reached)."""
DEPOSIT_STATUS = {DepositState.PENDING: 0, DepositState.CREDITED: 1}
"""``status`` of a deposit: 0 pending, 1 success."""
REFUSALS: dict[Refusal, tuple[int, str]] = {
    Refusal.UNKNOWN_COIN: (-4018, "We don't have this asset."),
    Refusal.UNKNOWN_NETWORK: (-4019, "Current asset is not open for withdrawal."),
    Refusal.SUSPENDED: (-4019, "Current asset is not open for withdrawal."),
    Refusal.NOT_ALLOWED: (-4035, "This address is not on the whitelist. Please join and try again."),
    Refusal.BELOW_MINIMUM: (-4022, "Not less than the minimum pick-up quantity {}."),
    Refusal.ABOVE_MAXIMUM: (-4023, "Within 24 hours, the withdrawal exceeds the maximum amount."),
    Refusal.NOT_ABOVE_FEE: (-4028, "The amount of withdrawal must be greater than the Commission."),
    Refusal.INSUFFICIENT: (-4026, "You have insufficient balance."),
}
"""Binance's code and message per refusal of a withdrawal (the ``{}`` is the network's minimum)."""
WALLETS = ("MAIN", "UMFUTURE", "FUNDING")
NINETY_DAYS_MS = 90 * 24 * 3600 * 1000


def _when(ms: int) -> str:
    # Binance's "2021-04-15 12:09:16" (UTC) of withdrawal records
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000))


class BinanceTransfers:
    """The wallet handlers of ``ledger``'s accounts (``market``: which wallet the ledger is). ``clock``: the
    venue's time (seconds); ``networks``: the terms per coin and network (the chain model's defaults if
    ``None``). ``wallets`` is the part's :class:`~arb.sim.transfers.VenueWallets`: join it to a
    :class:`~arb.sim.transfers.Chain` to reach another venue."""

    def __init__(
        self, ledger: Ledger, *, market: BinanceMarket, clock: Callable[[], float],
        networks: list[NetworkTerms] | None = None, name: str = "binance",
    ) -> None:  # fmt: skip
        ids = sequence_ids({
            "withdrawal": lambda n: hashlib.md5(f"{name}-withdrawal-{n}".encode()).hexdigest(),
            "deposit": lambda n: str(769_800_519_366_885_375 + n),
            "transfer": lambda n: str(13_526_853_622 + n),
        })  # fmt: skip
        extra: dict[str, Any] = {"networks": networks} if networks is not None else {}
        self.wallets = VenueWallets(
            name, ledger, trading="MAIN" if market == "spot" else "UMFUTURE", wallets=WALLETS, deposit_wallet="MAIN",
            allow_list_on=False, clock=clock, ids=ids, **extra,
        )  # fmt: skip

    def endpoints(self) -> dict[tuple[str, str], Endpoint]:
        """The wallet endpoints, by method and path (weights: Binance's IP weights)."""
        return {
            ("GET", "/sapi/v1/capital/config/getall"): Endpoint(self._coins, 10, "signed"),
            ("GET", "/sapi/v1/capital/deposit/address"): Endpoint(self._address, 10, "signed"),
            ("POST", "/sapi/v1/capital/withdraw/apply"): Endpoint(self._withdraw, 1, "signed", "create"),
            ("GET", "/sapi/v1/capital/withdraw/history"): Endpoint(self._withdrawals, 1, "signed"),
            ("GET", "/sapi/v1/capital/deposit/hisrec"): Endpoint(self._deposits, 1, "signed"),
            ("POST", "/sapi/v1/asset/transfer"): Endpoint(self._transfer, 1, "signed", "create"),
        }

    def _coins(self, call: Call) -> Reply:
        """``GET /sapi/v1/capital/config/getall``: each coin with networks, ``free``/``locked`` its ``MAIN``
        balance, and per network the terms (``withdrawFee``, ``withdrawMin``, ``minConfirm``, ``busy``,
        ``estimatedArrivalTime`` in minutes...)."""
        assert call.account is not None
        wallets = self.wallets
        wallets.settle()
        rows = []
        for coin in wallets.coins():
            networks = [self._network(t) for t in wallets.networks_of(coin)]
            rows.append({
                "coin": coin, "depositAllEnable": any(n["depositEnable"] for n in networks),
                "withdrawAllEnable": any(n["withdrawEnable"] for n in networks), "name": coin,
                "free": plain(wallets.balance(call.account.name, "MAIN", coin)), "locked": "0", "freeze": "0",
                "withdrawing": plain(sum((w.amount + w.fee for w in wallets.withdrawals if w.coin == coin
                                          and w.account == call.account.name
                                          and w.state is WithdrawalState.PROCESSING), Decimal(0))),
                "ipoing": "0", "ipoable": "0", "storage": "0", "isLegalMoney": False, "trading": True,
                "networkList": networks,
            })  # fmt: skip
        return Reply(body=rows)

    @staticmethod
    def _network(t: NetworkTerms) -> dict[str, Any]:
        return {
            "network": t.network, "coin": t.coin, "withdrawIntegerMultiple": "0.00000001", "isDefault": t.is_default,
            "depositEnable": t.deposit_enabled, "withdrawEnable": t.withdraw_enabled, "depositDesc": "",
            "withdrawDesc": "" if t.withdraw_enabled else "Wallet Maintenance, Withdrawal Suspended",
            "specialTips": "", "specialWithdrawTips": "", "name": t.network, "resetAddressStatus": False,
            "addressRegex": "", "addressRule": "", "memoRegex": "", "withdrawFee": plain(t.fee),
            "withdrawMin": plain(t.minimum), "withdrawMax": plain(t.maximum), "depositDust": "0", "minConfirm":
            t.confirmations, "unLockConfirm": t.confirmations, "sameAddress": False,
            "estimatedArrivalTime": t.arrival, "busy": t.busy, "contractAddressUrl": "", "contractAddress": "",
        }  # fmt: skip

    def _address(self, call: Call) -> Reply:
        """``GET /sapi/v1/capital/deposit/address`` ``coin``, ``network`` (the default one if absent) ->
        ``{"address","coin","tag","url"}``."""
        assert call.account is not None
        coin = call.params.get("coin")
        if not coin:
            return mandatory("coin")
        try:
            network = call.params.get("network") or self.wallets.default_network(coin)
            address = self.wallets.address(call.account.name, coin, network)
        except TransferRefusedError as refused:
            return self._refused(refused)
        return Reply(body={"address": address, "coin": coin, "tag": "", "url": f"https://explorer.invalid/{address}"})

    def _withdraw(self, call: Call) -> Reply:
        """``POST /sapi/v1/capital/withdraw/apply`` ``coin``, ``address``, ``amount``, ``network``,
        ``withdrawOrderId``, ``walletType`` -> ``{"id": "..."}``. The fee comes out of ``amount``. A
        ``withdrawOrderId`` used before is taken again (Binance documents it as a query key, not as a guard)."""
        assert call.account is not None
        params = call.params
        for name in ("coin", "address", "amount"):
            if not params.get(name):
                return mandatory(name)
        amount = decimal_param(params["amount"])
        wallet = {None: "MAIN", 0: "MAIN", 1: "FUNDING"}.get(int_param(params, "walletType"))
        if amount is None or amount <= 0 or wallet is None:
            return mandatory("amount" if wallet else "walletType")
        try:
            coin = params["coin"]
            network = params.get("network") or self.wallets.default_network(coin)
            withdrawal = self.wallets.withdraw(
                call.account.name, coin, network, params["address"], amount,
                client_id=params.get("withdrawOrderId", ""), sources=(wallet,), fee_on_top=False,
            )  # fmt: skip
        except TransferRefusedError as refused:
            return self._refused(refused)
        return Reply(body={"id": withdrawal.withdrawal_id})

    def _withdrawals(self, call: Call) -> Reply:
        """``GET /sapi/v1/capital/withdraw/history`` (``coin``, ``withdrawOrderId``, ``status``, ``idList``,
        ``startTime``/``endTime`` (the last 90 days by default), ``offset``, ``limit`` up to 1000): newest first."""
        assert call.account is not None
        self.wallets.settle()
        p = call.params
        start, end = int_param(p, "startTime"), int_param(p, "endTime")
        start = start if start is not None else (end if end is not None else call.now_ms) - NINETY_DAYS_MS
        ids = set(p["idList"].split(",")) if p.get("idList") else None
        rows = [
            self._withdrawal_row(w) for w in reversed(self.wallets.withdrawals)
            if w.account == call.account.name and p.get("coin") in (None, w.coin)
            and p.get("withdrawOrderId") in (None, w.client_id) and (ids is None or w.withdrawal_id in ids)
            and int_param(p, "status") in (None, WITHDRAW_STATUS[w.state])
            and start <= w.created_ms and (end is None or w.created_ms <= end)
        ]  # fmt: skip
        offset, limit = int_param(p, "offset") or 0, min(int_param(p, "limit") or 1000, 1000)
        return Reply(body=rows[offset : offset + limit])

    @staticmethod
    def _withdrawal_row(w: ChainWithdrawal) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": w.withdrawal_id, "amount": plain(w.amount), "transactionFee": plain(w.fee), "coin": w.coin,
            "status": WITHDRAW_STATUS[w.state], "address": w.address, "txId": w.txid, "applyTime": _when(w.created_ms),
            "network": w.network, "transferType": 0, "info": "Withdrawal failed" if w.state is WithdrawalState.FAILED
            else "", "confirmNo": 0, "walletType": 0 if w.taken and w.taken[0][0] == "MAIN" else 1, "txKey": "",
        }  # fmt: skip
        if w.client_id:
            row["withdrawOrderId"] = w.client_id
        if w.state is WithdrawalState.COMPLETED:
            row["completeTime"] = _when(w.on_chain_ms)
        return row

    def _deposits(self, call: Call) -> Reply:
        """``GET /sapi/v1/capital/deposit/hisrec`` (``coin``, ``status``, ``txId``, ``startTime``/``endTime``
        (90 days by default), ``offset``, ``limit`` up to 1000): newest first, ``confirmTimes`` ``"k/N"``."""
        assert call.account is not None
        self.wallets.settle()
        p, now = call.params, call.now_ms
        start, end = int_param(p, "startTime"), int_param(p, "endTime")
        start = start if start is not None else (end if end is not None else now) - NINETY_DAYS_MS
        rows = [
            self._deposit_row(d, now) for d in reversed(self.wallets.deposits)
            if d.account == call.account.name and p.get("coin") in (None, d.coin) and p.get("txId") in (None, d.txid)
            and int_param(p, "status") in (None, DEPOSIT_STATUS[d.state])
            and start <= d.created_ms and (end is None or d.created_ms <= end)
        ]  # fmt: skip
        offset, limit = int_param(p, "offset") or 0, min(int_param(p, "limit") or 1000, 1000)
        return Reply(body=rows[offset : offset + limit])

    @staticmethod
    def _deposit_row(d: ChainDeposit, now_ms: int) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": d.deposit_id, "amount": plain(d.amount), "coin": d.coin, "network": d.network,
            "status": DEPOSIT_STATUS[d.state], "address": d.address, "addressTag": "", "txId": d.txid,
            "insertTime": d.created_ms, "transferType": 0, "confirmTimes": f"{d.confirmed(now_ms)}/{d.confirmations}",
            "unlockConfirm": d.confirmations, "walletType": 0,
        }  # fmt: skip
        if d.state is DepositState.CREDITED:
            row["completeTime"] = d.credited_ms
        return row

    def _transfer(self, call: Call) -> Reply:
        """``POST /sapi/v1/asset/transfer`` ``type`` (``MAIN_UMFUTURE``, ``UMFUTURE_MAIN``, ``MAIN_FUNDING``,
        ``FUNDING_MAIN``, ``UMFUTURE_FUNDING``, ``FUNDING_UMFUTURE``), ``asset``, ``amount`` ->
        ``{"tranId": 13526853623}``; done at once."""
        assert call.account is not None
        params = call.params
        kind = params.get("type", "")
        source, _, target = kind.partition("_")
        if source not in WALLETS or target not in WALLETS or source == target:
            return api_error(-1100, f"Illegal characters found in parameter 'type'; legal range is '{kind}'.")
        for name in ("asset", "amount"):
            if not params.get(name):
                return mandatory(name)
        amount = decimal_param(params["amount"])
        if amount is None or amount <= 0:
            return mandatory("amount")
        try:
            done = self.wallets.transfer(call.account.name, params["asset"], amount, source, target)
        except TransferRefusedError as refused:
            if refused.reason is Refusal.INSUFFICIENT:
                return api_error(-5013, "Asset transfer failed: insufficient balance")
            return self._refused(refused)
        return Reply(body={"tranId": int(done.transfer_id)})

    def _refused(self, refused: TransferRefusedError) -> Reply:
        code, msg = REFUSALS.get(refused.reason, (-1102, "Illegal parameter."))
        return api_error(code, msg.format(refused.detail))
