"""The paper account's journal: every paper fill and funding payment, and the account's state, in SQLite.

One file per paper account (``<[dry_run] state_dir>/paper.sqlite``), opened through the live journal's
layer (:class:`~arb.journal.Journal`: SQLAlchemy Core, WAL, ``synchronous`` FULL) with a schema of its
own:

- ``paper_fills``: one row per fill, as the paper executor made it (floats stored as IEEE doubles,
  so a row reads back bit for bit);
- ``paper_funding``: one row per funding payment of a perpetual position;
- ``state``: the account's other records, a JSON text per key (inception balances and symbols, the
  order and pair counters, sessions, replayed days, the halt, the risk gate's memory).

``seq`` numbers the bookings of both tables with one counter, in the order the account booked them,
so positions, cash, fees and funding are *derived* from the rows by replaying them in that order,
with the very operations the running account used: nothing derivable is stored twice.

:meth:`PaperJournal.book` writes any number of rows and state values in one transaction and commits
it before returning: a fill and the state that goes with it are on disk together, or neither is.
"""

from __future__ import annotations

__all__ = [
    "PAPER_SCHEMA_VERSION",
    "PaperJournal",
    "PaperRecords",
    "paper_fills",
    "paper_funding",
    "paper_metadata",
    "read_paper_journal",
]

import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import SQLAlchemyError

from arb.journal.journal import Journal, JournalError, _why, state

log = logging.getLogger(__name__)

PAPER_SCHEMA_VERSION: Final = 1
_VERSION_KEY: Final = "paper_schema_version"
_CHECKPOINT_EVERY: Final = 500  # rows between two WAL checkpoints (the journal turns the automatic one off)

paper_metadata = sa.MetaData()

paper_fills = sa.Table(
    "paper_fills",
    paper_metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),  # booking number, shared with funding
    sa.Column("local_ts_ns", sa.BigInteger, nullable=False),  # when the driver learnt of it (data time in a replay)
    sa.Column("exch_ts_ns", sa.BigInteger, nullable=False),  # when the paper venue filled it (0: not known)
    sa.Column("venue", sa.String(16), nullable=False),  # binance, bybit
    sa.Column("symbol", sa.String(32), nullable=False),
    sa.Column("side", sa.Integer, nullable=False),  # 1 buy, -1 sell
    sa.Column("price", sa.Float, nullable=False),  # quote per base (the average of a sweep)
    sa.Column("qty", sa.Float, nullable=False),  # base
    sa.Column("fee", sa.Float, nullable=False),  # quote
    sa.Column("pair_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.Integer, nullable=False),  # INTENT_OPEN / HEDGE / UNWIND (0: not known)
    sa.Column("order_id", sa.BigInteger, nullable=False),  # the paper order's id
    sa.Column("source", sa.String(16), nullable=False),  # dry-run, or migrated (from an older account's files)
)

paper_funding = sa.Table(
    "paper_funding",
    paper_metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("local_ts_ns", sa.BigInteger, nullable=False),  # when the account booked it
    sa.Column("funding_ts_ns", sa.BigInteger, nullable=False),  # the venue's funding time
    sa.Column("venue", sa.String(16), nullable=False),
    sa.Column("symbol", sa.String(32), nullable=False),
    sa.Column("rate", sa.Float, nullable=False),  # fraction per interval; positive: longs pay
    sa.Column("mark", sa.Float, nullable=False),  # the price the position was valued at
    sa.Column("position", sa.Float, nullable=False),  # base units held at the funding time (signed)
    sa.Column("payment", sa.Float, nullable=False),  # quote: > 0 received, < 0 paid
    sa.Column("source", sa.String(16), nullable=False),
)

paper_state = state.to_metadata(paper_metadata)


@dataclass(slots=True)
class PaperRecords:
    """Everything a paper journal holds: rows as dicts (column name -> value), in booking order."""

    fills: list[dict[str, Any]] = field(default_factory=list)
    funding: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)
    """Key -> JSON text (the version key included)."""

    def value(self, key: str, default: Any = None) -> Any:
        """The state value of ``key``, decoded from JSON; ``default`` when absent."""
        text = self.state.get(key)
        return default if text is None else json.loads(text)

    @property
    def last_seq(self) -> int:
        """The highest booking number of either table (0 when empty)."""
        return max((int(r["seq"]) for r in (*self.fills[-1:], *self.funding[-1:])), default=0)


