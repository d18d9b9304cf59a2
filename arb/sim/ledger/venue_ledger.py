"""The fake venues' own trading engine: accounts, orders, trades, balances and positions.

A fake private venue (:mod:`arb.sim.binance.exchange`, :mod:`arb.sim.bybit.exchange`)
speaks a venue's REST and user-stream formats; this module is what those formats describe. It is the
venue's ledger, independent of arb: it never imports arb's executors, so a test compares arb's journal
with it as with a real venue's records.

Orders match against the book the public fake is replaying, by the paper executor's fill rules
(``arb.execution.paper``): an order takes the levels at or better than its limit, best first, never
more than each level shows minus what this venue already filled from it since the book last changed,
at the levels' prices. Each level taken is one trade. An immediate-or-cancel order expires what it
could not take; a good-till-cancel order rests (and fills later if the book crosses its price); a
market order takes what the book has.

Money is :class:`decimal.Decimal` throughout, so the ledger's figures are exact and a test can demand
equality. Every change is announced to the account's listeners (the user streams) as a
:class:`LedgerEvent`, in the order the venue would send it.

Spot accounts hold assets (free and locked); a buy needs the quote it would spend, a sell the base it
sells. Fees are the taker (or maker) rate on the traded value, charged in the asset received (a buy
pays in base, a sell in quote), as Binance and Bybit spot do without a fee-discount coin; pass
``spot_fee_asset="quote"`` for the paper executor's convention. Linear (USDT-margined perpetual)
accounts hold a wallet in the settle asset and one-way positions; an order that adds to a position
needs its initial margin (notional / leverage) plus fee free in the wallet; reducing realises PnL.

Linear positions pay or earn funding (:meth:`Ledger.settle_funding`): at each funding time the venue
announced, every account's position held at that time moves ``-position x mark price x rate`` into its
wallet (a positive rate: longs pay), recorded as a :class:`FundingPayment` (the venue's Binance
``FUNDING_FEE`` income, Bybit ``SETTLEMENT`` transaction) and announced to the listeners.
"""

from __future__ import annotations

__all__ = ["Ledger"]

import itertools
from collections.abc import Callable, Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from arb.sim.ledger.matching import capped, check_filters, move_position
from arb.sim.ledger.records import (
    FEE_COIN_DISCOUNT,
    FUNDING_QUANTUM,
    ZERO,
    BookLevels,
    ClientIdScope,
    ExecType,
    FundingPayment,
    LedgerAccount,
    LedgerEvent,
    LedgerOrder,
    LedgerTrade,
    Listener,
    OrderStatus,
    OrderType,
    PostOnlyRefusal,
    RejectReason,
    Side,
    SymbolRules,
    TimeInForce,
    VenueRejectError,
)

_COIN_PLACES = Decimal("0.00000001")
"""A fee paid in a third coin, to the 8 decimals Binance states its BNB fees in."""


