"""The fault campaign's outcome of one scenario and invariant (c), nothing twice: the journal checked
against both venues' ledgers (see :mod:`arb.testing.campaign`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arb.journal.journal import Journal
from arb.strategy.types import INTENT_HEDGE, INTENT_OPEN, INTENT_UNWIND
from arb.testing.pair_rig import account

if TYPE_CHECKING:
    from arb.testing.campaign import Scenario

__all__ = ["Outcome", "check_journal"]


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
    net_after_run: Decimal = Decimal(0)
    net_at_end: Decimal = Decimal(0)
    orders: int = 0
    trades: int = 0
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
            for order in orders:
                row = intents.get(order.client_id)
                if row is None:
                    outcome.violations.append(f"{name}: order {order.client_id} is not an intent of the journal")
                elif Decimal(row["executed_qty"]) != order.executed_qty:
                    outcome.violations.append(
                        f"{name}: {order.client_id} executed {order.executed_qty} on the venue, "
                        f"{row['executed_qty']} in the journal"
                    )
            trades = {fake.exec_id(t): t for t in account(fake).trades}
            outcome.trades += len(trades)
            booked = Counter(f["trade_id"] for f in journal.fills(venue=name))
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
