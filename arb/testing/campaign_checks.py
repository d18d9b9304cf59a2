"""The fault campaign's outcome of one scenario, invariant (c), nothing twice and nothing left
incomplete: the journal checked against both venues' ledgers (every venue order's fills booked to it,
and it done); (d), the maker style's: hedges equal to the quotes' fills, post-only refusals
journaled and never resent on the same book; (e), no flatten larger than the position; and (f), nothing
sent inside a venue's Retry-After window or ban but what the rule allows (see :mod:`arb.testing.campaign`)."""

from __future__ import annotations

__all__ = ["UNSTAMPED_SLACK_S", "Outcome", "check_flatten", "check_journal", "check_maker", "check_rate_limit"]

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arb.journal.journal import Journal
from arb.sim.testkit import venue_testkit
from arb.strategy.types import INTENT_HEDGE, INTENT_OPEN, INTENT_QUOTE, INTENT_UNWIND
from arb.testing.pair_rig import account

if TYPE_CHECKING:
    from arb.testing.campaign_kinds import Scenario

UNHEARD = "not-found"
"""How arb journals a refusal whose answer it never heard (lost, and no query finds the order): a quote the
venue refused as post-only is, to arb, an order the venue does not have; rejected either way."""


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
    late_flattens: int = 0
    """KILL_LATE: the kill switch's flattens found out after their late answer (done, sent once)."""
    limits_read: int = 0
    """RATE_LIMIT: 1 if the limit struck and arb read it (0: the scenario sent the venue nothing to limit)."""
    cancels_in_window: int = 0
    """RATE_LIMIT: the cancels of resting orders arb sent inside the window (the rule allows one each)."""
    violations: list[str] = field(default_factory=list)
    wall_ns: int = 0
    output: str = ""


def arb_ids(fake: Any, known: Iterable[str]) -> Callable[[str], str]:
    """How ``fake``'s ledger client ids read as arb's: its test kit's spelling undone, or, where the venue spells
    arb's id by a digest that cannot be undone, the id of ``known`` (the journal's) that it spells."""
    kit = venue_testkit(fake.venue_name)
    ids = set(known)
    spelled = {kit.venue_client_id(cid): cid for cid in ids}

    def arb_id(client_id: str) -> str:
        undone = kit.arb_client_id(client_id)
        return undone if undone in ids else spelled.get(client_id, undone)

    return arb_id


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
            arb_id = arb_ids(fake, intents)
            requests = [arb_id(cid) for acct, cid in fake.ledger.order_requests if acct == "arb"]
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
                cid = arb_id(order.client_id)
                row = intents.get(cid)
                if row is None:
                    outcome.violations.append(f"{name}: order {cid} is not an intent of the journal")
                    continue
                if Decimal(row["executed_qty"]) != order.executed_qty:
                    outcome.violations.append(
                        f"{name}: {cid} executed {order.executed_qty} on the venue, "
                        f"{row['executed_qty']} in the journal"
                    )
                # no order left incomplete with its fills on the venue: each of them booked to it, and it done
                booked_qty = own.get(cid, Decimal(0))
                if booked_qty != order.executed_qty or (order.executed_qty and not row["done_ns"]):
                    outcome.violations.append(
                        f"{name}: {cid} incomplete: executed {order.executed_qty} on the venue, "
                        f"{booked_qty} of fills booked to it, {'done' if row['done_ns'] else 'never done'}"
                    )
            trades = {str(fake.exec_id(t)): t for t in account(fake).trades}  # the journal's trade ids: text
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
                cid = arb_id(trade.client_id)
                filled[cid] = filled.get(cid, Decimal(0)) + trade.qty
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
        arb_id = arb_ids(fake, intents)
        for trade in account(fake).trades:
            row = intents.get(arb_id(trade.client_id))
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
    # a venue refuses a post-only order that would take (its test kit's codes) or cancels it at once (its reason)
    kit = venue_testkit(name)
    arb_id = arb_ids(fake, intents)
    last: dict[Any, int] = {}
    for refusal in fake.ledger.post_only_refusals:
        if refusal.account != "arb":
            continue
        outcome.post_only_rejects += 1
        cid = arb_id(refusal.client_id)
        row = intents.get(cid)
        if row is None or int(row["kind"]) != INTENT_QUOTE:
            outcome.violations.append(f"{name}: post-only order {cid} is no quote of the journal")
        elif refusal.refused and (
            row["state"] != "rejected" or row["reject_code"] not in (*kit.post_only_codes, UNHEARD)
        ):
            outcome.violations.append(
                f"{name}: quote {cid} refused as post-only, journaled {row['state']} {row['reject_code']!r}"
            )
        elif not refusal.refused and (row["state"] != "expired" or row["reject_code"] != kit.post_only_expiry):
            outcome.violations.append(
                f"{name}: quote {cid} expired as post-only, journaled {row['state']} {row['reject_code']!r}"
            )
        if last.get(refusal.side) == refusal.book_version:
            outcome.violations.append(f"{name}: quote {cid} sent again on the book that refused the one before it")
        last[refusal.side] = refusal.book_version


