"""The fake private OKX's funding account (``/api/v5/asset``): currencies and chains, balances, deposit addresses,
deposits, withdrawals, and transfers between the funding account (``6``) and the trading account (``18``), over
the shared chain model (:mod:`arb.sim.transfers`).

:class:`OkxAssets` is a part of :class:`~arb.sim.okx.exchange.FakeOkxExchange`, usable alone. The trading account
is the venue's ledger; the funding account is kept apart by the wallets, and only it deposits and withdraws
(deposit addresses answer ``"to":"6"``). A withdrawal goes on chain ("dest":"4") to an address on the account's
verified list (58207 otherwise); its ``amt`` excludes the fee (``fee`` of ``GET /api/v5/asset/currencies``),
which is debited beside it. A chain is ``<ccy>-<network>``, OKX's names (``USDT-TRC20``, ``USDT-ERC20``,
``USDT-BSC``, ``BTC-Bitcoin``), each one of the shared model's networks (``TRX``, ``ETH``, ``BSC``, ``BTC``), so
a withdrawal to another fake venue's deposit address arrives there.
"""

from __future__ import annotations

__all__ = ["CHAIN_NAMES", "OkxAssets"]

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from arb.sim.okx.calls import FUNDING, TRADING, Call, Endpoint, Reply, decimal_of, message, param_text, refusal, text
from arb.sim.okx.ledger import OkxLedger
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

CHAIN_NAMES: Mapping[str, str] = {"ETH": "ERC20", "TRX": "TRC20", "BSC": "BSC", "BTC": "Bitcoin"}
"""OKX's name of each network of the shared model (a chain is ``<ccy>-<name>``); others keep the model's id."""
WITHDRAWAL_STATES = {WithdrawalState.PROCESSING: "1", WithdrawalState.COMPLETED: "2", WithdrawalState.FAILED: "-1"}
"""``state``: 1 broadcasting to chain, 2 success, -1 failed."""
DEPOSIT_STATES = {DepositState.PENDING: "0", DepositState.CREDITED: "2"}
"""``state``: 0 waiting for confirmation, 2 deposit successful."""
_CLIENT_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_PAGE_MAX = 100


def _withdraw_refusal(reason: Refusal, ccy: str, chain: str) -> Reply:
    # OKX's answer to a withdrawal the wallets refused
    codes: dict[Refusal, tuple[str, tuple[object, ...]]] = {
        Refusal.UNKNOWN_COIN: ("51000", ("ccy",)), Refusal.UNKNOWN_NETWORK: ("58010", (chain,)),
        Refusal.SUSPENDED: ("58214", (chain,)), Refusal.NOT_ALLOWED: ("58207", ()),
        Refusal.BELOW_MINIMUM: ("58206", ()), Refusal.ABOVE_MAXIMUM: ("58205", ()),
        Refusal.NOT_ABOVE_FEE: ("58206", ()),
        Refusal.INSUFFICIENT: ("58350", ()), Refusal.DUPLICATE: ("51000", ("clientId",)),
        Refusal.BAD_WALLET: ("51000", ("ccy",)),
    }  # fmt: skip
    code, params = codes[reason]
    return refusal(code, *params, status=200)