class PaperJournal(Journal):
    """One paper account's journal (see the module docstring). Open with :meth:`open` on a SQLite path
    (``synchronous`` FULL: each :meth:`book` is on disk when it returns); not thread-safe."""

    schema: ClassVar[sa.MetaData] = paper_metadata

    def __init__(self, engine: sa.Engine, url: str) -> None:
        super().__init__(engine, url)
        self._paper_sql: dict[str, tuple[str, tuple[str, ...]]] = {}

    def _check_version(self) -> None:
        found = self.get_state(_VERSION_KEY)
        if found is None:
            self.set_state(_VERSION_KEY, str(PAPER_SCHEMA_VERSION))
        elif int(found) > PAPER_SCHEMA_VERSION:
            raise JournalError(
                f"paper journal {self.url} has schema version {found}; this arb reads up to "
                f"{PAPER_SCHEMA_VERSION}: upgrade arb"
            )

    def book(
        self,
        *,
        fills: Sequence[Mapping[str, Any]] = (),
        funding: Sequence[Mapping[str, Any]] = (),
        state: Mapping[str, str] | None = None,
    ) -> None:
        """Write ``fills`` and ``funding`` rows (every column of their table) and set the ``state`` values
        (key -> JSON text), in one transaction, committed before this returns.

        This is the write the dry run waits for at each fill, so it runs prepared statements on the
        driver's own connection, as :meth:`Journal.add_intent` does. Raises :class:`JournalError` when the
        commit fails; nothing of it is written then.
        """
        dbapi = self._conn.connection.dbapi_connection
        assert dbapi is not None
        rows = 0
        try:
            cursor = dbapi.cursor()
            try:
                for table, batch in ((paper_fills, fills), (paper_funding, funding)):
                    if batch:
                        sql, names = self._prepared(table)
                        cursor.executemany(sql, [tuple(row[name] for name in names) for row in batch])
                        rows += len(batch)
                if state:
                    sql, _ = self._prepared(paper_state)
                    cursor.executemany(sql, list(state.items()))
                    rows += len(state)
                dbapi.commit()
            finally:
                cursor.close()
        except self._dbapi.Error as error:
            with contextlib.suppress(self._dbapi.Error):
                dbapi.rollback()
            raise JournalError(f"paper journal {self.url}: cannot write: {_why(error)}") from None
        self._writes += rows
        if self._writes >= _CHECKPOINT_EVERY:
            self._writes = 0
            self._checkpoint("PASSIVE")

    def _prepared(self, table: sa.Table) -> tuple[str, tuple[str, ...]]:
        # The INSERT of every column of ``table`` (the state table: an upsert of key and value),
        # compiled once for SQLite, with its parameters' order.
        found = self._paper_sql.get(table.name)
        if found is not None:
            return found
        if table is paper_state:
            insert = sqlite.insert(table)
            statement: Any = insert.on_conflict_do_update(
                index_elements=[table.c.key], set_={"value": insert.excluded.value}
            )
        else:
            statement = table.insert()
        compiled = statement.compile(dialect=self.engine.dialect, column_keys=[c.name for c in table.columns])
        found = self._paper_sql[table.name] = (str(compiled), tuple(compiled.positiontup or ()))
        return found

    def _checkpoint(self, mode: str) -> None:
        try:
            self._conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")
            self._conn.commit()
        except SQLAlchemyError as error:  # the WAL keeps the data; the next checkpoint tries again
            self._conn.rollback()
            log.warning("paper journal %s: WAL checkpoint failed: %s", self.url, error)

    def records(self) -> PaperRecords:
        """Every row and state value, in booking order."""
        return _read(self._conn)


def read_paper_journal(path: Path) -> PaperRecords:
    """Read a paper journal without writing to it (SQLite ``mode=ro``; WAL lets a running dry run go on
    writing meanwhile). Raises :class:`JournalError` when it cannot be read."""
    url = f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return _read(conn)
    except SQLAlchemyError as error:
        raise JournalError(f"paper journal {path}: cannot read it: {_why(error)}") from None
    finally:
        engine.dispose()


def _read(conn: sa.Connection) -> PaperRecords:
    fills = [dict(r._mapping) for r in conn.execute(sa.select(paper_fills).order_by(paper_fills.c.seq))]
    funding = [dict(r._mapping) for r in conn.execute(sa.select(paper_funding).order_by(paper_funding.c.seq))]
    values = {str(k): str(v) for k, v in conn.execute(sa.select(paper_state.c.key, paper_state.c.value))}
    conn.commit()
    return PaperRecords(fills, funding, values)
