"""The fault campaign's outcome of one scenario, invariant (c), nothing twice and nothing left
incomplete: the journal checked against both venues' ledgers (every venue order's fills booked to it,
and it done), and (d), the maker style's: hedges equal to the quotes' fills, post-only refusals
journaled and never resent on the same book (see :mod:`arb.testing.campaign`)."""

from __future__ import annotations

__all__ = ["Outcome", "check_journal", "check_maker"]

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arb.journal.journal import Journal
from arb.strategy.types import INTENT_HEDGE, INTENT_OPEN, INTENT_QUOTE, INTENT_UNWIND
from arb.testing.pair_rig import account

if TYPE_CHECKING:
    from arb.testing.campaign import Scenario

POST_ONLY_CODES = ("-2010", "-5022")
"""Binance's refusals of a post-only order that would take (spot ``LIMIT_MAKER``, USD-M ``GTX``)."""
POST_ONLY_EXPIRY = "EC_PostOnlyWillTakeLiquidity"
"""Bybit's reason for cancelling such an order it accepted, which arb journals as the quote's code."""


@dataclass(slots=True)
class Outcome:
    """What one scenario did, and which invariants it broke (none, or a bug)."""

    scenario: Scenario
    pairs: int = 0
    lone_legs: int = 0
    """Pairs whose two opening legs did not fill the same quantity."""
    hedged: int = 0
    """Pairs whose gap a hedge (the other venue completing the pair) filled."""
    unwound: int = 0
    """Pairs whose gap an unwind (reversing the filled leg) filled."""
    halted: bool = False
    killed: bool = False
    """The kill switch ran (exposure was left) and left both venues flat."""
    max_net: Decimal = Decimal(0)
    max_worst: Decimal = Decimal(0)
    """``max_net`` counting the resting quotes at their worst (every quote of one side filled)."""
    net_after_run: Decimal = Decimal(0)
    net_at_end: Decimal = Decimal(0)
    orders: int = 0
    trades: int = 0
    quotes: int = 0
    """Maker: post-only quotes sent (journal intents)."""
    maker_fills: int = 0
    """Maker: the quotes' fills (venue trades as a maker)."""
    cancel_misses: int = 0
    """Maker: cancels answered "unknown order" (the quote filled or gone meanwhile)."""
    post_only_rejects: int = 0
    """Maker: quotes that would have taken when they arrived (refused or expired by the venue)."""
    fills_by_query: int = 0
    """Maker: the quotes' fills arb found by asking the venue (not from the user stream)."""
    violations: list[str] = field(default_factory=list)
    wall_ns: int = 0
    output: str = ""


def check_journal(path: Path, venues: dict[str, Any], outcome: Outcome) -> None:
    """Invariant (c), and the tally's figures, from the journal at ``path`` against both ledgers: what
    breaks it is appended to ``outcome.violations``."""
    journal = Journal.open(path)
    try:
        intents = {row["client_id"]: row for row in journal.intents()}
        in_flight = [row["client_id"] for row in journal.intents(in_flight=True)]
        if in_flight:
            outcome.violations.append(f"intents in flight at the end: {in_flight}")
        filled: dict[str, Decimal] = {}
        for name, fake in venues.items():
            requests = [cid for acct, cid in fake.ledger.order_requests if acct == "arb"]
            twice = [cid for cid, n in Counter(requests).items() if n > 1]
            if twice:
                outcome.violations.append(f"{name}: client ids sent twice: {twice}")
            orders = account(fake).orders
            outcome.orders += len(orders)
            rows = journal.fills(venue=name)
            own: dict[str, Decimal] = {}  # the fills booked to each order (by its client id)
            for f in rows:
                own[f["client_id"]] = own.get(f["client_id"], Decimal(0)) + Decimal(f["qty"])
            for order in orders:
                row = intents.get(order.client_id)
                if row is None:
                    outcome.violations.append(f"{name}: order {order.client_id} is not an intent of the journal")
                    continue
                if Decimal(row["executed_qty"]) != order.executed_qty:
                    outcome.violations.append(
                        f"{name}: {order.client_id} executed {order.executed_qty} on the venue, "
                        f"{row['executed_qty']} in the journal"
                    )
                # no order left incomplete with its fills on the venue: each of them booked to it, and it done
                booked_qty = own.get(order.client_id, Decimal(0))
                if booked_qty != order.executed_qty or (order.executed_qty and not row["done_ns"]):
                    outcome.violations.append(
                        f"{name}: {order.client_id} incomplete: executed {order.executed_qty} on the venue, "
                        f"{booked_qty} of fills booked to it, {'done' if row['done_ns'] else 'never done'}"
                    )
            trades = {fake.exec_id(t): t for t in account(fake).trades}
            outcome.trades += len(trades)
            booked = Counter(f["trade_id"] for f in rows)
            makers = [f["trade_id"] for f in rows if f["trade_id"] in trades and bool(f["is_maker"]) != trades[
                f["trade_id"]].is_maker]  # fmt: skip
            if makers:
                outcome.violations.append(f"{name}: fills journaled maker or taker unlike the venue: {makers}")
            missing = set(trades) - set(booked)
            invented = set(booked) - set(trades)
            doubled = [t for t, n in booked.items() if n > 1]
            if missing or invented or doubled:
                outcome.violations.append(
                    f"{name}: journal fills differ from the ledger (missing {sorted(missing)}, "
                    f"not on the venue {sorted(invented)}, twice {doubled})"
                )
            for trade in trades.values():
                filled[trade.client_id] = filled.get(trade.client_id, Decimal(0)) + trade.qty
        _tally_pairs(intents, filled, outcome)
    finally:
        journal.close()


