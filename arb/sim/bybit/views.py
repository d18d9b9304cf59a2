"""The fake private Bybit's state and how it shows it: the ledger, accounts and UIDs, and the order,
execution, position and wallet records its REST answers and private stream share.

:class:`BybitLedgerViews` holds the whole private venue's state; the classes above it
(:mod:`.user_stream`, :mod:`.private_rest`, :mod:`.accounts`, :mod:`.trade_ws`, :mod:`.exchange`) serve it.
"""

from __future__ import annotations

__all__ = ["BybitLedgerViews"]

import itertools
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from arb.sim.bybit.calls import (
    DEFAULT_RATE_LIMITS,
    STABLE_COINS,
    DcpTrigger,
    Endpoint,
    OrderMeta,
    PrivateSession,
    TradeAnswer,
    decode_ticker,
)
from arb.sim.bybit.public import BybitMarket, FakeBybitVenue
from arb.sim.bybit.wire import (
    FIRST_ORDER_ID,
    FIRST_TRADE_ID,
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
from arb.sim.ledger import ZERO, FundingPayment, LedgerAccount, LedgerEvent, LedgerOrder, LedgerTrade, SymbolRules
from arb.sim.options import VenueOptions
from arb.sim.private import FundingFields, LedgerVenue
from arb.sim.replay import SessionSpec

logger = logging.getLogger(__name__)


class BybitLedgerViews(LedgerVenue, FakeBybitVenue):
    """The private venue's state and its records as Bybit shows them; see
    :class:`~arb.sim.bybit.exchange.FakeBybitExchange` for the arguments."""

    _BOOK_STREAM = "orderbook."
    _FUNDING_STREAM = "tickers."
    _FUNDING_MESSAGE = "tickers message"

    def __init__(
        self,
        recordings: SessionSpec | Sequence[SessionSpec],
        *,
        market: BybitMarket = "linear",
        rules: Sequence[SymbolRules],
        options: VenueOptions | None = None,
        symbols: Sequence[str] = (),
        seed: int = 0,
        rate_limits: Mapping[str, int] | None = None,
        ip_limit: tuple[int, float] | None = (600, 5.0),
        ip_ban_s: float = 600.0,
        private_path: str = "/v5/private",
    ) -> None:
        options = options if options is not None else VenueOptions()
        super().__init__(
            recordings, market=market, options=options, symbols=[*symbols, *(r.symbol for r in rules)], seed=seed
        )
        self.category: BybitCategory = market
        spot = market == "spot"
        self._open_ledger(
            market,
            rules,
            options,
            linear_taker_fee="0.00055",
            client_id_scope="all",
            first_ids=(FIRST_ORDER_ID[market], FIRST_TRADE_ID[market]),
        )
        self.private_path = private_path
        self.max_leverage = Decimal(options.max_leverage if options.max_leverage is not None else 100)
        self.maintenance_rate = Decimal(options.maintenance_rate if options.maintenance_rate is not None else "0.005")
        limits = dict(DEFAULT_RATE_LIMITS["any"])
        limits.update(DEFAULT_RATE_LIMITS[market])
        limits.update(rate_limits or {})
        self._rate_limits = limits
        self._ip_limit = ip_limit
        self._ip_ban_s = ip_ban_s
        self._ip_hits: deque[float] = deque()
        self._uid_hits: dict[tuple[int, str], deque[float]] = {}
        self._uids: dict[str, int] = {}
        self._next_uid = itertools.count(100_000_001)
        self._auto_link = itertools.count(1)
        self._order_meta: dict[int, OrderMeta] = {}
        self._hedge_mode: dict[tuple[str, str], bool] = {}
        self._seq: dict[int, int] = {}
        self._next_seq = itertools.count(1_000_000_001)
        self._message_ids = itertools.count(1)
        self._sessions: dict[int, PrivateSession] = {}
        self._dcp_windows: dict[str, dict[str, int]] = {}
        self._dcp_lost: dict[str, float] = {}
        self.dcp_product = "SPOT" if spot else "DERIVATIVES"
        """The DCP ``product`` this venue's orders belong to."""
        self.dcp_triggers: list[DcpTrigger] = []
        self.auth_log: list[tuple[int, str, bool]] = []
        """``(connection, ret_msg, success)`` of every auth request (private stream and order entry)."""
        self.trade_log: list[TradeAnswer] = []
        """Every answer sent on an order-entry connection (auth, orders, refusals; pongs not included)."""
        self._trace_ids = itertools.count(1)
        self._endpoints = self._endpoint_table()
        """The REST endpoints by path."""

    # -- set-up ------------------------------------------------------------------------------

    def _endpoint_table(self) -> dict[str, Endpoint]:
        """The REST endpoints by path, as the venue's class names them."""
        return {}

    def _on_account(self, name: str) -> None:
        self._uids[name] = next(self._next_uid)

    def uid(self, account: str) -> int:
        """The Bybit user id of ``account``."""
        return self._uids[account]

    @property
    def private_ws_url(self) -> str:
        """``ws://host:port/v5/private`` of endpoint 0: the private stream."""
        return f"ws://{self.host}:{self.ports[0]}{self.private_path}"

    def position_mode(self, symbol: str) -> str:
        """Linear: ``"one-way"`` or ``"hedge"`` for ``symbol`` (``/v5/position/switch-mode``)."""
        return "hedge" if self._hedge_mode.get(("*", symbol), False) else "one-way"

    def order_id(self, order: LedgerOrder) -> str:
        """The ``orderId`` the venue sends for ``order``."""
        return wire_order_id(self.category, order.order_id)

    def exec_id(self, trade: LedgerTrade) -> str:
        """The ``execId`` the venue sends for ``trade``."""
        return wire_exec_id(self.category, trade.trade_id)

    # -- funding ---------------------------------------------------------------------------------

    def _funding_fields(self, text: str) -> FundingFields:
        ticker = decode_ticker.decode(text).data
        return ticker.symbol, ticker.mark_price, ticker.funding_rate, ticker.next_funding_ms

    # -- records as Bybit shows them ---------------------------------------------------------

    def _rules(self, symbol: str | None) -> SymbolRules | None:
        return self.ledger.rules.get(symbol) if symbol else None

    def _order_view(self, at: LedgerOrder | LedgerEvent) -> OrderView:
        """The order ``at`` now, or as the ledger event ``at`` saw it (:class:`OrderView`); once cancelled,
        with the cancel type the venue noted for it (``CancelByUser`` when none)."""
        view = OrderView(at)
        if view.cancelled:
            meta = self._order_meta.get(view.order.order_id)
            view.cancel_type = (meta.cancel_type if meta is not None else "") or "CancelByUser"
        return view

    def _order_dict(self, view: OrderView, *, stream: bool = False) -> dict[str, Any]:
        order = view.order
        rules = self.ledger.rules[order.symbol]
        meta = self._order_meta.get(order.order_id) or OrderMeta()
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

    def _exec_dict(self, trade: LedgerTrade, order: LedgerOrder, *, stream: bool = False, fast: bool = False) -> Any:
        rules = self.ledger.rules[trade.symbol]
        rate = self.ledger.maker_fee if trade.is_maker else self.ledger.taker_fee
        mark = ""
        if self.category == "linear" and (price := self._mark_price(trade.symbol)) is not None:
            mark = decimal_text(price, rules.tick_size)
        return execution_entry(
            self.category, trade, order, rules, fee_rate=rate, mark_price=mark, seq=self._trade_seq(trade),
            stream=stream, fast=fast,
        )  # fmt: skip

    def _funding_order_id(self, payment: FundingPayment) -> str:
        # the orderId Bybit gives a settlement (the documented sample's shape: funding time in s, uid)
        return f"{payment.funding_ms // 1000}-8-{self._uids[payment.account]}-1-2"

    def _funding_exec_dict(self, payment: FundingPayment, *, stream: bool = False) -> dict[str, Any]:
        seq = self._seq.get(-payment.payment_id)
        if seq is None:
            seq = self._seq[-payment.payment_id] = next(self._next_seq)
        rules = self.ledger.rules[payment.symbol]
        return funding_execution_entry(payment, rules, order_id=self._funding_order_id(payment), seq=seq,
                                       stream=stream)  # fmt: skip

    def _meta(self, order: LedgerOrder) -> OrderMeta:
        meta = self._order_meta.get(order.order_id)
        if meta is None:
            meta = self._order_meta[order.order_id] = OrderMeta()
        return meta

    @staticmethod
    def _link(order: LedgerOrder) -> str:
        return "" if order.client_id.startswith("~") else order.client_id

    def _usd_price(self, coin: str) -> Decimal | None:
        if coin in STABLE_COINS:
            return Decimal(1)
        for rules in self.ledger.rules.values():
            if rules.base == coin and rules.quote in STABLE_COINS:
                return self._mark_price(rules.symbol)
        return None

    def _wallet(self, account: LedgerAccount, wanted: set[str] | None = None) -> dict[str, Any]:
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
                    cum += self._cum_realised(account, position.symbol)
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

    def _cum_realised(self, account: LedgerAccount, symbol: str) -> Decimal:
        """Bybit's ``cumRealisedPnl``: closed PnL net of every fee paid on ``symbol``, plus its funding."""
        position = account.positions.get(symbol)
        realised = position.realized_pnl + position.funding if position is not None else ZERO
        return realised - sum((t.fee for t in account.trades if t.symbol == symbol), ZERO)

    def _position_dict(self, account: LedgerAccount, symbol: str, *, stream: bool = False) -> dict[str, Any]:
        position = account.position(symbol)
        trades = [t for t in account.trades if t.symbol == symbol]
        now = self._now_ms()
        return position_entry(
            position,
            self.ledger.rules[symbol],
            mark_price=self._mark_price(symbol),
            cum_realised=self._cum_realised(account, symbol),
            maintenance_rate=self.maintenance_rate,
            created_ms=trades[0].time_ms if trades else now,
            updated_ms=trades[-1].time_ms if trades else now,
            seq=self._trade_seq(trades[-1]) if trades else -1,
            stream=stream,
        )
