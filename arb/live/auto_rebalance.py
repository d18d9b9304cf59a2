"""``[rebalance] auto``: ``arb live`` making the moves of ``arb rebalance --execute`` by itself, off the order
path, within a daily limit (``docs/rebalance.md``).

:func:`auto_rebalance` is a task of the session. It opens every venue's ccxt client of its own
(:func:`~arb.execution.rebalance.open_rebalancer`: the order path's are untouched) and looks every
``auto_interval_s``: a move the journal holds in flight is carried forward
(:meth:`~arb.execution.rebalance.Rebalancer.resume`); else the plan is read and each move worth making is
made (:meth:`~arb.execution.rebalance.Rebalancer.execute`, journaled as ``--execute`` journals it), but a
withdrawal over what ``daily_limit`` leaves of its asset (:func:`within_limits`), which is not sent.

The engine follows each move (:class:`Following`, ``moved``: :meth:`arb.live.engine.Engine.transferred`): when a
row of the journal changes, what the account's moves have put into or taken out of each venue's trading wallet
(:func:`~arb.journal.transfers.trading_wallet_moves`: a withdrawal leaves when it is sent, arrives when it is
credited) is counted again and the difference handed over, so the engine's balances are the venues' while the
session runs, as the next start's inception and reconciliation count them. The rows this task writes are
counted as they are written; those another process writes (``arb rebalance --execute`` while ``arb live``
runs, with or without ``auto``) at the next look of :func:`follow_journal`, every ``poll_interval_ms``: one
aggregate query of the journal in a thread, the rows read again only when it changed.

It ends with the session, and by itself when the session halts (nothing is sent while it is halted; a move
being followed stays in flight in the journal for the next run) or when a venue refuses a move or another
failure needs a person (one line; trading goes on). A failure that may pass (a venue out of reach) is one
line, and the next look tries again.
"""

from __future__ import annotations

__all__ = ["DAY_NS", "Following", "Moved", "auto_rebalance", "follow_journal", "within_limits"]

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from arb.config import AppConfig
from arb.errors import ArbError, is_retryable
from arb.events import NS_PER_S
from arb.execution.rebalance import Move, Pause, Rebalancer, assets_of, make_pause, open_rebalancer
from arb.journal.transfers import TransferJournal, TransferRow, fees_paid, trading_wallet_moves, transfers

log = logging.getLogger(__name__)

DAY_NS = 86_400 * NS_PER_S
"""The daily limit's window: the last 24 hours, rolling."""


class _HaltedError(Exception):
    """The session halted while a move was followed: stop there (the journal keeps the move in flight)."""


def within_limits(moves: Sequence[Move], limits: Mapping[str, float], used: Mapping[str, Decimal],
                  names: Sequence[str]) -> tuple[list[Move], list[str]]:  # fmt: skip
    """The moves worth making, in order, but each withdrawal over what its asset's limit (``limits``:
    ``[rebalance] daily_limit``) leaves after ``used`` (what was withdrawn in the last 24 hours) and the
    move into its withdrawal wallet; and a line for each withdrawal left out, naming its venues by
    ``names`` (the run's, by number)."""
    spent = dict(used)
    over: set[int] = set()  # the places in ``moves`` left out
    lines = []
    for k, move in enumerate(moves):
        if not move.worth or move.kind != "withdraw":
            continue
        limit, had = Decimal(repr(limits.get(move.asset, 0.0))), spent.get(move.asset, Decimal(0))
        if had + move.amount <= limit:
            spent[move.asset] = had + move.amount
            continue
        over.add(k)
        before = moves[k - 1] if k else None  # the move into its withdrawal wallet, planned right before it
        if before is not None and (before.kind, before.asset, before.sender, before.to_wallet) == (
            "transfer",
            move.asset,
            move.sender,
            move.from_wallet,
        ):
            over.add(k - 1)
        lines.append(f"rebalance: {move.amount.normalize():f} {move.asset} {names[move.sender]} -> "
                     f"{names[move.receiver]} not sent: over [rebalance] daily_limit {move.asset} = "
                     f"{limit.normalize():f}, {had.normalize():f} withdrawn in the last 24 h")  # fmt: skip
    return [m for k, m in enumerate(moves) if m.worth and k not in over], lines


