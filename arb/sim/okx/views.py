"""The fake private OKX's records as it shows them: users' ids, what an order carries beyond the ledger's record
(``ordType``, ``tdMode``, ``tag``, ``cancelSource``...), and the order, fill, position and balance entries its REST
answers and its private WebSocket pushes share.

Field names and meanings are the docs v5's ("GET / Order details", "WS / Order channel", "GET / Transaction
details", "Get positions", "Get balance"). Sizes are contracts on a swap (:class:`~arb.sim.okx.instruments.
OkxInstrument` converts), fees are negative when charged, a spot fee is in the currency received.
"""

from __future__ import annotations

__all__ = ["STATES", "OkxViews", "OrderMeta"]

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from arb.sim.ledger import (
    ZERO,
    Ledger,
    LedgerAccount,
    LedgerEvent,
    LedgerOrder,
    LedgerTrade,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from arb.sim.okx.calls import text
from arb.sim.okx.instruments import OkxInstrument

STATES: Mapping[OrderStatus, str] = {
    OrderStatus.NEW: "live",
    OrderStatus.PARTIALLY_FILLED: "partially_filled",
    OrderStatus.FILLED: "filled",
    OrderStatus.CANCELED: "canceled",
    OrderStatus.EXPIRED: "canceled",
    OrderStatus.REJECTED: "canceled",
}
"""OKX's ``state`` of each ledger status (an order the venue ends itself is ``canceled`` with a ``cancelSource``)."""
BILL_IDS_FROM = 680_800_019_754_098_688
"""A fill's ``billId`` is this plus its trade id."""
STABLE = frozenset({"USDT", "USDC"})


@dataclass(slots=True)
class OrderMeta:
    """What OKX shows of an order beyond the ledger's record, as the request set it."""

    ord_type: str
    td_mode: str
    pos_side: str = ""
    tgt_ccy: str = ""
    tag: str = ""
    cancel_source: str = ""
    """``1`` cancelled by the user, ``20`` by cancel-all-after; empty: the venue's own
    (:meth:`OkxViews.cancel_source`)."""
    req_id: str = ""
    amend_result: str = ""


def _cancel_source(order: LedgerOrder, meta: OrderMeta) -> str:
    # Why a closed order was cancelled: as noted, else the venue ended it (post-only 31, FOK 13, IOC/market 14)
    if meta.cancel_source:
        return meta.cancel_source
    if order.status is OrderStatus.CANCELED:
        return "1"
    if order.time_in_force is TimeInForce.POST_ONLY:
        return "31"
    return "13" if order.time_in_force is TimeInForce.FOK else "14"


class OkxViews:
    """``ledger``'s records as the venue shows them, for its ``instruments`` (by id). ``clock``: the venue's time
    (seconds); ``mark_price``: an instrument's mark price (``None``: empty book); ``maintenance_rate``: the swaps'
    maintenance margin rate."""

    def __init__(
        self,
        ledger: Ledger,
        instruments: Mapping[str, OkxInstrument],
        *,
        clock: Callable[[], float],
        mark_price: Callable[[str], Decimal | None],
        maintenance_rate: Decimal,
    ) -> None:
        self.ledger = ledger
        self.instruments = dict(instruments)
        self.maintenance_rate = maintenance_rate
        self.meta: dict[int, OrderMeta] = {}
        """What OKX shows of each order beyond the ledger's record, by ledger id."""
        self.margin_modes: dict[tuple[str, str], str] = {}
        """``(account, instId)`` -> ``cross`` or ``isolated``: the ``tdMode`` of the position's first order."""
        self._clock = clock
        self._mark_price = mark_price
        self._uids: dict[str, str] = {}
        self._next_uid = itertools.count(44_705_892_343_619_585)

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    # -- accounts and ids ------------------------------------------------------------------------

    def add_uid(self, account: str) -> None:
        """Give a new account its user id."""
        self._uids[account] = str(next(self._next_uid))

    def uid(self, account: str) -> str:
        """The OKX user id (``uid``) of ``account``."""
        return self._uids[account]

    @staticmethod
    def client_id(order: LedgerOrder) -> str:
        """The ``clOrdId`` the venue shows (empty for an order sent without one)."""
        return "" if order.client_id.startswith("~") else order.client_id

    def instrument(self, inst_id: str | None) -> OkxInstrument | None:
        return self.instruments.get(inst_id) if inst_id else None

    def meta_of(self, order: LedgerOrder) -> OrderMeta:
        found = self.meta.get(order.order_id)
        if found is None:
            inst = self.instruments[order.symbol]
            found = self.meta[order.order_id] = OrderMeta("limit", "cross" if inst.swap else "cash")
        return found

    def cancel_source(self, order: LedgerOrder) -> str:
        """``cancelSource`` of a cancelled order: ``1`` by the user, ``20`` cancel-all-after, ``31`` a post-only
        order that would take, ``13`` an unfilled fill-or-kill, ``14`` an IOC's (or market order's) remainder."""
        return _cancel_source(order, self.meta_of(order))

    def _fee_ccy(self, order: LedgerOrder, trades: list[LedgerTrade]) -> str:
        if trades:
            return trades[0].fee_asset
        rules = self.ledger.rules[order.symbol]
        if self.ledger.market == "linear":
            return self.ledger.settle_asset
        received = rules.base if order.side is Side.BUY else rules.quote
        return received if self.ledger.spot_fee_asset == "received" else rules.quote

    # -- orders ----------------------------------------------------------------------------------

    def order_entry(
        self, at: LedgerOrder | LedgerEvent, *, push: bool = False, amended: bool = False
    ) -> dict[str, Any]:
        """An order as ``GET /api/v5/trade/order`` shows it now, or (``push``) as the ``orders`` channel pushes the
        ledger event ``at``: with the event's fill (``fillSz``, ``fillPx``, ``tradeId``, ``fillFee``, ``execType``),
        or none (``fillSz`` ``"0"``) for a change of state; ``amended``: the event is an amendment's (it carries
        ``amendResult``, ``reqId``)."""
        event = at if isinstance(at, LedgerEvent) else None
        order = event.order if event is not None else at
        assert isinstance(order, LedgerOrder)
        inst = self.instruments[order.symbol]
        meta = self.meta_of(order)
        status = event.status if event is not None else order.status
        executed = event.executed_qty if event is not None else order.executed_qty
        cum_quote = event.cum_quote if event is not None else order.cum_quote
        trades, filled = [], ZERO
        for trade in order.trades:  # the fills made by the time of ``at``
            if filled >= executed:
                break
            trades.append(trade)
            filled += trade.qty
        last = (event.trade if event is not None else (trades[-1] if trades else None)) if trades else None
        fee_ccy = self._fee_ccy(order, trades)
        position = self.ledger.accounts[order.account].positions.get(order.symbol)
        entry: dict[str, Any] = {
            "instType": inst.inst_type, "instId": order.symbol, "tgtCcy": meta.tgt_ccy, "ccy": "",
            "ordId": str(order.order_id), "clOrdId": self.client_id(order), "tag": meta.tag,
            "px": text(order.price) if order.price is not None and order.type is OrderType.LIMIT else "",
            "pxUsd": "", "pxVol": "", "pxType": "", "sz": inst.size_text(order.qty),
            "pnl": text(sum((t.realized_pnl for t in trades), ZERO)), "ordType": meta.ord_type,
            "side": order.side.value, "posSide": meta.pos_side, "tdMode": meta.td_mode,
            "accFillSz": inst.size_text(executed), "fillPx": text(last.price) if last else "",
            "tradeId": str(last.trade_id) if last else "", "fillSz": inst.size_text(last.qty) if last else "0",
            "fillTime": str(last.time_ms) if last else "",
            "avgPx": text(cum_quote / executed) if executed else ("0" if push else ""),
            "state": STATES[status], "lever": text(position.leverage) if inst.swap and position else "",
            "attachAlgoClOrdId": "", "tpTriggerPx": "", "tpTriggerPxType": "", "tpOrdPx": "", "slTriggerPx": "",
            "slTriggerPxType": "", "slOrdPx": "", "attachAlgoOrds": [], "linkedAlgoOrd": {"algoId": ""},
            "stpId": "", "stpMode": "cancel_maker", "feeCcy": fee_ccy,
            "fee": text(-sum((t.fee for t in trades), ZERO)), "rebateCcy": fee_ccy, "rebate": "0", "source": "",
            "category": "normal", "reduceOnly": "true" if order.reduce_only else "false", "isTpLimit": "false",
            "cancelSource": _cancel_source(order, meta) if STATES[status] == "canceled" else "",
            "cancelSourceReason": "", "quickMgnType": "", "algoClOrdId": "", "algoId": "",
            "uTime": str(event.time_ms if event is not None else order.updated_ms), "cTime": str(order.created_ms),
        }  # fmt: skip
        if push:
            assert event is not None
            self._push_fields(entry, event, inst, meta if amended else None)
        return entry

    def _push_fields(
        self, entry: dict[str, Any], event: LedgerEvent, inst: OkxInstrument, meta: OrderMeta | None
    ) -> None:
        # What the orders channel adds to an order: the event's own fill, the amendment's result (``meta``)
        trade = event.trade
        mark = self._mark_price(event.order.symbol)
        notional = event.order.qty * (event.order.price or mark or ZERO)
        entry.update({
            "fillPx": text(trade.price) if trade else "", "tradeId": str(trade.trade_id) if trade else "",
            "fillSz": inst.size_text(trade.qty) if trade else "0", "fillTime": str(trade.time_ms) if trade else "",
            "fillFee": text(-trade.fee) if trade else "0", "fillFeeCcy": trade.fee_asset if trade else "",
            "execType": ("M" if trade.is_maker else "T") if trade else "", "fillPnl": text(trade.realized_pnl)
            if trade else "0", "fillNotionalUsd": text(trade.quote_qty) if trade else "", "fillPxVol": "",
            "fillPxUsd": "", "fillMarkVol": "", "fillFwdPx": "", "fillIdxPx": "",
            "fillMarkPx": text(mark) if trade and mark is not None and inst.swap else "",
            "notionalUsd": text(notional), "amendResult": meta.amend_result if meta else "",
            "amendSource": "1" if meta and meta.amend_result == "0" else "", "reqId": meta.req_id if meta else "",
            "code": "0",
            "msg": "", "lastPx": text(mark) if mark is not None else "",
        })  # fmt: skip

    def fill_entries(self, account: LedgerAccount, trades: Iterable[LedgerTrade]) -> list[dict[str, Any]]:
        """``trades`` as ``GET /api/v5/trade/fills`` lists them (``subType`` 1 buy, 2 sell on spot; 3 open long,
        4 open short, 5 close long, 6 close short on a swap in net mode)."""
        wanted = {t.trade_id for t in trades}
        orders = {o.order_id: o for o in account.orders}
        held: dict[str, Decimal] = {}
        out = []
        for trade in account.trades:
            before = held.get(trade.symbol, ZERO)
            held[trade.symbol] = before + trade.qty * trade.side.sign
            if trade.trade_id in wanted:
                out.append(self._fill_entry(trade, orders[trade.order_id], before))
        return out

    def _fill_entry(self, trade: LedgerTrade, order: LedgerOrder, held_before: Decimal) -> dict[str, Any]:
        inst = self.instruments[trade.symbol]
        meta = self.meta_of(order)
        if not inst.swap:
            sub_type = "1" if trade.side is Side.BUY else "2"
        elif trade.side is Side.BUY:
            sub_type = "6" if held_before < 0 else "3"
        else:
            sub_type = "5" if held_before > 0 else "4"
        rate = self.ledger.maker_fee if trade.is_maker else self.ledger.taker_fee
        mark = self._mark_price(trade.symbol) if inst.swap else None
        return {
            "instType": inst.inst_type, "instId": trade.symbol, "tradeId": str(trade.trade_id),
            "ordId": str(trade.order_id), "clOrdId": self.client_id(order),
            "billId": str(BILL_IDS_FROM + trade.trade_id),
            "subType": sub_type, "tag": meta.tag, "fillPx": text(trade.price), "fillSz": inst.size_text(trade.qty),
            "fillIdxPx": "", "fillPnl": text(trade.realized_pnl), "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "",
            "fillFwdPx": "", "fillMarkPx": text(mark) if mark is not None else "", "side": trade.side.value,
            "posSide": meta.pos_side or ("net" if inst.swap else ""), "execType": "M" if trade.is_maker else "T",
            "feeCcy": trade.fee_asset, "fee": text(-trade.fee), "ts": str(trade.time_ms),
            "fillTime": str(trade.time_ms), "feeRate": "" if inst.swap else text(-rate),
        }  # fmt: skip

    # -- positions and balances ------------------------------------------------------------------

    def position_entry(self, account: LedgerAccount, inst_id: str) -> dict[str, Any]:
        """``account``'s net position in the swap ``inst_id`` as ``GET /api/v5/account/positions`` lists it
        (``pos`` in contracts, negative short; margin and PnL at the fake's mark price, the book's mid)."""
        inst = self.instruments[inst_id]
        position = account.position(inst_id)
        mark = self._mark_price(inst_id) or position.entry_price
        trades = [t for t in account.trades if t.symbol == inst_id]
        now = str(self.now_ms())
        value = abs(position.qty) * mark
        upl = (mark - position.entry_price) * position.qty if position.qty else ZERO
        margin_mode = self.margin_modes.get((account.name, inst_id), "cross")
        initial = value / position.leverage
        fees = sum((t.fee for t in trades), ZERO)
        return {
            "instType": "SWAP", "mgnMode": margin_mode, "posId": f"{self.uid(account.name)[-9:]}{inst.code:08d}",
            "posSide": "net", "pos": inst.size_text(position.qty), "baseBal": "", "quoteBal": "", "baseBorrowed": "",
            "baseInterest": "", "quoteBorrowed": "", "quoteInterest": "", "posCcy": "", "availPos": "",
            "avgPx": text(position.entry_price) if position.qty else "", "nonSettleAvgPx": "", "markPx": text(mark),
            "upl": text(upl), "uplRatio": text(upl / initial) if initial else "0", "uplLastPx": text(upl),
            "uplRatioLastPx": text(upl / initial) if initial else "0", "instId": inst_id,
            "lever": text(position.leverage),
            "liqPx": "", "imr": text(initial) if margin_mode == "cross" else "",
            "margin": text(initial) if margin_mode == "isolated" else "", "mgnRatio": "",
            "mmr": text(value * self.maintenance_rate), "liab": "", "liabCcy": "", "interest": "",
            "tradeId": str(trades[-1].trade_id) if trades else "", "optVal": "", "pendingCloseOrdLiabVal": "",
            "notionalUsd": text(value), "adl": "1", "ccy": self.ledger.settle_asset, "last": text(mark),
            "idxPx": "", "usdPx": "", "bePx": "", "deltaBS": "", "deltaPA": "", "gammaBS": "", "gammaPA": "",
            "thetaBS": "", "thetaPA": "", "vegaBS": "", "vegaPA": "", "spotInUseAmt": "", "spotInUseCcy": "",
            "clSpotInUseAmt": "", "maxSpotInUseAmt": "", "bizRefId": "", "bizRefType": "",
            "realizedPnl": text(position.realized_pnl - fees + position.funding), "settledPnl": "",
            "pnl": text(position.realized_pnl), "fee": text(-fees), "fundingFee": text(position.funding),
            "liqPenalty": "0", "closeOrderAlgo": [], "cTime": str(trades[0].time_ms) if trades else now,
            "uTime": str(trades[-1].time_ms) if trades else now,
        }  # fmt: skip

    def held_instruments(self, account: LedgerAccount) -> list[str]:
        """The swaps ``account`` holds a position in now, by instrument id."""
        return [s for s in sorted(account.positions) if account.positions[s].qty != 0 and s in self.instruments]

    def usd_price(self, ccy: str) -> Decimal | None:
        """A currency's price in USD: 1 for a stablecoin, else the mark price of its USDT instrument."""
        if ccy in STABLE:
            return Decimal(1)
        for inst in self.instruments.values():
            if inst.rules.base == ccy and inst.rules.quote in STABLE:
                return self._mark_price(inst.inst_id)
        return None

    def balance_entry(self, account: LedgerAccount, wanted: set[str] | None = None) -> dict[str, Any]:
        """The trading account as ``GET /api/v5/account/balance`` answers it: one detail per currency with a
        balance (``cashBal`` the balance, ``frozenBal`` what orders and positions hold, ``availBal`` the rest;
        a swap account's USDT ``eq`` adds the positions' unrealised PnL), totals in USD."""
        now = str(self.now_ms())
        details, total = [], ZERO
        linear = self.ledger.market == "linear"
        for ccy in sorted(account.balances):
            if wanted is not None and ccy not in wanted:
                continue
            balance = account.balances[ccy]
            upl = margin = mm = ZERO
            if linear and ccy == self.ledger.settle_asset:
                for symbol, position in account.positions.items():
                    mark = self._mark_price(symbol) or position.entry_price
                    upl += (mark - position.entry_price) * position.qty if position.qty else ZERO
                    margin += position.initial_margin
                    mm += abs(position.qty) * mark * self.maintenance_rate
            cash = balance.total
            if cash == 0 and upl == 0:
                continue
            equity = cash + upl
            frozen = balance.locked + margin
            price = self.usd_price(ccy)
            total += equity * price if price is not None else ZERO
            details.append({
                "ccy": ccy, "eq": text(equity), "cashBal": text(cash), "uTime": now, "isoEq": "0",
                "availEq": text(equity - frozen), "disEq": text(equity * price) if price is not None else "",
                "fixedBal": "0", "availBal": text(cash - frozen), "frozenBal": text(frozen),
                "ordFrozen": text(balance.locked), "liab": "0", "upl": text(upl), "uplLiab": "0", "crossLiab": "0",
                "rewardBal": "0", "isoLiab": "0", "mgnRatio": "", "imr": text(margin) if linear else "",
                "mmr": text(mm) if linear else "", "interest": "0", "twap": "0", "maxLoan": "0",
                "eqUsd": text(equity * price) if price is not None else "", "borrowFroz": "0", "notionalLever": "",
                "stgyEq": "0", "isoUpl": "0", "spotInUseAmt": "", "clSpotInUseAmt": "", "maxSpotInUse": "",
                "spotIsoBal": "0", "smtSyncEq": "0", "spotCopyTradingEq": "0", "spotBal": "", "openAvgPx": "",
                "accAvgPx": "", "spotUpl": "", "spotUplRatio": "", "totalPnl": "", "totalPnlRatio": "",
                "collateralEnabled": False,
            })  # fmt: skip
        return {
            "uTime": now, "totalEq": text(total), "isoEq": "0", "adjEq": "", "ordFroz": "", "imr": "", "mmr": "",
            "borrowFroz": "", "mgnRatio": "", "notionalUsd": "", "notionalUsdForBorrow": "",
            "notionalUsdForFutures": "",
            "notionalUsdForOption": "", "notionalUsdForSwap": "", "upl": "", "details": details,
        }  # fmt: skip