def check_flatten(venues: dict[str, Any], at_kill: dict[str, int], outcome: Outcome, flat: Decimal) -> None:
    """Invariant (e): what the kill switch's orders filled (the trades after ``at_kill``, each venue's trade
    count when it started: arb live had stopped), on both venues together, is at most the net position it
    found (base gained on both venues since the scenario began, fees in base included: the exposure it
    flattens, on whichever venue), and the account is not left reversed; ``flat``: the smallest order
    either venue accepts, the rounding allowed."""
    position = flattened = Decimal(0)
    for name, fake in venues.items():
        trades = account(fake).trades
        for k, t in enumerate(trades):
            base = t.qty * t.side.sign - (t.fee if t.fee_asset == fake.ledger.rules[t.symbol].base else 0)
            if k < at_kill[name]:
                position += base
            else:
                flattened += base
    after = position + flattened
    if abs(flattened) >= abs(position) + flat or (after * position < 0 and abs(after) >= flat):
        outcome.violations.append(
            f"the kill switch's flattens filled {flattened:+} for a net position of {position:+}: "
            f"the account ends at {after:+}"
        )


UNSTAMPED_SLACK_S = 0.5
"""A request that carries no signing stamp (Binance's POST, signed in its body; the order WebSocket) counts
from this long after arb read the limit: one on its way before cannot be told apart otherwise."""


def check_rate_limit(fake: Any, s: Scenario, limited_s: float, read_s: float | None, outcome: Outcome) -> None:
    """Invariant (f) on the faulted venue ``fake``: once arb read its 429 or ban (``read_s``, the venue's
    clock; ``limited_s``: when the scenario set the limit), the requests it signed after that and the venue
    answered inside the window (a ban: until ``limited_s`` + its length; a 429: its Retry-After from the
    venue's answer) are none during a ban, and during a 429's window cancels only, one per order."""
    rest = fake.stats.rest_requests
    answered = [r.time for r in rest if r.time >= limited_s and r.status in (429, 418, 403)]
    if not answered:
        return  # the limit never struck: nothing was sent to the venue while it was set
    if read_s is None:
        outcome.violations.append(f"{s.venue}: answered {len(answered)} rate-limit or ban answers, arb read none")
        return
    outcome.limits_read = 1
    end_s = limited_s + s.retry_after_s if s.ban else min(answered) + s.retry_after_s
    kit = venue_testkit(s.venue)
    inside = [(r.time, kit.rest_request(r), r.params) for r in rest if r.time < end_s and (
        r.sent_ms > read_s * 1000 if r.sent_ms is not None else r.time > read_s + UNSTAMPED_SLACK_S)]  # fmt: skip
    socket: list[tuple[float, str, dict[str, str]]] = [(t, what, {}) for t, what in kit.socket_requests(fake)]
    inside += [r for r in socket if read_s + UNSTAMPED_SLACK_S < r[0] < end_s]
    cancels = [r for r in inside if r[1] in kit.cancel_requests]
    keys = Counter(params.get("origClientOrderId") or params.get("orderId") for _, _, params in cancels)
    keys.pop(None, None)  # Bybit and OKX name the order in the body: counted against the quotes alone
    twice = [k for k, n in keys.items() if n > 1]
    resting = sum(1 for o in account(fake).orders if o.time_in_force.name == "POST_ONLY")
    outcome.cancels_in_window = len(cancels)
    if s.ban and inside:
        outcome.violations.append(f"{s.venue}: {len(inside)} requests during the ban: {inside[:5]}")
    elif len(cancels) != len(inside):
        others = [r for r in inside if r not in cancels]
        outcome.violations.append(f"{s.venue}: {len(others)} requests inside the Retry-After window: {others[:5]}")
    if twice or len(cancels) > resting:
        outcome.violations.append(
            f"{s.venue}: {len(cancels)} cancels inside the window for {resting} quotes, twice for {twice}"
        )
