"""The journal's record of money moved between the venues and between a venue's wallets (``arb
rebalance --execute``): one row per move, written before the request is sent and updated at each step.

The table ``transfers`` lives in the live journal's database (``[live] journal_url`` or
``<state_dir>/<account>.sqlite``) beside the order records, created when first opened; this module owns it
alone (the order journal's schema version does not cover it). Every write commits at once: a row exists
before its request is written, so a crash between the two leaves a row whose client id the venue's
history is asked about, never a request sent twice.

States (:class:`TransferState`): ``sending`` (journaled, the answer not yet seen), ``sent`` (the venue's id
known), ``on_chain`` (the sender completed it, ``txid`` known), ``credited`` (the receiver credited the
deposit; a move into the trading wallet may follow), ``done``, ``refused`` (the venue said no: ``code``,
``message``; nothing moved), ``failed`` (the venue accepted, then failed it and refunded).
"""

from __future__ import annotations

__all__ = [
    "IN_FLIGHT",
    "NOTHING_MOVED",
    "TransferJournal",
    "TransferRow",
    "TransferState",
    "in_transit",
    "moved_in_wallet",
    "read_rows",
    "recorded_balances",
    "sent_and_arrived",
    "trading_wallet_moves",
    "transfers",
]

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from arb.files import Closing
from arb.journal.journal import JournalError, _engine, _redacted, _url, snapshots


class TransferState(StrEnum):
    """Where a move is (see the module docstring)."""

    SENDING = "sending"
    SENT = "sent"
    ON_CHAIN = "on_chain"
    CREDITED = "credited"
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"


IN_FLIGHT = frozenset({TransferState.SENDING, TransferState.SENT, TransferState.ON_CHAIN, TransferState.CREDITED})
"""The states a later ``arb rebalance --execute`` resumes instead of planning again."""

_metadata = sa.MetaData()

