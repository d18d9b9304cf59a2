"""The live executors' view of the journal: live orders and venue fills in, journal rows out.

:class:`ExecutionJournal` is what :class:`~arb.execution.venue_executor.VenueExecutor` writes through
(``JournalSink``) and what reconciliation reads (``ReconcileJournal``). The intent is committed at
once (:meth:`record_intent`); state changes and fills are queued and committed by :meth:`flush`, which
the executor calls at the end of each step, off the decision's path.
"""

from __future__ import annotations

__all__ = ["ExecutionJournal", "open_execution_journal"]

import logging
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa

from arb.config import LiveConfig
from arb.execution.orders import LiveOrder
from arb.journal import Journal
from arb.journal.intent_log import IntentLog
from arb.journal.transfers import TransferJournal, TransferRow
from arb.strategy.types import INTENT_QUOTE
from connectors.common.orders import OrderState, VenueFill

log = logging.getLogger(__name__)
_encode = msgspec.json.encode


def open_execution_journal(live: LiveConfig) -> ExecutionJournal:
    """The account's journal as ``[live]`` says: ``journal_url``, or ``<state_dir>/<account>.sqlite``.

    The caller becomes the account's one writer: a second process writing the same account's journal
    (two ``arb live``, or ``arb order`` beside one) is refused with :class:`JournalError`; the lock
    dies with the process. With ``[live] intent_log``, the account's intent log is attached (the
    intents it holds that the journal lacks are committed first).
    """
    target: str | Path = live.journal_url or live.state_dir / f"{live.account}.sqlite"
    journal = Journal.open(target, synchronous=live.journal_synchronous)
    try:
        journal.lock_writer(live.account)
        if live.intent_log:
            journal.attach_intent_log(IntentLog(live.state_dir / f"{live.account}.intents"))
    except BaseException:
        journal.close()
        raise
    return ExecutionJournal(journal, live.account)


