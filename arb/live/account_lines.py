"""The terminal's periodic account line of a session, paced the same way in the dry run and live.

:class:`AccountLines` is a session watcher (:class:`~arb.live.session_loop.SessionWatcher`): it prints
the account line every ``interval_ns`` of the session's clock, as soon as every book of the run's
venues is first synced, and at the end; after each, loud, every leg the kernel gave up hedging
(:func:`arb.execution.exposure.naked_leg_lines`). What the line says is the subclass's
(:meth:`AccountLines.account_line`): the dry run's paper account (:class:`arb.ops.terminal.PaperLines`)
or the live engine's (``arb.live.trading``); both give the equity as :func:`equity_text` words it
(unknown until every book has a price) and each direction's pairs left at the configured size
(:meth:`AccountLines.inventory_text`, :func:`pairs_left_line`), from :func:`engine_inventory`, which
the dashboard and the metrics read too. Venues are named as the run names them (the inventory's
records of the engine's venues).
"""

from __future__ import annotations

__all__ = ["AccountLines", "engine_inventory", "equity_text", "open_orders", "pairs_left_line"]

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from arb.execution.exposure import naked_leg_lines
from arb.results.inventory import OpenOrder, SymbolInventory, inventory
from arb.strategy.types import INTENT_QUOTE

if TYPE_CHECKING:
    from rich.console import Console

    from arb.live.engine import Engine, Executor


def open_orders(executor: Executor) -> list[OpenOrder]:
    """The immediate-or-cancel orders ``executor`` has sent and not yet answered (resting quotes left
    out: the views hold them)."""
    return [
        OpenOrder(o.symbol_index, int(o.venue), int(o.side), float(o.price), float(o.qty))
        for o in executor.in_flight
        if o.kind != INTENT_QUOTE
    ]


def equity_text(quote: Any, base: Any, mids: Any) -> str:
    """The account line's ``equity 16,161.15``: each venue's ``quote`` plus the ``base`` held there (per
    symbol and venue) at its mid (``mids``, the same shape); ``equity ?`` while any book has no price yet,
    as the dashboard's equity is unknown then (never the coins valued at 0)."""
    prices = np.asarray(mids, dtype=np.float64)
    if not np.isfinite(prices).all():
        return "equity ?"
    equity = float(np.sum(quote)) + float(np.sum(np.asarray(base, dtype=np.float64) * prices))
    return f"equity {equity:,.2f}"


def engine_inventory(engine: Engine) -> tuple[SymbolInventory, ...]:
    """Every symbol's inventory now (:func:`arb.results.inventory.inventory`) from the engine's views,
    rules and open orders: what the account line, the dashboard and the metrics show. A pair's buy leg is
    priced at the venue's best ask, or, while its book has none (out of sync, or its feed stopped at the end of
    a session), at the venue's last mid: a venue never priced leaves its directions unknown."""
    views = engine.views.copy()  # the balances as booked now (the views have them as of the last decision)
    views["position"] = engine.position
    views["base_balance"] = engine.init_base + engine.position
    views["quote_balance"] = (engine.init_quote + engine.cash.sum(axis=0))[None, :]
    ask = views["ask_px"][:, :, 0]
    prices = np.where(np.isfinite(ask), ask, engine.last_mid)
    venues = engine.config.venue_names
    return inventory(views, engine.rules, open_orders(engine.executor), symbols=engine.symbols, venues=venues,
                     prices=prices)  # fmt: skip


