"""The account as one venue-market states it, and the cancels that clear it: the reads and the cancel-all
of :class:`~arb.execution.venue_executor.VenueExecutor` that no order's life depends on.

The kill switch, reconciliation, ``arb order`` and the start-up checks read balances, positions, open
orders and the best prices through these, and the kill switch and the clean stop cancel what is open.
Each goes through the executor's ``call`` (the rate guard admits it by its traffic kind) and asks the
venue's adapter for the request's form.
"""

from __future__ import annotations

__all__ = ["AccountReads"]

import asyncio
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Protocol

from arb.errors import VenueError
from arb.execution.live_parts import VenueMarket
from arb.execution.rate_guard import RateGuard, Traffic
from connectors.common.orders import VenueOrderUpdate
from connectors.common.private import AccountFees, PrivateLink, PrivateVenue

if TYPE_CHECKING:
    from arb.execution.orders import LiveOrder

log = logging.getLogger(__name__)

COIN_PRICE_EVERY_S: Final = 30.0
"""How often a fee coin's price is read while trading: a fee paid in it is valued at the last price read."""


class _Executor(PrivateLink, Protocol):
    # what these reads use of the executor they are a base of
    @property
    def adapter(self) -> PrivateVenue: ...
    @property
    def markets(self) -> Sequence[VenueMarket]: ...
    @property
    def guard(self) -> RateGuard: ...
    @property
    def quote_asset(self) -> str: ...

    fee_coins: set[str]
    coin_prices: dict[str, Decimal]

    async def read_coin_price(self, coin: str) -> bool: ...


class AccountReads:
    """A base of :class:`~arb.execution.venue_executor.VenueExecutor`: its account reads, trade history reads and
    cancel-all (see the module docstring)."""

    async def balances(self: _Executor) -> dict[str, Decimal]:
        """The account's balance per asset as the venue states it (spot: free + locked; linear: wallet)."""
        return await self.adapter.balances(self)

    async def position(self: _Executor, symbol: str | None = None) -> Decimal:
        """The venue's signed position in ``symbol`` (the first symbol by default; linear only: spot has
        holdings, see balances)."""
        return (await self.adapter.position_and_entry(self, symbol or self.markets[0].symbol))[0]

    async def position_and_entry(self: _Executor, symbol: str | None = None) -> tuple[Decimal, Decimal]:
        """The venue's signed position in ``symbol`` (the first symbol by default) and its average entry
        price, quote per base (0 when flat); ``(0, 0)`` on spot, which has holdings (see balances)."""
        return await self.adapter.position_and_entry(self, symbol or self.markets[0].symbol)

    async def best_prices(self: _Executor, symbol: int = 0) -> tuple[Decimal, Decimal]:
        """The best bid and ask of symbol number ``symbol`` in the venue's order book now (REST)."""
        ccxt_symbol = self.markets[symbol].ccxt_symbol
        exchange = self.exchange
        book = await self.call(lambda: exchange.fetch_order_book(ccxt_symbol, 5))
        try:
            return Decimal(str(book["bids"][0][0])), Decimal(str(book["asks"][0][0]))
        except (KeyError, IndexError, TypeError) as error:
            name = self.markets[symbol].symbol
            raise VenueError(self.name, f"the order book of {name} has an empty side ({error!r})",
                             "the venue's status page (is the market open?)", code="empty-book",
                             retryable=True) from None  # fmt: skip

    async def account_fees(self: _Executor) -> list[AccountFees]:
        """Every traded symbol's fee rates as the venue charges the account (one request per symbol)."""
        return [await self.adapter.account_fees(self, m.symbol) for m in self.markets]

    async def read_coin_price(self: _Executor, coin: str) -> bool:
        """Read ``coin``'s price in the quote into ``coin_prices`` (fees paid in it are valued at it); a
        failure is logged and the last price read kept. Returns whether the read succeeded."""
        try:
            self.coin_prices[coin] = await self.adapter.coin_price(self, coin, self.quote_asset)
        except VenueError as error:
            log.warning("%s: the price of %s (fees are paid in it) could not be read: %s", self.name, coin, error)
            return False
        return True

    async def keep_coin_prices(self: _Executor) -> None:
        """Read every ``fee_coins`` price each :data:`COIN_PRICE_EVERY_S` until the executor stops."""
        while not self.stopping:
            await asyncio.sleep(COIN_PRICE_EVERY_S)
            for coin in sorted(self.fee_coins):
                await self.read_coin_price(coin)

    @property
    def blocked_until_ns(self: _Executor) -> int:
        """Until when (the executor's clock, ns) new orders on this venue are refused locally: a rate limit,
        a used-up request weight or a ban (0, or a time past: none)."""
        return self.guard.blocked_until_ns

    async def open_orders(self: _Executor, symbol: str | None = None) -> list[VenueOrderUpdate]:
        """The venue's open orders in ``symbol``, or in every traded symbol when None."""
        symbols = [m.symbol for m in self.markets] if symbol is None else [symbol]
        return [u for s in symbols for u in await self.adapter.open_orders(self, s)]

    async def order_trades(self: _Executor, order: LiveOrder) -> list[dict[str, Any]]:
        """The venue's trade history rows of one order (REST)."""
        if not order.venue_order_id:
            return []
        return await self.adapter.order_trades(self, order.symbol, order.venue_order_id)

    async def trades_since(self: _Executor, since_ms: int, symbol: str | None = None) -> list[dict[str, Any]]:
        """The venue's trade history rows of ``symbol`` (the first symbol's by default) since ``since_ms`` (REST)."""
        return await self.adapter.trades_since(self, symbol or self.markets[0].symbol, since_ms)

    async def cancel_open(self: _Executor, symbol: str | None = None) -> int:
        """Cancel every open order of ``symbol`` on the venue, or of every traded symbol when None (a kill
        switch's second step); returns how many were cancelled."""
        cancelled = 0
        for s in [m.symbol for m in self.markets] if symbol is None else [symbol]:
            with self.guard.traffic(Traffic.URGENT, f"cancel-all {s}"):  # it takes exposure away
                cancelled += await self.adapter.cancel_all(self, s)
        return cancelled
