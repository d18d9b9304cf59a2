"""What the live engine (:class:`arb.live.engine.Engine`) needs of what it is given: a feed's batch of rows
(:class:`Batch`) and the executor its orders go to (:class:`Executor`). Both are protocols: the feeds, the
replay source, the paper executor and the live executor each have them without naming them."""

from __future__ import annotations

__all__ = ["Batch", "Executor"]

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from arb.events import EventArray
from connectors.common.normalizer import SyncState

if TYPE_CHECKING:
    from arb.execution.orders import LiveOrder
    from arb.execution.paper import PaperOrder
    from arb.execution.rate_guard import RateGuard


class Batch(Protocol):
    """What the engine needs of a feed batch (``connectors.common.feed.FeedBatch`` has it)."""

    @property
    def venue(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def rows(self) -> EventArray: ...
    @property
    def local_ts(self) -> int: ...
    @property
    def state(self) -> SyncState: ...
    @property
    def stale(self) -> bool: ...


class Executor(Protocol):
    """What the engine needs of an executor: the paper executor and ``arb.execution.live_executor.LiveExecutor``.

    ``submit`` sends one immediate-or-cancel order of symbol number ``symbol`` (``reduce_only``: it may
    only shrink the venue's position, a perpetual's unwind) and returns an order
    object with the :class:`~arb.execution.paper.PaperOrder` fields; ``run_until(ts, on_answer)`` hands
    over every order answered by ``ts``; ``next_event_ts`` says when the next one is due;
    ``cancel_all`` hands over what is answered at shutdown and returns how many were still out.
    ``depart()`` is called once a decision's orders are all submitted (a live executor writes those it
    built for an order WebSocket then, back to back); ``departed()`` returns once they are on the wire,
    which the session awaits before its next frame. ``submit_quote`` rests one post-only quote and
    ``cancel`` cancels one (the ``maker_taker`` style); ``on_rows`` hands it each book's rows as they are
    applied (where a simulated venue queues its quotes); ``credit`` pays a funding payment on the venue's
    side (a simulated venue's account; a real venue pays it itself). Every order it returns has a
    ``fault`` (the leg fault the paper venue drew for it: ``FAULT_NONE`` elsewhere). ``next_order_id`` is
    the number its next order gets; ``summary()`` what the run's report says of it. ``in_flight`` lists
    the orders sent and not yet answered (a live venue's resting quotes too); ``rate_guards()`` each
    venue's name, market and rate guard (none for the paper executor): the account line, the dashboard
    and the alerts read them.

    Its counts are int64 arrays it updates in place, which the engine hands its compiled step as they
    are: ``open_counts[symbol, venue]`` its unanswered orders, ``unknown_counts[venue]`` those
    unanswered past ``[live] request_timeout_ms``, ``blocked_until_ns[venue]`` the local time until
    which it refuses orders to the venue itself (0: it does not).
    """

    open_counts: np.ndarray[Any, np.dtype[np.int64]]
    unknown_counts: np.ndarray[Any, np.dtype[np.int64]]
    blocked_until_ns: np.ndarray[Any, np.dtype[np.int64]]

    def submit(
        self, venue: int, side: int, price: float, qty: float, kind: int, pair_id: int, now: int, symbol: int = 0,
        *, reduce_only: bool = False,
    ) -> Any: ...  # fmt: skip
    def next_event_ts(self) -> int | None: ...
    def run_until(self, ts: int, on_answer: Callable[[Any], None]) -> None: ...
    def cancel_all(self, on_answer: Callable[[Any], None]) -> int: ...
    def depart(self) -> None: ...
    async def departed(self) -> None: ...
    def submit_quote(
        self, venue: int, side: int, price: float, qty: float, pair_id: int, now: int, symbol: int = 0
    ) -> Any: ...
    def cancel(self, order_id: int, now: int, venue: int = 0) -> bool: ...
    def on_rows(self, symbol: int, venue: int, rows: Any, now: int) -> None: ...
    def credit(self, venue: int, amount: float) -> None: ...
    @property
    def in_flight(self) -> Sequence[PaperOrder | LiveOrder]: ...
    def rate_guards(self) -> list[tuple[str, str, RateGuard]]: ...
    @property
    def next_order_id(self) -> int: ...
    def summary(self) -> dict[str, Any]: ...