def _tally_pairs(intents: dict[str, dict[str, Any]], filled: dict[str, Decimal], outcome: Outcome) -> None:
    legs: dict[int, dict[int, Decimal]] = {}
    closers: dict[int, set[int]] = {}
    for cid, row in intents.items():
        pair, kind = int(row["pair_id"]), int(row["kind"])
        if kind == INTENT_OPEN:
            side = legs.setdefault(pair, {1: Decimal(0), -1: Decimal(0)})
            side[int(row["side"])] += filled.get(cid, Decimal(0))
        elif kind in (INTENT_HEDGE, INTENT_UNWIND) and filled.get(cid, Decimal(0)) > 0:
            closers.setdefault(pair, set()).add(kind)
    outcome.pairs = len(legs)
    outcome.lone_legs = sum(1 for side in legs.values() if side[1] != side[-1])
    outcome.hedged = sum(1 for kinds in closers.values() if INTENT_HEDGE in kinds)
    outcome.unwound = sum(1 for kinds in closers.values() if INTENT_UNWIND in kinds)


def check_maker(path: Path, venues: dict[str, Any], outcome: Outcome, flat: Decimal) -> None:
    """Invariant (d), and the maker figures, from the journal at ``path`` against both ledgers (``flat``: the
    smallest order either venue accepts). Every quote's fill is hedged once: the hedges and unwinds filled
    what the quotes' fills moved (by trade id, fees paid in the base coin included), unless the run
    halted (the kill switch then closed it), and never more than the quotes' fills together. Each
    post-only order a venue refused or expired as it would have taken is a quote of the journal with that
    answer (Binance: rejected with its code; Bybit: expired), and none was sent again on the book that
    refused the one before it."""
    journal = Journal.open(path)
    try:
        intents = {row["client_id"]: row for row in journal.intents()}
        outcome.quotes = sum(1 for row in intents.values() if int(row["kind"]) == INTENT_QUOTE)
        quotes = {cid for cid, row in intents.items() if int(row["kind"]) == INTENT_QUOTE}
        outcome.cancel_misses = sum(
            1 for cid in quotes for event in journal.order_events(cid) if event["kind"] == "cancel_miss"
        )  # fmt: skip
        fills = [f for name in venues for f in journal.fills(venue=name) if f["client_id"] in quotes]
        outcome.fills_by_query = sum(1 for f in fills if f["source"] != "stream")
    finally:
        journal.close()
    if not outcome.quotes:
        return
    moved = {INTENT_QUOTE: Decimal(0), INTENT_HEDGE: Decimal(0)}
    hedged = quoted = Decimal(0)
    for name, fake in venues.items():
        for trade in account(fake).trades:
            row = intents.get(trade.client_id)
            kind = int(row["kind"]) if row is not None else 0
            base = trade.qty * trade.side.sign - (trade.fee if trade.fee_asset == fake.ledger.rules[
                trade.symbol].base else 0)  # fmt: skip
            if kind == INTENT_QUOTE:
                outcome.maker_fills += 1
                moved[INTENT_QUOTE] += base
                quoted += abs(base)
                if not trade.is_maker:
                    outcome.violations.append(
                        f"{name}: quote {trade.client_id} took liquidity (trade {trade.trade_id})"
                    )
            elif kind in (INTENT_HEDGE, INTENT_UNWIND):
                moved[INTENT_HEDGE] += base
                hedged += abs(base)
        _check_refusals(name, fake, intents, outcome)
    left = moved[INTENT_QUOTE] + moved[INTENT_HEDGE]
    if abs(left) >= flat and not outcome.halted:
        outcome.violations.append(
            f"the hedges filled {moved[INTENT_HEDGE]:+} for quote fills of {moved[INTENT_QUOTE]:+}: {left:+} unhedged"
        )
    if hedged > quoted + flat:
        outcome.violations.append(f"the hedges traded {hedged}, more than the quotes' fills ({quoted}): hedged twice")


def _check_refusals(name: str, fake: Any, intents: dict[str, dict[str, Any]], outcome: Outcome) -> None:
    last: dict[Any, int] = {}
    for refusal in fake.ledger.post_only_refusals:
        if refusal.account != "arb":
            continue
        outcome.post_only_rejects += 1
        row = intents.get(refusal.client_id)
        if row is None or int(row["kind"]) != INTENT_QUOTE:
            outcome.violations.append(f"{name}: post-only order {refusal.client_id} is no quote of the journal")
        elif refusal.refused and (row["state"] != "rejected" or row["reject_code"] not in POST_ONLY_CODES):
            outcome.violations.append(
                f"{name}: quote {refusal.client_id} refused as post-only, journaled {row['state']} "
                f"{row['reject_code']!r}"
            )
        elif not refusal.refused and (row["state"] != "expired" or row["reject_code"] != POST_ONLY_EXPIRY):
            outcome.violations.append(
                f"{name}: quote {refusal.client_id} expired as post-only, journaled {row['state']} "
                f"{row['reject_code']!r}"
            )
        if last.get(refusal.side) == refusal.book_version:
            outcome.violations.append(
                f"{name}: quote {refusal.client_id} sent again on the book that refused the one before it"
            )
        last[refusal.side] = refusal.book_version