Moved = Callable[[int, str, Decimal], None]
"""Venue (its number in the run), asset, amount: what a move put into (> 0) or took out of (< 0) its trading wallet."""
Counted = tuple[list[dict[str, Decimal]], list[dict[str, Decimal]]]
"""Per venue, per asset: what the moves put into its trading wallet, and the fees its withdrawals paid."""


class Following:
    """What the account's moves have put into each venue's trading wallet, as ``moved`` was last told (counted
    from when it is made: the engine's start counted what came before). Called with each row this process's
    journal writes (its ``on_change``), and :meth:`look` after another process wrote some (``arb rebalance
    --execute``, :func:`follow_journal`): each tells ``moved`` what changed since."""

    def __init__(self, config: AppConfig, journal: TransferJournal, moved: Moved, paid: Moved | None = None) -> None:
        self.venues = [(venue.name, venue.market) for venue in config.venues]  # the run's, by number
        self.account = config.live.account
        self.journal = journal
        self.moved = moved
        self.paid = paid
        """Told the fees each venue's withdrawals paid: every one's at once (the start moved the engine's
        holdings by whole moves, fees included), then each new one as it is journaled."""
        self.seen = self.mark()
        """The journal's :meth:`mark` when :meth:`look` last counted it."""
        self.told = 0
        """How many times this process's own writes were counted: a count read before one is stale."""
        self.counted = self.read()
        if paid is not None:
            for v, fees in enumerate(self.counted[1]):
                for asset, fee in sorted(fees.items()):
                    paid(v, asset, fee)

    def mark(self) -> tuple[int, int]:
        """What changes whenever a row of the account's is added or updated, cheaply (one indexed aggregate):
        the rows and the last update's time; (0, 0) while the journal holds no ``transfers`` table."""
        last = sa.func.max(transfers.c.updated_ns)
        query = sa.select(sa.func.count(), last).where(transfers.c.account == self.account)
        try:
            with self.journal.engine.connect() as conn:
                rows, at = conn.execute(query).one()
        except sa.exc.OperationalError:  # no such table: arb never moved money with this journal
            return 0, 0
        return int(rows), int(at or 0)

    def read(self) -> Counted:
        """Per venue, what the account's moves have put into its trading wallet now, and the fees its
        withdrawals paid."""
        if self.mark() == (0, 0):
            return [{} for _ in self.venues], [{} for _ in self.venues]
        rows = self.journal.rows(self.account)
        return ([trading_wallet_moves(rows, name, market) for name, market in self.venues],
                [fees_paid(rows, name) for name, _ in self.venues])  # fmt: skip

    def __call__(self, row: TransferRow) -> None:
        self.told += 1
        self.count(self.read(), f"{row.client_id} ({row.state})")

    def look(self, now: Counted, seen: tuple[int, int]) -> None:
        """Count ``now`` (:meth:`read` after the journal's mark was ``seen``), moves another process made."""
        self.seen = seen
        self.count(now, "a move journaled by another process")

    def count(self, now: Counted, what: str) -> None:
        for v, (was, still) in enumerate(zip(self.counted[0], now[0], strict=True)):
            for asset in sorted(set(was) | set(still)):
                if change := still.get(asset, Decimal(0)) - was.get(asset, Decimal(0)):
                    log.info("rebalance: %s: %s %s %s: the engine's balances follow", what, self.venues[v][0],
                             f"{change.normalize():+f}", asset)  # fmt: skip
                    self.moved(v, asset, change)
        for v, (was, still) in enumerate(zip(self.counted[1], now[1], strict=True)):
            for asset in sorted(set(was) | set(still)):
                if self.paid is not None and (fee := still.get(asset, Decimal(0)) - was.get(asset, Decimal(0))):
                    self.paid(v, asset, fee)
        self.counted = now


