"""The journal: every order intent, answer and fill of a live account, in SQLite or PostgreSQL.

One :class:`Journal` owns one database connection (SQLAlchemy Core, no ORM) and is used from one
thread (the live executor's event loop). Two kinds of write:

- :meth:`Journal.add_intent` commits at once, before the order's request is written: the one commit
  the decision path waits for. A client id already in the journal raises
  :class:`DuplicateIntentError`; nothing is overwritten. With an intent log attached
  (:meth:`Journal.attach_intent_log`, ``[live] intent_log``), the intent is stored in the log instead
  (a memory store that survives a crash of arb) and committed with the next flush; the log restarts
  once the journal holds everything in it, and at open its intents the journal lacks are committed
  before anything reads the journal.
- everything else (state changes, events, fills, balances, account state) is queued with
  :meth:`Journal.defer` and committed together by :meth:`Journal.flush` right after the step that
  produced it. A crash loses at most what was queued and not yet flushed; reconciliation finds it out
  again from the venue (every such record is the venue's to begin with).

SQLite runs in WAL mode with ``synchronous`` FULL (each commit on disk: survives a power cut) or
NORMAL (survives a crash of the process; a power cut may lose the last commits). PostgreSQL is
reached through the same code with a ``postgresql+psycopg://`` URL.

Fills are keyed by (account, venue, market, symbol, trade id): a second copy of a fill is a no-op, so a
fill is booked once whichever way it arrives. The symbol is part of the key because Binance numbers
trades (and orders) per symbol: BTCUSDT and ETHUSDT both have a trade 283199.

Funding payments of perpetual positions are their own table, keyed by (account, venue, market,
symbol, funding time): one payment per position per funding time, booked once however often it is
written (a table added to schema 2: a journal opened by this arb gains it, empty).

Schema versions: 1 keyed fills without the symbol; 2 had no ``tick_ns`` (the decision's time) in
``intents``. A journal of version 1 is migrated to 2 when it is opened (its fills copied into the new
table in one transaction), then to 3 (the column added, 0 in the rows it holds: their decision times
are unknown).
"""

from __future__ import annotations

__all__ = [
    "SCHEMA_VERSION",
    "TERMINAL_STATES",
    "TICK_WINDOW_NS",
    "DuplicateIntentError",
    "Journal",
    "JournalError",
    "decided_at",
    "fills",
    "funding",
    "intents",
    "lock_exclusively",
    "metadata",
    "order_events",
    "snapshots",
    "state",
]

import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, ClassVar, Self

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from arb.errors import ArbError
from arb.files import Closing
from arb.journal.intent_log import IntentLog

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
_CHECKPOINT_EVERY = 500  # queued writes between two WAL checkpoints (SQLite)
TERMINAL_STATES = ("filled", "expired", "canceled", "rejected")
STATE_COLUMNS = ("state", "venue_order_id", "executed_qty", "reject_code", "reject_message", "written_ns", "ack_ns",
                 "first_fill_ns", "done_ns")  # fmt: skip
"""An intent's columns that change after it was made."""

metadata = sa.MetaData()

_KEY_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "account": sa.String(40),
    "run_id": sa.String(40),
    "venue": sa.String(16),
    "market": sa.String(16),
    "symbol": sa.String(32),
}
"""The columns that say whose and where a row is, with the one type each has in every table."""


def _keys(*names: str) -> list[sa.Column[Any]]:
    # The key columns ``names`` (of _KEY_TYPES), in this order, none nullable.
    return [sa.Column(name, _KEY_TYPES[name], nullable=False) for name in names]