def pairs_left_line(inv: Sequence[SymbolInventory], names: Sequence[str] = ()) -> str:
    """The account line's inventory part: each direction's pairs left at the configured size, in the
    order ``inv`` lists them, venue ``v`` named ``names[v]`` (the run's venues; left out: as each
    symbol's inventory names its venues, ``venues[v].venue``).

    With two venues a direction is named by where it buys, ``left buy binance 12 | buy bybit 0 (bybit
    base)`` ("buy binance": buy on Binance, sell on the other); with more, by both of its venues,
    ``left buy binance sell bybit 12 | buy binance sell okx 3 | ...``. One that cannot trade names the
    side that ran out, one not known (a venue not priced yet) is ``?``; with several symbols each symbol's
    figures are named."""
    parts = []
    for one in inv:
        named = names or [v.venue for v in one.venues]
        figures = []
        for d in one.directions:
            tag = f"buy {named[d.buy]}" if len(named) == 2 else f"buy {named[d.buy]} sell {named[d.sell]}"
            if d.pairs_left is None:
                figures.append(f"{tag} ?")
            elif d.can_trade:
                figures.append(f"{tag} {d.pairs_left}")
            else:
                figures.append(f"{tag} 0 ({d.limit})")
        prefix = f"{one.symbol} " if len(inv) > 1 else ""
        parts.append(prefix + " | ".join(figures))
    return "left " + ", ".join(parts)


class AccountLines:
    """Paces the account line on ``console`` (see the module docstring); subclasses say what it holds."""

    def __init__(self, console: Console, interval_ns: int) -> None:
        self.console = console
        self.interval = interval_ns
        self.engine: Engine | None = None
        self.next_at = 0
        self.synced_once = False  # the first account line comes as soon as every book is synced
        self.later: Callable[..., None] | None = None
        """Where the line is printed when the loop is idle (``SessionStart.later``, which :meth:`begin` of a
        subclass takes); None: after the batch, at once."""
        self._queued = False

    def after_batch(
        self, engine: Engine, t0_perf_ns: int, now: int, sent_before: int, recv_perf_ns: int = 0, venue: int = -1
    ) -> None:
        """The account line when due (with :attr:`later`: printed there, once, when the loop is idle)."""
        if self.later is None:
            self.maybe(engine, now)
            return
        if self._queued:
            return
        force = self.forced(engine)
        if force or not self.next_at or now >= self.next_at or (not self.synced_once and engine.both_synced()):
            self._queued = True
            self.later(self._maybe_later, engine, now, force)

    def _maybe_later(self, engine: Engine, now: int, force: bool) -> None:
        self._queued = False
        self.maybe(engine, now, force)

    async def run(self) -> None:
        """Nothing beside the loop."""

    def end(self, now: int | None) -> None:
        """The last account line, at ``now`` (none when the session failed)."""
        if now is not None and self.engine is not None:
            self.maybe(self.engine, now, force=True)

    def maybe(self, engine: Engine, now: int, force: bool = False) -> None:
        """The account line if one is due at ``now`` (or ``force``, or :meth:`forced`), then each naked leg's."""
        force = self.forced(engine) or force
        if self.next_at == 0:
            self.next_at = (now // self.interval + 1) * self.interval
        if not self.synced_once and engine.both_synced():
            self.synced_once = force = True
        if not force and now < self.next_at:
            return
        self.next_at = (now // self.interval + 1) * self.interval
        self.account_line(engine, time.strftime("%H:%M:%S", time.gmtime(now / 1e9)))
        for line in naked_leg_lines(engine):  # a leg the kernel gave up hedging: loud, with the exposure
            self.console.print(f"[bold red]{line}[/]", highlight=False, soft_wrap=True)

    def forced(self, engine: Engine) -> bool:
        """True when something the subclass watches wants a line now whatever the time (default: never)."""
        return False

    def account_line(self, engine: Engine, when: str) -> None:
        """Print the account line; ``when`` is the session's time, ``HH:MM:SS`` UTC."""
        raise NotImplementedError

    @staticmethod
    def inventory_text(engine: Engine) -> str:
        """The account line's last part: each direction's pairs left at the configured size, every ordered
        pair of the run's venues (:func:`pairs_left_line`; with two venues ``left buy binance 12 | buy
        bybit 0 (bybit base)``)."""
        return pairs_left_line(engine_inventory(engine))