class OkxAssets:
    """The funding-account handlers of ``ledger``'s accounts. ``clock``: the venue's time (seconds); ``networks``:
    the terms per currency and network (the chain model's defaults if ``None``). ``wallets`` is the part's
    :class:`~arb.sim.transfers.VenueWallets` (``18`` the ledger, ``6`` the funding account): join it to a
    :class:`~arb.sim.transfers.Chain`."""

    def __init__(
        self, ledger: OkxLedger, *, clock: Callable[[], float], networks: Sequence[NetworkTerms] | None = None
    ) -> None:
        ids = sequence_ids({"withdrawal": lambda n: str(67_484 + n), "deposit": lambda n: str(88_000_000 + n),
                            "transfer": lambda n: str(754_146 + n)})  # fmt: skip
        extra: dict[str, Any] = {"networks": networks} if networks is not None else {}
        self.wallets = VenueWallets(
            "okx", ledger, trading=TRADING, wallets=(TRADING, FUNDING), deposit_wallet=FUNDING, allow_list_on=True,
            clock=clock, ids=ids, **extra,
        )  # fmt: skip
        self.transfer_clients: dict[str, str] = {}
        """``transId`` -> the ``clientId`` it was sent with."""

    def endpoints(self) -> dict[tuple[str, str], Endpoint]:
        """The funding-account endpoints, by ``(method, path)``."""
        asset = "/api/v5/asset/"
        return {
            ("GET", asset + "currencies"): Endpoint(self._currencies, True, None, asset + "currencies"),
            ("GET", asset + "balances"): Endpoint(self._balances, True, None, asset + "balances"),
            ("GET", asset + "deposit-address"): Endpoint(self._address, True, None, asset + "deposit-address"),
            ("GET", asset + "deposit-history"): Endpoint(self._deposits, True, None, asset + "deposit-history"),
            ("POST", asset + "withdrawal"): Endpoint(self._withdraw, True, "create", asset + "withdrawal"),
            ("GET", asset + "withdrawal-history"): Endpoint(self._withdrawals, True, None,
                                                            asset + "withdrawal-history"),
            ("POST", asset + "transfer"): Endpoint(self._transfer, True, "create", asset + "transfer", "ccy"),
            ("GET", asset + "transfer-state"): Endpoint(self._transfer_state, True, None, asset + "transfer-state"),
        }  # fmt: skip

    @staticmethod
    def chain(terms: NetworkTerms) -> str:
        """OKX's chain name of ``terms`` (``USDT-TRC20``)."""
        return f"{terms.coin}-{CHAIN_NAMES.get(terms.network, terms.network)}"

    def network(self, ccy: str, chain: str | None) -> str:
        """The shared model's network of ``chain`` (``None``: the currency's main chain); ``TransferRefusedError``
        for an unknown currency or chain."""
        if chain is None:
            return self.wallets.default_network(ccy)
        for terms in self.wallets.networks_of(ccy):
            if self.chain(terms) == chain:
                return terms.network
        if not self.wallets.networks_of(ccy):
            raise TransferRefusedError(Refusal.UNKNOWN_COIN, ccy)
        raise TransferRefusedError(Refusal.UNKNOWN_NETWORK, chain)

    def _currencies(self, call: Call) -> Reply:
        """``GET /api/v5/asset/currencies?ccy=USDT``: one entry per currency and chain (``fee``, ``minWd``,
        ``maxWd``, ``canWd``/``canDep``, ``minDepArrivalConfirm``...)."""
        wanted = param_text(call.params, "ccy")
        rows = [
            {"ccy": t.coin, "name": t.coin, "logoLink": "", "chain": self.chain(t), "ctAddr": "",
             "canDep": t.deposit_enabled, "canWd": t.withdraw_enabled, "canInternal": False, "depEstOpenTime": "",
             "wdEstOpenTime": "", "minDep": "0", "minWd": str(t.minimum), "minInternal": "0", "maxWd": str(t.maximum),
             "wdTickSz": "8", "wdQuota": "10000000", "usedWdQuota": "0", "fee": str(t.fee), "minFee": str(t.fee),
             "maxFee": str(t.fee), "minFeeForCtAddr": "", "maxFeeForCtAddr": "", "burningFeeRate": "",
             "mainNet": t.is_default, "needTag": False, "minDepArrivalConfirm": str(t.confirmations),
             "minWdUnlockConfirm": str(t.confirmations), "depQuotaFixed": "", "usedDepQuotaFixed": "",
             "depQuoteDailyLayer2": ""}
            for coin in self.wallets.coins() if wanted is None or coin in wanted.split(",")
            for t in self.wallets.networks_of(coin)
        ]  # fmt: skip
        return Reply(rows)

    def _balances(self, call: Call) -> Reply:
        """``GET /api/v5/asset/balances?ccy=USDT``: the funding account's currencies with a balance (``bal``,
        ``availBal``, ``frozenBal``)."""
        assert call.account is not None
        self.wallets.settle()
        wanted = param_text(call.params, "ccy")
        coins = wanted.split(",") if wanted else sorted({*self.wallets.coins(), *call.account.balances})
        rows = []
        for ccy in coins:
            balance = self.wallets.balance(call.account.name, FUNDING, ccy)
            if balance > 0:
                rows.append({"ccy": ccy, "bal": text(balance), "availBal": text(balance), "frozenBal": "0"})
        return Reply(rows)

    def _address(self, call: Call) -> Reply:
        """``GET /api/v5/asset/deposit-address?ccy=USDT`` -> one ``{"chain","ccy","to":"6","addr",...}`` per chain."""
        assert call.account is not None
        ccy = param_text(call.params, "ccy")
        if ccy is None:
            return refusal("50014", "ccy")
        terms = self.wallets.networks_of(ccy)
        if not terms:
            return refusal("51000", "ccy", status=200)
        rows = [{"chain": self.chain(t), "ctAddr": "", "ccy": ccy, "to": FUNDING, "selected": t.is_default,
                 "addr": self.wallets.address(call.account.name, ccy, t.network), "verifiedName": ""}
                for t in terms]  # fmt: skip
        return Reply(rows)

    def _deposits(self, call: Call) -> Reply:
        """``GET /api/v5/asset/deposit-history`` (``ccy``, ``depId``, ``txId``, ``state``, ``after``/``before`` ms,
        ``limit``): newest first; ``state`` 0 waiting for confirmations, 2 credited."""
        assert call.account is not None
        self.wallets.settle()
        p = call.params
        window = _window(p)
        if isinstance(window, Reply):
            return window
        rows = [
            {"ccy": d.coin, "chain": f"{d.coin}-{CHAIN_NAMES.get(d.network, d.network)}", "amt": str(d.amount),
             "from": "", "areaCodeFrom": "", "to": d.address, "txId": d.txid, "ts": str(d.created_ms),
             "state": DEPOSIT_STATES[d.state], "depId": d.deposit_id, "fromWdId": "",
             "actualDepBlkConfirm": str(d.confirmed(call.now_ms))}
            for d in reversed(self.wallets.deposits)
            if d.account == call.account.name and param_text(p, "ccy") in (None, d.coin)
            and param_text(p, "depId") in (None, d.deposit_id) and param_text(p, "txId") in (None, d.txid)
            and param_text(p, "state") in (None, DEPOSIT_STATES[d.state]) and window[0] < d.created_ms < window[1]
        ]  # fmt: skip
        return Reply(rows[: window[2]])

    def _withdraw(self, call: Call) -> Reply:
        """``POST /api/v5/asset/withdrawal`` ``{"ccy","amt","dest":"4","toAddr","chain":"USDT-TRC20","clientId"?}``
        -> ``[{"amt","wdId","ccy","clientId","chain"}]``; paid from the funding account, the fee beside ``amt``."""
        assert call.account is not None
        p = call.params
        ccy, address, dest = param_text(p, "ccy"), param_text(p, "toAddr"), param_text(p, "dest")
        client_id, chain = param_text(p, "clientId") or "", param_text(p, "chain")
        amount = decimal_of(param_text(p, "amt"))
        for key, value in (("ccy", ccy), ("amt", param_text(p, "amt")), ("dest", dest), ("toAddr", address)):
            if value is None:
                return refusal("50014", key)
        assert ccy is not None and address is not None
        if dest != "4":
            return refusal("51000", "dest", msg=message("51000", "dest") + ": internal transfers are not modelled")
        if amount is None or amount <= 0:
            return refusal("51000", "amt")
        if client_id and not _CLIENT_ID.match(client_id):
            return refusal("51000", "clientId")
        try:
            network = self.network(ccy, chain)
            withdrawal = self.wallets.withdraw(call.account.name, ccy, network, address, amount, client_id=client_id,
                                               sources=(FUNDING,), fee_on_top=True)  # fmt: skip
        except TransferRefusedError as refused:
            return _withdraw_refusal(refused.reason, ccy, chain or "")
        return Reply([{"amt": str(amount), "wdId": withdrawal.withdrawal_id, "ccy": ccy, "clientId": client_id,
                       "chain": f"{ccy}-{CHAIN_NAMES.get(network, network)}"}])  # fmt: skip

    def _withdrawals(self, call: Call) -> Reply:
        """``GET /api/v5/asset/withdrawal-history`` (``ccy``, ``wdId``, ``clientId``, ``txId``, ``state``,
        ``after``/``before`` ms, ``limit``): newest first; ``state`` 1 on its way, 2 success, -1 failed (refunded)."""
        assert call.account is not None
        self.wallets.settle()
        p = call.params
        window = _window(p)
        if isinstance(window, Reply):
            return window
        rows = [
            self._withdrawal_row(w) for w in reversed(self.wallets.withdrawals)
            if w.account == call.account.name and param_text(p, "ccy") in (None, w.coin)
            and param_text(p, "wdId") in (None, w.withdrawal_id) and param_text(p, "clientId") in (None, w.client_id)
            and param_text(p, "txId") in (None, w.txid) and param_text(p, "state") in (None, WITHDRAWAL_STATES[w.state])
            and window[0] < w.created_ms < window[1]
        ]  # fmt: skip
        return Reply(rows[: window[2]])

    @staticmethod
    def _withdrawal_row(w: ChainWithdrawal) -> dict[str, Any]:
        return {
            "note": "", "chain": f"{w.coin}-{CHAIN_NAMES.get(w.network, w.network)}", "fee": str(w.fee),
            "feeCcy": w.coin, "ccy": w.coin, "clientId": w.client_id, "amt": str(w.amount), "txId": w.txid,
            "from": "", "areaCodeFrom": "", "to": w.address, "areaCodeTo": "", "state": WITHDRAWAL_STATES[w.state],
            "ts": str(w.created_ms), "nonTradableAsset": False, "wdId": w.withdrawal_id,
        }  # fmt: skip

    def _transfer(self, call: Call) -> Reply:
        """``POST /api/v5/asset/transfer`` ``{"ccy":"USDT","amt":"1.5","from":"6","to":"18","clientId"?}`` (type 0,
        within the account) -> ``[{"transId","ccy","clientId","from","amt","to"}]``; done at once."""
        account = call.account
        assert account is not None
        p = call.params
        ccy, source, target = param_text(p, "ccy"), param_text(p, "from"), param_text(p, "to")
        client_id = param_text(p, "clientId") or ""
        for key, value in (("ccy", ccy), ("amt", param_text(p, "amt")), ("from", source), ("to", target)):
            if value is None:
                return refusal("50014", key)
        assert ccy is not None and source is not None and target is not None
        if param_text(p, "type") not in (None, "0"):
            return refusal("51000", "type", msg=message("51000", "type") + ": sub-account transfers are not modelled")
        amount = decimal_of(param_text(p, "amt"))
        if amount is None or amount <= 0:
            return refusal("58114")
        if source == target:
            return refusal("58123")
        if source not in (FUNDING, TRADING) or target not in (FUNDING, TRADING):
            return refusal("51000", "from" if source not in (FUNDING, TRADING) else "to")
        if client_id and not _CLIENT_ID.match(client_id):
            return refusal("51000", "clientId")
        if self.wallets.balance(account.name, source, ccy) < amount:
            return refusal("58116")
        record = self.wallets.transfer(account.name, ccy, amount, source, target)
        self.transfer_clients[record.transfer_id] = client_id
        return Reply([{"transId": record.transfer_id, "ccy": ccy, "clientId": client_id, "from": source,
                       "amt": str(amount), "to": target}])  # fmt: skip

    def _transfer_state(self, call: Call) -> Reply:
        """``GET /api/v5/asset/transfer-state?transId=1`` (or ``clientId``) -> ``[{"transId","state":"success",...}]``
        (transfers are done at once); an empty list for one the venue does not know."""
        assert call.account is not None
        trans_id, client_id = param_text(call.params, "transId"), param_text(call.params, "clientId")
        if trans_id is None and client_id is None:
            return refusal("50015", "transId", "clientId")
        rows = [
            {"amt": str(t.amount), "ccy": t.coin, "clientId": self.transfer_clients.get(t.transfer_id, ""),
             "from": t.source, "instId": "", "state": "success", "subAcct": "", "to": t.target, "toInstId": "",
             "transId": t.transfer_id, "type": "0"}
            for t in self.wallets.transfers
            if t.account == call.account.name and (
                t.transfer_id == trans_id if trans_id is not None else self.transfer_clients.get(t.transfer_id)
                == client_id
            )
        ]  # fmt: skip
        return Reply(rows)


def _window(params: Mapping[str, Any]) -> tuple[int, int, int] | Reply:
    # ``after`` (older than, ms), ``before`` (newer than, ms), ``limit`` (1..100, default 100)
    after, before, limit = (param_text(params, k) for k in ("after", "before", "limit"))
    if any(v is not None and not v.isdigit() for v in (after, before, limit)):
        return refusal("51000", "after, before or limit")
    return (int(before) if before else -1), (int(after) if after else 1 << 62), min(int(limit or _PAGE_MAX), _PAGE_MAX)
