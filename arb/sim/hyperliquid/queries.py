"""The fake Hyperliquid's private ``/info`` queries, answered from its ledger by the ACCOUNT's address (an API
wallet's address, or any other, holds nothing: empty lists, ``unknownOid``, a zero account).

| ``type`` | answer |
|---|---|
| ``orderStatus`` (``user``, ``oid``) | ``{"status":"order","order":{"order":{...},...}}``, ``unknownOid`` |
| ``openOrders``, ``frontendOpenOrders`` | the open orders, newest first |
| ``userFills`` | the newest 2000 fills, newest first |
| ``userFillsByTime`` (``startTime``, ``endTime``?) | up to 2000 fills in the window, oldest first |
| ``clearinghouseState`` | ``{marginSummary, crossMarginSummary, withdrawable, assetPositions, time, ...}`` |
| ``userRateLimit`` | ``{"cumVlm","nRequestsUsed","nRequestsCap","nRequestsSurplus"}`` |
| ``userFees`` | the account's rates (``userCrossRate``, ``userAddRate``) and its daily volumes |
| ``userFunding`` (``startTime``, ``endTime``?) | the hourly payments in the window, oldest first (``delta``) |

An order under the plan's ``hide_orders`` fault answers ``unknownOid`` while its hidden queries last.
"""

from __future__ import annotations

__all__ = ["PRIVATE_INFO", "HyperliquidQueries"]

import hashlib
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from arb.sim.hyperliquid import wire
from arb.sim.hyperliquid.auth import Signers
from arb.sim.hyperliquid.orders import HyperliquidOrders
from arb.sim.ledger import ZERO, FundingPayment, LedgerAccount, LedgerTrade
from arb.sim.ledger.venue_ledger import Ledger

PRIVATE_INFO = ("orderStatus", "openOrders", "frontendOpenOrders", "userFills", "userFillsByTime",
                "clearinghouseState", "userRateLimit", "userFees", "userFunding")  # fmt: skip
"""The ``/info`` types answered from the ledger."""
_FILLS = 2000