transfers = sa.Table(
    "transfers",
    _metadata,
    sa.Column("client_id", sa.String(32), primary_key=True),  # Binance withdrawOrderId, Bybit requestId
    sa.Column("account", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # withdraw, transfer (between one venue's wallets)
    sa.Column("asset", sa.String(16), nullable=False),
    sa.Column("from_venue", sa.String(16), nullable=False),
    sa.Column("to_venue", sa.String(16), nullable=False),
    sa.Column("from_wallet", sa.String(16), nullable=False),
    sa.Column("to_wallet", sa.String(16), nullable=False),  # the receiver's trading wallet, where it ends
    sa.Column("network", sa.String(16), nullable=False, server_default=""),  # ccxt's code: TRC20, ERC20...
    sa.Column("address", sa.String(128), nullable=False, server_default=""),
    sa.Column("amount", sa.String(40), nullable=False),  # as sent
    sa.Column("fee", sa.String(40), nullable=False, server_default="0"),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("venue_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("txid", sa.String(128), nullable=False, server_default=""),
    sa.Column("credited", sa.String(40), nullable=False, server_default=""),  # what the receiver credited
    sa.Column("code", sa.String(32), nullable=False, server_default=""),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("created_ns", sa.BigInteger, nullable=False),
    sa.Column("updated_ns", sa.BigInteger, nullable=False),
    sa.Index("transfers_state", "account", "state"),
)


@dataclass(frozen=True, slots=True)
class TransferRow:
    """One row of ``transfers`` (amounts as the decimal text that was sent)."""

    client_id: str
    account: str
    kind: str
    asset: str
    from_venue: str
    to_venue: str
    from_wallet: str
    to_wallet: str
    network: str
    address: str
    amount: str
    fee: str
    state: TransferState
    venue_id: str = ""
    txid: str = ""
    credited: str = ""
    code: str = ""
    message: str = ""
    created_ns: int = 0
    updated_ns: int = 0


_COLUMNS = tuple(f.name for f in fields(TransferRow))


class TransferJournal(Closing):
    """The ``transfers`` table of one journal database; every write commits at once."""

    def __init__(self, engine: sa.Engine, url: str, clock: Callable[[], int]) -> None:
        self.engine = engine
        self.url = _redacted(url)
        self._clock = clock
        self.on_change: Callable[[TransferRow], None] | None = None
        """Called with each row as it is once a write of it is committed (``arb live``'s engine follows its
        own moves through it)."""

    @classmethod
    def open(cls, target: str | Path, *, clock: Callable[[], int] = time.time_ns) -> Self:
        """Open the journal database at a SQLite path or URL, creating the table if needed. Raises
        :class:`JournalError` when it cannot be reached."""
        url = _url(target)
        try:
            engine = _engine(url, "full")
            _metadata.create_all(engine)
        except SQLAlchemyError as error:
            raise JournalError(f"journal {_redacted(url)}: cannot open it: {str(error).splitlines()[0]}") from None
        return cls(engine, url, clock)

    def close(self) -> None:
        self.engine.dispose()

    def add(self, row: TransferRow) -> TransferRow:
        """Commit ``row`` (its times set now); a client id already there raises :class:`JournalError`."""
        now = self._clock()
        values = {name: getattr(row, name) for name in _COLUMNS} | {"created_ns": now, "updated_ns": now}
        values["state"] = str(row.state)
        try:
            with self.engine.begin() as conn:
                conn.execute(transfers.insert().values(values))
        except SQLAlchemyError as error:
            raise JournalError(f"journal {self.url}: cannot record transfer {row.client_id}: {error}") from None
        return self._changed(row.client_id)

    def update(self, client_id: str, **changes: Any) -> TransferRow:
        """Commit ``changes`` to the row of ``client_id`` and return it as it is now."""
        values = {k: str(v) if isinstance(v, TransferState) else v for k, v in changes.items()}
        with self.engine.begin() as conn:
            conn.execute(transfers.update().where(transfers.c.client_id == client_id)
                         .values(values | {"updated_ns": self._clock()}))  # fmt: skip
        return self._changed(client_id)

    def _changed(self, client_id: str) -> TransferRow:
        row = self.get(client_id)
        if self.on_change is not None:
            self.on_change(row)
        return row

    def get(self, client_id: str) -> TransferRow:
        """The row of ``client_id`` (KeyError when there is none)."""
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(transfers).where(transfers.c.client_id == client_id)).mappings().first()
        if found is None:
            raise KeyError(client_id)
        return _row(found)

    def rows(self, account: str, *, in_flight: bool = False) -> list[TransferRow]:
        """``account``'s rows in the order they were made; only those still under way with ``in_flight``."""
        with self.engine.connect() as conn:
            return read_rows(conn, account, in_flight=in_flight)

    def withdrawn(self, account: str, asset: str, within_ns: int) -> Decimal:
        """What ``account`` withdrew of ``asset`` in the last ``within_ns`` (by this journal's clock): the
        amounts of its withdrawals made since, but those refused or failed (nothing left the venue)."""
        query = sa.select(transfers.c.amount).where(
            transfers.c.account == account, transfers.c.kind == "withdraw", transfers.c.asset == asset,
            transfers.c.created_ns >= self._clock() - within_ns,
            transfers.c.state.not_in([str(TransferState.REFUSED), str(TransferState.FAILED)]),
        )  # fmt: skip
        with self.engine.connect() as conn:
            return sum((Decimal(amount) for (amount,) in conn.execute(query)), Decimal(0))


def read_rows(conn: sa.Connection, account: str, *, in_flight: bool = False) -> list[TransferRow]:
    """:meth:`TransferJournal.rows` through an open connection (a reader that opened the database read-only:
    ``arb report --source live``); none when the journal has no ``transfers`` table (arb never moved)."""
    if not sa.inspect(conn).has_table("transfers"):
        return []
    query = sa.select(transfers).where(transfers.c.account == account)
    if in_flight:
        query = query.where(transfers.c.state.in_([str(s) for s in IN_FLIGHT]))
    found = conn.execute(query.order_by(transfers.c.created_ns, transfers.c.client_id)).mappings().all()
    return [_row(r) for r in found]


def recorded_balances(journal: TransferJournal, account: str) -> dict[tuple[str, str], Decimal]:
    """The journal's view of ``account``'s balances: per (venue, asset) the last value ``arb live`` or ``arb
    order`` wrote to ``snapshots`` (summed over the venue's markets); empty when it holds none."""
    if not sa.inspect(journal.engine).has_table("snapshots"):
        return {}
    last = (sa.select(sa.func.max(snapshots.c.id)).where(snapshots.c.account == account)
            .group_by(snapshots.c.venue, snapshots.c.market, snapshots.c.name))  # fmt: skip
    query = sa.select(snapshots.c.venue, snapshots.c.name, snapshots.c.value).where(snapshots.c.id.in_(last))
    out: dict[tuple[str, str], Decimal] = {}
    with journal.engine.connect() as conn:
        for venue, name, value in conn.execute(query):
            if not name.startswith("position:"):
                out[(venue, name)] = out.get((venue, name), Decimal(0)) + Decimal(value)
    return out


NOTHING_MOVED = frozenset({TransferState.REFUSED, TransferState.FAILED})
"""The states of a move that moved nothing (refused before, or failed and refunded after, it left)."""


def moved_in_wallet(rows: Iterable[TransferRow], venue: str, wallet: str, *, fee_inside: bool,
                    deposit_wallet: str) -> dict[str, Decimal]:  # fmt: skip
    """What ``rows`` (one account's) put into (+) and took out of (-) ``venue``'s ``wallet`` so far, per asset.

    A row counts from ``sending`` on (the request may have been written: a lost answer is most likely a move
    made), but a ``refused`` or ``failed`` one (nothing moved, or refunded). A transfer between the venue's
    wallets moves ``amount`` from ``from_wallet`` to ``to_wallet`` at once. A withdrawal leaves ``from_wallet``
    when it is sent: ``amount``, plus ``fee`` where the venue charges it beside (``fee_inside`` False: Bybit);
    it arrives when the receiver credits it: what was ``credited``, in the receiver's ``deposit_wallet`` while
    ``credited``, in ``to_wallet`` once ``done``. In between it is in transit, neither venue's (:func:`in_transit`).
    ``fee_inside`` and ``deposit_wallet`` are ``venue``'s (``connectors.<venue>.wallet``)."""
    out: dict[str, Decimal] = {}

    def add(asset: str, amount: Decimal) -> None:
        out[asset] = out.get(asset, Decimal(0)) + amount

    for row in rows:
        if row.state in NOTHING_MOVED:
            continue
        amount = Decimal(row.amount)
        if row.kind != "withdraw":  # between two wallets of one venue
            if row.from_venue == venue and wallet in (row.from_wallet, row.to_wallet):
                add(row.asset, amount if row.to_wallet == wallet else -amount)
            continue
        if row.from_venue == venue and row.from_wallet == wallet:
            add(row.asset, -amount - (0 if fee_inside else Decimal(row.fee or 0)))
        if row.to_venue == venue and row.state in (TransferState.CREDITED, TransferState.DONE):
            landed = deposit_wallet if row.state is TransferState.CREDITED else row.to_wallet
            if landed == wallet:
                add(row.asset, Decimal(row.credited or row.amount))
    return {asset: amount for asset, amount in out.items() if amount}


def trading_wallet_moves(rows: Iterable[TransferRow], venue: str, market: str) -> dict[str, Decimal]:
    """:func:`moved_in_wallet` for the wallet arb trades from on ``venue``'s account ``market`` (what
    reconciliation reads and the engine counts: Binance ``spot`` or ``linear``, Bybit ``unified``); none for a
    venue arb has no wallet connector of."""
    from connectors.registry import UnknownVenueError
    from connectors.registry import venue as connector

    try:
        wallet = connector(venue).wallet
    except UnknownVenueError:
        return {}
    return moved_in_wallet(rows, venue, wallet.trading_wallet(market), fee_inside=wallet.fee_inside,
                           deposit_wallet=wallet.deposit_wallet(market))  # fmt: skip


def sent_and_arrived(row: TransferRow, receiver_market: str) -> tuple[Decimal, Decimal]:
    """A withdrawal's two ends by the rules of :func:`moved_in_wallet`: what it took out of the sender (from
    the wallet it left, the fee with it where charged beside; 0 if it moved nothing) and what reached the
    receiver's trading wallet on its account ``receiver_market`` so far (0 while it is on its way, or for a
    venue arb has no wallet connector of)."""
    from connectors.registry import UnknownVenueError
    from connectors.registry import venue as connector

    if row.kind != "withdraw":
        return Decimal(0), Decimal(0)
    try:
        fee_inside = connector(row.from_venue).wallet.fee_inside
    except UnknownVenueError:
        return Decimal(0), Decimal(0)
    left = moved_in_wallet([row], row.from_venue, row.from_wallet, fee_inside=fee_inside, deposit_wallet="")
    sent = -left.get(row.asset, Decimal(0))
    return sent, trading_wallet_moves([row], row.to_venue, receiver_market).get(row.asset, Decimal(0))


def fees_paid(rows: Iterable[TransferRow], venue: str) -> dict[str, Decimal]:
    """Per asset, the fees of the withdrawals ``venue`` sent (each row's ``fee``, the network's as planned;
    a refused or failed one paid none): what the moves cost the sender, the one part of a move that is a
    loss (reports, :meth:`arb.live.engine.Engine.paid_transfer_fee`)."""
    out: dict[str, Decimal] = {}
    for row in rows:
        if row.kind == "withdraw" and row.from_venue == venue and row.state not in NOTHING_MOVED and row.fee:
            out[row.asset] = out.get(row.asset, Decimal(0)) + Decimal(row.fee)
    return out


def in_transit(rows: Iterable[TransferRow], venue: str) -> list[str]:
    """A line for each withdrawal to or from ``venue`` still under way (``amount asset sender -> receiver
    (client id, state)``): sent, not yet in the receiver's trading wallet."""
    return [f"{row.amount} {row.asset} {row.from_venue} -> {row.to_venue} ({row.client_id}, {row.state})"
            for row in rows if row.kind == "withdraw" and row.state in IN_FLIGHT
            and venue in (row.from_venue, row.to_venue)]  # fmt: skip


def _row(found: Any) -> TransferRow:
    values = {name: found[name] for name in _COLUMNS}
    values["state"] = TransferState(values["state"])
    return TransferRow(**values)
