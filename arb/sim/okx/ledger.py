"""The fake private OKX's ledger: the shared :class:`~arb.sim.ledger.Ledger` with what OKX adds, amending an
open order in place (``POST /api/v5/trade/amend-order`` and the WebSocket's ``amend-order``).

OKX keeps the order id through an amendment; a new size at or below what has filled fills the order ("If the
new quantity of the order is less than or equal to the filled quantity when you are amending a partially-filled
order, the order status will be changed to filled"); a post-only order amended to a price that would take is
refused (51511) and stays as it was. Any other amended price that crosses the book takes as a taker, the rest
rests. Each amendment is announced to the account's listeners as an event of kind ``NEW`` carrying the amended
order (the order's first ``NEW`` event is its creation, every later one an amendment).
"""

from __future__ import annotations

__all__ = ["OkxLedger", "open_okx_ledger"]

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Literal

from arb.sim.ledger import (
    BookLevels,
    ExecType,
    Ledger,
    LedgerAccount,
    LedgerOrder,
    OrderStatus,
    OrderType,
    RejectReason,
    SymbolRules,
    TimeInForce,
    VenueRejectError,
)
from arb.sim.ledger.matching import check_filters
from arb.sim.options import VenueOptions

SPOT_FEES = ("0.001", "0.0008")
"""OKX's Lv1 spot fee rates (taker, maker), the "Get fee rates" example's."""
SWAP_FEES = ("0.0005", "0.0002")
"""The fake's USDT-swap rates (taker, maker) unless given: OKX's regular-user tier as ccxt lists it."""


class OkxLedger(Ledger):
    """A :class:`~arb.sim.ledger.Ledger` that also amends orders (:meth:`amend`)."""

    def amend(self, account: LedgerAccount, order: LedgerOrder, *, qty: Decimal | None, price: Decimal | None) -> None:
        """Amend ``order`` (open, limit) to the total size ``qty`` (base units, the filled part included) and/or
        ``price``; ``None`` keeps the present one. Raises :class:`VenueRejectError` and changes nothing when the
        new size or price breaks the symbol's rules, the funds do not cover it, or a post-only order would take
        (``POST_ONLY_TAKES``)."""
        rules = self.rules[order.symbol]
        new_qty = qty if qty is not None else order.qty
        new_price = price if price is not None else order.price
        check_filters(rules, OrderType.LIMIT, max(new_qty, rules.min_qty), new_price, notional=False)
        old = (order.qty, order.price)
        self._unlock(account, rules, order)
        order.qty, order.price = new_qty, new_price
        order.updated_ms = self.clock_ms()
        if order.remaining <= 0:
            order.qty = order.executed_qty
            order.status = OrderStatus.FILLED
            self._emit(account, order, ExecType.NEW, None)
            return
        plan = self._plan_fills(order)
        try:
            if order.time_in_force is TimeInForce.POST_ONLY and plan:
                raise VenueRejectError(RejectReason.POST_ONLY_TAKES, f"{order.side.value} {new_price} would take")
            self._check_funds(account, rules, order, plan)
        except VenueRejectError:
            order.qty, order.price = old
            self._lock(account, rules, order)
            raise
        self._emit(account, order, ExecType.NEW, None)
        for level_price, level_qty in plan:
            self._execute(account, rules, order, level_price, level_qty, maker=False)
        if order.remaining > 0:
            self._lock(account, rules, order)


def open_okx_ledger(
    market: Literal["spot", "linear"],
    rules: Sequence[SymbolRules],
    options: VenueOptions,
    *,
    book: Callable[[str], tuple[BookLevels, BookLevels]],
    book_version: Callable[[], int],
    clock_ms: Callable[[], int],
    first_ids: tuple[int, int],
) -> OkxLedger:
    """The ledger of a fake OKX ``market``, matching against ``book`` (a symbol's ``(bids, asks)`` in base units,
    best first; ``book_version``: how far the books have moved). Fees are :data:`SPOT_FEES` or :data:`SWAP_FEES`
    unless ``options`` say otherwise; a spot fee is paid in the currency received (the docs' buy fill pays BTC);
    ``clOrdId`` is unique among open orders only; a post-only order that would take is recorded and cancelled, an
    unfilled fill-or-kill order likewise; ``first_ids`` are the first order and trade ids."""
    taker, maker = SPOT_FEES if market == "spot" else SWAP_FEES
    return OkxLedger(
        market=market,
        rules=rules,
        book=book,
        book_version=book_version,
        clock_ms=clock_ms,
        taker_fee=options.fee("taker", taker),
        maker_fee=options.fee("maker", maker),
        client_id_scope="open",
        fok_unfilled="expire",
        post_only_taking="expire",
        spot_fee_asset=options.spot_fee_asset,
        fee_coin=options.fee_coin,
        first_order_id=first_ids[0],
        first_trade_id=first_ids[1],
    )