intents = sa.Table(
    "intents",
    metadata,
    sa.Column("client_id", sa.String(36), primary_key=True),
    *_keys("account", "run_id", "venue", "market", "symbol"),
    sa.Column("side", sa.Integer, nullable=False),  # 1 buy, -1 sell
    sa.Column("order_type", sa.String(16), nullable=False),
    sa.Column("time_in_force", sa.String(8), nullable=False),
    sa.Column("price", sa.String(40), nullable=False),  # exactly as sent
    sa.Column("qty", sa.String(40), nullable=False),
    sa.Column("reduce_only", sa.Boolean, nullable=False),
    sa.Column("kind", sa.Integer, nullable=False),  # INTENT_OPEN / HEDGE / UNWIND, 9 = by hand
    sa.Column("pair_id", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("venue_order_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("executed_qty", sa.String(40), nullable=False, server_default="0"),
    sa.Column("reject_code", sa.String(32), nullable=False, server_default=""),
    sa.Column("reject_message", sa.Text, nullable=False, server_default=""),
    sa.Column("intent_ns", sa.BigInteger, nullable=False),
    # when the event the decision was made at came in: the receive time of the market-data frame (or the
    # order's answer) the kernel decided on; 0 when unknown (an intent of schema 2)
    sa.Column("tick_ns", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("written_ns", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("ack_ns", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("first_fill_ns", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("done_ns", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("intents_open", "account", "venue", "market", "state"),
)

order_events = sa.Table(
    "order_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(36), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # JSON
)

fills = sa.Table(
    "fills",
    metadata,
    *_keys("account", "venue", "market"),  # account: a trade between two of our accounts is two fills
    sa.Column("trade_id", sa.String(64), nullable=False),  # per symbol on Binance, hence the symbol in the key
    sa.Column("client_id", sa.String(36), nullable=False),  # "" when the order is not arb's
    sa.Column("venue_order_id", sa.String(64), nullable=False),
    sa.Column("symbol", sa.String(32), nullable=False),
    sa.Column("side", sa.Integer, nullable=False),
    sa.Column("price", sa.String(40), nullable=False),
    sa.Column("qty", sa.String(40), nullable=False),
    sa.Column("fee", sa.String(40), nullable=False),
    sa.Column("fee_asset", sa.String(16), nullable=False),
    sa.Column("is_maker", sa.Boolean, nullable=False),
    sa.Column("exch_ts_ms", sa.BigInteger, nullable=False),
    sa.Column("local_ts_ns", sa.BigInteger, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # stream, reply, rest
    # named: a journal migrated from version 1 still has the unnamed key's name (PostgreSQL's fills_pkey)
    sa.PrimaryKeyConstraint("account", "venue", "market", "symbol", "trade_id", name="fills_key"),
)

funding = sa.Table(
    "funding",
    metadata,
    *_keys("account", "venue", "market", "symbol"),
    sa.Column("funding_ts_ns", sa.BigInteger, nullable=False),  # the venue's funding time
    sa.Column("rate", sa.String(40), nullable=False),  # fraction per interval; positive: longs pay
    sa.Column("mark", sa.String(40), nullable=False),  # the price the position was valued at
    sa.Column("position", sa.String(40), nullable=False),  # base units held at the funding time (signed)
    sa.Column("payment", sa.String(40), nullable=False),  # quote: > 0 received, < 0 paid
    sa.Column("local_ts_ns", sa.BigInteger, nullable=False),  # when arb booked it
    sa.Column("source", sa.String(16), nullable=False),  # stream: from the venue's settlement message
    sa.PrimaryKeyConstraint("account", "venue", "market", "symbol", "funding_ts_ns", name="funding_key"),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    *_keys("account", "venue", "market"),
    sa.Column("name", sa.String(32), nullable=False),  # an asset, or "position:<symbol>"
    sa.Column("value", sa.String(40), nullable=False),
    sa.Column("ts_ns", sa.BigInteger, nullable=False),
)

state = sa.Table(
    "state",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


class JournalError(ArbError):
    """The journal cannot be opened or written (the order that needed it is not sent)."""

    exit_code = 2


class DuplicateIntentError(JournalError):
    """A client id that the journal already holds: never reused, never overwritten."""


def _url(target: str | Path) -> str:
    if isinstance(target, Path) or "://" not in str(target):
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    return str(target)


def _redacted(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "<unparsable URL>"


def _why(error: BaseException) -> str:
    return f"{error.__class__.__name__}: {str(error).splitlines()[0]}"


def _engine(url: str, synchronous: str) -> sa.Engine:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool if "sqlite" in url else sa.pool.QueuePool)
    if engine.dialect.name == "sqlite":
        _sqlite_pragmas(engine, synchronous)
    return engine


def _matching(query: Any, table: sa.Table, **values: object) -> Any:
    # ``query`` narrowed to the rows whose column equals each value given (a None value: any).
    for name, value in values.items():
        if value is not None:
            query = query.where(table.c[name] == value)
    return query


def lock_exclusively(path: Path, lock: Callable[[IO[str], int], Any], busy: str) -> IO[str]:
    """Open ``path`` (created if absent) and take an exclusive lock on it without waiting, with ``lock``
    (``fcntl.flock`` or ``fcntl.lockf``); returns the open file, which holds the lock until it is closed.
    Raises :class:`JournalError` with the message ``busy`` when another holder has it."""
    import fcntl

    handle = path.open("a")
    try:
        lock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise JournalError(busy) from None
    return handle


class Journal(Closing):
    """A live account's journal (see the module docstring). Open with :meth:`open`; not thread-safe."""

    schema: ClassVar[sa.MetaData] = metadata
    """The tables :meth:`open` creates (a subclass keeping other records names its own, and checks its
    own version in ``_check_version``)."""

    def __init__(self, engine: sa.Engine, url: str) -> None:
        self.engine = engine
        self.url = _redacted(url)
        self.dialect = engine.dialect.name
        self._insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        self._conn = engine.connect()
        self._lock_handle: Any = None
        self._advisory_key: Any = None  # PostgreSQL: the writer's advisory lock, held until close
        self._closed = False
        self._failing = ""  # why the last commit of queued writes failed; "" once one succeeds
        self._writes = 0
        self._pending: list[tuple[Any, Any]] = []
        self._flush_hooks: list[Callable[[], None]] = []
        self._fill_insert = self._insert(fills).on_conflict_do_nothing()
        self._funding_insert = self._insert(funding).on_conflict_do_nothing()
        self._intent_insert = intents.insert()
        self._event_insert = order_events.insert()
        upsert = self._insert(state)
        self._state_upsert = upsert.on_conflict_do_update(index_elements=[state.c.key],
                                                          set_={"value": upsert.excluded.value})  # fmt: skip
        self._state_update = intents.update().where(intents.c.client_id == sa.bindparam("key")).values(
            {name: sa.bindparam(name) for name in STATE_COLUMNS})  # fmt: skip
        # their rows go as the driver's own SQL, compiled once per set of columns (SQLAlchemy's cache holds
        # no ON CONFLICT statement: it would compile one on every flush)
        self._plain = (self._intent_insert, self._event_insert, self._fill_insert, self._funding_insert,
                       self._state_upsert, self._state_update)  # fmt: skip
        self._driver_sql: dict[tuple[int, tuple[str, ...]], tuple[str, Sequence[str] | None]] = {}
        self._log: IntentLog | None = None
        self._fresh_runs: set[str] = set()  # runs of which the journal held no intent when this one first logged
        self._logged = False  # intents sit in the log that no flush has committed yet
        self._dbapi: Any = engine.dialect.loaded_dbapi

    @classmethod
    def open(cls, target: str | Path, *, synchronous: str = "full") -> Self:
        """Open (creating it if needed) the journal at a SQLite path or a database URL.

        ``synchronous``: SQLite's ``full`` or ``normal`` (ignored by PostgreSQL). Raises
        :class:`JournalError` when the database cannot be reached or holds a newer schema.
        """
        if synchronous not in ("full", "normal"):
            raise ValueError(f"synchronous must be 'full' or 'normal', got {synchronous!r}")
        url = _url(target)
        try:
            engine = _engine(url, synchronous)
            cls.schema.create_all(engine)
            journal = cls(engine, url)
        except SQLAlchemyError as error:
            raise JournalError(f"journal {_redacted(url)}: cannot open it: {_why(error)}") from None
        journal._check_version()
        return journal

    def lock_writer(self, account: str) -> None:
        """Become the one process writing ``account``'s records, or raise :class:`JournalError`.

        SQLite: an exclusive ``flock`` on ``<file>.lock``; PostgreSQL: a session advisory lock on the
        account's name. Either is released when this journal closes or its process dies.
        """
        if self.dialect == "sqlite":
            import fcntl

            path = Path(self.engine.url.database or "").with_suffix(".lock")
            self._lock_handle = lock_exclusively(
                path, fcntl.flock, f"journal {self.url} is being written by another process (lock {path}); "
                "one arb live or arb order per account at a time"
            )  # fmt: skip
            return
        key = sa.func.hashtext(f"arb:{account}")
        got = self._conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar()
        self._conn.commit()
        if not got:
            raise JournalError(
                f"journal {self.url}: account {account!r} is being written by another process; "
                "one arb live or arb order per account at a time"
            )
        self._advisory_key = key

    def health(self) -> str:
        """``"ok"`` while the journal is open and its last commit went through; otherwise what is wrong
        (``"closed"``, or the error that keeps queued writes from being committed). Cheap: no I/O."""
        if self._closed:
            return "closed"
        return f"cannot commit: {self._failing}" if self._failing else "ok"

    def close(self) -> None:
        """Commit what is queued and close the connection (releasing a writer's lock)."""
        try:
            self.flush()
        finally:
            self._closed = True
            if self._log is not None:
                self._log.close()
            if self._advisory_key is not None:
                # released now, not when the server gets round to ending the session (a writer that
                # opens right after this one closes would otherwise be refused)
                with contextlib.suppress(SQLAlchemyError):
                    self._conn.execute(sa.select(sa.func.pg_advisory_unlock(self._advisory_key)))
                    self._conn.commit()
                self._advisory_key = None
            self._conn.close()
            self.engine.dispose()
            if self._lock_handle is not None:
                self._lock_handle.close()
                self._lock_handle = None

    def _check_version(self) -> None:
        found = self.get_state("schema_version")
        if found is None:
            self.set_state("schema_version", str(SCHEMA_VERSION))
        elif int(found) > SCHEMA_VERSION:
            raise JournalError(
                f"journal {self.url} has schema version {found}; this arb reads up to {SCHEMA_VERSION}: upgrade arb"
            )
        elif int(found) <= 2:
            if int(found) == 1:
                self._migrate_from_1()
            self._migrate_from_2()

    def _migrate_from_1(self) -> None:
        # Version 1 keyed fills by (account, venue, market, trade id): the symbol joins the key. The old
        # table is renamed, the new one made and filled from it, the old one dropped and the version set,
        # all in one transaction (SQLite: BEGIN IMMEDIATE on the driver's connection, since its module
        # would run DDL outside a transaction; PostgreSQL: transactional DDL), so a crash leaves version 1.
        old = sa.Table("fills_v1", sa.MetaData(), *(sa.Column(c.name, c.type) for c in fills.columns))
        columns = ", ".join(c.name for c in fills.columns)
        version = self._insert(state).values(key="schema_version", value="2")
        statements: list[Any] = [
            sa.text("ALTER TABLE fills RENAME TO fills_v1"),
            sa.schema.CreateTable(fills),
            sa.text(f"INSERT INTO fills ({columns}) SELECT {columns} FROM fills_v1"),
            sa.schema.DropTable(old),
            version.on_conflict_do_update(index_elements=[state.c.key], set_={"value": "2"}),
        ]
        self.flush()
        if self.dialect == "sqlite":
            dbapi = self._conn.connection.dbapi_connection
            assert dbapi is not None
            cursor = dbapi.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute("SELECT value FROM state WHERE key = 'schema_version'")
                row = cursor.fetchone()
                if row is not None and row[0] == "1":  # not migrated meanwhile by another process
                    for statement in statements:
                        literal = statement.compile(dialect=self.engine.dialect, compile_kwargs={"literal_binds": True})
                        cursor.execute(str(literal))
                dbapi.commit()
            except BaseException:
                dbapi.rollback()
                raise
            finally:
                cursor.close()
        else:
            with self.engine.begin() as conn:
                current = conn.execute(sa.select(state.c.value).where(state.c.key == "schema_version")).scalar()
                if current == "1":
                    for statement in statements:
                        conn.execute(statement)
        log.info("journal %s: migrated from schema version 1 to 2 (fills keyed by symbol too)", self.url)

    def _migrate_from_2(self) -> None:
        # Version 2 had no tick_ns in intents: the column is added (0 in every row) unless a process killed
        # between the two steps added it already, then the version is set
        self.flush()
        columns = {c["name"] for c in sa.inspect(self._conn).get_columns("intents")}
        self._conn.commit()
        if "tick_ns" not in columns:
            self._conn.exec_driver_sql("ALTER TABLE intents ADD COLUMN tick_ns BIGINT NOT NULL DEFAULT 0")
            self._conn.commit()
        self.set_state("schema_version", str(SCHEMA_VERSION))
        log.info("journal %s: migrated to schema version 3 (intents keep their decision's time)", self.url)

    # -- writes --------------------------------------------------------------------------------------

    def attach_intent_log(self, intent_log: IntentLog) -> int:
        """Keep intents in ``intent_log`` until a flush commits them (see the module docstring). First
        commits the intents the log holds and the journal lacks (a process killed before its flush);
        returns how many. Call it once, as the journal's one writer (after :meth:`lock_writer`)."""
        logged = intent_log.records()
        ids = [row.get("client_id") for row in logged]
        known = {
            str(client_id)
            for (client_id,) in self._conn.execute(sa.select(intents.c.client_id).where(intents.c.client_id.in_(ids)))
        }
        self._conn.commit()
        missing = [row for row in logged if row.get("client_id") not in known]
        for row in missing:
            self.add_intent(row)
        if missing:
            log.warning(
                "journal %s: %d intent(s) found in the intent log %s and committed now (arb stopped before "
                "its journal did): %s", self.url, len(missing), intent_log.path,
                ", ".join(str(row.get("client_id")) for row in missing),
            )  # fmt: skip
        intent_log.restart()
        self._log = intent_log
        return len(missing)

    def add_intent(self, row: Mapping[str, Any]) -> None:
        """Insert one intent and commit now (before its order is sent); what is queued stays queued. With
        an intent log attached: store it in the log now and queue the insert for the next flush (when the
        log is full, commit now as without one).

        This is the write the decision path waits for, so it skips SQLAlchemy's per-statement work:
        the INSERT is compiled once per set of columns for this database and run on the driver's own
        connection (the SQLAlchemy connection holds no transaction between writes).
        """
        if self._log is not None and self._unseen(row) and self._log.append(row):
            self._logged = True
            self.defer(self._intent_insert, dict(row))
            return
        sql, params = self._driver_params(self._intent_insert, [row])
        dbapi = self._conn.connection.dbapi_connection
        assert dbapi is not None
        cursor = dbapi.cursor()
        try:
            cursor.execute(sql, params[0])
            dbapi.commit()
        except self._dbapi.IntegrityError:
            dbapi.rollback()
            raise DuplicateIntentError(f"client id {row.get('client_id')!r} is already in the journal") from None
        except self._dbapi.Error as error:
            dbapi.rollback()
            raise JournalError(f"journal {self.url}: {_why(error)}") from None
        finally:
            cursor.close()

    def _unseen(self, row: Mapping[str, Any]) -> bool:
        # A logged intent is committed after its order was sent: a client id the journal holds is refused
        # here, asked about only for a run id the journal held intents of (ids count up within a run)
        if not self.expect_run(str(row.get("run_id", ""))) and self._holds(intents.c.client_id == row.get("client_id")):
            raise DuplicateIntentError(f"client id {row.get('client_id')!r} is already in the journal")
        return True

    def expect_run(self, run_id: str) -> bool:
        """Whether the journal held no intent of ``run_id`` when first asked (once a run: at start-up)."""
        if run_id not in self._fresh_runs and not self._holds(intents.c.run_id == run_id):
            self._fresh_runs.add(run_id)
        return run_id in self._fresh_runs

    def _holds(self, where: Any) -> bool:
        found = self._conn.execute(sa.select(intents.c.client_id).where(where).limit(1)).first()
        self._conn.commit()
        return found is not None

    def _driver_params(self, statement: Any, rows: Sequence[Mapping[str, Any]]) -> tuple[str, list[Any]]:
        # ``statement`` (one of ``_plain``) for these rows' columns (compiled once per set of columns for
        # this database) as the driver's SQL, and each row's parameters in the driver's style
        keys = tuple(rows[0])
        prepared = self._driver_sql.get((id(statement), keys))
        if prepared is None:
            compiled = statement.compile(dialect=self.engine.dialect, column_keys=list(keys))
            prepared = self._driver_sql[id(statement), keys] = (str(compiled), compiled.positiontup)
        sql, positions = prepared
        return sql, [tuple(row[k] for k in positions) if positions else dict(row) for row in rows]

    def defer(self, statement: Any, params: Any = None) -> None:
        """Queue one write for the next :meth:`flush`."""
        self._pending.append((statement, params))

    def update_intent(self, client_id: str, **values: Any) -> None:
        """Queue an update of some of an intent's columns."""
        self.defer(intents.update().where(intents.c.client_id == client_id).values(**values))

    def update_intent_state(self, client_id: str, values: Mapping[str, Any]) -> None:
        """Queue an update of every column of an intent's state (:data:`STATE_COLUMNS`), through one
        prepared statement (cheaper than :meth:`update_intent`, which builds one per call)."""
        self.defer(self._state_update, {"key": client_id, **values})

    def add_event(self, client_id: str, kind: str, ts_ns: int, detail: Mapping[str, Any]) -> None:
        """Queue one order event (a transition or an answer) with its details as JSON."""
        row = {"client_id": client_id, "kind": kind, "ts_ns": ts_ns, "detail": json.dumps(dict(detail), default=str)}
        self.defer(self._event_insert, row)

    def add_fill(self, row: Mapping[str, Any]) -> None:
        """Queue one fill; a fill already journaled (same venue, market, symbol, trade id) is left as it is."""
        self.defer(self._fill_insert, dict(row))

    def attach_fill(self, *, account: str, venue: str, market: str, symbol: str, trade_id: str, client_id: str) -> None:
        """Queue giving a fill journaled as no order's (``client_id`` "") the client id of the order it
        turned out to be (once that order's venue id was known); a fill already an order's is left as it is."""
        keys = {"account": account, "venue": venue, "market": market, "symbol": symbol, "trade_id": trade_id}
        where = [fills.c[name] == value for name, value in keys.items()]
        self.defer(fills.update().where(*where, fills.c.client_id == "").values(client_id=client_id))

    def add_funding(self, row: Mapping[str, Any]) -> None:
        """Queue one funding payment; one already journaled (same venue, market, symbol, funding time) is
        left as it is."""
        self.defer(self._funding_insert, dict(row))

    def add_snapshot(self, account: str, venue: str, market: str, values: Mapping[str, Any], ts_ns: int) -> None:
        """Queue a snapshot of balances (asset -> amount) or positions (``position:<symbol>`` -> qty)."""
        for name, value in values.items():
            self.defer(
                snapshots.insert(),
                {
                    "account": account,
                    "venue": venue,
                    "market": market,
                    "name": name,
                    "value": str(value),
                    "ts_ns": ts_ns,
                },
            )

    def on_flush(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` first at every :meth:`flush` (a read's, the close's): what it queues is in that commit."""
        self._flush_hooks.append(hook)

    def flush(self) -> None:
        """Commit every queued write, the hooks' first, in one transaction (on failure: it stays queued)."""
        for hook in self._flush_hooks:
            hook()
        if not self._pending:
            return
        self._writes += len(self._pending)
        try:
            run: list[Any] = []
            current: Any = None
            for statement, params in self._pending:  # runs of one prepared statement go as executemany
                if params is None or statement is not current:
                    if run:
                        self._execute_run(current, run)
                    run, current = [], statement
                if params is None:
                    self._conn.execute(statement)
                    current = None
                else:
                    run.append(params)
            if run:
                self._execute_run(current, run)
            self._conn.commit()
            if self.dialect == "sqlite" and self._writes >= _CHECKPOINT_EVERY:
                self._writes = 0
                self._conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                self._conn.commit()
        except SQLAlchemyError as error:
            self._conn.rollback()
            log.error("journal %s: could not commit %d queued writes: %s", self.url, len(self._pending), error)
            self._failing = str(error).splitlines()[0] if str(error) else error.__class__.__name__
            if isinstance(error, OperationalError):
                return  # kept queued (and in the intent log): the next flush tries again
            raise JournalError(f"journal {self.url}: {error}") from None
        self._failing = ""
        self._pending.clear()
        if self._logged and self._log is not None:
            self._log.restart()  # the journal holds every intent logged so far
            self._logged = False

    def _execute_run(self, statement: Any, run: list[Any]) -> None:
        # One prepared statement for every row of ``run``; a plain one's rows (all of one set of columns) as
        # the driver's own SQL, without SQLAlchemy's per-row work
        if any(statement is plain for plain in self._plain) and len({tuple(row) for row in run}) == 1:
            sql, params = self._driver_params(statement, run)
            self._conn.exec_driver_sql(sql, params)
        else:
            self._conn.execute(statement, run)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Queue writes in the block and commit them together at its end (none if it raises)."""
        mark = len(self._pending)
        try:
            yield
        except BaseException:
            del self._pending[mark:]
            raise
        self.flush()

    # -- account state ----------------------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        """A value of the account state (baselines, halts, ...), or None."""
        row = self._conn.execute(sa.select(state.c.value).where(state.c.key == key)).first()
        self._conn.commit()
        return None if row is None else str(row[0])

    def set_state(self, key: str, value: str) -> None:
        """Set a value of the account state and commit now (with what is queued)."""
        self.defer_state(key, value)
        self.flush()

    def defer_state(self, key: str, value: str) -> None:
        """Set a value of the account state with the next :meth:`flush`."""
        self.defer(self._state_upsert, {"key": key, "value": value})

    # -- reads ---------------------------------------------------------------------------------------

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        self.flush()
        rows = [dict(r._mapping) for r in self._conn.execute(query)]
        self._conn.commit()
        return rows

    def intent(self, client_id: str) -> dict[str, Any] | None:
        rows = self._rows(sa.select(intents).where(intents.c.client_id == client_id))
        return rows[0] if rows else None

    def intents(
        self,
        *,
        account: str | None = None,
        venue: str | None = None,
        market: str | None = None,
        in_flight: bool = False,
        symbol: str | None = None,
    ) -> list[dict[str, Any]]:
        """Intents in the order they were made, filtered.

        ``in_flight``: not done, i.e. in a state that can still change, or filled, expired or cancelled
        with the fills not all booked yet (the venue said FILLED before its fills arrived, and arb stopped
        in between): their fills are still owed. A rejected intent has no fills to wait for.
        """
        query = sa.select(intents).order_by(intents.c.intent_ns, intents.c.client_id)
        query = _matching(query, intents, account=account, venue=venue, market=market, symbol=symbol)
        if in_flight:
            query = query.where(
                sa.or_(
                    intents.c.state.not_in(TERMINAL_STATES),
                    sa.and_(intents.c.state != "rejected", intents.c.done_ns == 0),
                )
            )
        return self._rows(query)

    def fills(
        self,
        *,
        venue: str | None = None,
        market: str | None = None,
        client_id: str | None = None,
        account: str | None = None,
        symbol: str | None = None,
    ) -> list[dict[str, Any]]:
        """Fills in the order the venue made them, filtered."""
        query = sa.select(fills).order_by(fills.c.exch_ts_ms, fills.c.symbol, fills.c.trade_id)
        query = _matching(query, fills, venue=venue, market=market, client_id=client_id, account=account, symbol=symbol)
        return self._rows(query)

    def funding_payments(
        self, *, account: str | None = None, venue: str | None = None, market: str | None = None,
        symbol: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Funding payments in funding-time order, filtered."""
        query = sa.select(funding).order_by(funding.c.funding_ts_ns, funding.c.venue, funding.c.symbol)
        query = _matching(query, funding, account=account, venue=venue, market=market, symbol=symbol)
        return self._rows(query)

    def order_events(self, client_id: str) -> list[dict[str, Any]]:
        query = sa.select(order_events).where(order_events.c.client_id == client_id).order_by(order_events.c.id)
        rows = self._rows(query)
        for row in rows:
            row["detail"] = json.loads(row["detail"])
        return rows

    def latencies(self, venue: str | None = None) -> dict[str, dict[str, float]]:
        """Per stage (``intent_to_written``, ``intent_to_ack``, ``intent_to_first_fill``, and
        ``tick_to_written``: from the decision's event, the receive time of the frame it was made at, to
        the request's bytes written): p50, p95, p99 and count, in microseconds, over the intents that
        reached the stage (see :func:`decided_at` for the decision times counted)."""
        query = sa.select(
            intents.c.intent_ns, intents.c.written_ns, intents.c.ack_ns, intents.c.first_fill_ns, intents.c.tick_ns
        )
        if venue is not None:
            query = query.where(intents.c.venue == venue)
        rows = self._rows(query)
        out: dict[str, dict[str, float]] = {}
        for stage, column in (
            ("intent_to_written", "written_ns"),
            ("intent_to_ack", "ack_ns"),
            ("intent_to_first_fill", "first_fill_ns"),
        ):
            values = sorted((r[column] - r["intent_ns"]) / 1e3 for r in rows if r[column])
            out[stage] = _percentiles(values)
        ticks = sorted((r["written_ns"] - r["tick_ns"]) / 1e3 for r in rows if r["written_ns"] and decided_at(r))
        out["tick_to_written"] = _percentiles(ticks)
        return out

    def pair_latencies(self) -> dict[str, dict[str, float]]:
        """Per decision that sent two legs or more (both legs of a pair, a hedge with what it hedges),
        every leg's request written: ``tick_to_first_leg`` and ``tick_to_last_leg``, from the decision's
        event (the frame's receive time) to the first and the last leg's bytes written, and ``leg_gap``,
        between the two; p50, p95, p99 and count, microseconds."""
        query = sa.select(
            intents.c.run_id, intents.c.pair_id, intents.c.tick_ns, intents.c.intent_ns, intents.c.written_ns
        ).where(intents.c.tick_ns > 0)
        legs: dict[tuple[str, int, int], list[int]] = {}
        for r in self._rows(query):
            if decided_at(r):
                legs.setdefault((r["run_id"], r["pair_id"], r["tick_ns"]), []).append(int(r["written_ns"]))
        decisions = [(tick, sorted(w)) for (_, _, tick), w in legs.items() if len(w) >= 2 and all(w)]
        return {
            "tick_to_first_leg": _percentiles(sorted((w[0] - tick) / 1e3 for tick, w in decisions)),
            "tick_to_last_leg": _percentiles(sorted((w[-1] - tick) / 1e3 for tick, w in decisions)),
            "leg_gap": _percentiles(sorted((w[-1] - w[0]) / 1e3 for _, w in decisions)),
        }

    def round_trips(self, venue: str) -> tuple[list[int], list[int]]:
        """The venue's orders that were answered: (when each request was written, when its answer came),
        local ns, in the order they were written (what ``arb latency`` measures and exports)."""
        query = (
            sa.select(intents.c.written_ns, intents.c.ack_ns)
            .where(intents.c.venue == venue, intents.c.written_ns > 0, intents.c.ack_ns > 0)
            .order_by(intents.c.written_ns)
        )
        rows = self._rows(query)
        return [int(r["written_ns"]) for r in rows], [int(r["ack_ns"]) for r in rows]


TICK_WINDOW_NS = 60 * 1_000_000_000
"""How long before its intent a decision's event may have come and still be a frame's receive time on the
executor's clock (:func:`decided_at`)."""


def decided_at(row: Mapping[str, Any]) -> bool:
    """Whether an intent's ``tick_ns`` is its decision's event on the clock its other times are on: known
    (not 0), not after the intent and less than :data:`TICK_WINDOW_NS` before it. A session on a replayed
    clock (live parity) decides at the recording's times, which are not counted."""
    tick, intent = int(row["tick_ns"]), int(row["intent_ns"])
    return 0 < tick <= intent and intent - tick < TICK_WINDOW_NS


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    n = len(values)

    def at(q: float) -> float:
        return values[min(n - 1, max(0, round(q * (n - 1))))]

    return {"n": n, "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": values[-1]}


def _sqlite_pragmas(engine: sa.Engine, synchronous: str) -> None:
    # Every connection: WAL, the durability asked for, a wait instead of "database is locked".
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA busy_timeout=5000")
        # no automatic checkpoint: it would run inside whichever commit crosses its threshold, an
        # intent's included; Journal.flush checkpoints instead, off the order's path
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    listen: Callable[..., None] = sa.event.listen
    listen(engine, "connect", on_connect)
