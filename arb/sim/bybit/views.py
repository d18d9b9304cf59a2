"""The fake private Bybit's records as it shows them: accounts' UIDs, and the order, execution, position
and wallet entries its REST answers and private stream share.

:class:`BybitViews` is a part of :class:`~arb.sim.bybit.exchange.FakeBybitExchange`, usable alone on a
ledger: it holds what Bybit shows beside the ledger's records (UIDs, each order's cancel type, market
unit and last price, the executions' sequence numbers) and builds the wire entries from them.
"""

from __future__ import annotations

__all__ = ["BybitViews"]

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from arb.sim.bybit.calls import STABLE_COINS, OrderMeta
from arb.sim.bybit.wire import (
    BybitCategory,
    OrderView,
    decimal_text,
    execution_entry,
    funding_execution_entry,
    order_entry,
    wire_exec_id,
    wire_order_id,
)
from arb.sim.bybit.wire_account import position_entry, wallet_coin_entry
from arb.sim.ledger import (
    ZERO,
    FundingPayment,
    Ledger,
    LedgerAccount,
    LedgerEvent,
    LedgerOrder,
    LedgerTrade,
    SymbolRules,
)


class BybitViews:
    """``ledger``'s records as the ``category`` venue shows them (``mark_price``: a symbol's mark price,
    ``None`` for an empty book; ``maintenance_rate``: the positions' maintenance margin rate)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        category: BybitCategory,
        clock: Callable[[], float],
        mark_price: Callable[[str], Decimal | None],
        maintenance_rate: Decimal,
    ) -> None:
        self.ledger = ledger
        self.category: BybitCategory = category
        self.maintenance_rate = maintenance_rate
        self.order_meta: dict[int, OrderMeta] = {}
        """What Bybit shows of an order beyond the ledger's record, by ledger id."""
        self._clock = clock
        self._mark_price = mark_price
        self._uids: dict[str, int] = {}
        self._next_uid = itertools.count(100_000_001)
        self._seq: dict[int, int] = {}
        self._next_seq = itertools.count(1_000_000_001)

    def add_uid(self, account: str) -> None:
        """Give a new account its UID."""
        self._uids[account] = next(self._next_uid)

    def uid(self, account: str) -> int:
        """The Bybit user id of ``account``."""
        return self._uids[account]

    def order_id(self, order: LedgerOrder) -> str:
        """The ``orderId`` the venue sends for ``order``."""
        return wire_order_id(self.category, order.order_id)

    def exec_id(self, trade: LedgerTrade) -> str:
        """The ``execId`` the venue sends for ``trade``."""
        return wire_exec_id(self.category, trade.trade_id)

    def rules(self, symbol: str | None) -> SymbolRules | None:
        return self.ledger.rules.get(symbol) if symbol else None

    def order_view(self, at: LedgerOrder | LedgerEvent) -> OrderView:
        """The order ``at`` now, or as the ledger event ``at`` saw it (:class:`OrderView`); once cancelled,
        with the cancel type the venue noted for it (``CancelByUser`` when none)."""
        view = OrderView(at)
        if view.cancelled:
            meta = self.order_meta.get(view.order.order_id)
            view.cancel_type = (meta.cancel_type if meta is not None else "") or "CancelByUser"
        return view

    def order_dict(self, view: OrderView, *, stream: bool = False) -> dict[str, Any]:
        order = view.order
        rules = self.ledger.rules[order.symbol]
        meta = self.order_meta.get(order.order_id) or OrderMeta()
        fee_asset = order.trades[0].fee_asset if order.trades else self.ledger.settle_asset
        return order_entry(
            self.category,
            view,
            rules,
            fee_asset=fee_asset,
            market_unit=meta.market_unit,
            last_price=meta.last_price,
            stream=stream,
        )

    def _trade_seq(self, trade: LedgerTrade) -> int:
        seq = self._seq.get(trade.trade_id)
        if seq is None:
            seq = self._seq[trade.trade_id] = next(self._next_seq)
        return seq

    def exec_dict(self, trade: LedgerTrade, order: LedgerOrder, *, stream: bool = False, fast: bool = False) -> Any:
        rules = self.ledger.rules[trade.symbol]
        rate = self.ledger.maker_fee if trade.is_maker else self.ledger.taker_fee
        mark = ""
        if self.category == "linear" and (price := self._mark_price(trade.symbol)) is not None:
            mark = decimal_text(price, rules.tick_size)
        return execution_entry(
            self.category, trade, order, rules, fee_rate=rate, mark_price=mark, seq=self._trade_seq(trade),
            stream=stream, fast=fast,
        )  # fmt: skip

    def funding_order_id(self, payment: FundingPayment) -> str:
        # the orderId Bybit gives a settlement (the documented sample's shape: funding time in s, uid)
        return f"{payment.funding_ms // 1000}-8-{self._uids[payment.account]}-1-2"

    def funding_exec_dict(self, payment: FundingPayment, *, stream: bool = False) -> dict[str, Any]:
        seq = self._seq.get(-payment.payment_id)
        if seq is None:
            seq = self._seq[-payment.payment_id] = next(self._next_seq)
        rules = self.ledger.rules[payment.symbol]
        return funding_execution_entry(payment, rules, order_id=self.funding_order_id(payment), seq=seq,
                                       stream=stream)  # fmt: skip

    def meta(self, order: LedgerOrder) -> OrderMeta:
        meta = self.order_meta.get(order.order_id)
        if meta is None:
            meta = self.order_meta[order.order_id] = OrderMeta()
        return meta

    @staticmethod
    def link(order: LedgerOrder) -> str:
        return "" if order.client_id.startswith("~") else order.client_id

    def _usd_price(self, coin: str) -> Decimal | None:
        if coin in STABLE_COINS:
            return Decimal(1)
        for rules in self.ledger.rules.values():
            if rules.base == coin and rules.quote in STABLE_COINS:
                return self._mark_price(rules.symbol)
        return None

    def wallet(self, account: LedgerAccount, wanted: set[str] | None = None) -> dict[str, Any]:
        """The UNIFIED wallet of ``account``: per-coin entries and the USD totals."""
        coins: list[dict[str, Any]] = []
        totals = dict.fromkeys(("equity", "wallet", "upl", "im", "mm"), ZERO)
        linear = self.category == "linear"
        settle = self.ledger.settle_asset
        for coin in sorted(account.balances):
            if wanted is not None and coin not in wanted:
                continue
            balance = account.balances[coin]
            order_im = position_im = position_mm = upl = cum = ZERO
            locked = balance.locked
            if linear and coin == settle:
                locked, order_im = ZERO, balance.locked
                for position in account.positions.values():
                    position_im += position.initial_margin
                    position_mm += abs(position.qty) * position.entry_price * self.maintenance_rate
                    mark = self._mark_price(position.symbol)
                    if mark is not None and position.qty:
                        upl += (mark - position.entry_price) * position.qty
                    cum += self.cum_realised(account, position.symbol)
            wallet = balance.total
            price = self._usd_price(coin)
            coins.append(
                wallet_coin_entry(coin, wallet=wallet, locked=locked, order_im=order_im, position_im=position_im,
                                  position_mm=position_mm, upl=upl, cum_realised=cum, usd_price=price)
            )  # fmt: skip
            if price is not None:
                totals["equity"] += (wallet + upl) * price
                totals["wallet"] += wallet * price
                totals["upl"] += upl * price
                totals["im"] += (order_im + position_im) * price
                totals["mm"] += position_mm * price
        margin = totals["wallet"] + totals["upl"]
        return {
            "totalEquity": decimal_text(totals["equity"]),
            "accountIMRate": decimal_text(totals["im"] / margin if margin else ZERO),
            "accountIMRateByMp": decimal_text(totals["im"] / margin if margin else ZERO),
            "totalMarginBalance": decimal_text(margin),
            "totalInitialMargin": decimal_text(totals["im"]),
            "totalInitialMarginByMp": decimal_text(totals["im"]),
            "accountType": "UNIFIED",
            "totalAvailableBalance": decimal_text(margin - totals["im"]),
            "accountMMRate": decimal_text(totals["mm"] / margin if margin else ZERO),
            "accountMMRateByMp": decimal_text(totals["mm"] / margin if margin else ZERO),
            "totalPerpUPL": decimal_text(totals["upl"]),
            "totalWalletBalance": decimal_text(totals["wallet"]),
            "accountLTV": "0",
            "totalMaintenanceMargin": decimal_text(totals["mm"]),
            "totalMaintenanceMarginByMp": decimal_text(totals["mm"]),
            "coin": coins,
        }

    def cum_realised(self, account: LedgerAccount, symbol: str) -> Decimal:
        """Bybit's ``cumRealisedPnl``: closed PnL net of every fee paid on ``symbol``, plus its funding."""
        position = account.positions.get(symbol)
        realised = position.realized_pnl + position.funding if position is not None else ZERO
        return realised - sum((t.fee for t in account.trades if t.symbol == symbol), ZERO)

    def position_dict(self, account: LedgerAccount, symbol: str, *, stream: bool = False) -> dict[str, Any]:
        position = account.position(symbol)
        trades = [t for t in account.trades if t.symbol == symbol]
        now = int(self._clock() * 1000)
        return position_entry(
            position,
            self.ledger.rules[symbol],
            mark_price=self._mark_price(symbol),
            cum_realised=self.cum_realised(account, symbol),
            maintenance_rate=self.maintenance_rate,
            created_ms=trades[0].time_ms if trades else now,
            updated_ms=trades[-1].time_ms if trades else now,
            seq=self._trade_seq(trades[-1]) if trades else -1,
            stream=stream,
        )