class ExecutionJournal:
    """Live orders and fills to and from the journal of one account."""

    def __init__(self, journal: Journal, account: str) -> None:
        self.journal = journal
        self.account = account
        self._known: dict[tuple[str, str], set[tuple[str, str]]] = {}
        """Per (venue, market): the (symbol, trade id) of every fill journaled (Binance numbers trades per symbol)."""

    def close(self) -> None:
        self.journal.close()

    def flush(self) -> None:
        self.journal.flush()

    # -- writing (JournalSink) --------------------------------------------------------------------------

    def record_intent(self, order: LiveOrder, *, venue: str, market: str, account: str, run_id: str) -> None:
        """Commit the intent now: the order may be sent only after this returns."""
        self.journal.add_intent(_intent_row(order, venue=venue, market=market, account=account, run_id=run_id))

    def expect_run(self, run_id: str) -> None:
        """Ask the journal now whether it holds intents of ``run_id`` (asked once a run, at start-up: the
        run's first order does not wait for it)."""
        self.journal.expect_run(run_id)

    def rehearse_intent(self, order: LiveOrder, *, venue: str, market: str, account: str, run_id: str) -> None:
        """What :meth:`record_intent` does before it stores anything: the row made and encoded, then dropped
        (the order path kept warm: :func:`arb.execution.departure.keep_warm`)."""
        _encode(_intent_row(order, venue=venue, market=market, account=account, run_id=run_id))

    def record_state(self, order: LiveOrder, event: str, ts_ns: int, detail: dict[str, Any]) -> None:
        """Queue the order's current state and one event describing what moved it."""
        rejection = order.rejection
        self.journal.update_intent_state(
            order.client_id,
            {
                "state": order.state.value,
                "venue_order_id": order.venue_order_id,
                "executed_qty": str(order.executed_qty),
                "reject_code": str(rejection.code) if rejection is not None else "",
                "reject_message": rejection.message if rejection is not None else "",
                "written_ns": order.written_ns,
                "ack_ns": order.ack_ns,
                "first_fill_ns": order.first_fill_ns,
                "done_ns": order.respond_ts if order.answered else 0,
            },
        )
        self.journal.add_event(order.client_id, event, ts_ns, detail)

    def record_fill(
        self, order: LiveOrder | None, fill: VenueFill, *, venue: str, market: str, source: str, local_ts_ns: int
    ) -> bool:
        """Queue one fill; False when the journal already holds its trade id (of its symbol: nothing is written)."""
        symbol = fill.symbol or (order.symbol if order else "")
        known = self._trade_keys(venue, market)
        if (symbol, fill.trade_id) in known:
            return False
        known.add((symbol, fill.trade_id))
        self.journal.add_fill(
            {
                "venue": venue,
                "market": market,
                "trade_id": fill.trade_id,
                "account": self.account,
                "client_id": order.client_id if order is not None else fill.client_id,
                "venue_order_id": fill.venue_order_id,
                "symbol": symbol,
                "side": fill.side,
                "price": str(fill.price),
                "qty": str(fill.qty),
                "fee": str(fill.fee),
                "fee_asset": fill.fee_asset,
                "is_maker": fill.is_maker,
                "exch_ts_ms": fill.exch_ts_ms,
                "local_ts_ns": local_ts_ns,
                "source": source,
            }
        )
        return True

    def attach_fill(self, order: LiveOrder, fill: VenueFill, *, venue: str, market: str) -> None:
        """Queue making a fill journaled as no order's ``order``'s (its venue id turned out to be the order's)."""
        symbol = fill.symbol or order.symbol
        self.journal.attach_fill(account=self.account, venue=venue, market=market, symbol=symbol,
                                 trade_id=fill.trade_id, client_id=order.client_id)  # fmt: skip

    def record_funding(self, row: Any, *, venue: str, market: str, symbol: str) -> None:
        """Queue one funding payment (a ``FUNDING_DTYPE`` row the engine booked from the venue's
        settlement message) and commit it with what is queued: booked once per funding time."""
        self.journal.add_funding(
            {
                "account": self.account,
                "venue": venue,
                "market": market,
                "symbol": symbol,
                "funding_ts_ns": int(row["funding_ts"]),
                "rate": repr(float(row["rate"])),
                "mark": repr(float(row["mark"])),
                "position": repr(float(row["position"])),
                "payment": repr(float(row["payment"])),
                "local_ts_ns": int(row["ts"]),
                "source": "stream",
            }
        )
        self.journal.flush()

    def funding_paid(self, venue: str, market: str, symbol: str, since_ns: int = 0) -> float:
        """The funding payments journaled for ``symbol`` on ``venue``/``market`` with a funding time at or
        after ``since_ns``, summed (quote: > 0 received)."""
        rows = self.journal.funding_payments(account=self.account, venue=venue, market=market, symbol=symbol)
        return sum(float(r["payment"]) for r in rows if int(r["funding_ts_ns"]) >= since_ns)

    def transfers(self) -> list[TransferRow]:
        """The account's moves of money between the venues and their wallets (``arb rebalance``, ``[rebalance]
        auto``: the ``transfers`` table of the same database), oldest first; none in a journal never given one."""
        if not sa.inspect(self.journal.engine).has_table("transfers"):
            return []
        return TransferJournal(self.journal.engine, self.journal.url, time.time_ns).rows(self.account)

    # -- reading (ReconcileJournal) -----------------------------------------------------------------------

    def _trade_keys(self, venue: str, market: str) -> set[tuple[str, str]]:
        key = (venue, market)
        if key not in self._known:
            rows = self.journal.fills(venue=venue, market=market, account=self.account)
            self._known[key] = {(str(r["symbol"]), str(r["trade_id"])) for r in rows}
        return self._known[key]

    def trade_keys(self, venue: str, market: str) -> set[tuple[str, str]]:
        """The (symbol, trade id) of every fill journaled on ``venue``/``market``."""
        return set(self._trade_keys(venue, market))

    def venue_fills(self, venue: str, market: str, symbol: str | None = None) -> list[VenueFill]:
        """Every fill the journal holds for this account on ``venue``/``market`` (of ``symbol``, if given)."""
        rows = self.journal.fills(venue=venue, market=market, account=self.account, symbol=symbol)
        return [_fill(r) for r in rows]

    def last_fill_ms(self, venue: str, market: str, symbol: str | None = None) -> int:
        """The venue's time of the last fill journaled (of ``symbol``, if given), 0 when none."""
        rows = self.journal.fills(venue=venue, market=market, account=self.account, symbol=symbol)
        return max((int(r["exch_ts_ms"]) for r in rows), default=0)

    def orphan_fills(self, venue: str, market: str) -> list[VenueFill]:
        """The fills journaled as no order's on ``venue``/``market`` (a trade row without a client id whose
        order was not known when it was booked)."""
        return [_fill(r) for r in self.journal.fills(venue=venue, market=market, account=self.account, client_id="")]

    def in_flight_orders(self, venue: str, market: str) -> list[LiveOrder]:
        """The intents a previous run left in flight, as live orders with the fills already journaled: by
        client id, and those journaled as no order's with the order's venue id (a run that stopped before
        it attached them). ``symbol_index`` is left at 0: the executor that adopts them knows the symbols'
        numbers."""
        orphans = self.orphan_fills(venue, market)
        orders = []
        for row in self.journal.intents(account=self.account, venue=venue, market=market, in_flight=True):
            order = LiveOrder(
                order_id=0,
                client_id=row["client_id"],
                venue=0,
                side=int(row["side"]),
                price=float(row["price"]),
                qty=float(row["qty"]),
                kind=int(row["kind"]),
                pair_id=int(row["pair_id"]),
                sent_ts=int(row["intent_ns"]),
                price_text=row["price"],
                qty_text=row["qty"],
                symbol=row["symbol"],
                reduce_only=bool(row["reduce_only"]),
                state=OrderState(row["state"]),
                venue_order_id=row["venue_order_id"],
                executed_qty=Decimal(row["executed_qty"]),
                intent_ns=int(row["intent_ns"]),
                written_ns=int(row["written_ns"]),
                ack_ns=int(row["ack_ns"]),
                first_fill_ns=int(row["first_fill_ns"]),
            )
            rows = self.journal.fills(venue=venue, market=market, client_id=order.client_id, symbol=order.symbol)
            for fill_row in rows:
                fill = _fill(fill_row)
                order.fills[fill.trade_id] = fill
            for fill in orphans:
                if order.venue_order_id and (fill.symbol, fill.venue_order_id) == (order.symbol, order.venue_order_id):
                    order.fills[fill.trade_id] = fill
                    self.attach_fill(order, fill, venue=venue, market=market)
            orders.append(order)
        return orders

    def get_state(self, key: str) -> str | None:
        """This account's value of ``key`` (keys are per account: a team database holds several)."""
        return self.journal.get_state(f"{self.account}/{key}")

    def set_state(self, key: str, value: str) -> None:
        """Set this account's ``key`` and commit now."""
        self.journal.set_state(f"{self.account}/{key}", value)

    def defer_state(self, key: str, value: str) -> None:
        """Set this account's ``key`` with the next :meth:`flush`."""
        self.journal.defer_state(f"{self.account}/{key}", value)

    def on_flush(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` first at every commit of queued writes (:meth:`Journal.on_flush
        <arb.journal.journal.Journal.on_flush>`: a read's and the close's too): what it queues
        (:meth:`defer_state`) is committed with them. For what changes at every step and matters as of the
        last commit (a strategy's memory, the risk gate's): written at the journal's pace, not the step's."""
        self.journal.on_flush(hook)


def _fill(row: dict[str, Any]) -> VenueFill:
    return VenueFill(
        trade_id=str(row["trade_id"]),
        client_id=row["client_id"],
        venue_order_id=row["venue_order_id"],
        side=int(row["side"]),
        price=Decimal(row["price"]),
        qty=Decimal(row["qty"]),
        fee=Decimal(row["fee"]),
        fee_asset=row["fee_asset"],
        exch_ts_ms=int(row["exch_ts_ms"]),
        is_maker=bool(row["is_maker"]),
        symbol=row["symbol"],
    )


def _intent_row(order: LiveOrder, *, venue: str, market: str, account: str, run_id: str) -> dict[str, Any]:
    # The intents row of ``order``, as the journal and the intent log store it
    return {
        "client_id": order.client_id,
        "account": account,
        "run_id": run_id,
        "venue": venue,
        "market": market,
        "symbol": order.symbol,
        "side": order.side,
        "order_type": "limit",
        "time_in_force": "postonly" if order.kind == INTENT_QUOTE else "ioc",
        "price": order.price_text,
        "qty": order.qty_text,
        "reduce_only": order.reduce_only,
        "kind": order.kind,
        "pair_id": order.pair_id,
        "state": OrderState.PENDING.value,
        "intent_ns": order.intent_ns,
        "tick_ns": order.sent_ts,  # the decision's event: the receive time of the frame it was made at
    }
