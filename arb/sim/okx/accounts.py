"""The fake private OKX's trading account: ``GET /api/v5/account/balance``, ``positions``, ``config``,
``trade-fee``, ``POST /api/v5/account/set-position-mode`` and ``set-leverage``, and the public
``GET /api/v5/public/time``.

:class:`OkxAccounts` is a part of :class:`~arb.sim.okx.exchange.FakeOkxExchange`, usable alone. Every account is
in "Spot and futures mode" (``acctLv`` 2: spot ``cash``, swaps ``cross``/``isolated``), in ``net_mode`` until it
switches (with no position and no open order, else 59000).
"""

from __future__ import annotations

__all__ = ["ACCOUNT_LEVEL", "OkxAccounts"]

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from arb.sim.ledger import LedgerAccount
from arb.sim.okx.calls import Call, Endpoint, Reply, decimal_of, param_text, refusal, text
from arb.sim.okx.ledger import OkxLedger
from arb.sim.okx.views import OkxViews

ACCOUNT_LEVEL = "2"
"""``acctLv``: Spot and futures mode."""
_INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION")


class OkxAccounts:
    """The trading-account handlers of ``ledger``'s accounts as ``views`` shows them. ``clock``: the venue's time
    (seconds); ``demo``: whether the venue is OKX's demo trading (its keys' ``perm``/``label`` say so)."""

    def __init__(self, ledger: OkxLedger, views: OkxViews, *, clock: Callable[[], float], demo: bool) -> None:
        self.ledger = ledger
        self.views = views
        self.position_modes: dict[str, str] = {}
        """``posMode`` of each account that switched (``net_mode`` otherwise)."""
        self._clock = clock
        self._demo = demo

    def position_mode(self, account: str) -> str:
        """``account``'s ``posMode``: ``net_mode`` or ``long_short_mode``."""
        return self.position_modes.get(account, "net_mode")

    def endpoints(self) -> dict[tuple[str, str], Endpoint]:
        """The account endpoints and the server time, by ``(method, path)``."""
        account = "/api/v5/account/"
        return {
            ("GET", "/api/v5/public/time"): Endpoint(self._time, False, None),
            ("GET", account + "balance"): Endpoint(self._balance, True, None, account + "balance"),
            ("GET", account + "positions"): Endpoint(self._positions, True, None, account + "positions"),
            ("GET", account + "config"): Endpoint(self._config, True, None, account + "config"),
            ("GET", account + "trade-fee"): Endpoint(self._trade_fee, True, None, account + "trade-fee"),
            ("POST", account + "set-position-mode"): Endpoint(self._set_position_mode, True, None,
                                                              account + "set-position-mode"),
            ("POST", account + "set-leverage"): Endpoint(self._set_leverage, True, None, account + "set-leverage"),
        }  # fmt: skip

    def _time(self, call: Call) -> Reply:
        """``GET /api/v5/public/time`` -> ``[{"ts":"1597026383085"}]``."""
        return Reply([{"ts": str(int(self._clock() * 1000))}])

    def _balance(self, call: Call) -> Reply:
        """``GET /api/v5/account/balance?ccy=BTC,ETH``: the trading account (``details`` per currency held)."""
        assert call.account is not None
        wanted = param_text(call.params, "ccy")
        if wanted is not None and len(wanted.split(",")) > 20:
            return refusal("51000", "ccy")
        return Reply([self.views.balance_entry(call.account, set(wanted.split(",")) if wanted else None)])

    def _positions(self, call: Call) -> Reply:
        """``GET /api/v5/account/positions`` (``instType``, ``instId`` up to 10 comma-separated, ``posId``): the
        open positions; an instrument named is listed even when flat, once it was held."""
        account = call.account
        assert account is not None
        inst_type, inst_ids = param_text(call.params, "instType"), param_text(call.params, "instId")
        if inst_type is not None and inst_type not in _INST_TYPES[1:]:
            return refusal("51000", "instType")
        if self.ledger.market != "linear" or inst_type not in (None, "SWAP"):
            return Reply([])
        if inst_ids is None:
            symbols = self.views.held_instruments(account)
        else:
            names = inst_ids.split(",")
            if len(names) > 10:
                return refusal("51000", "instId")
            if any(self.views.instrument(n) is None for n in names):
                return refusal("51001")
            symbols = [n for n in names if n in account.positions]
        entries = [self.views.position_entry(account, s) for s in symbols]
        wanted = param_text(call.params, "posId")
        if wanted is not None:
            entries = [e for e in entries if e["posId"] in wanted.split(",")]
        return Reply(entries)

    def _config(self, call: Call) -> Reply:
        """``GET /api/v5/account/config`` -> ``[{"uid","mainUid","acctLv":"2","posMode",...}]``."""
        account = call.account
        assert account is not None
        uid = self.views.uid(account.name)
        perm = "read_only,withdraw,trade" if account.can_trade else "read_only"
        entry: dict[str, Any] = {
            "uid": uid, "mainUid": uid, "acctLv": ACCOUNT_LEVEL, "acctStpMode": "cancel_maker",
            "posMode": self.position_mode(account.name), "autoLoan": False, "greeksType": "PA", "level": "Lv1",
            "levelTmp": "", "ctIsoMode": "automatic", "mgnIsoMode": "automatic", "spotOffsetType": "",
            "roleType": "0", "traderInsts": [], "spotRoleType": "0", "spotTraderInsts": [], "opAuth": "0",
            "kycLv": "2", "label": f"{account.name}{' (demo)' if self._demo else ''}", "ip": "", "perm": perm,
            "liquidationGear": "-1", "enableSpotBorrow": False, "spotBorrowAutoRepay": False, "type": "0",
        }  # fmt: skip
        return Reply([entry])

    def _trade_fee(self, call: Call) -> Reply:
        """``GET /api/v5/account/trade-fee?instType=SPOT&instId=BTC-USDT`` (or ``instType=SWAP`` and ``instFamily``
        or ``uly``): the ledger's rates, negative (a commission): spot in ``maker``/``taker``, USDT swaps in
        ``makerU``/``takerU``."""
        inst_type = param_text(call.params, "instType")
        if inst_type is None:
            return refusal("50014", "instType")
        if inst_type not in _INST_TYPES:
            return refusal("51000", "instType")
        inst_id = param_text(call.params, "instId")
        family = param_text(call.params, "instFamily") or param_text(call.params, "uly")
        insts = [i for i in self.views.instruments.values() if i.inst_type == inst_type]
        if (inst_id is not None and inst_id not in {i.inst_id for i in insts}) or (
            family is not None and family not in {i.family for i in insts}
        ):
            return refusal("51001")
        taker, maker = text(-self.ledger.taker_fee), text(-self.ledger.maker_fee)
        swap = inst_type == "SWAP"
        entry: dict[str, Any] = {
            "category": "1", "delivery": "", "exercise": "", "instType": inst_type, "level": "Lv1",
            "maker": "" if swap else maker, "taker": "" if swap else taker, "makerU": maker if swap else "",
            "takerU": taker if swap else "", "makerUSDC": "", "takerUSDC": "", "ruleType": "normal",
            "ts": str(call.now_ms), "fiat": [],
        }  # fmt: skip
        return Reply([entry] if insts else [])

    def _set_position_mode(self, call: Call) -> Reply:
        """``POST /api/v5/account/set-position-mode`` ``{"posMode":"long_short_mode"|"net_mode"}``; 59000 while
        the account holds a position or an open order."""
        account = call.account
        assert account is not None
        mode = param_text(call.params, "posMode")
        if mode is None:
            return refusal("50014", "posMode")
        if mode not in ("net_mode", "long_short_mode"):
            return refusal("51000", "posMode")
        if mode != self.position_mode(account.name) and self._busy(account):
            return refusal("59000")
        self.position_modes[account.name] = mode
        return Reply([{"posMode": mode}])

    def _busy(self, account: LedgerAccount) -> bool:
        return bool(self.ledger.open_orders(account)) or any(p.qty != 0 for p in account.positions.values())

    def _set_leverage(self, call: Call) -> Reply:
        """``POST /api/v5/account/set-leverage`` ``{"instId":"BTC-USDT-SWAP","lever":"5","mgnMode":"cross"}``: a
        swap's leverage (both margin modes alike in the fake's margin); 59102 above the instrument's maximum."""
        account = call.account
        assert account is not None
        inst_id, lever, mode = (param_text(call.params, k) for k in ("instId", "lever", "mgnMode"))
        for key, given in (("lever", lever), ("mgnMode", mode)):
            if given is None:
                return refusal("50014", key)
        if mode not in ("cross", "isolated"):
            return refusal("51000", "mgnMode")
        inst = self.views.instrument(inst_id)
        if inst is None or not inst.swap:
            return refusal("51000", "instId: only swap leverage is modelled by the fake") if inst else refusal("51001")
        value = decimal_of(lever)
        if value is None or value < Decimal("0.01"):
            return refusal("51000", "lever")
        if value > inst.max_leverage:
            return refusal("59102")
        account.position(inst.inst_id).leverage = value
        pos_side = param_text(call.params, "posSide") or ""
        return Reply([{"lever": text(value), "mgnMode": mode, "instId": inst.inst_id, "posSide": pos_side}])
