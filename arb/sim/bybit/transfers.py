"""The fake private Bybit's asset endpoints (``/v5/asset``): coins and chains, deposit addresses,
withdrawals, deposits, the inter-transfer and wallet balances, over the shared chain model
(:mod:`arb.sim.transfers`).

:class:`BybitTransfers` is a part of :class:`~arb.sim.bybit.exchange.FakeBybitExchange`, usable alone: its
handlers take a :class:`~arb.sim.bybit.calls.Call` and return a :class:`~arb.sim.bybit.calls.Reply`. The
unified account's wallets are ``UNIFIED`` (the venue's ledger) and ``FUND``; deposits are credited to
``FUND`` (Bybit's default deposit account) and a withdrawal's ``accountType`` says where it is paid from:
``FUND``, ``UTA`` (the unified wallet) or ``FUND,UTA`` (the funding wallet first).
"""

from __future__ import annotations

__all__ = ["BybitTransfers"]

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from arb.sim.bybit.calls import Call, Endpoint, Reply, api_error, page_of, param_text
from arb.sim.ledger import Ledger
from arb.sim.private import decimal_param
from arb.sim.transfers import (
    ChainWithdrawal,
    DepositState,
    NetworkTerms,
    Refusal,
    TransferRefusedError,
    VenueWallets,
    WithdrawalState,
    sequence_ids,
)

WITHDRAW_STATUS = {WithdrawalState.PROCESSING: "Pending", WithdrawalState.COMPLETED: "success",
                   WithdrawalState.FAILED: "Fail"}  # fmt: skip
"""``status`` of a withdrawal (``SecurityCheck``, ``CancelByUser``, ``Reject``... are not reached)."""
DEPOSIT_STATUS = {DepositState.PENDING: 1, DepositState.CREDITED: 3}
"""``status`` of a deposit: 1 toBeConfirmed, 3 success."""
REFUSALS: dict[Refusal, tuple[int, str]] = {
    Refusal.UNKNOWN_COIN: (10001, "params error: coin"),
    Refusal.UNKNOWN_NETWORK: (10001, "params error: chain"),
    Refusal.SUSPENDED: (131097, "Withdrawal of this currency has been closed"),
    Refusal.NOT_ALLOWED: (131093, "The withdrawal address is not in the whitelist"),
    Refusal.BELOW_MINIMUM: (131096, "Withdraw amount does not satify the lower limit or upper limit"),
    Refusal.ABOVE_MAXIMUM: (131096, "Withdraw amount does not satify the lower limit or upper limit"),
    Refusal.NOT_ABOVE_FEE: (131096, "Withdraw amount does not satify the lower limit or upper limit"),
    Refusal.INSUFFICIENT: (131001, "the available balance is not sufficient to cover the handling fee"),
    Refusal.DUPLICATE: (10014, "Invalid duplicate request."),
    Refusal.BAD_WALLET: (10001, "params error: accountType"),
}
"""Bybit's ``retCode`` and ``retMsg`` per refusal of a withdrawal."""
SOURCES = {"FUND": ("FUND",), "UTA": ("UNIFIED",), "FUND,UTA": ("FUND", "UNIFIED")}
"""The wallets a withdrawal's ``accountType`` pays from, in turn."""
CHAIN_TYPES = {"ETH": "ERC20", "TRX": "TRC20", "BSC": "BEP20 (BSC)", "BTC": "BTC"}
REQUEST_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
THIRTY_DAYS_MS = 30 * 24 * 3600 * 1000