class Ledger:
    """Every account of one fake venue-market, and the matching of their orders.

    ``market``: ``"spot"`` or ``"linear"``. ``book(symbol)`` returns ``(bids, asks)`` best first as
    the public fake holds them; ``book_version()`` changes whenever any book changes (what this venue
    took from a level counts only until then). ``clock_ms()`` is the venue's time. ``settle_asset``
    is the linear wallet's coin. ``ids_per_symbol``: order and trade ids count per symbol, each
    symbol's from ``first_order_id``/``first_trade_id`` (Binance's: BTCUSDT and ETHUSDT both have an
    order 28000000001 and a trade 309520001); otherwise one sequence serves every symbol (Bybit's ids
    are unique across symbols). ``post_only_taking``: a post-only order that would take is refused
    (``"reject"``: Binance's ``LIMIT_MAKER`` and ``GTX``, never recorded) or recorded and expired at once
    (``"expire"``: Bybit cancels it with ``EC_PostOnlyWillTakeLiquidity``).
    """

    def __init__(
        self,
        *,
        market: Literal["spot", "linear"],
        rules: Iterable[SymbolRules],
        book: Callable[[str], tuple[BookLevels, BookLevels]],
        book_version: Callable[[], int],
        clock_ms: Callable[[], int],
        taker_fee: Decimal = Decimal("0.001"),
        maker_fee: Decimal = Decimal("0.001"),
        client_id_scope: ClientIdScope = "open",
        spot_fee_asset: Literal["received", "quote"] = "received",
        settle_asset: str = "USDT",
        first_order_id: int = 1_000_001,
        first_trade_id: int = 5_000_001,
        fok_unfilled: Literal["reject", "expire"] = "reject",
        post_only_taking: Literal["reject", "expire"] = "expire",
        ids_per_symbol: bool = False,
        first_payment_id: int = 9_000_001,
        fee_coin: tuple[str, Decimal] | None = None,
    ) -> None:
        if market not in ("spot", "linear"):
            raise ValueError(f"market must be 'spot' or 'linear', got {market!r}")
        self.market = market
        self.rules = {r.symbol: r for r in rules}
        self._book = book
        self._book_version = book_version
        self.clock_ms = clock_ms
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self.client_id_scope = client_id_scope
        self.spot_fee_asset = spot_fee_asset
        self.fee_coin = fee_coin
        """Spot fees paid in a third coin (Binance's BNB with its fee discount on): the coin and its price in
        the quote asset (set it again to move the price); the fee is the trade's value times the rate times
        :data:`FEE_COIN_DISCOUNT`, in that coin at that price."""
        self.settle_asset = settle_asset
        self.fok_unfilled = fok_unfilled
        self.post_only_taking = post_only_taking
        self.accounts: dict[str, LedgerAccount] = {}
        self._by_key: dict[str, LedgerAccount] = {}
        self._first_ids = (first_order_id, first_trade_id)
        self._ids_per_symbol = ids_per_symbol
        self._id_sequences: dict[str, tuple[Iterator[int], Iterator[int]]] = {}
        self._listeners: dict[str, list[Listener]] = {}
        self._taken_version = -1
        self._taken: dict[tuple[str, Side, Decimal], Decimal] = {}
        self._payment_ids = itertools.count(first_payment_id)
        self._settled: set[tuple[str, int]] = set()
        self.order_requests: list[tuple[str, str]] = []
        """``(account, client id)`` of every order presented to :meth:`place`, refused ones included, in
        order: a client that sends one order twice shows here even where the venue refuses the copy."""
        self.reduce_only_any_notional = False
        """A reduce-only order need not reach the minimum notional (Binance USD-M's rule)."""
        self.post_only_refusals: list[PostOnlyRefusal] = []
        """Every post-only order that would have taken when it arrived, refused or expired, in order."""

    def _ids(self, symbol: str) -> tuple[Iterator[int], Iterator[int]]:
        # The (order id, trade id) sequences of ``symbol``: its own, or the one every symbol shares
        key = symbol if self._ids_per_symbol else ""
        found = self._id_sequences.get(key)
        if found is None:
            found = self._id_sequences[key] = (itertools.count(self._first_ids[0]), itertools.count(self._first_ids[1]))
        return found

    # -- accounts ----------------------------------------------------------------------------------

    def add_account(
        self,
        name: str,
        *,
        api_key: str,
        api_secret: str,
        balances: dict[str, str | Decimal] | None = None,
        can_trade: bool = True,
    ) -> LedgerAccount:
        """Open an account with starting balances (spot: any assets; linear: the settle asset)."""
        if name in self.accounts or api_key in self._by_key:
            raise ValueError(f"account {name!r} or its key exists already")
        account = LedgerAccount(name, api_key, api_secret, can_trade=can_trade)
        for asset, amount in (balances or {}).items():
            account.balance(asset).free = Decimal(amount)
        self.accounts[name] = account
        self._by_key[api_key] = account
        return account

    def account_for_key(self, api_key: str) -> LedgerAccount | None:
        """The account an API key belongs to, or None (the venue answers "invalid API key")."""
        return self._by_key.get(api_key)

    def subscribe(self, account: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every change of ``account``; returns the unsubscribe function."""
        listeners = self._listeners.setdefault(account, [])
        listeners.append(listener)
        return lambda: listeners.remove(listener) if listener in listeners else None

    # -- orders --------------------------------------------------------------------------------------

    def place(
        self,
        account: LedgerAccount,
        *,
        symbol: str,
        side: Side,
        type: OrderType,
        qty: Decimal,
        price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        client_id: str,
        reduce_only: bool = False,
        hidden_queries: int = 0,
        fill_fraction: Decimal | None = None,
    ) -> LedgerOrder:
        """Check, accept and match one order; returns it in its state after matching.

        ``hidden_queries``: how many queries by id must not find the order (the fault "an order that
        becomes visible to queries only later", :meth:`FaultPlan.hide_orders`). ``fill_fraction``: the
        share of ``qty`` it may take now at most, rounded down to the step (the fault "a partial fill",
        :meth:`FaultPlan.order_partial`); the rest expires or rests as its time in force says.

        Raises :class:`VenueRejectError` when the venue would refuse it (nothing changes then).
        """
        self.order_requests.append((account.name, client_id))
        rules = self.rules.get(symbol)
        if rules is None:
            raise VenueRejectError(RejectReason.UNKNOWN_SYMBOL, symbol)
        self._check_client_id(account, client_id)
        check_filters(rules, type, qty, price, notional=not (reduce_only and self.reduce_only_any_notional))
        now = self.clock_ms()
        order = LedgerOrder(
            order_id=next(self._ids(symbol)[0]),
            client_id=client_id,
            account=account.name,
            symbol=symbol,
            side=side,
            type=type,
            time_in_force=time_in_force,
            price=price,
            qty=qty,
            reduce_only=reduce_only,
            created_ms=now,
            updated_ms=now,
        )
        if reduce_only:
            self._check_reduce_only(account, order)
        plan = self._plan_fills(order)
        takes = time_in_force is TimeInForce.POST_ONLY and bool(plan)  # what the book shows, before any cap
        if fill_fraction is not None:
            plan = capped(plan, qty * fill_fraction - (qty * fill_fraction) % rules.step_size)
        fok_unfilled = time_in_force is TimeInForce.FOK and sum((q for _, q in plan), ZERO) < qty
        if fok_unfilled and self.fok_unfilled == "reject":
            raise VenueRejectError(RejectReason.FOK_UNFILLED, "the book cannot fill the whole quantity")
        self._check_funds(account, rules, order, plan)
        if takes:
            refused = self.post_only_taking == "reject"
            self.post_only_refusals.append(
                PostOnlyRefusal(account.name, client_id, side, price, self._book_version(), now, refused)
            )
            if refused:
                raise VenueRejectError(RejectReason.POST_ONLY_TAKES, f"{side.value} {price} would take")
        if takes or fok_unfilled:
            order.status = OrderStatus.EXPIRED
            account.orders.append(order)
            self._emit(account, order, ExecType.EXPIRED, None)
            return order
        order.hidden_queries = hidden_queries
        account.orders.append(order)
        self._emit(account, order, ExecType.NEW, None)
        for level_price, level_qty in plan:
            self._execute(account, rules, order, level_price, level_qty, maker=False)
        if order.remaining > 0:
            if order.type is OrderType.MARKET or order.time_in_force is TimeInForce.IOC:
                order.status = OrderStatus.EXPIRED
                order.updated_ms = self.clock_ms()
                self._emit(account, order, ExecType.EXPIRED, None)
            else:
                self._lock(account, rules, order)
        return order

    def cancel(self, account: LedgerAccount, symbol: str, *, order_id: int | None = None,
               client_id: str | None = None) -> LedgerOrder | None:  # fmt: skip
        """Cancel an open order; returns it, or None when no open order matches (filled, expired, unknown)."""
        order = self.find(account, symbol, order_id=order_id, client_id=client_id, count_query=False)
        if order is None or not order.status.is_open:
            return None
        self._close(account, order, OrderStatus.CANCELED, ExecType.CANCELED)
        return order

    def cancel_all(self, account: LedgerAccount, symbol: str | None = None) -> list[LedgerOrder]:
        """Cancel every open order of ``account`` (on ``symbol`` when given)."""
        done = []
        for order in list(account.orders):
            if order.status.is_open and (symbol is None or order.symbol == symbol):
                self._close(account, order, OrderStatus.CANCELED, ExecType.CANCELED)
                done.append(order)
        return done

    def find(
        self,
        account: LedgerAccount,
        symbol: str | None,
        *,
        order_id: int | None = None,
        client_id: str | None = None,
        count_query: bool = True,
    ) -> LedgerOrder | None:
        """The order with ``order_id`` or (the newest with) ``client_id``, as a query would see it.

        An order under the "visible only later" fault is not found while its hidden queries last;
        ``count_query`` says whether this look-up uses one of them up.
        """
        for order in reversed(account.orders):
            if symbol is not None and order.symbol != symbol:
                continue
            if (order_id is not None and order.order_id == order_id) or (
                order_id is None and client_id is not None and order.client_id == client_id
            ):
                if order.hidden_queries > 0:
                    if count_query:
                        order.hidden_queries -= 1
                    return None
                return order
        return None

    def open_orders(self, account: LedgerAccount, symbol: str | None = None) -> list[LedgerOrder]:
        return [o for o in account.orders if o.status.is_open and (symbol is None or o.symbol == symbol)]

    def trades(
        self,
        account: LedgerAccount,
        symbol: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        from_id: int | None = None,
        order_id: int | None = None,
        limit: int = 500,
    ) -> list[LedgerTrade]:
        """The account's trades, oldest first, filtered like the venues' trade-history endpoints."""
        out = []
        for trade in account.trades:
            if symbol is not None and trade.symbol != symbol:
                continue
            if start_ms is not None and trade.time_ms < start_ms:
                continue
            if end_ms is not None and trade.time_ms > end_ms:
                continue
            if from_id is not None and trade.trade_id < from_id:
                continue
            if order_id is not None and trade.order_id != order_id:
                continue
            out.append(trade)
        return out[:limit] if from_id is not None or start_ms is not None else out[-limit:]

    # -- the book moved --------------------------------------------------------------------------

    def on_book_change(self, symbol: str) -> None:
        """Fill resting orders of ``symbol`` that the book now crosses (as makers, at their price)."""
        rules = self.rules.get(symbol)
        if rules is None:
            return
        for account in self.accounts.values():
            for order in list(account.orders):
                if order.symbol != symbol or not order.status.is_open or order.price is None:
                    continue
                plan = self._plan_fills(order)
                if not plan:
                    continue
                self._unlock(account, rules, order)
                for _, level_qty in plan:
                    self._execute(account, rules, order, order.price, level_qty, maker=True)
                if order.remaining > 0:
                    self._lock(account, rules, order)

    # -- funding ---------------------------------------------------------------------------------------

    def settle_funding(self, symbol: str, funding_ms: int, rate: Decimal, mark_price: Decimal) -> list[FundingPayment]:
        """Settle ``symbol``'s funding time ``funding_ms`` on every account: the position each held at that
        time (:meth:`position_at`) pays ``position x mark_price x rate`` to the wallet (positive ``rate``:
        longs pay, shorts receive), recorded in ``account.fundings`` and announced to its listeners.

        ``rate`` and ``mark_price`` are what the venue announced for that time. Returns the payments
        booked: none on spot, for a symbol the venue does not trade, for a flat position, or for a funding
        time already settled (each is settled once, however often it is announced).
        """
        key = (symbol, funding_ms)
        if self.market != "linear" or symbol not in self.rules or key in self._settled:
            return []
        self._settled.add(key)
        now = self.clock_ms()
        booked = []
        for account in self.accounts.values():
            held = self.position_at(account, symbol, funding_ms)
            if held == 0:
                continue
            payment = (-held * mark_price * rate).quantize(FUNDING_QUANTUM, ROUND_HALF_UP)
            wallet = account.balance(self.settle_asset)
            wallet.free += payment
            account.position(symbol).funding += payment
            record = FundingPayment(
                payment_id=next(self._payment_ids), account=account.name, symbol=symbol, funding_ms=funding_ms,
                time_ms=now, rate=rate, mark_price=mark_price, position=held, payment=payment, balance=wallet.total,
            )  # fmt: skip
            account.fundings.append(record)
            booked.append(record)
            for listener in list(self._listeners.get(account.name, ())):
                listener(record)
        return booked

    def position_at(self, account: LedgerAccount, symbol: str, at_ms: int) -> Decimal:
        """``account``'s position in ``symbol`` at venue time ``at_ms``: the position now less the trades
        made after it (a venue charges funding on what it held at the funding time)."""
        position = account.positions.get(symbol)
        held = position.qty if position is not None else ZERO
        for trade in account.trades:
            if trade.symbol == symbol and trade.time_ms > at_ms:
                held -= trade.qty * trade.side.sign
        return held

    # -- checks ----------------------------------------------------------------------------------------

    def _check_client_id(self, account: LedgerAccount, client_id: str) -> None:
        if not client_id or len(client_id) > 36:
            raise VenueRejectError(RejectReason.INVALID_CLIENT_ID, client_id)
        for order in account.orders:
            if order.client_id == client_id and (self.client_id_scope == "all" or order.status.is_open):
                raise VenueRejectError(RejectReason.DUPLICATE_CLIENT_ID, client_id)

    def _check_reduce_only(self, account: LedgerAccount, order: LedgerOrder) -> None:
        if self.market != "linear":
            raise VenueRejectError(RejectReason.REDUCE_ONLY, "reduce-only is for derivatives")
        position = account.position(order.symbol).qty
        pending = sum(
            (o.remaining * o.side.sign for o in account.orders if o.reduce_only and o.status.is_open
             and o.symbol == order.symbol),
            ZERO,
        )  # fmt: skip
        if position == 0 or position * order.side.sign > 0 or order.qty > abs(position + pending):
            detail = f"position {position}, order {order.side.value} {order.qty}"
            raise VenueRejectError(RejectReason.REDUCE_ONLY, detail)

    def _check_funds(
        self, account: LedgerAccount, rules: SymbolRules, order: LedgerOrder, plan: list[tuple[Decimal, Decimal]]
    ) -> None:
        taken = sum((q for _, q in plan), ZERO)
        cost = sum((p * q for p, q in plan), ZERO)
        rests = order.type is OrderType.LIMIT and order.time_in_force in (TimeInForce.GTC, TimeInForce.POST_ONLY)
        if rests and order.price is not None:
            cost += (order.qty - taken) * order.price
        elif order.type is OrderType.LIMIT and order.price is not None:
            cost = order.qty * order.price  # an IOC is checked at its full limit value, as the venues do
        if self.market == "spot":
            if order.side is Side.BUY:
                if account.balance(rules.quote).free < cost:
                    raise VenueRejectError(RejectReason.INSUFFICIENT_BALANCE, f"{rules.quote} {cost}")
            elif account.balance(rules.base).free < order.qty:
                raise VenueRejectError(RejectReason.INSUFFICIENT_BALANCE, f"{rules.base} {order.qty}")
            return
        if order.reduce_only:
            return
        position = account.position(order.symbol)
        adds = order.qty if position.qty * order.side.sign >= 0 else max(ZERO, order.qty - abs(position.qty))
        if adds <= 0:
            return
        price = order.price if order.price is not None else (cost / taken if taken else ZERO)
        need = adds * price / position.leverage + cost * self.taker_fee
        if self._available(account) < need:
            raise VenueRejectError(RejectReason.INSUFFICIENT_BALANCE, f"margin {need}")

    def _available(self, account: LedgerAccount) -> Decimal:
        wallet = account.balance(self.settle_asset)
        used = sum((p.initial_margin for p in account.positions.values()), ZERO)
        return wallet.free - used

    # -- matching ----------------------------------------------------------------------------------------

    def _plan_fills(self, order: LedgerOrder) -> list[tuple[Decimal, Decimal]]:
        """The (price, qty) this order would take now, level by level, best first."""
        version = self._book_version()
        if version != self._taken_version:
            self._taken_version = version
            self._taken.clear()
        bids, asks = self._book(order.symbol)
        levels = asks if order.side is Side.BUY else bids
        rules = self.rules[order.symbol]
        remaining = order.remaining
        plan = []
        for price_text, qty_text in levels:
            if remaining <= 0:
                break
            price = Decimal(price_text)
            if order.price is not None and (
                (order.side is Side.BUY and price > order.price) or (order.side is Side.SELL and price < order.price)
            ):
                break
            left = Decimal(qty_text) - self._taken.get((order.symbol, order.side, price), ZERO)
            take = min(remaining, left)
            take -= take % rules.step_size
            if take <= 0:
                continue
            plan.append((price, take))
            remaining -= take
        return plan

    def _execute(
        self, account: LedgerAccount, rules: SymbolRules, order: LedgerOrder, price: Decimal, qty: Decimal,
        *, maker: bool,
    ) -> None:  # fmt: skip
        key = (order.symbol, order.side, price)
        self._taken[key] = self._taken.get(key, ZERO) + qty
        value = price * qty
        rate = self.maker_fee if maker else self.taker_fee
        realized = ZERO
        if self.market == "spot" and self.fee_coin is not None:
            coin, coin_price = self.fee_coin
            base, quote = account.balance(rules.base), account.balance(rules.quote)
            fee = (value * rate * FEE_COIN_DISCOUNT / coin_price).quantize(_COIN_PLACES)  # as the venue shows it
            fee_asset = coin
            base.free += qty if order.side is Side.BUY else -qty
            quote.free += -value if order.side is Side.BUY else value
            account.balance(coin).free -= fee
        elif self.market == "spot":
            base, quote = account.balance(rules.base), account.balance(rules.quote)
            if order.side is Side.BUY:
                fee_asset = rules.base if self.spot_fee_asset == "received" else rules.quote
                fee = qty * rate if fee_asset == rules.base else value * rate
                quote.free -= value
                base.free += qty - (fee if fee_asset == rules.base else ZERO)
                if fee_asset == rules.quote:
                    quote.free -= fee
            else:
                fee_asset = rules.quote
                fee = value * rate
                base.free -= qty
                quote.free += value - fee
        else:
            fee_asset = self.settle_asset
            fee = value * rate
            realized = move_position(account.position(order.symbol), order.side, price, qty)
            wallet = account.balance(self.settle_asset)
            wallet.free += realized - fee
        now = self.clock_ms()
        trade = LedgerTrade(
            trade_id=next(self._ids(order.symbol)[1]),
            order_id=order.order_id,
            client_id=order.client_id,
            account=account.name,
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            fee=fee,
            fee_asset=fee_asset,
            time_ms=now,
            is_maker=maker,
            realized_pnl=realized,
        )
        order.executed_qty += qty
        order.cum_quote += value
        order.fee += fee
        order.trades.append(trade)
        order.updated_ms = now
        order.status = OrderStatus.FILLED if order.remaining <= 0 else OrderStatus.PARTIALLY_FILLED
        account.trades.append(trade)
        self._emit(account, order, ExecType.TRADE, trade)

    # -- resting orders' funds ---------------------------------------------------------------------------

    def _lock(self, account: LedgerAccount, rules: SymbolRules, order: LedgerOrder) -> None:
        assert order.price is not None
        if self.market == "spot":
            if order.side is Side.BUY:
                amount, asset = order.remaining * order.price, rules.quote
            else:
                amount, asset = order.remaining, rules.base
        else:
            amount, asset = order.remaining * order.price / account.position(order.symbol).leverage, self.settle_asset
        balance = account.balance(asset)
        balance.free -= amount
        balance.locked += amount
        order.locked = amount

    def _unlock(self, account: LedgerAccount, rules: SymbolRules, order: LedgerOrder) -> None:
        if order.locked == 0:
            return
        if self.market == "spot":
            asset = rules.quote if order.side is Side.BUY else rules.base
        else:
            asset = self.settle_asset
        balance = account.balance(asset)
        balance.free += order.locked
        balance.locked -= order.locked
        order.locked = ZERO

    def _close(self, account: LedgerAccount, order: LedgerOrder, status: OrderStatus, why: ExecType) -> None:
        self._unlock(account, self.rules[order.symbol], order)
        order.status = status
        order.updated_ms = self.clock_ms()
        self._emit(account, order, why, None)

    def _emit(self, account: LedgerAccount, order: LedgerOrder, exec_type: ExecType, trade: LedgerTrade | None) -> None:
        event = LedgerEvent(
            account.name, order, exec_type, trade, self.clock_ms(), order.status, order.executed_qty, order.cum_quote
        )
        for listener in list(self._listeners.get(account.name, ())):
            listener(event)