class HyperliquidQueries:
    """The private ``/info`` answers. ``mark`` gives a coin's mark price (``None``: none yet, the entry price is
    used)."""

    def __init__(self, ledger: Ledger, orders: HyperliquidOrders, signers: Signers, *,
                 mark: Callable[[str], Decimal | None], clock_ms: Callable[[], int]) -> None:  # fmt: skip
        self._ledger = ledger
        self._orders = orders
        self._signers = signers
        self._mark = mark
        self._clock_ms = clock_ms

    def answer(self, kind: str, body: Mapping[str, Any]) -> tuple[int, object]:
        """``(HTTP status, JSON value)`` of a private query of ``kind`` (one of :data:`PRIVATE_INFO`)."""
        user = body.get("user")
        if not isinstance(user, str):
            return 422, "Failed to deserialize the JSON body into the target type"
        address = user.lower()
        name = self._signers.accounts.get(address)
        account = self._ledger.accounts.get(name) if name is not None else None
        if kind == "orderStatus":
            return 200, self._order_status(account, body.get("oid"))
        if kind in ("openOrders", "frontendOpenOrders"):
            entry = wire.open_entry if kind == "openOrders" else wire.frontend_entry
            found = self._ledger.open_orders(account) if account is not None else []
            return 200, [entry(o, o.symbol, self._orders.cloid(o)) for o in reversed(found)]
        if kind == "userFills":
            trades = account.trades[-_FILLS:] if account is not None else []
            return 200, [self._fill(t) for t in reversed(trades)]
        if kind == "userFillsByTime":
            start, end = body.get("startTime"), body.get("endTime")
            if not isinstance(start, int):
                return 422, "Failed to deserialize the JSON body into the target type"
            last = end if isinstance(end, int) else 1 << 62
            trades = [t for t in (account.trades if account is not None else []) if start <= t.time_ms <= last]
            return 200, [self._fill(t) for t in trades[:_FILLS]]
        if kind == "userFunding":
            start, end = body.get("startTime"), body.get("endTime")
            if not isinstance(start, int):
                return 422, "Failed to deserialize the JSON body into the target type"
            last = end if isinstance(end, int) else 1 << 62
            paid = [p for p in (account.fundings if account is not None else []) if start <= p.funding_ms <= last]
            return 200, [_funding(p) for p in paid[:_FILLS]]
        if kind == "clearinghouseState":
            return 200, self._clearinghouse(account)
        if kind == "userRateLimit":
            budget = self._signers.budgets.get(address)
            volume = _volume(account)
            used, cap = (budget.used, budget.cap(volume)) if budget is not None else (0, 10_000)
            return 200, {"cumVlm": wire.num(volume), "nRequestsUsed": used, "nRequestsCap": cap, "nRequestsSurplus": 0}
        return 200, self._fees(account)

    def _fill(self, trade: LedgerTrade) -> dict[str, Any]:
        order = next(o for o in self._ledger.accounts[trade.account].orders if o.order_id == trade.order_id)
        start = self._orders.start_positions.get(trade.trade_id, ZERO)
        return wire.fill_entry(trade, trade.symbol, self._orders.cloid(order), start)

    def _order_status(self, account: LedgerAccount | None, ref: object) -> dict[str, Any]:
        if account is None:
            return {"status": "unknownOid"}
        if isinstance(ref, str) and ref.startswith("0x"):
            order = self._ledger.find(account, None, client_id=ref.lower())
        elif isinstance(ref, int) and not isinstance(ref, bool):
            order = self._ledger.find(account, None, order_id=ref)
        else:
            order = None
        if order is None:
            return {"status": "unknownOid"}
        status = wire.venue_status(order, self._orders.reasons)
        return {"status": "order", "order": wire.status_entry(order, order.symbol, self._orders.cloid(order), status)}

    def _clearinghouse(self, account: LedgerAccount | None) -> dict[str, Any]:
        wallet = account.balance(self._ledger.settle_asset).total if account is not None else ZERO
        positions, notional, margin, unrealized = [], ZERO, ZERO, ZERO
        for position in account.positions.values() if account is not None else []:
            if position.qty == 0:
                continue
            mark = self._mark(position.symbol) or position.entry_price
            value = abs(position.qty) * mark
            pnl = (mark - position.entry_price) * position.qty
            used = value / position.leverage
            notional, margin, unrealized = notional + value, margin + used, unrealized + pnl
            positions.append({"type": "oneWay", "position": {
                "coin": position.symbol, "szi": wire.num(position.qty),
                "leverage": {"type": "cross", "value": int(position.leverage)},
                "entryPx": wire.num(position.entry_price), "positionValue": wire.num(value),
                "unrealizedPnl": wire.num(pnl), "returnOnEquity": wire.num(pnl / used if used else ZERO),
                "liquidationPx": None, "marginUsed": wire.num(used), "maxLeverage": 40,
                "cumFunding": {"allTime": wire.num(-position.funding), "sinceOpen": wire.num(-position.funding),
                               "sinceChange": wire.num(-position.funding)},
            }})  # fmt: skip
        held = sum((o.locked for o in (account.orders if account is not None else []) if o.status.is_open), ZERO)
        value = wallet + unrealized  # the wallet (free and what resting orders hold) and the positions' PnL
        summary = {"accountValue": wire.num(value), "totalNtlPos": wire.num(notional), "totalRawUsd": wire.num(wallet),
                   "totalMarginUsed": wire.num(margin + held)}  # fmt: skip
        return {"marginSummary": summary, "crossMarginSummary": summary,
                "crossMaintenanceMarginUsed": wire.num(margin / 2),
                "withdrawable": wire.num(max(ZERO, value - margin - held)),
                "assetPositions": positions, "time": self._clock_ms()}  # fmt: skip

    def _fees(self, account: LedgerAccount | None) -> dict[str, Any]:
        volume = _volume(account)
        return {"dailyUserVlm": [{"date": "", "userCross": wire.num(volume), "userAdd": "0.0", "exchange": "0.0"}],
                "userCrossRate": wire.num(self._ledger.taker_fee), "userAddRate": wire.num(self._ledger.maker_fee),
                "activeReferralDiscount": "0.0"}  # fmt: skip


def _volume(account: LedgerAccount | None) -> Decimal:
    """The USDC an account traded (its address budget grows by it)."""
    return sum((t.price * t.qty for t in account.trades), ZERO) if account is not None else ZERO


def _funding(payment: FundingPayment) -> dict[str, Any]:
    # One ``userFunding`` entry; its ``hash`` the fake's own (a digest of the payment's id)
    delta = {"type": "funding", "coin": payment.symbol, "usdc": wire.num(payment.payment),
             "szi": wire.num(payment.position), "fundingRate": wire.num(payment.rate)}  # fmt: skip
    digest = hashlib.sha256(f"funding {payment.payment_id}".encode()).hexdigest()
    return {"time": payment.funding_ms, "hash": "0x" + digest, "delta": delta}
