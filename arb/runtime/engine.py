"""The live driver's core: both venues' books, the kernel's view, the kernel, the risk gate, an executor.

It is synchronous and reads no clock: every call says what time it is. The asyncio shell
(``arb.runtime.live``) feeds it batches from the WebSocket feeds and wakes it for executor events;
the replay source feeds it batches read from recordings; both drive the very same code, and so does
the parity check, which compares its decisions with the backtest's.

Timing rules (the backtest's, so the two can be compared):

- A decision is made at every local time at which a venue's book (or its sync state) changed, and
  at every time an order answer arrives. Batches that share one local time are applied together
  before the one decision at that time.
- Executor events (arrivals, answers) due before a batch's time are processed, in time order, before
  that batch is applied; events due exactly at it, after (an order sent with zero latency is filled
  against the book it was decided on).
- Venue status at a decision: out of sync unless its feed says synced; stale when its last book
  change is older than ``risk.stale_after`` (or its feed says stale); otherwise OK.
- Equity is sampled at decisions, once per ``equity_interval`` of local time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numba as nb
import numpy as np

from arb.book import OrderBook, book_top, touches_book
from arb.config import AppConfig
from arb.events import (
    ASSET_NAMES,
    NS_PER_S,
    EventArray,
)
from arb.execution.paper import PaperExecutor, PaperOrder
from arb.execution.risk import RISK_DTYPE, gate, new_risk_state, update_equity
from arb.strategy.kernel import decide, may_act
from arb.strategy.params import make_params
from arb.strategy.types import (
    BUY,
    DECISION_DTYPE,
    EQUITY_DTYPE,
    FILL_DTYPE,
    MAX_LEVELS,
    SENT_DTYPE,
    VENUE_OK,
    VENUE_OUT_OF_SYNC,
    VENUE_STALE,
    new_intents,
    new_state,
    new_view,
)
from connectors.common.normalizer import SyncState

__all__ = ["Batch", "Engine", "EngineLog"]

log = logging.getLogger(__name__)

_MAX_SETTLE_ROUNDS = 10_000


@nb.njit(cache=True, nogil=True)
def _fill_view(
    view: Any,
    v: int,
    bid_keys: Any,
    bid_qtys: Any,
    ask_keys: Any,
    ask_qtys: Any,
    counts: Any,
    levels: int,
    position: float,
    init_base: float,
    init_quote: float,
    cash: float,
    open_orders: int,
    book_ts: int,
    status: int,
    last_mid: Any,
) -> None:
    # One venue's view from its book (best ``levels`` a side) and the account, in one compiled call.
    rec = view[v]
    book_top(bid_keys, bid_qtys, ask_keys, ask_qtys, counts, levels,
             rec["bid_px"], rec["bid_qty"], rec["ask_px"], rec["ask_qty"])  # fmt: skip
    rec["position"] = position
    rec["base_balance"] = init_base + position
    rec["quote_balance"] = init_quote + cash
    rec["open_orders"] = open_orders
    rec["book_local_ts"] = book_ts
    rec["status"] = status
    mid = 0.5 * (rec["bid_px"][0] + rec["ask_px"][0])
    if np.isfinite(mid):
        last_mid[v] = mid


class Batch(Protocol):
    """What the engine needs of a feed batch (``connectors.common.feed.FeedBatch`` has it)."""

    @property
    def venue(self) -> int: ...
    @property
    def rows(self) -> EventArray: ...
    @property
    def local_ts(self) -> int: ...
    @property
    def state(self) -> SyncState: ...
    @property
    def stale(self) -> bool: ...


class _Growing:
    # An append-only record array that doubles when full.
    def __init__(self, dtype: np.dtype[Any], capacity: int = 1024) -> None:
        self.data = np.zeros(capacity, dtype)
        self.n = 0

    def next(self) -> Any:
        if self.n == len(self.data):
            self.data = np.concatenate([self.data, np.zeros(len(self.data), self.data.dtype)])
        row = self.data[self.n]
        self.n += 1
        return row

    def view(self) -> np.ndarray[Any, Any]:
        return self.data[: self.n]


@dataclass(slots=True)
class EngineLog:
    """What the engine did, as record arrays (see arb.strategy.types)."""

    fills: _Growing = field(default_factory=lambda: _Growing(FILL_DTYPE))
    equity: _Growing = field(default_factory=lambda: _Growing(EQUITY_DTYPE))
    calls: _Growing = field(default_factory=lambda: _Growing(DECISION_DTYPE))
    sent: _Growing = field(default_factory=lambda: _Growing(SENT_DTYPE))


class Engine:
    """Books, view, kernel, risk gate and a paper executor for both venues.

    ``base``/``quote`` are the starting balances per venue (a resumed paper account passes its own);
    ``on_fill(fill_row)`` is called for every fill as soon as the driver learns of it.
    """

    def __init__(
        self,
        config: AppConfig,
        *,
        base: tuple[float, float] | None = None,
        quote: tuple[float, float] | None = None,
        equity_interval_ns: int = NS_PER_S,
        on_fill: Callable[[Any], None] | None = None,
        first_order_id: int = 1,
        first_pair_id: int = 1,
    ) -> None:
        self.config = config
        venues = config.venues
        self.init_base = np.array(base if base is not None else [v.account.base for v in venues], float)
        self.init_quote = np.array(quote if quote is not None else [v.account.quote for v in venues], float)
        self.books = (OrderBook(), OrderBook())
        self.versions = [0, 0]
        self.state = [SyncState.WAITING_SNAPSHOT, SyncState.WAITING_SNAPSHOT]
        self.feed_stale = [False, False]
        self.last_book_ts = [0, 0]
        self.params = make_params(config)
        self.levels = int(self.params[0]["book_levels"])
        self.kstate = new_state()
        self.kstate["next_pair_id"] = first_pair_id
        self.view = new_view()
        self.intents = new_intents()
        self.limits = np.zeros(1, RISK_DTYPE)
        self.limits["position_limit"] = config.risk.position_limit
        self.limits["max_notional_per_venue"] = config.risk.max_notional_per_venue
        self.limits["max_open_orders"] = config.risk.max_open_orders
        self.limits["max_drawdown"] = config.risk.max_drawdown
        self.rstate = new_risk_state()
        self.stale_after = config.risk.stale_after_ns
        self.position = np.zeros(2)
        self.cash = np.zeros(2)  # quote received minus paid minus fees, per venue
        self.last_mid = np.full(2, np.nan)
        self.equity_interval = equity_interval_ns
        self.next_sample = 0
        self.log = EngineLog()
        self.on_fill = on_fill
        self.executor = PaperExecutor(
            venues,
            self.books,
            lambda: (self.versions[0], self.versions[1]),
            base=(float(self.init_base[0]), float(self.init_base[1])),
            quote=(float(self.init_quote[0]), float(self.init_quote[1])),
            first_order_id=first_order_id,
        )
        self._pending_decision = False
        self._now = 0
        self._top = np.zeros((4, MAX_LEVELS))

    # -- input --------------------------------------------------------------------------------

    def seed_book(self, venue: int, snapshot_rows: EventArray, synced: bool) -> None:
        """Start a venue's book from saved snapshot rows (the previous day's end)."""
        self.books[venue].apply(snapshot_rows)
        self.versions[venue] += 1
        self.state[venue] = SyncState.SYNCED if synced else SyncState.WAITING_SNAPSHOT

    def advance(self, now: int) -> None:
        """Process executor events due strictly before ``now`` (deciding at each answer's time)."""
        while True:
            due = self.executor.next_event_ts()
            if due is None or due >= now:
                return
            self._settle(due)

    def apply(self, batch: Batch) -> None:
        """Apply one batch to its venue's book (call :meth:`advance` for its time first)."""
        v = batch.venue
        rows = batch.rows
        if len(rows):
            self.books[v].apply(rows)
            self.versions[v] += 1
            if touches_book(rows):
                self.last_book_ts[v] = batch.local_ts
                self._pending_decision = True
        if batch.state != self.state[v] or batch.stale != self.feed_stale[v]:
            self._pending_decision = True
        self.state[v] = batch.state
        self.feed_stale[v] = batch.stale

    def settle(self, now: int) -> None:
        """Process what is due at ``now`` and decide if anything changed."""
        self._settle(now)

    def on_batches(self, now: int, batches: Iterable[Batch]) -> None:
        """Everything for one local time: earlier executor events, the batches, then the decision."""
        self.advance(now)
        for batch in batches:
            self.apply(batch)
        self._settle(now)

    def finish(self, now: int) -> None:
        """Process every remaining executor event and take a last equity sample at ``now``."""
        while True:
            due = self.executor.next_event_ts()
            if due is None:
                break
            self._settle(due)
        self._refresh_view(max(now, self._now))
        self._sample(max(now, self._now), force=True)

    def cancel_open_orders(self) -> int:
        """Shut down: orders still on their way are cancelled; fills the venue already made are
        taken into the account. Returns how many orders were cancelled."""
        return self.executor.cancel_all(self._on_answer)

    # -- deciding -------------------------------------------------------------------------------

    def _settle(self, now: int) -> None:
        for _ in range(_MAX_SETTLE_ROUNDS):
            self.executor.run_until(now, self._on_answer)
            if not self._pending_decision:
                return
            self._pending_decision = False
            self._decide(now)
        raise RuntimeError(f"no settled state after {_MAX_SETTLE_ROUNDS} rounds at {now}")

    def _on_answer(self, order: PaperOrder) -> None:
        self._pending_decision = True
        if order.status != "filled":
            return
        v = order.venue
        self.position[v] += order.side * order.fill_qty
        self.cash[v] -= order.side * order.fill_qty * order.fill_price + order.fee
        row = self.log.fills.next()
        row["local_ts"] = order.respond_ts
        row["exch_ts"] = order.arrive_ts
        row["venue"] = v
        row["side"] = order.side
        row["price"] = order.fill_price
        row["qty"] = order.fill_qty
        row["fee"] = order.fee
        row["pair_id"] = order.pair_id
        row["kind"] = order.kind
        row["order_id"] = order.order_id
        if self.on_fill is not None:
            self.on_fill(row)

    def _refresh_view(self, now: int) -> None:
        view = self.view
        for v in range(2):
            book = self.books[v]
            if self.state[v] != SyncState.SYNCED:
                status = VENUE_OUT_OF_SYNC
            elif self.feed_stale[v] or now - self.last_book_ts[v] > self.stale_after:
                status = VENUE_STALE
            else:
                status = VENUE_OK
            _fill_view(
                view, v, book.bid_keys, book.bid_qtys, book.ask_keys, book.ask_qtys, book.counts, self.levels,
                float(self.position[v]), float(self.init_base[v]), float(self.init_quote[v]), float(self.cash[v]),
                self.executor.open_orders[v], self.last_book_ts[v], status, self.last_mid,
            )  # fmt: skip

    def _equity(self) -> tuple[float, np.ndarray[Any, Any]]:
        per = self.init_quote + self.cash + (self.init_base + self.position) * self.last_mid
        return float(per.sum()), per

    def _sample(self, now: int, force: bool = False) -> None:
        if not (force or now >= self.next_sample):
            return
        if not (np.isfinite(self.last_mid[0]) and np.isfinite(self.last_mid[1])):
            return
        total, per = self._equity()
        row = self.log.equity.next()
        row["ts"] = now
        row["equity"] = total
        row["equity_venue"] = per
        row["position"] = self.position
        row["mid"] = self.last_mid
        row["spread_bps"] = (self.last_mid[1] - self.last_mid[0]) / self.last_mid[0] * 1e4
        self.next_sample = (now // self.equity_interval + 1) * self.equity_interval

    def _decide(self, now: int) -> None:
        self._now = now
        self._refresh_view(now)
        # drawdown is measured on trading PnL: the starting coins' price moves are not losses
        trading = float(np.sum(self.cash + self.position * self.last_mid))
        if np.isfinite(trading):
            update_equity(self.limits, self.rstate, trading)
        self._sample(now)
        view = self.view
        if not may_act(view, self.params):
            return
        n = decide(view, self.params, self.kstate, now, self.intents)
        n = gate(view, self.limits, self.rstate, self.intents, n)
        call = self.log.calls.next()
        call["ts"] = now
        for v in range(2):
            call["bid"][v] = view[v]["bid_px"][0]
            call["ask"][v] = view[v]["ask_px"][0]
            call["position"][v] = view[v]["position"]
            call["status"][v] = view[v]["status"]
            call["open_orders"][v] = view[v]["open_orders"]
        call["intents"] = n
        for k in range(n):
            it = self.intents[k]
            sent = self.log.sent.next()
            sent["ts"] = now
            for name in ("venue", "side", "price", "qty", "kind", "pair_id", "level"):
                sent[name] = it[name]
            order = self.executor.submit(
                int(it["venue"]), int(it["side"]), float(it["price"]), float(it["qty"]), int(it["kind"]),
                int(it["pair_id"]), now,
            )  # fmt: skip
            log.debug(
                "sent %s %s %g @ %g (pair %d, order %d)",
                ASSET_NAMES[order.venue], "buy" if order.side == BUY else "sell", order.qty, order.price,
                order.pair_id, order.order_id,
            )  # fmt: skip