async def follow_journal(following: Following, interval_s: float, *, pause: Pause | None = None) -> None:
    """Every ``interval_s``, look at the journal's mark (in a thread, off the event loop) and, when it changed
    since the last count, count the moves again (:meth:`Following.look`): the moves another process made
    (``arb rebalance --execute`` while ``arb live`` runs) reach the engine as its own do. Until cancelled; a
    journal out of reach is one line, and the next look tries again."""
    wait = pause or make_pause()
    while True:
        await wait(interval_s)
        try:
            seen = await asyncio.to_thread(following.mark)
            if seen == following.seen:
                continue
            told = following.told
            now = await asyncio.to_thread(following.read)
        except SQLAlchemyError as error:
            log.warning("rebalance: cannot read the journal's transfers (%s); the next look tries again",
                        str(error).splitlines()[0])  # fmt: skip
            continue
        if told == following.told:  # else this process wrote a row meanwhile: counted anew at the next look
            following.look(now, seen)


async def auto_rebalance(config: AppConfig, halted: Callable[[], str], *, pause: Pause | None = None,
                         moved: Moved | None = None, following: Following | None = None) -> None:  # fmt: skip
    """Look every ``[rebalance] auto_interval_s`` and make the moves (see the module docstring) until the
    task is cancelled (the session stops), ``halted()`` gives a reason (the session halted) or a failure
    needs a person. Raises nothing but the cancellation: the session trades on. ``halted``: why the session
    opens no new pair ("" while it may, :meth:`~arb.live.guards.Guards.halted`); ``pause``: the waits, between
    two looks and between two looks at a transfer (``asyncio.sleep``; a test's instead); ``moved``: told what
    each move puts into or takes out of a venue's trading wallet, as the journal records it (see the module
    docstring); ``following``: instead, the session's :class:`Following` (shared with :func:`follow_journal`, so
    that a change is told once)."""
    wait = pause or make_pause()

    async def follow_pause(seconds: float) -> None:  # a halt ends the following of a transfer
        await wait(seconds)
        if halted():
            raise _HaltedError

    interval_s = config.rebalance.auto_interval_ns / NS_PER_S
    async with contextlib.AsyncExitStack() as stack:
        rebalancer: Rebalancer | None = None
        while not (reason := halted()):
            try:
                if rebalancer is None:  # once for the run (markets loaded); a look that could not tries again
                    rebalancer = await stack.enter_async_context(open_rebalancer(config, follow_pause))
                    if following is None and moved is not None:  # counted from here: the start counted the rest
                        following = Following(config, rebalancer.journal, moved)
                    rebalancer.journal.on_change = following
                await _look(rebalancer, halted)
            except _HaltedError:
                continue
            except Exception as error:  # noqa: BLE001 - said on one line; the session trades on
                if isinstance(error, ArbError) and not is_retryable(error):  # a refusal: a person must fix it
                    log.error("rebalance: %s; automatic moves are off for the rest of this run", error)
                    return
                log.warning("rebalance: %s; the next look in %g s tries again", error, interval_s)
            await wait(interval_s)
        log.warning("rebalance: the session is halted (%s): no automatic move for the rest of this run", reason)


async def _look(rebalancer: Rebalancer, halted: Callable[[], str]) -> None:
    # What is in flight first, else the plan's moves within the daily limit, one at a time (a halt stops them)
    if rebalancer.in_flight():
        await rebalancer.resume(_say)
        return
    assets = assets_of(rebalancer.config)
    moves, _ = await rebalancer.plan(assets)
    used = {a: rebalancer.journal.withdrawn(rebalancer.account, a, DAY_NS) for a in assets}
    chosen, over = within_limits(moves, rebalancer.settings.daily_limit, used, rebalancer.names)
    for line in over:
        log.warning("%s", line)
    for move in chosen:
        if halted():
            raise _HaltedError
        await rebalancer.execute([move], _say)


def _say(line: str) -> None:
    log.info("rebalance: %s", line)