class BybitTransfers:
    """The asset handlers of ``ledger``'s accounts (a unified account each). ``clock``: the venue's time
    (seconds); ``networks``: the terms per coin and chain (the chain model's defaults if ``None``);
    ``coin_info``: the venue's own ``/v5/asset/coin/query-info`` handler, whose rows this one completes with
    the chains; ``uid``: an account's user id. ``wallets`` is the part's
    :class:`~arb.sim.transfers.VenueWallets`: join it to a :class:`~arb.sim.transfers.Chain`."""

    def __init__(
        self, ledger: Ledger, *, clock: Callable[[], float], uid: Callable[[str], int],
        coin_info: Callable[[Call], Reply] | None = None, networks: list[NetworkTerms] | None = None,
        name: str = "bybit",
    ) -> None:  # fmt: skip
        ids = sequence_ids({"withdrawal": lambda n: str(10_194 + n), "deposit": lambda n: str(1_319_722 + n),
                            "transfer": lambda n: f"00000000-0000-4000-8000-{n:012d}"})  # fmt: skip
        extra: dict[str, Any] = {"networks": networks} if networks is not None else {}
        self.wallets = VenueWallets(
            name, ledger, trading="UNIFIED", wallets=("UNIFIED", "FUND"), deposit_wallet="FUND", allow_list_on=True,
            clock=clock, ids=ids, **extra,
        )  # fmt: skip
        self._coin_info = coin_info
        self._uid = uid

    def endpoints(self) -> dict[str, Endpoint]:
        """The asset endpoints, by path."""
        return {
            "/v5/asset/coin/query-info": Endpoint("GET", self._coins, True, None),
            "/v5/asset/deposit/query-address": Endpoint("GET", self._address, True, None),
            "/v5/asset/withdraw/create": Endpoint("POST", self._withdraw, True, "create"),
            "/v5/asset/withdraw/query-record": Endpoint("GET", self._withdrawals, True, None),
            "/v5/asset/deposit/query-record": Endpoint("GET", self._deposits, True, None),
            "/v5/asset/transfer/inter-transfer": Endpoint("POST", self._transfer, True, "create"),
            "/v5/asset/transfer/query-account-coins-balance": Endpoint("GET", self._balances, True, None),
        }

    def _coins(self, call: Call) -> Reply:
        """``GET /v5/asset/coin/query-info`` (``coin``): the venue's rows, each coin with networks given its
        chains (``withdrawFee``, ``withdrawMin``, ``confirmation``, ``chainDeposit``/``chainWithdraw``...)."""
        wanted = param_text(call.params, "coin")
        base = self._coin_info(call).result.get("rows", []) if self._coin_info is not None else []
        rows = {row["coin"]: dict(row) for row in base}
        for coin in self.wallets.coins():
            if wanted not in (None, coin):
                continue
            row = rows.setdefault(coin, {"name": coin, "coin": coin})
            terms = self.wallets.networks_of(coin)
            row["remainAmount"] = str(max(t.maximum for t in terms))
            row["chains"] = [self._chain(t) for t in terms]
        return Reply(ret_msg="success", result={"rows": [rows[c] for c in sorted(rows)]})

    @staticmethod
    def _chain(t: NetworkTerms) -> dict[str, str]:
        return {
            "chainType": CHAIN_TYPES.get(t.network, t.network), "confirmation": str(t.confirmations),
            "withdrawFee": str(t.fee), "depositMin": "0", "withdrawMin": str(t.minimum), "chain": t.network,
            "chainDeposit": "1" if t.deposit_enabled else "0", "chainWithdraw": "1" if t.withdraw_enabled else "0",
            "minAccuracy": "8", "withdrawPercentageFee": "0", "contractAddress": "",
            "safeConfirmNumber": str(t.confirmations), "withdrawMax": str(t.maximum),
        }  # fmt: skip

    def _address(self, call: Call) -> Reply:
        """``GET /v5/asset/deposit/query-address`` ``coin``, ``chainType`` (a ``chain`` of coin-info; every
        chain if absent) -> ``{"coin","chains":[{"chainType","addressDeposit","tagDeposit","chain",...}]}``."""
        assert call.account is not None
        coin, chain = param_text(call.params, "coin"), param_text(call.params, "chainType")
        if not coin:
            return api_error(10001, "params error: coin")
        terms = self.wallets.networks_of(coin)
        if not terms:
            return api_error(*REFUSALS[Refusal.UNKNOWN_COIN])
        chains = [
            {"chainType": CHAIN_TYPES.get(t.network, t.network), "chain": t.network, "tagDeposit": "",
             "addressDeposit": self.wallets.address(call.account.name, coin, t.network), "batchReleaseLimit": "-1",
             "contractAddress": ""}
            for t in terms if chain in (None, t.network)
        ]  # fmt: skip
        if not chains:
            return api_error(*REFUSALS[Refusal.UNKNOWN_NETWORK])
        return Reply(ret_msg="success", result={"coin": coin, "chains": chains})

    def _withdraw(self, call: Call) -> Reply:
        """``POST /v5/asset/withdraw/create`` ``coin``, ``chain``, ``address``, ``amount``, ``timestamp``,
        ``accountType``, ``feeType`` (0: the address receives ``amount``, the fee is debited beside it; 1: the
        fee comes out of it), ``requestId`` (a used one is refused: nothing is done twice) -> ``{"id"}``."""
        assert call.account is not None
        p = call.params
        coin, chain, address = param_text(p, "coin"), param_text(p, "chain"), param_text(p, "address")
        fee_type, request_id = param_text(p, "feeType") or "0", param_text(p, "requestId") or ""
        try:
            amount = decimal_param(param_text(p, "amount"))
        except ValueError:
            amount = None
        if not coin or not address or amount is None or amount <= 0 or not param_text(p, "timestamp"):
            return api_error(10001, "params error: coin, address, amount and timestamp are required")
        if param_text(p, "forceChain") == "2":
            return api_error(10001, "params error: forceChain=2 (withdrawal by UID) is not modelled")
        sources = SOURCES.get(param_text(p, "accountType") or "FUND")
        if sources is None or fee_type not in ("0", "1") or (request_id and not REQUEST_ID.match(request_id)):
            return api_error(*REFUSALS[Refusal.BAD_WALLET] if sources is None else (10001, "params error"))
        try:
            withdrawal = self.wallets.withdraw(
                call.account.name, coin, chain or self.wallets.default_network(coin), address, amount,
                client_id=request_id, sources=sources, fee_on_top=fee_type == "0", unique_client_id=True,
            )  # fmt: skip
        except TransferRefusedError as refused:
            return api_error(*REFUSALS[refused.reason])
        return Reply(ret_msg="success", result={"id": withdrawal.withdrawal_id})

    def _withdrawals(self, call: Call) -> Reply:
        """``GET /v5/asset/withdraw/query-record`` (``withdrawID``, ``txID``, ``coin``, ``withdrawType`` 0 on
        chain (default) or 2 all, ``startTime``/``endTime`` (30 days; the last 30 by default), ``limit`` 1-50,
        ``cursor``): newest first."""
        assert call.account is not None
        self.wallets.settle()
        p = call.params
        if (window := self._window(call)) is None:
            return api_error(10001, "params error: startTime or endTime invalid, or more than 30 days apart")
        if param_text(p, "withdrawType") == "1":  # off chain (between Bybit accounts): none modelled
            return Reply(ret_msg="success", result={"rows": [], "nextPageCursor": ""})
        rows = [
            self._withdrawal_row(w) for w in reversed(self.wallets.withdrawals)
            if w.account == call.account.name and param_text(p, "coin") in (None, w.coin)
            and param_text(p, "withdrawID") in (None, w.withdrawal_id) and param_text(p, "txID") in (None, w.txid)
            and window[0] <= w.created_ms <= window[1]
        ]  # fmt: skip
        page, cursor = page_of(rows, p, 50, 50)
        return Reply(ret_msg="success", result={"rows": page, "nextPageCursor": cursor})

    @staticmethod
    def _withdrawal_row(w: ChainWithdrawal) -> dict[str, Any]:
        return {
            "coin": w.coin, "chain": w.network, "amount": str(w.amount), "txID": w.txid,
            "status": WITHDRAW_STATUS[w.state], "toAddress": w.address, "tag": "", "withdrawFee": str(w.fee),
            "createTime": str(w.created_ms), "updateTime": str(w.updated_ms), "withdrawId": w.withdrawal_id,
            "withdrawType": 0,
        }  # fmt: skip

    def _deposits(self, call: Call) -> Reply:
        """``GET /v5/asset/deposit/query-record`` (``id``, ``txID``, ``coin``, ``startTime``/``endTime`` (30
        days; the last 30 by default), ``limit`` 1-50, ``cursor``): newest first; ``successAt`` is the last
        update (when it appeared, then when credited), ``confirmations`` the blocks confirmed so far."""
        assert call.account is not None
        self.wallets.settle()
        p = call.params
        if (window := self._window(call)) is None:
            return api_error(10001, "params error: startTime or endTime invalid, or more than 30 days apart")
        rows = [
            {"id": d.deposit_id, "coin": d.coin, "chain": d.network, "amount": str(d.amount), "txID": d.txid,
             "status": DEPOSIT_STATUS[d.state], "toAddress": d.address, "tag": "", "depositFee": "",
             "successAt": str(d.credited_ms or d.created_ms), "confirmations": str(d.confirmed(call.now_ms)),
             "txIndex": "0", "blockHash": "", "batchReleaseLimit": "-1", "depositType": "0", "fromAddress": ""}
            for d in reversed(self.wallets.deposits)
            if d.account == call.account.name and param_text(p, "coin") in (None, d.coin)
            and param_text(p, "id") in (None, d.deposit_id) and param_text(p, "txID") in (None, d.txid)
            and window[0] <= d.created_ms <= window[1]
        ]  # fmt: skip
        page, cursor = page_of(rows, p, 50, 50)
        return Reply(ret_msg="success", result={"rows": page, "nextPageCursor": cursor})

    def _transfer(self, call: Call) -> Reply:
        """``POST /v5/asset/transfer/inter-transfer`` ``transferId`` (a UUID, unique), ``coin``, ``amount``,
        ``fromAccountType``/``toAccountType`` (``UNIFIED`` or ``FUND``) -> ``{"transferId","status":"SUCCESS"}``."""
        assert call.account is not None
        p = call.params
        transfer_id, coin = param_text(p, "transferId"), param_text(p, "coin")
        source, target = param_text(p, "fromAccountType") or "", param_text(p, "toAccountType") or ""
        try:
            amount = decimal_param(param_text(p, "amount"))
        except ValueError:
            amount = None
        if not transfer_id or not coin:
            return api_error(131203, "Request parameter error")
        if amount is None or amount <= 0:
            return api_error(131215, "Amount error")
        if source == target:
            return api_error(131211, "fromAccountType can't be the same as toAccountType")
        for wallet, code, way in ((source, 131232, "out"), (target, 131231, "into")):
            if wallet not in self.wallets.wallets:
                return api_error(code, f"Transfers {way} this account are not supported")
        try:
            self.wallets.transfer(call.account.name, coin, amount, source, target, transfer_id)
        except TransferRefusedError as refused:
            if refused.reason is Refusal.DUPLICATE:
                return api_error(131214, "TransferId exist")
            return api_error(131212, "Insufficient balance")
        return Reply(ret_msg="success", result={"transferId": transfer_id, "status": "SUCCESS"})

    def _balances(self, call: Call) -> Reply:
        """``GET /v5/asset/transfer/query-account-coins-balance`` ``accountType`` (``FUND`` or ``UNIFIED``),
        ``coin`` (comma-separated; every coin held if absent) -> ``{"accountType","memberId","balance":[...]}``."""
        assert call.account is not None
        self.wallets.settle()
        wallet = param_text(call.params, "accountType") or ""
        if wallet not in self.wallets.wallets:
            return api_error(10001, "params error: accountType")
        coins = param_text(call.params, "coin")
        wanted = coins.split(",") if coins else sorted(
            {*self.wallets.coins(), *call.account.balances}
        )  # fmt: skip
        balances = [(c, self.wallets.balance(call.account.name, wallet, c)) for c in wanted]
        return Reply(ret_msg="success", result={
            "accountType": wallet, "bizType": 4, "memberId": str(self._uid(call.account.name)),
            "balance": [{"coin": c, "walletBalance": str(b), "transferBalance": str(b), "bonus": "0"}
                        for c, b in balances if coins or b != Decimal(0)],
        })  # fmt: skip

    @staticmethod
    def _window(call: Call) -> tuple[int, int] | None:
        try:
            start = int(param_text(call.params, "startTime") or 0) or None
            end = int(param_text(call.params, "endTime") or 0) or None
        except ValueError:
            return None
        if start is not None and end is not None and end - start > THIRTY_DAYS_MS:
            return None
        end = end if end is not None else (start + THIRTY_DAYS_MS if start is not None else call.now_ms)
        return (start if start is not None else end - THIRTY_DAYS_MS), end
